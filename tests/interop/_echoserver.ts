/**
 * Starts and stops `deno task echoserver` for the interop tests.
 *
 * Permissions: `--allow-run --allow-read`.
 *
 * @module
 */
import assert from "node:assert";
import { repoPath } from "../_peer.ts";

const STARTUP_MS = 30_000;

/** Starts the echo server command and reads its URI from the output line `echo uri: ...`. */
export async function startEchoServer(
  flags: string[] = [],
  env: Record<string, string> = {},
): Promise<{ process: Deno.ChildProcess; uri: string; text: string }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "echoserver", "-H", "127.0.0.1", "-p", "0", ...flags],
    cwd: repoPath("."),
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => process.kill("SIGKILL"), STARTUP_MS);
  let text = "";
  try {
    while (!text.includes("echoserver running.")) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
    }
  } finally {
    clearTimeout(timer);
    lines.releaseLock();
  }
  const match = /^echo uri: (PYRO:test\.echoserver@127\.0\.0\.1:\d+)$/m.exec(text);
  if (!match) {
    process.kill("SIGKILL");
    await process.status;
    throw new Error(`echoserver printed no URI:\n${text}`);
  }
  assert.match(text, /^Starting Pyro's built-in test echo server\.$/m);
  assert.match(text, /^object name: test\.echoserver$/m);
  return { process, uri: match[1], text };
}

export async function stopEchoServer(process: Deno.ChildProcess): Promise<void> {
  process.stdout.cancel().catch(() => {});
  try {
    process.kill("SIGTERM");
  } catch { /* already gone */ }
  await process.status;
}
