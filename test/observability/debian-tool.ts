import { execFileSync, spawnSync } from "node:child_process";

/**
 * The path of a binary from a Debian package (promtool and prometheus from `prometheus`, amtool and
 * prometheus-alertmanager from `prometheus-alertmanager`). .ci/run installs them; on a machine
 * without them, running as root, this installs the package; otherwise it throws saying what to
 * install. Never a skip: a test that cannot run its tool fails.
 */
export function debianTool(binary: string, pkg: string): string {
  const found = which(binary);
  if (found) return found;
  if (process.getuid?.() === 0 && which("apt-get")) {
    const apt = (args: string[]) => spawnSync("apt-get", args, { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, encoding: "utf8" });
    apt(["update", "-qq"]);
    const install = apt(["install", "-y", "-qq", "--no-install-recommends", pkg]);
    const installed = which(binary);
    if (installed) return installed;
    throw new Error(`${binary} is missing and 'apt-get install ${pkg}' failed: ${install.stderr || install.stdout}`);
  }
  throw new Error(`${binary} is missing: install Debian's ${pkg} package (apt-get install ${pkg})`);
}

function which(binary: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}
