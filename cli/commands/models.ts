import type { Command } from "../command.ts";
import { printTable, UsageError, wantsHelp } from "../command.ts";
import { withStore } from "../open-store.ts";
import { getVersion, listModels, listVersions, type ModelVersion } from "../../models/registry.ts";

const usage = `usage: mlwatch models <subcommand>

  list                      every registered model with its version count and production version
  show <model> [version]    versions of a model, or one version's schema, metrics and artifact
  compare <model> <A> <B>   held-out metrics of two versions side by side`;

export const modelsCommand: Command = {
  name: "models",
  summary: "list, show and compare registered model versions",
  usage,
  async run(argv) {
    const [sub, ...args] = argv;
    if (!sub || wantsHelp(argv)) {
      console.log(usage);
      return;
    }
    if (sub === "list") return withStore(async (store) => printTable(await listModels(store)));
    if (sub === "show") return show(args);
    if (sub === "compare") return compare(args);
    throw new UsageError(`unknown subcommand '${sub}' (expected list, show or compare)`);
  },
};

async function show([model, version]: string[]): Promise<void> {
  if (!model) throw new UsageError("models show needs a model name");
  await withStore(async (store) => {
    if (!version) {
      const versions = await listVersions(store, model);
      if (versions.length === 0) throw new UsageError(`unknown model '${model}'`);
      printTable(versions.map((v) => ({ version: v.version, kind: v.kind, status: v.status, created: v.createdAt, accuracy: v.metrics["accuracy"] })));
      return;
    }
    const v = await getVersion(store, model, version);
    console.log(JSON.stringify(v, null, 2));
  });
}

async function compare([model, a, b]: string[]): Promise<void> {
  if (!model || !a || !b) throw new UsageError("models compare needs <model> <versionA> <versionB>");
  await withStore(async (store) => {
    const [va, vb] = [await getVersion(store, model, a), await getVersion(store, model, b)];
    printTable(comparisonRows(va, vb));
  });
}

function comparisonRows(a: ModelVersion, b: ModelVersion): Record<string, unknown>[] {
  const scalar = (v: ModelVersion, k: string) => (typeof v.metrics[k] === "number" ? (v.metrics[k] as number) : undefined);
  const keys = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].filter(
    (k) => scalar(a, k) !== undefined || scalar(b, k) !== undefined,
  );
  return [
    { metric: "kind", [`v${a.version}`]: a.kind, [`v${b.version}`]: b.kind, difference: "" },
    { metric: "status", [`v${a.version}`]: a.status, [`v${b.version}`]: b.status, difference: "" },
    ...keys.map((k) => {
      const [x, y] = [scalar(a, k), scalar(b, k)];
      return { metric: k, [`v${a.version}`]: x, [`v${b.version}`]: y, difference: x !== undefined && y !== undefined ? y - x : "" };
    }),
  ];
}
