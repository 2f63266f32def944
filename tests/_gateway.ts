/**
 * What the HTTP gateway tests (and the bench) share: Python's `pyro5-httpgateway` and
 * `Pyro5.utils.echoserver` as processes, read until they say where they listen.
 *
 * Permissions: `--allow-run=python3 --allow-read --allow-env`.
 *
 * @module
 */
import { peerEnv } from "./_peer.ts";

const STARTUP_MS = 60_000;

/** Starts `python3` with the peer environment; its request log (stderr) is dropped. */
async function startPython(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command("python3", {
    args,
    env: { ...await peerEnv(), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

/** A started process and what it printed until it was ready. */
export interface Started {
  process: Deno.ChildProcess;
  /** The first match of the ready pattern. */
  match: RegExpExecArray;
  /** Everything printed until then. */
  text: string;
}

/**
 * Reads a process's standard output until `ready` matches (killing it after a generous bound).
 *
 * @param process the process, with piped stdout
 * @param ready what the ready line looks like
 * @param what the process, for the error
 * @returns the match and the text read
 */
export async function readUntil(
  process: Deno.ChildProcess,
  ready: RegExp,
  what: string,
): Promise<Started> {
  const decoded = process.stdout.pipeThrough(new TextDecoderStream());
  const reader = decoded.getReader();
  const timer = setTimeout(() => process.kill("SIGKILL"), STARTUP_MS);
  let text = "";
  let match: RegExpExecArray | null = null;
  try {
    while (!(match = ready.exec(text))) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  if (!match) {
    await stop(process);
    throw new Error(`${what} did not start:\n${text}`);
  }
  // Keep draining the output so the process never blocks on a full pipe.
  decoded.pipeTo(new WritableStream()).catch(() => {});
  return { process, match, text };
}

/** Stops a process this module started (SIGTERM, then waits). */
export async function stop(process: Deno.ChildProcess): Promise<void> {
  try {
    process.kill("SIGTERM");
  } catch { /* already gone */ }
  await process.status;
}

/**
 * Starts Python's `pyro5-httpgateway` on 127.0.0.1 and a free port.
 *
 * @param args extra flags (`-e`, `-g`, `-c`, ...)
 * @param nsPort the name server's port on 127.0.0.1
 * @returns the process and the gateway's `/pyro/` URL
 */
export async function startPythonGateway(
  args: string[],
  nsPort: number,
): Promise<{ process: Deno.ChildProcess; url: string; text: string }> {
  const process = await startPython(
    ["-u", "-m", "Pyro5.utils.httpgateway", "-H", "127.0.0.1", "-p", "0", ...args],
    { PYRO_NS_HOST: "127.0.0.1", PYRO_NS_PORT: String(nsPort) },
  );
  const started = await readUntil(
    process,
    /^Pyro HTTP gateway running on (http:\/\/127\.0\.0\.1:\d+\/pyro\/)$/m,
    "pyro5-httpgateway",
  );
  return { process, url: started.match[1], text: started.text };
}

/**
 * Starts Python's `Pyro5.utils.echoserver` on 127.0.0.1 (not registered anywhere).
 *
 * @returns the process and the echo server's URI
 */
export async function startPythonEchoServer(): Promise<
  { process: Deno.ChildProcess; uri: string }
> {
  const process = await startPython(["-u", "-m", "Pyro5.utils.echoserver", "-H", "127.0.0.1"]);
  const started = await readUntil(
    process,
    /^echo uri: (PYRO:test\.echoserver@127\.0\.0\.1:\d+)$/m,
    "Pyro5.utils.echoserver",
  );
  return { process, uri: started.match[1] };
}
