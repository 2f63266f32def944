/**
 * PyroUri against Python Pyro5's URI: the same texts parse to the same parts and format to the
 * same `str(uri)`, and the same texts are refused.
 *
 * Permissions: `--allow-run=python3,bash --allow-read`.
 */
import assert from "node:assert";
import { PyroError } from "../errors.ts";
import { createSerializer } from "../serializers/mod.ts";
import { PyroUri } from "../uri.ts";
import { peerEnv } from "./_peer.ts";

const TEXTS = [
  "PYRO:objectid@localhost:9090",
  "pyro:objectid@localhost:9090",
  "PyRo:obj_0123456789abcdef0123456789abcdef@127.0.0.1:1",
  "PYRO:x@[::1]:4444",
  "PYRO:x@[fe80::1%eth0]:4444",
  "PYRO:x@./u:/tmp/pyro.sock",
  "PYRO:x@./u:relative/sock",
  "PYRO:a.b.c@some.host.name:65535",
  "PYRO:x@host:0",
  "PYRONAME:example.greeting",
  "PYRONAME:example.greeting@localhost",
  "PYRONAME:example.greeting@localhost:1234",
  "PYRONAME:example@[::1]",
  "PYRONAME:example@./u:/tmp/ns.sock",
  "pyroname:lower.case",
  "PYROMETA:tag1",
  "PYROMETA:tag1,tag2@localhost:9090",
  "PYROMETA:class:foo.Bar@localhost",
  "PYRO:x@@host:1",
  // refused by Python too:
  "PYRO:x",
  "PYRO:x@host",
  "PYRO:x@host:port",
  "PYRO:x@[[::1]]:1",
  "PYRO:x@[not-ipv6]:1",
  "PYRO:x@./u:",
  "PYRO:x@./u:a:b",
  "FOO:x@host:1",
  "PYROX:x@host:1",
  "PYRO:@host:1",
  "PYRO: x@host:1",
  "nothing",
  "",
];

interface PythonView {
  text?: string;
  host?: string | null;
  port?: number | null;
  sockname?: string | null;
  error?: string;
}

async function parsedByPython(texts: string[]): Promise<PythonView[]> {
  const script = `
import json, sys
from Pyro5.core import URI
out = []
for text in json.load(sys.stdin):
    try:
        u = URI(text)
        out.append({"text": str(u), "host": u.host, "port": u.port, "sockname": u.sockname})
    except Exception as e:
        out.append({"error": type(e).__name__})
print(json.dumps(out))
`;
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    env: await peerEnv(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(texts)));
  await writer.close();
  const output = await child.output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("PyroUri parses and formats every text as Python Pyro5's URI does", async (t) => {
  const python = await parsedByPython(TEXTS);
  for (const [i, text] of TEXTS.entries()) {
    await t.step(JSON.stringify(text), () => {
      const expected = python[i];
      if (expected.error) {
        assert.throws(() => new PyroUri(text), PyroError, `Python refused: ${expected.error}`);
        return;
      }
      const uri = new PyroUri(text);
      assert.strictEqual(uri.toString(), expected.text);
      if (uri.protocol !== "PYROMETA") {
        assert.strictEqual(uri.host, expected.host);
        assert.strictEqual(uri.port, expected.port);
        assert.strictEqual(uri.sockname, expected.sockname);
      }
    });
  }
});

Deno.test("PyroUri travels as Pyro5's URI class dict and comes back equal", () => {
  for (const name of ["serpent", "json", "marshal", "msgpack"] as const) {
    const serializer = createSerializer(name);
    for (const text of ["PYRO:x@[::1]:4444", "PYRO:x@./u:/tmp/s", "PYRONAME:n@h:1"]) {
      const uri = new PyroUri(text);
      const back = serializer.loads(serializer.dumps(uri));
      assert.ok(back instanceof PyroUri, `${name}: ${text}`);
      assert.ok(back.equals(uri), `${name}: ${back} != ${uri}`);
    }
  }
});

Deno.test("PyroUri.location, of, from and equals", () => {
  const uri = PyroUri.of("thing", "[::1]:9999");
  assert.strictEqual(uri.location, "[::1]:9999");
  assert.strictEqual(PyroUri.from(uri), uri);
  assert.ok(PyroUri.from("PYRO:thing@[::1]:9999").equals(uri));
  assert.ok(!PyroUri.from("PYRO:thing@[::1]:9998").equals(uri));
  assert.strictEqual(new PyroUri("PYRONAME:x").location, null);
  assert.deepStrictEqual([...new PyroUri("PYROMETA:a,b@h:1").metadata], ["a", "b"]);
  assert.strictEqual(new PyroUri("PYRONAME:x@h", { nsPort: 1234 }).port, 1234);
  assert.throws(() => new PyroUri(42 as unknown as string), TypeError);
});
