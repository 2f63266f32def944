/**
 * TLS through the commands and the name server, with Python Pyro5 5.15 on the other side:
 * `deno task echoserver` with `PYRO_SSL*` set and the Python client; a TLS name server of ours
 * used by Python's `locate_ns` and by our `nsc`; Python's TLS name server used by ours.
 *
 * Permissions: `--allow-all` (subprocesses, certificates in a temporary folder).
 */
import assert from "node:assert";
import { locateNS, PyroProxy } from "../../client.ts";
import { main as nscMain } from "../../cli/nsc.ts";
import { DEFAULT_CONFIG, type PyroConfig } from "../../config.ts";
import { startNameServer } from "../../nameserver.ts";
import { testCerts } from "../_certs.ts";
import { peerEnv, repoPath } from "../_peer.ts";
import { startEchoServer, stopEchoServer } from "./_echoserver.ts";

const certs = await testCerts();
const at = (name: string) => `${certs}/${name}`;

const CLIENT_ENV = { PYRO_SSL: "true", PYRO_SSL_CACERTS: at("ca.pem"), PYRO_COMMTIMEOUT: "5" };
const SERVER_ENV = {
  ...CLIENT_ENV,
  PYRO_SSL_SERVERCERT: at("server.pem"),
  PYRO_SSL_SERVERKEY: at("server.key"),
};
const CLIENT_CONFIG: Readonly<PyroConfig> = {
  ...DEFAULT_CONFIG,
  SSL: true,
  SSL_CACERTS: at("ca.pem"),
  COMMTIMEOUT: 5,
};

async function python(
  args: string[],
  env: Record<string, string>,
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command("python3", {
    args,
    env: { ...await peerEnv(), ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function tlsPeerClient(uri: string, env: Record<string, string>) {
  const result = await python(
    [repoPath("tests/interop/tls_peer.py"), "client", uri, "via echoserver"],
    env,
  );
  assert(result.ok, result.stderr);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
}

async function ourNsc(args: string[], env: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  let pending = "";
  const code = await nscMain(args, {
    out: (line) => lines.push(pending + line),
    write: (text) => pending += text,
    err: (line) => lines.push(`stderr: ${line}`),
    readLine: () => Promise.resolve(null),
    env,
  });
  return `${lines.join("\n")}\n[exit ${code}]`;
}

Deno.test("echoserver with PYRO_SSL* serves the Python client over TLS only", async () => {
  const { process, uri } = await startEchoServer([], SERVER_ENV);
  try {
    const result = await tlsPeerClient(uri, CLIENT_ENV);
    assert.strictEqual(result.ok, "via echoserver");
    assert.strictEqual(result.server_subject.commonName, "localhost");
    const plain = await tlsPeerClient(uri, { PYRO_COMMTIMEOUT: "5" });
    assert(plain.error, JSON.stringify(plain));
  } finally {
    await stopEchoServer(process);
  }
});

Deno.test("Python's echoserver with PYRO_SSL* serves our proxy over TLS", async () => {
  const child = new Deno.Command("python3", {
    args: ["-m", "Pyro5.utils.echoserver", "-H", "localhost", "-p", "0"],
    env: { ...await peerEnv(), ...SERVER_ENV },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
    while (!/echo uri: \S+\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    clearTimeout(deadline);
    const uri = /echo uri: (\S+)/.exec(text)?.[1];
    assert(uri, `no URI in: ${text}`);
    await using proxy = new PyroProxy(uri, { config: CLIENT_CONFIG });
    assert.strictEqual(await proxy.echo("to python"), "to python");
    assert.strictEqual(proxy._pyroPeerCertificate?.subject.O, "Razorvine.net");
    await using plain = new PyroProxy(uri, { config: { ...DEFAULT_CONFIG, COMMTIMEOUT: 5 } });
    await assert.rejects(plain.echo(1), /set SSL|closed|timeout/i);
  } finally {
    child.kill("SIGTERM");
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.stdin.close().catch(() => {});
    await child.status;
  }
});

Deno.test("echoserver with PYRO_SSL but no certificate refuses to start", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "echoserver", "-H", "127.0.0.1", "-p", "0"],
    cwd: repoPath("."),
    env: { PYRO_SSL: "true" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(!out.success);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.match(text, /SSL_SERVERCERT/);
  assert.doesNotMatch(text, /echo uri:/);
});

Deno.test("a TLS name server of ours: Python's locate_ns and our nsc use it", async () => {
  await using server = await startNameServer({
    host: "localhost",
    port: 0,
    enableBroadcast: false,
    config: { ...CLIENT_CONFIG, SSL_SERVERCERT: at("server.pem"), SSL_SERVERKEY: at("server.key") },
  });
  server.nameserver.register("deno.thing", "PYRO:deno_obj@localhost:4001");
  const port = String(server.uri.port);
  const script = [
    "import json, sys, Pyro5.api",
    "ns = Pyro5.api.locate_ns('localhost', int(sys.argv[1]))",
    "ns.register('py.thing', 'PYRO:py_obj@localhost:4002')",
    "print(json.dumps({'lookup': str(ns.lookup('deno.thing')), 'names': sorted(ns.list())}))",
  ].join("\n");
  const result = await python(["-c", script, port], CLIENT_ENV);
  assert(result.ok, result.stderr);
  assert.deepStrictEqual(JSON.parse(result.stdout), {
    lookup: "PYRO:deno_obj@localhost:4001",
    names: ["Pyro.NameServer", "deno.thing", "py.thing"],
  });
  const listed = await ourNsc(["-n", "localhost", "-p", port, "list"], CLIENT_ENV);
  assert.match(listed, /py\.thing --> PYRO:py_obj@localhost:4002/);
  assert.match(listed, /\[exit 0\]$/);
  const plain = await python(["-c", script, port], { PYRO_COMMTIMEOUT: "5" });
  assert(!plain.ok, "a plain client does not get through");
});

Deno.test("Python's TLS name server: our locateNS and nsc use it", async () => {
  const script = [
    "import sys, threading, Pyro5.nameserver",
    "uri, daemon, bc = Pyro5.nameserver.start_ns(host='localhost', port=0, enableBroadcast=False)",
    "print('READY', uri.port, flush=True)",
    "threading.Thread(target=daemon.requestLoop, daemon=True).start()",
    "sys.stdin.read()",
    "daemon.close()",
  ].join("\n");
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    env: { ...await peerEnv(), ...SERVER_ENV },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    clearTimeout(deadline);
    const port = Number(/^READY (\d+)/.exec(text)?.[1]);
    assert(port > 0, `no READY line: ${text}`);
    await using ns = await locateNS("localhost", port, { config: CLIENT_CONFIG });
    await ns.register("deno.registered", "PYRO:x@localhost:4003");
    assert.strictEqual(String(await ns.lookup("deno.registered")), "PYRO:x@localhost:4003");
    assert.strictEqual(ns._pyroPeerCertificate?.subject.CN, "localhost");
    const listed = await ourNsc(["-n", "localhost", "-p", String(port), "list"], CLIENT_ENV);
    assert.match(listed, /deno\.registered --> PYRO:x@localhost:4003/);
  } finally {
    await child.stdin.close();
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
});
