import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

/** A loopback port free right now, for binaries that cannot report the port they bound. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface LocalProcess {
  child: ChildProcess;
  /** Everything it wrote, for a failing assertion's message. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts a binary (Prometheus, Alertmanager); stop() ends exactly that process. */
export function startProcess(binary: string, args: string[]): LocalProcess {
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
