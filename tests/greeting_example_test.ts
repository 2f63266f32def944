/**
 * Runs examples/greeting as a user would: the server and client as separate processes, without
 * and with a name server, and the Python Pyro5 client against the Deno server.
 *
 * Permissions: `--allow-run --allow-read --allow-env --allow-net`.
 */
import assert from "node:assert";
import { startNameServer } from "../nameserver.ts";
import { peerEnv, repoPath } from "./_peer.ts";

const FORTUNE = "Hello, Ada. Here is your fortune message:\nTomorrow's lucky number is 12345678.";
const PERMISSIONS = ["--allow-net", "--allow-env", "--allow-sys"];

async function startServer(
  env: Record<string, string>,
  extra: string[] = [],
): Promise<{ process: Deno.ChildProcess; uri: string }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, repoPath("examples/greeting/server.ts"), ...extra],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => process.kill("SIGKILL"), 30_000);
  let text = "";
  try {
    while (!text.includes("Ready.")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    while (!text.endsWith("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  const match = /Object uri = (PYRO:example\.greeting@\S+)/.exec(text);
  if (!match) {
    process.kill("SIGKILL");
    await process.status;
    throw new Error(`server printed no URI:\n${text}`);
  }
  return { process, uri: match[1] };
}

async function stop(process: Deno.ChildProcess): Promise<void> {
  process.stdout.cancel().catch(() => {});
  try {
    process.kill("SIGTERM");
  } catch { /* already gone */ }
  await process.status;
}

async function runClient(uri: string, env: Record<string, string>): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, repoPath("examples/greeting/client.ts"), uri, "Ada"],
    env,
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).trim();
}

async function runPythonClient(uri: string, env: Record<string, string>): Promise<string> {
  const output = await new Deno.Command("python3", {
    args: [
      "-c",
      "import sys, Pyro5.api; print(Pyro5.api.Proxy(sys.argv[1]).get_fortune('Ada'))",
      uri,
    ],
    env: { ...(await peerEnv()), ...env },
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).trim();
}

Deno.test("examples/greeting: client and Python client call the server by URI", async () => {
  const env = { PYRO_HOST: "127.0.0.1" };
  const { process, uri } = await startServer(env);
  try {
    assert.match(uri, /^PYRO:example\.greeting@127\.0\.0\.1:\d+$/);
    assert.strictEqual(await runClient(uri, env), FORTUNE);
    assert.strictEqual(await runPythonClient(uri, env), FORTUNE);
  } finally {
    await stop(process);
  }
});

Deno.test("examples/greeting: server registers in the name server, clients use PYRONAME", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, enableBroadcast: false });
  const env = {
    PYRO_HOST: "127.0.0.1",
    PYRO_NS_HOST: "127.0.0.1",
    PYRO_NS_PORT: String(ns.uri.port),
  };
  const { process, uri } = await startServer(env, ["--ns"]);
  try {
    assert.strictEqual(ns.nameserver.lookup("example.greeting").toString(), uri);
    assert.strictEqual(await runClient("PYRONAME:example.greeting", env), FORTUNE);
    assert.strictEqual(await runPythonClient("PYRONAME:example.greeting", env), FORTUNE);
  } finally {
    await stop(process);
  }
});
