/**
 * `deno task echoserver` against the real Python Pyro5 client, every serializer: each echo method,
 * values of every mapped type, errors with remote traceback, oneway, generator, batch of 100,
 * timeout on slow, attribute get and set, private refused (tests/interop/echo_client.py).
 *
 * Permissions: `--allow-run --allow-read --allow-env`.
 */
import assert from "node:assert";
import { peerEnv, repoPath } from "../_peer.ts";

const SERIALIZERS = ["serpent", "json", "marshal", "msgpack"];
const STARTUP_MS = 30_000;

/** Starts the echo server command and reads its URI from the output line `echo uri: ...`. */
async function startEchoServer(): Promise<{ process: Deno.ChildProcess; uri: string }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "echoserver", "-H", "127.0.0.1", "-p", "0"],
    cwd: repoPath("."),
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
  return { process, uri: match[1] };
}

Deno.test("echoserver serves the Python Pyro5 client with every serializer", async (t) => {
  const { process, uri } = await startEchoServer();
  try {
    for (const serializer of SERIALIZERS) {
      await t.step(serializer, async () => {
        const output = await new Deno.Command("python3", {
          args: [repoPath("tests/interop/echo_client.py"), uri, serializer],
          env: await peerEnv(),
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        }).output();
        const text = new TextDecoder().decode(output.stdout);
        const failures = text.split("\n").filter((line) => line.startsWith("FAIL"));
        assert.deepStrictEqual(failures, [], text + new TextDecoder().decode(output.stderr));
        assert.ok(output.success, new TextDecoder().decode(output.stderr));
        const passed = text.split("\n").filter((line) => line.startsWith("ok ")).length;
        assert.ok(passed >= 30, `only ${passed} checks ran:\n${text}`);
      });
    }
  } finally {
    process.stdout.cancel().catch(() => {});
    try {
      process.kill("SIGTERM");
    } catch { /* already gone */ }
    await process.status;
  }
});
