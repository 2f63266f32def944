/**
 * Logging like Pyro5's (`_log.ts`): LOGLEVEL/LOGFILE select what is written where, the daemon and
 * name server log connections, errors and refusals, and LOGWIRE writes each message as Pyro5's
 * `log_wiredata` does (compared with a Python proxy's own wire log of the same calls).
 *
 * Permissions: `--allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env`.
 */
import assert from "node:assert";
import { makeConfig, type PyroConfig } from "../config.ts";
import { PyroLogger, pythonBytesRepr, sentWireText, wireText } from "../_log.ts";
import { encodeMessage } from "../protocol/message.ts";
import { Daemon, expose, PyroProxy, startNameServer } from "../mod.ts";
import { peerEnv } from "./_peer.ts";

@expose
class Service {
  echo(value: unknown): unknown {
    return value;
  }
  fail(): never {
    throw new RangeError("out of range");
  }
}

const LINE =
  /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3},(Pyro5\.[a-z]+),(DEBUG|INFO|WARNING|ERROR)\] /;

async function withLogFile(
  items: Partial<PyroConfig>,
  body: (config: Readonly<PyroConfig>) => Promise<void>,
): Promise<string> {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/pyro.log`;
  try {
    await body(makeConfig({ LOGFILE: file, ...items }));
    try {
      return await Deno.readTextFile(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "";
      throw error;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The log's entries (an entry may span lines: a wire message's data). */
function entries(text: string): string[] {
  return text.split(/\n(?=\[\d{4}-)/).map((e) => e.trimEnd()).filter((e) => e !== "");
}

async function exercise(config: Readonly<PyroConfig>) {
  await using daemon = new Daemon({
    host: "127.0.0.1",
    port: 0,
    config,
    maxConnections: 1,
    validateHandshake: (_client, data) => {
      if (data === "let me in") return "welcome";
      if (data !== "hello") throw new Error("wrong password");
      return "hello";
    },
  });
  const uri = daemon.register(new Service(), "service");
  {
    await using proxy = new PyroProxy(uri, { config, handshake: "let me in" });
    assert.strictEqual(await proxy.echo("hi"), "hi");
    await assert.rejects(proxy.fail(), /out of range/);
    // A second connection is refused while the only one is in use.
    await using refused = new PyroProxy(uri, { config });
    await assert.rejects(refused._pyroBind(), /no free workers/);
  }
  await new Promise((resolve) => setTimeout(resolve, 100)); // the disconnect is logged
  await using wrong = new PyroProxy(uri, { config, handshake: "guess" });
  await assert.rejects(wrong._pyroBind(), /wrong password/);
  // Garbage instead of a Pyro message.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: daemon.uriFor("x").port! });
  await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n".padEnd(60, " ")));
  await conn.read(new Uint8Array(100)).catch(() => null);
  conn.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
}

Deno.test("PyroLogger: a daemon logs connections, errors and refusals at LOGLEVEL=DEBUG", async () => {
  const text = await withLogFile({ LOGLEVEL: "DEBUG" }, exercise);
  const logged = entries(text);
  for (const entry of logged) assert.match(entry, LINE);
  const messages = logged.map((e) => e.replace(LINE, "$2 "));
  const has = (pattern: RegExp) =>
    assert.ok(messages.some((m) => pattern.test(m)), `${pattern} in\n${messages.join("\n")}`);
  has(/^DEBUG daemon created on 127\.0\.0\.1:\d+ \(pid \d+\)$/);
  has(/^DEBUG connected 127\.0\.0\.1:\d+ - unencrypted$/);
  has(
    /^DEBUG exception occurred in method call user code: client=127\.0\.0\.1:\d+ method=fail exception=RangeError: out of range$/,
  );
  has(
    /^WARNING client connection was denied: no free workers, increase server threadpool size \(all 1 connections .*\) \(127\.0\.0\.1:\d+\)$/,
  );
  has(/^WARNING client connection was denied: wrong password \(127\.0\.0\.1:\d+\)$/);
  has(/^WARNING error during connect\/handshake: invalid data \(127\.0\.0\.1:\d+\)$/);
  has(/^DEBUG disconnected 127\.0\.0\.1:\d+$/);
  has(/^DEBUG daemon closing$/);
  assert.ok(!messages.some((m) => m.includes("wiredata")), "no wire log without LOGWIRE");
});

Deno.test("PyroLogger: LOGLEVEL=WARNING keeps the warnings only; no LOGLEVEL writes nothing", async () => {
  const warnings = entries(await withLogFile({ LOGLEVEL: "WARNING" }, exercise));
  assert.strictEqual(warnings.length, 3, warnings.join("\n"));
  for (const entry of warnings) assert.match(entry, /,Pyro5\.server,WARNING\] /);
  assert.strictEqual(await withLogFile({ LOGLEVEL: null }, exercise), "");
});

Deno.test("PyroLogger: refuses an unknown level and a log file it cannot write", () => {
  assert.throws(
    () => new Daemon({ port: 0, config: makeConfig({ LOGLEVEL: "LOUD" }) }),
    { name: "RangeError", message: /^Invalid LOGLEVEL: LOUD/ },
  );
  assert.throws(
    () =>
      new PyroLogger(
        "Pyro5.x",
        makeConfig({ LOGLEVEL: "INFO", LOGFILE: "/nonexistent/dir/x.log" }),
      ),
    Deno.errors.NotFound,
  );
});

Deno.test("PyroLogger: the name server logs its start and its daemon's connections", async () => {
  const text = await withLogFile({ LOGLEVEL: "DEBUG" }, async (config) => {
    await using ns = await startNameServer({ host: "127.0.0.1", port: 0, config });
    await using proxy = new PyroProxy(ns.uri, { config });
    assert.strictEqual(await proxy.count(), 1);
  });
  assert.match(text, /,Pyro5\.nameserver,DEBUG\] using volatile in-memory dict storage\n/);
  assert.match(text, /,Pyro5\.nameserver,INFO\] nameserver daemon created on 127\.0\.0\.1:\d+\n/);
  assert.match(text, /,Pyro5\.server,DEBUG\] connected 127\.0\.0\.1:\d+ - unencrypted\n/);
});

const PYTHON_CLIENT = `
import sys
from Pyro5.api import Proxy
with Proxy(sys.argv[1]) as p:
    p.echo("hi")
    p.echo({"a": [1, 2.5, None], "b": b"\\x00\\xff'"})
    try:
        p.fail()
    except Exception:
        pass
`;

/** The bytes a Python bytes literal (as `repr()` writes it) stands for. */
function bytesOfRepr(repr: string): Uint8Array {
  const body = repr.slice(2, -1);
  const out: number[] = [];
  const escapes: Record<string, number> = { n: 10, r: 13, t: 9, "\\": 92, "'": 39, '"': 34 };
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== "\\") {
      out.push(body.charCodeAt(i));
    } else if (body[i + 1] === "x") {
      out.push(parseInt(body.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      out.push(escapes[body[i + 1]]);
      i += 1;
    }
  }
  return new Uint8Array(out);
}

/** The wire entries of a log: [what happened, the header fields without corr_id, data]. */
function wireEntries(text: string): [string, string, string][] {
  const found: [string, string, string][] = [];
  for (const match of text.matchAll(/\] (\w+ [\w ]+?): (msgtype=.*?) corr_id=\S+\ndata=(.*)$/gm)) {
    found.push([match[1], match[2], match[3]]);
  }
  return found;
}

Deno.test("PyroLogger: LOGWIRE logs each message as Pyro5's log_wiredata, field for field", async () => {
  let python = "";
  const ours = await withLogFile({ LOGLEVEL: "DEBUG", LOGWIRE: true }, async (config) => {
    await using daemon = new Daemon({ host: "127.0.0.1", port: 0, config });
    const uri = daemon.register(new Service(), "service");
    await using proxy = new PyroProxy(uri, { config });
    assert.strictEqual(await proxy.echo("from deno"), "from deno");
    const pythonLog = await Deno.makeTempFile();
    try {
      const output = await new Deno.Command("python3", {
        args: ["-c", PYTHON_CLIENT, String(uri)],
        env: {
          ...(await peerEnv()),
          PYRO_LOGLEVEL: "DEBUG",
          PYRO_LOGWIRE: "true",
          PYRO_LOGFILE: pythonLog,
        },
        signal: AbortSignal.timeout(60_000),
      }).output();
      assert.ok(output.success, new TextDecoder().decode(output.stderr));
      python = await Deno.readTextFile(pythonLog);
    } finally {
      await Deno.remove(pythonLog);
    }
  });
  // The invocations: what Python sent is what we received (Pyro5 logs a sent message's whole
  // bytes, a received one's payload), and the reverse.
  const pySent = wireEntries(python).filter(([what]) => what === "proxy wiredata sending");
  const pyReceived = wireEntries(python).filter(([what]) => what === "proxy wiredata received");
  const ourReceived = wireEntries(ours).filter(([what, header, data]) =>
    what === "daemon wiredata received" && header.startsWith("msgtype=4 ") &&
    !data.includes("from deno")
  );
  const ourSent = wireEntries(ours).filter(([what, header, data]) =>
    what === "daemon wiredata sending" && header.startsWith("msgtype=5 ") &&
    !data.includes("from deno")
  );
  assert.strictEqual(pySent.length, 3, python);
  // Our own proxy's messages are logged too.
  assert.match(
    ours,
    /,Pyro5\.client,DEBUG\] proxy wiredata sending: msgtype=4 .*\ndata=b["']PYRO.*from deno/,
  );
  assert.match(
    ours,
    /,Pyro5\.client,DEBUG\] proxy wiredata received: msgtype=5 .*\ndata=b".*from deno/,
  );
  // A whole message's payload (after its 40-byte header; no annotations here).
  const payloadOf = (repr: string) => {
    const bytes = bytesOfRepr(repr);
    return pythonBytesRepr(
      bytes.subarray(String.fromCharCode(...bytes.subarray(0, 4)) === "PYRO" ? 40 : 0),
    );
  };
  assert.deepStrictEqual(
    ourReceived.map(([, header, data]) => [header.replace(/num_annotations=\d+/, ""), data]),
    pySent.map(([, header, data]) => [header.replace(/num_annotations=\d+/, ""), payloadOf(data)]),
  );
  // Our replies as Pyro5 logs what it sends: the whole message; the first two are the bytes
  // Python received (the third carries our traceback).
  // (Pyro5 logs a sent message's flags before it adds CORR_ID, a received one's as they came.)
  const withoutCorrId = (header: string) =>
    header.replace(
      /flags=0x([0-9a-f]+)/,
      (_, f) => `flags=0x${(parseInt(f, 16) & ~0x40).toString(16)}`,
    );
  assert.deepStrictEqual(ourSent.map((e) => e[1]), pyReceived.map((e) => withoutCorrId(e[1])));
  assert.deepStrictEqual(
    ourSent.slice(0, 2).map((e) => payloadOf(e[2])),
    pyReceived.slice(0, 2).map((e) => e[2]),
  );
  assert.match(ourSent[0][2], /^b["']PYRO\\x01\\xf6\\x05/);
  assert.match(
    ours,
    /\] daemon wiredata received: msgtype=1 flags=0x0 ser=1 seq=0 num_annotations=\d+ corr_id=[0-9a-f-]{36}\ndata=b/,
  );
});

Deno.test("wireText and sentWireText show messages as Pyro5's log_wiredata", () => {
  const message = {
    type: 5,
    flags: 0,
    seq: 65535,
    serializerId: 4,
    data: new Uint8Array([0x27, 0x5c, 0x0d, 0x80]),
    annotations: new Map([["XYZW", new Uint8Array(2)]]),
    correlationId: Uint8Array.from({ length: 16 }, (_, i) => i),
  };
  assert.strictEqual(
    wireText("daemon wiredata received", message),
    "daemon wiredata received: msgtype=5 flags=0x0 ser=4 seq=65535 num_annotations=1 " +
      `corr_id=00010203-0405-0607-0809-0a0b0c0d0e0f\ndata=b"'\\\\\\r\\x80"`,
  );
  // Sent: the flags without CORR_ID, no annotation count, the whole message as data.
  const bytes = encodeMessage(message);
  const sent = sentWireText("daemon wiredata sending", bytes);
  assert.strictEqual(
    sent.split("\n")[0],
    "daemon wiredata sending: msgtype=5 flags=0x0 ser=4 seq=65535 num_annotations=0 " +
      "corr_id=00010203-0405-0607-0809-0a0b0c0d0e0f",
  );
  assert.strictEqual(sent.split("\n")[1], `data=${pythonBytesRepr(bytes)}`);
});
