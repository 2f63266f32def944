/**
 * The name server object called directly (Pyro5's semantics, keyword arguments as the daemon
 * passes them, bad input), the Python regex translation checked against Python's `re` itself,
 * the UDP broadcast responder and client on loopback, then the running name server over the
 * network: startNameServer, locateNS, resolve, registerWithNameServer, auto-clean, a load test
 * and the `ns` command.
 */
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert";
import { kwargs, PyroProxy } from "../client.ts";
import { makeConfig } from "../config.ts";
import { NamingError, PyroError } from "../errors.ts";

type ErrorClass = new (...args: never[]) => Error;
import { locateNS, resolve } from "../locate.ts";
import { Daemon, exposeObject } from "../server.ts";
import { PyroUri } from "../uri.ts";
import { PyTuple, tuple } from "../serializers/values.ts";
import {
  AutoCleaner,
  NameServer,
  NAMESERVER_CLASS_TAG,
  NAMESERVER_NAME,
  registerWithNameServer,
  startNameServer,
} from "../nameserver.ts";
import { pythonRegex } from "../nameserver/python_regex.ts";
import { broadcastLocate, BroadcastServer } from "../nameserver/broadcast.ts";
import { SqlStorage } from "../nameserver/storage_sql.ts";
import { main as nsMain } from "../cli/ns.ts";

const URI_A = "PYRO:obj_a@localhost:5001";
const URI_B = "PYRO:obj_b@localhost:5002";

function filled(): NameServer {
  const ns = new NameServer();
  ns.register(NAMESERVER_NAME, "PYRO:Pyro.NameServer@localhost:9090", false, [
    "class:Pyro5.nameserver.NameServer",
  ]);
  ns.register("printer.office", URI_A, false, new Set(["printer", "color"]));
  ns.register("printer.lab", URI_B, false, ["printer"]);
  ns.register("scanner.lab", URI_B, false, null);
  return ns;
}

Deno.test("NameServer register and lookup", () => {
  const ns = filled();
  strictEqual(ns.count(), 4);
  const uri = ns.lookup("printer.office");
  ok(uri instanceof PyroUri);
  strictEqual(uri.toString(), URI_A);
  const withMeta = ns.lookup("printer.office", true);
  ok(withMeta instanceof PyTuple);
  deepStrictEqual([...withMeta], [new PyroUri(URI_A), new Set(["printer", "color"])]);
  deepStrictEqual([...(ns.lookup("scanner.lab", true) as PyTuple)][1], new Set());
  throws(() => ns.lookup("nope"), { name: "NamingError", message: "unknown name: nope" });
  // a PyroUri registers as its text; re-registering replaces
  ns.register("scanner.lab", new PyroUri(URI_A));
  strictEqual(ns.lookup("scanner.lab").toString(), URI_A);
  strictEqual(ns.count(), 4);
  strictEqual(ns.ping(), null);
});

Deno.test("NameServer register safe refuses duplicates", () => {
  const ns = filled();
  throws(() => ns.register("printer.lab", URI_A, true), {
    name: "NamingError",
    message: "name already registered: printer.lab",
  });
  strictEqual(ns.lookup("printer.lab").toString(), URI_B);
  ns.register("new.name", URI_A, true);
  strictEqual(ns.count(), 5);
});

Deno.test("NameServer binds keyword arguments to Python's parameter names", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const ns = filled();
  const uri = daemon.register(ns, "Pyro.NameServer");
  await using proxy = new PyroProxy(uri);
  // what a Python call ns.register("kw", uri, safe=True, metadata={"m"}) sends
  await proxy.register("kw", URI_A, kwargs({ safe: true, metadata: new Set(["m"]) }));
  await rejects(proxy.register("kw", URI_A, kwargs({ safe: true })), /already registered/);
  await proxy.register(kwargs({ name: "kw2", uri: URI_B }));
  const found = await proxy.lookup("kw", kwargs({ return_metadata: true })) as PyTuple;
  deepStrictEqual([...found][1], new Set(["m"]));
  deepStrictEqual(Object.keys(await proxy.list(kwargs({ prefix: "printer." })) as object), [
    "printer.office",
    "printer.lab",
  ]);
  deepStrictEqual(await proxy.yplookup(kwargs({ meta_any: ["m"], return_metadata: false })), {
    kw: URI_A,
  });
  strictEqual(await proxy.remove(kwargs({ regex: "kw." })), 1);
  strictEqual(await proxy.remove(kwargs({ name: "kw" })), 1);
  await rejects(proxy.lookup("x", kwargs({ bogus: 1 })), {
    name: "TypeError",
    message: "NameServer.lookup() got an unexpected keyword argument 'bogus'",
  });
  await rejects(proxy.lookup("x", kwargs({ name: "y" })), {
    name: "TypeError",
    message: "NameServer.lookup() got multiple values for argument 'name'",
  });
  await rejects(proxy.register(kwargs({ name: "y" })), {
    name: "TypeError",
    message: "NameServer.register() missing 1 required positional argument: 'uri'",
  });
  await rejects(proxy.ping(1, kwargs({ x: 1 })), {
    name: "TypeError",
    message: "NameServer.ping() takes 1 positional argument but 2 were given",
  });
});

Deno.test("NameServer list by prefix and regex, with metadata", () => {
  const ns = filled();
  deepStrictEqual(ns.list("printer."), { "printer.office": URI_A, "printer.lab": URI_B });
  deepStrictEqual(ns.list(null, String.raw`.+\.lab$`), {
    "printer.lab": URI_B,
    "scanner.lab": URI_B,
  });
  deepStrictEqual(ns.list(null, "lab"), {}); // re.match: anchored at the start
  const all = ns.list(null, null, true);
  strictEqual(Object.keys(all).length, 4);
  const office = all["printer.office"] as PyTuple;
  ok(office instanceof PyTuple);
  deepStrictEqual([...office], [URI_A, new Set(["printer", "color"])]);
  throws(() => ns.list("a", "b"), { name: "RangeError", message: /one thing at a time/ });
  throws(() => ns.list(null, "("), { name: "NamingError", message: /^invalid regex: missing \)/ });
  // empty strings are no filter, as in Python
  strictEqual(Object.keys(ns.list("", "")).length, 4);
});

Deno.test("NameServer yplookup meta_all and meta_any", () => {
  const ns = filled();
  const all = ns.yplookup(["printer", "color"]);
  deepStrictEqual(Object.keys(all), ["printer.office"]);
  deepStrictEqual([...(all["printer.office"] as PyTuple)], [URI_A, new Set(["printer", "color"])]);
  deepStrictEqual(ns.yplookup(null, new Set(["color", "nope"]), false), {
    "printer.office": URI_A,
  });
  deepStrictEqual(ns.yplookup(["class:Pyro5.nameserver.NameServer"], null, false), {
    [NAMESERVER_NAME]: "PYRO:Pyro.NameServer@localhost:9090",
  });
  deepStrictEqual(ns.yplookup(), {});
  deepStrictEqual(ns.yplookup([], []), {});
  throws(() => ns.yplookup(["a"], ["b"]), {
    name: "RangeError",
    message: "you can't use meta_all or meta_any at the same time",
  });
  throws(() => ns.yplookup("printer"), /metadata_all should not be a str/);
  throws(() => ns.yplookup(null, "printer"), /metadata_any should not be a str/);
});

Deno.test("NameServer set_metadata", () => {
  const ns = filled();
  ns.set_metadata("scanner.lab", ["scanner"]);
  deepStrictEqual(Object.keys(ns.yplookup(["scanner"])), ["scanner.lab"]);
  ns.set_metadata("scanner.lab", null);
  deepStrictEqual(ns.yplookup(["scanner"]), {});
  throws(() => ns.set_metadata("nope", ["x"]), {
    name: "NamingError",
    message: "unknown name: nope",
  });
  throws(() => ns.set_metadata("scanner.lab", "abc"), /metadata should not be a str/);
});

Deno.test("NameServer remove by name, prefix and regex never removes itself", () => {
  const ns = filled();
  strictEqual(ns.remove("nope"), 0);
  strictEqual(ns.remove(NAMESERVER_NAME), 0);
  strictEqual(ns.remove("printer.lab"), 1);
  strictEqual(ns.remove(null, "printer."), 1);
  strictEqual(ns.remove(null, "Pyro."), 0);
  strictEqual(ns.remove(null, null, ".*"), 1);
  deepStrictEqual(Object.keys(ns.list()), [NAMESERVER_NAME]);
  strictEqual(ns.remove(), 0);
});

Deno.test("NameServer refuses bad input with Pyro5's error classes and keeps serving", async (t) => {
  const ns = new NameServer({ limits: { maxTags: 3, maxTagLength: 8, maxNameLength: 16 } });
  // Errors of the classes Pyro5 raises (TypeError, PyroError); NamingError beyond our limits.
  const cases: [string, ErrorClass, () => unknown, RegExp][] = [
    ["name not a str", TypeError, () => ns.register(42, URI_A), /^name must be a str$/],
    ["empty name", NamingError, () => ns.register("", URI_A), /must not be empty/],
    ["long name", NamingError, () => ns.register("x".repeat(17), URI_A), /name too long/],
    ["control char", NamingError, () => ns.register("a\nb", URI_A), /control characters/],
    ["lone surrogate", NamingError, () => ns.register("a\ud800", URI_A), /lone surrogate/],
    [
      "uri not a str",
      TypeError,
      () => ns.register("a", 5),
      /only URIs or strings can be registered/,
    ],
    ["invalid uri", PyroError, () => ns.register("a", "not a uri"), /^invalid uri$/],
    ["uri without port", PyroError, () => ns.register("a", "PYRO:x@host"), /^invalid uri/],
    ["metadata str", TypeError, () => ns.register("a", URI_A, false, "abc"), /should not be a str/],
    [
      "metadata dict",
      TypeError,
      () => ns.register("a", URI_A, false, new Map([[1, 2]])),
      /set, list or tuple/,
    ],
    ["metadata number", TypeError, () => ns.register("a", URI_A, false, 7), /set, list or tuple/],
    ["tag not a str", TypeError, () => ns.register("a", URI_A, false, [1]), /tags must be strings/],
    [
      "too many tags",
      NamingError,
      () => ns.register("a", URI_A, false, ["1", "2", "3", "4"]),
      /too many/,
    ],
    [
      "tag too long",
      NamingError,
      () => ns.register("a", URI_A, false, ["123456789"]),
      /tag too long/,
    ],
    ["lookup non-str", TypeError, () => ns.lookup(null), /name must be a str/],
    ["prefix non-str", TypeError, () => ns.list(3), /prefix must be a str/],
    ["regex non-str", TypeError, () => ns.remove(null, null, []), /regex must be a str/],
    [
      "bad regex",
      NamingError,
      () => ns.list(null, "a**"),
      /^invalid regex: multiple repeat at position 2$/,
    ],
    ["untranslatable regex", NamingError, () => ns.list(null, "(?>a)"), /cannot be translated/],
    ["long regex", NamingError, () => ns.list(null, "a".repeat(2000)), /longer than/],
  ];
  for (const [name, errorClass, call, message] of cases) {
    await t.step(name, () =>
      throws(call, (e: unknown) => {
        strictEqual((e as Error).constructor, errorClass);
        return message.test((e as Error).message);
      }));
  }
  strictEqual(ns.count(), 0);
  ns.register("fine", URI_A, false, ["1", "2", "3"]);
  strictEqual(ns.count(), 1);
});

Deno.test("NameServer over SqlStorage behaves the same", async () => {
  const dir = await Deno.makeTempDir();
  const storage = new SqlStorage(`${dir}/ns.sqlite`);
  try {
    const ns = new NameServer({ storage });
    ns.register("a.b", URI_A, false, ["x", "y"]);
    ns.register("a.c", URI_B, false, ["y"]);
    deepStrictEqual(ns.yplookup(["x", "y"], null, false), { "a.b": URI_A });
    deepStrictEqual(ns.list(null, String.raw`a\.[bc]`), { "a.b": URI_A, "a.c": URI_B });
    throws(() => ns.register("a.b", URI_B, true), /already registered/);
    strictEqual(ns.remove(null, "a."), 2);
  } finally {
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// Pattern, subjects: the match (or its absence) must be what Python's re.match gives.
const REGEX_CASES: [string, string[]][] = [
  ["a.c", ["abc", "a\nc", "xabc", "abcd"]],
  ["(?s)a.c", ["a\nc"]],
  ["a$", ["a", "a\n", "a\n\n", "ab"]],
  [String.raw`a\Z`, ["a", "a\n"]],
  [String.raw`(?m)a$\nb^`, ["a\nb", "a\nb\n"]],
  [String.raw`(?m)^b`, ["b", "\nb"]],
  [String.raw`\d+\.\w+`, ["12.ab", "٣.é", "x"]],
  [String.raw`(?a)\d+\.\w+`, ["12.ab", "٣.é", "1.é"]],
  ["[]a]+", ["]a]", "b"]],
  ["[^]a]+", ["bc", "]"]],
  ["x{,2}y", ["xxy", "xxxy", "y"]],
  ["x{}", ["x{}", "x"]],
  ["x{2,}", ["xx", "x", "xxxx"]],
  ["x{a}", ["x{a}"]],
  ["x{1,2", ["x{1,2"]],
  ["(?P<n>ab)(?P=n)", ["abab", "abba"]],
  [String.raw`(a)(b)\2\1`, ["abba"]],
  [String.raw`(a)\1(0)`, ["aa0"]],
  [String.raw`\101\0`, ["A\0"]],
  ["(?i)hello", ["HeLLo"]],
  ["a(?i:b)c", ["aBc", "aBC"]],
  ["(?i)a(?-i:b)c", ["AbC", "ABC"]],
  ["(?x) a b # comment\n c", ["abc", "a b c"]],
  ["(?x)[ ]a", [" a", "a"]],
  [String.raw`(?x)a\ b`, ["a b", "ab"]],
  [String.raw`[\w-]+$`, ["a-b_c", "a b"]],
  [String.raw`[a\-z]+`, ["-az", "b"]],
  [String.raw`\bfoo\b`, ["foo bar", "foobar", "éfoo"]],
  [String.raw`foo\B`, ["foobar", "foo"]],
  [String.raw`[\s]+`, [" \u001c\u0085\u3000", "x"]],
  [String.raw`\S+`, ["ab", " "]],
  [String.raw`[\W\d]+`, ["!!1", "a"]],
  [String.raw`[\D]+`, ["ab1"]],
  ["(?<=a)b", ["ab"]],
  ["(?<!a)b", ["b"]],
  ["(?=a)*a", ["a"]],
  ["(?!x)..", ["ab", "xa"]],
  ["a|b", ["b", "c"]],
  ["(?:ab)+?c", ["ababc"]],
  [String.raw`\x41\u0042\U00000043`, ["ABC"]],
  [String.raw`[\x41-\x43]+`, ["ABCD"]],
  [String.raw`\$\^\.\*\#\ \-\/`, ["$^.*# -/"]],
  [String.raw`[.$^*/|(){}]+`, [".$^*/|(){}"]],
  [String.raw`test\.`, ["test.x", "testx"]],
  ["(?#comment)ab", ["ab"]],
  ["[a-c&&b]", ["&", "b"]],
  ["[+--b]", ["-", "b", ","]],
  ["a{2}?", ["aa"]],
  ["}", ["}"]],
  ["]", ["]"]],
  [String.raw`\[x\]`, ["[x]"]],
  ["[[]", ["["]],
  ["é+", ["éé"]],
  ["😀.", ["😀x"]],
  ["[😀-😂]", ["😁"]],
  [String.raw`[\b]`, ["\b"]],
  [String.raw`\a\f\t\v\\`, ["\x07\f\t\v\\"]],
  ["(?i)straße", ["STRASSE", "Straße"]],
  ["(a)|b", ["b"]],
  [String.raw`(?P<first>\w+)\.(?P<second>\w+)`, ["x.y"]],
];

Deno.test("pythonRegex matches like Python's re.match", async (t) => {
  const script = [
    "import json, re, sys",
    "cases = json.load(sys.stdin)",
    "out = []",
    "for p, subjects in cases:",
    "    r = re.compile(p)",
    "    out.append([(m.group(0) if (m := r.match(s)) else None) for s in subjects])",
    "print(json.dumps(out))",
  ].join("\n");
  const child = new Deno.Command("python3", {
    args: ["-W", "ignore", "-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(REGEX_CASES)));
  await writer.close();
  const result = await child.output();
  strictEqual(result.code, 0, new TextDecoder().decode(result.stderr));
  const expected: (string | null)[][] = JSON.parse(new TextDecoder().decode(result.stdout));
  for (let i = 0; i < REGEX_CASES.length; i++) {
    const [pattern, subjects] = REGEX_CASES[i];
    await t.step(JSON.stringify(pattern), () => {
      const regex = pythonRegex(pattern);
      const got = subjects.map((s) => regex.exec(s)?.[0] ?? null);
      deepStrictEqual(got, expected[i]);
    });
  }
});

// Pattern, message: what Python's re.compile says, ours says the same.
const REGEX_ERRORS: [string, string][] = [
  ["(", "missing ), unterminated subpattern at position 0"],
  [")", "unbalanced parenthesis at position 0"],
  ["[a", "unterminated character set at position 0"],
  ["*a", "nothing to repeat at position 0"],
  ["a**", "multiple repeat at position 2"],
  ["^*", "nothing to repeat at position 1"],
  [String.raw`\q`, String.raw`bad escape \q at position 0`],
  [String.raw`\1`, "invalid group reference 1 at position 1"],
  [String.raw`(a\1)`, "cannot refer to an open group at position 2"],
  [String.raw`(a)\10`, "invalid group reference 10 at position 4"],
  ["(?<n>x)", "unknown extension ?<n at position 1"],
  ["x(?i)", "global flags not at the start of the expression at position 1"],
  ["(?z)", "unknown extension ?z at position 1"],
  ["[b-a]", "bad character range b-a at position 1"],
  [String.raw`[\w-z]`, String.raw`bad character range \w-z at position 1`],
  [String.raw`\x4`, String.raw`incomplete escape \x4 at position 0`],
  ["\\", "bad escape (end of pattern) at position 0"],
  ["(?L)a", "bad inline flags: cannot use 'L' flag with a str pattern at position 3"],
];

Deno.test("pythonRegex refuses what Python refuses, with Python's message", async (t) => {
  for (const [pattern, message] of REGEX_ERRORS) {
    await t.step(JSON.stringify(pattern), () => {
      throws(() => pythonRegex(pattern), {
        name: "NamingError",
        message: `invalid regex: ${message}`,
      });
    });
  }
  for (const pattern of ["a++", "(?>a)", "(?(1)a|b)", String.raw`\N{EM DASH}`]) {
    throws(() => pythonRegex(pattern), /cannot be translated to a JavaScript regex/);
  }
});

Deno.test("BroadcastServer answers GET_NSURI on loopback, directly and by broadcast", async (t) => {
  const nsUri = "PYRO:Pyro.NameServer@127.0.0.1:45678";
  await t.step("direct to 127.0.0.1", async () => {
    await using responder = await BroadcastServer.start(nsUri, { host: "127.0.0.1", port: 0 });
    ok(responder.port > 0);
    strictEqual(responder.locationStr, `127.0.0.1:${responder.port}`);
    const found = await broadcastLocate({ port: responder.port, addresses: ["127.0.0.1"] });
    strictEqual(found?.toString(), nsUri);
  });
  await t.step("broadcast to 127.255.255.255", async () => {
    await using responder = await BroadcastServer.start(nsUri, {
      host: "127.255.255.255",
      port: 0,
    });
    const found = await broadcastLocate({ port: responder.port, addresses: ["127.255.255.255"] });
    strictEqual(found?.toString(), nsUri);
  });
  await t.step("other datagrams are ignored", async () => {
    await using responder = await BroadcastServer.start(nsUri, { host: "127.0.0.1", port: 0 });
    const { default: dgram } = await import("node:dgram");
    const socket = dgram.createSocket("udp4");
    try {
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
      const reply = new Promise<string>((resolve) => {
        socket.on("message", (data) => resolve(new TextDecoder().decode(data)));
      });
      socket.send("GET_NSURIX", responder.port, "127.0.0.1");
      socket.send("get_nsuri", responder.port, "127.0.0.1");
      socket.send("GET_NSURI", responder.port, "127.0.0.1");
      strictEqual(await reply, nsUri); // only the real request got an answer
    } finally {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });
  await t.step("nobody answers: null after the rounds", async () => {
    const started = Date.now();
    const found = await broadcastLocate({
      port: 9,
      addresses: ["127.0.0.1"],
      timeout: 0.1,
      tries: 2,
    });
    strictEqual(found, null);
    ok(Date.now() - started >= 190);
  });
  await t.step("close is idempotent", async () => {
    const responder = await BroadcastServer.start(nsUri, { host: "127.0.0.1", port: 0 });
    await responder.close();
    await responder.close();
  });
});

Deno.test("BroadcastServer bound to every interface answers with the client's interface", async () => {
  // The name server URI says 0.0.0.0; the answer must name an address the client can reach.
  await using responder = await BroadcastServer.start("PYRO:Pyro.NameServer@0.0.0.0:9999", {
    host: "127.0.0.1",
    port: 0,
  });
  const found = await broadcastLocate({ port: responder.port, addresses: ["127.0.0.1"] });
  strictEqual(found?.toString(), "PYRO:Pyro.NameServer@127.0.0.1:9999");
});

// ---- the running name server, over the network ----

/** A TCP port nothing listens on (bound, then released). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("startNameServer registers itself with its class metadata and serves remotely", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
  strictEqual(server.broadcast, null);
  strictEqual(server.broadcastSkipped, "Not starting broadcast server for localhost.");
  strictEqual(server.uri.object, NAMESERVER_NAME);
  await using ns = new PyroProxy(server.uri);
  deepStrictEqual(await ns.list(null, null, true), {
    [NAMESERVER_NAME]: tuple<unknown>(server.uri.toString(), new Set([NAMESERVER_CLASS_TAG])),
  });
  deepStrictEqual(
    [...await ns._pyroMethods].sort(),
    ["count", "list", "lookup", "ping", "register", "remove", "set_metadata", "yplookup"],
  );
  strictEqual(await ns.count(), 1);
  await server.close();
  await server.close(); // idempotent
});

Deno.test("startNameServer NAT, Unix socket and options", async (t) => {
  await t.step("NAT: the registered URI is the external one", async () => {
    await using server = await startNameServer({
      host: "127.0.0.1",
      port: 0,
      natHost: "public.example",
      natPort: 9999,
    });
    strictEqual(server.uri.toString(), "PYRO:Pyro.NameServer@public.example:9999");
    strictEqual(server.internalUri.host, "127.0.0.1");
    strictEqual(server.nameserver.lookup(NAMESERVER_NAME).toString(), server.uri.toString());
  });
  await t.step("Unix domain socket", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/ns.sock`;
      await using server = await startNameServer({ unixSocket: path });
      strictEqual(server.broadcastSkipped, null);
      strictEqual(server.uri.toString(), `PYRO:Pyro.NameServer@./u:${path}`);
      await using ns = await locateNS(`./u:${path}`);
      strictEqual(await ns.count(), 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("invalid storage and auto-clean settings", async () => {
    await rejects(
      () => startNameServer({ host: "127.0.0.1", port: 0, storage: "disk" }),
      RangeError,
    );
    await rejects(
      () => startNameServer({ host: "127.0.0.1", port: 0, autoClean: 1 }),
      /smaller than 3/,
    );
    await rejects(
      () => startNameServer({ storage: "sql:/nonexistent-dir/x/ns.sqlite" }),
      NamingError,
    );
  });
  await t.step("abort signal closes it", async () => {
    const controller = new AbortController();
    const server = await startNameServer({ host: "127.0.0.1", port: 0, signal: controller.signal });
    controller.abort();
    await server.closed;
  });
});

Deno.test("A remote caller with bad input gets Pyro5's error classes; the name server keeps serving", async (t) => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
  for (const serializer of ["serpent", "json", "marshal", "msgpack"] as const) {
    await t.step(serializer, async () => {
      await using ns = new PyroProxy(server.uri, { serializer });
      // Pyro5's classes for what Pyro5 refuses too; NamingError beyond our limits.
      const cases: [string, ErrorClass, () => Promise<unknown>, RegExp][] = [
        ["empty name", NamingError, () => ns.register("", URI_A), /name must not be empty/],
        [
          "control characters",
          NamingError,
          () => ns.register("a\u0000b", URI_A),
          /control characters/,
        ],
        ["name not a str", TypeError, () => ns.register(12, URI_A), /name must be a str/],
        ["invalid uri", PyroError, () => ns.register("x", "nope"), /^invalid uri$/],
        ["uri not a str", TypeError, () => ns.register("x", [1]), /only URIs or strings/],
        [
          "invalid regex",
          NamingError,
          () => ns.list(null, "[z-a]"),
          /invalid regex: bad character range z-a/,
        ],
        [
          "metadata str",
          TypeError,
          () => ns.set_metadata("Pyro.NameServer", "abc"),
          /should not be a str/,
        ],
        [
          "metadata numbers",
          TypeError,
          () => ns.register("x", URI_A, false, [1, 2]),
          /tags must be strings/,
        ],
        [
          "oversized metadata",
          NamingError,
          () => ns.register("x", URI_A, false, Array.from({ length: 1001 }, (_, i) => `t${i}`)),
          /too many metadata tags/,
        ],
        [
          "oversized tag",
          NamingError,
          () => ns.register("x", URI_A, false, ["t".repeat(2000)]),
          /tag too long/,
        ],
        [
          "oversized name",
          NamingError,
          () => ns.register("n".repeat(2000), URI_A),
          /name too long/,
        ],
      ];
      for (const [what, errorClass, call, message] of cases) {
        await rejects(call, (e: unknown) => {
          ok(e instanceof errorClass, `${what}: ${e}`);
          ok(errorClass !== PyroError || e.constructor === PyroError, `${what}: ${e}`);
          ok(message.test(e.message), `${what}: ${e.message}`);
          return true;
        });
      }
      strictEqual(await ns.ping(), null);
      strictEqual(await ns.count(), 1);
    });
  }
});

Deno.test("startNameServer with sql storage keeps registrations across restarts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = `sql:${dir}/ns.sqlite`;
    {
      await using server = await startNameServer({ host: "127.0.0.1", port: 0, storage });
      await using ns = new PyroProxy(server.uri);
      await ns.register("kept", "PYRO:kept@localhost:1234", false, ["k"]);
    }
    await using server = await startNameServer({ host: "127.0.0.1", port: 0, storage });
    strictEqual(server.nameserver.count(), 2);
    // the name server's own entry points at the new server
    strictEqual(server.nameserver.lookup(NAMESERVER_NAME).toString(), server.uri.toString());
    deepStrictEqual(server.nameserver.yplookup(["k"], null, false), {
      kept: "PYRO:kept@localhost:1234",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("locateNS follows Pyro5's order", async (t) => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
  const port = server.uri.port!;
  await t.step("explicit host and port", async () => {
    await using ns = await locateNS("127.0.0.1", port);
    strictEqual(ns._pyroUri.toString(), `PYRO:Pyro.NameServer@127.0.0.1:${port}`);
  });
  await t.step("NS_HOST/NS_PORT from the configuration when no host is given", async () => {
    const config = makeConfig({ NS_HOST: "127.0.0.1", NS_PORT: port, BROADCAST_ADDRS: [] });
    await using ns = await locateNS(null, null, { config });
    strictEqual(await ns.count(), 1);
  });
  await t.step("broadcast when the direct attempt fails", async () => {
    await using responder = await BroadcastServer.start(server.uri, { host: "127.0.0.1", port: 0 });
    const config = makeConfig({
      NS_HOST: "127.0.0.1",
      NS_PORT: closedPort(),
      NS_BCPORT: responder.port,
      BROADCAST_ADDRS: ["127.0.0.1"],
    });
    await using ns = await locateNS("", null, { config });
    strictEqual(ns._pyroUri.toString(), server.uri.toString());
    strictEqual(await ns.count(), 1);
    // without broadcast, the same search fails
    await rejects(() => locateNS("", null, { config, broadcast: false }), {
      name: "NamingError",
      message: "Failed to locate the nameserver",
    });
  });
  await t.step("a clear NamingError when nothing answers", async () => {
    const config = makeConfig({
      NS_HOST: "127.0.0.1",
      NS_PORT: closedPort(),
      NS_BCPORT: closedPort(),
      BROADCAST_ADDRS: ["127.0.0.1"],
    });
    const started = Date.now();
    await rejects(() => locateNS(null, null, { config, broadcastTimeout: 0.1 }), {
      name: "NamingError",
      message: "Failed to locate the nameserver",
    });
    ok(Date.now() - started < 5000);
    await rejects(() => locateNS("127.0.0.1", closedPort()), {
      name: "NamingError",
      message: "Failed to locate the nameserver",
    });
  });
});

Deno.test("resolve: PYRO unchanged, PYRONAME and PYROMETA through the name server", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
  const where = `127.0.0.1:${server.uri.port}`;
  const direct = new PyroUri("PYRO:x@localhost:1");
  strictEqual(await resolve(direct), direct);
  server.nameserver.register("a", "PYRO:a@localhost:1", false, ["both", "a"]);
  server.nameserver.register("b", "PYRO:b@localhost:2", false, ["both"]);
  strictEqual((await resolve(`PYRONAME:a@${where}`)).toString(), "PYRO:a@localhost:1");
  strictEqual((await resolve(`pyroname:a@${where}`)).toString(), "PYRO:a@localhost:1");
  // a host without a port means the configured NS_PORT
  const config = makeConfig({ NS_PORT: server.uri.port! });
  strictEqual((await resolve("PYRONAME:a@127.0.0.1", { config })).toString(), "PYRO:a@localhost:1");
  strictEqual((await resolve(`PYROMETA:both,a@${where}`)).toString(), "PYRO:a@localhost:1");
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    seen.add((await resolve(`PYROMETA:both@${where}`)).object);
  }
  deepStrictEqual(seen, new Set(["a", "b"])); // a random pick among the candidates
  await rejects(() => resolve(`PYRONAME:nope@${where}`), {
    name: "NamingError",
    message: "unknown name: nope",
  });
  await rejects(() => resolve(`PYROMETA:nope@${where}`), {
    name: "NamingError",
    message: "no registrations available with desired metadata properties {'nope'}",
  });
  await rejects(
    () => resolve(`PYRONAME:a@127.0.0.1:${closedPort()}`),
    /Failed to locate the nameserver/,
  );
  await rejects(() => resolve(42 as unknown as string), TypeError);
});

Deno.test("resolve waits up to delayTime for a name to appear", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
  const where = `127.0.0.1:${server.uri.port}`;
  setTimeout(() => server.nameserver.register("late", "PYRO:late@localhost:1"), 300);
  setTimeout(
    () => server.nameserver.register("late.meta", "PYRO:lm@localhost:1", false, ["late"]),
    300,
  );
  const started = Date.now();
  strictEqual((await resolve(`PYRONAME:late@${where}`, { delayTime: 3 })).object, "late");
  strictEqual((await resolve(`PYROMETA:late@${where}`, { delayTime: 3 })).object, "lm");
  ok(Date.now() - started >= 250);
});

Deno.test("registerWithNameServer registers daemon objects under names with metadata", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const already = exposeObject({ who: () => "already" });
  const alreadyUri = daemon.register(already, "fixed.id");
  const uris = await registerWithNameServer(
    daemon,
    new Map<string, object>([["svc.new", exposeObject({ who: () => "new" })], [
      "svc.old",
      already,
    ]]),
    { nsHost: "127.0.0.1", nsPort: server.uri.port!, metadata: { "svc.new": ["fresh"] } },
  );
  strictEqual(uris.get("svc.old")!.toString(), alreadyUri.toString());
  ok(/^obj_[0-9a-f]{32}$/.test(uris.get("svc.new")!.object));
  deepStrictEqual(server.nameserver.yplookup(["fresh"], null, false), {
    "svc.new": uris.get("svc.new")!.toString(),
  });
  await using proxy = new PyroProxy(server.nameserver.lookup("svc.new") as PyroUri);
  strictEqual(await proxy.who(), "new");
  await rejects(
    () =>
      registerWithNameServer(daemon, { "svc.new": already }, {
        nsHost: "127.0.0.1",
        nsPort: server.uri.port!,
        safe: true,
      }),
    { name: "NamingError", message: "name already registered: svc.new" },
  );
});

Deno.test("AutoCleaner removes registrations unreachable for too long, keeps the rest", async (t) => {
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const live = daemon.register(exposeObject({ ping: () => null }));
  const ns = new NameServer();
  ns.register(NAMESERVER_NAME, `PYRO:${NAMESERVER_NAME}@127.0.0.1:${closedPort()}`);
  ns.register("live", live);
  ns.register("dead", `PYRO:dead@127.0.0.1:${closedPort()}`);
  ns.register("named", "PYRONAME:elsewhere");
  await t.step("grace period: an unreachable name is kept at first", async () => {
    await using cleaner = new AutoCleaner(ns, { interval: 3, maxUnreachable: 0.3 });
    deepStrictEqual(await cleaner.cleanOnce(), []);
    strictEqual(ns.count(), 4);
    await new Promise((r) => setTimeout(r, 350));
    deepStrictEqual(await cleaner.cleanOnce(), ["dead"]);
    deepStrictEqual(Object.keys(ns.list()).sort(), [NAMESERVER_NAME, "live", "named"]);
  });
  await t.step("reachable again before the grace period ends: kept", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    ns.register("flaky", `PYRO:flaky@127.0.0.1:${port}`);
    await using cleaner = new AutoCleaner(ns, { interval: 3, maxUnreachable: 0.3 });
    await cleaner.cleanOnce(); // unreachable, grace starts
    const back = Deno.listen({ hostname: "127.0.0.1", port });
    try {
      await new Promise((r) => setTimeout(r, 350));
      deepStrictEqual(await cleaner.cleanOnce(), []); // reachable: forgiven
    } finally {
      back.close();
    }
    await new Promise((r) => setTimeout(r, 350));
    deepStrictEqual(await cleaner.cleanOnce(), []); // the grace period starts anew
    ns.remove("flaky");
  });
  await t.step("the timer runs passes by itself", async () => {
    ns.register("dead2", `PYRO:dead2@127.0.0.1:${closedPort()}`);
    const removed: string[] = [];
    await using cleaner = new AutoCleaner(ns, {
      interval: 0.1,
      minInterval: 0,
      loopDelay: 0.05,
      maxUnreachable: 0,
      onRemove: (name) => removed.push(name),
    });
    cleaner.start();
    for (let i = 0; i < 100 && removed.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    deepStrictEqual(removed, ["dead2"]);
  });
  throws(() => new AutoCleaner(ns, { interval: 2 }), /cannot be smaller than 3/);
});

Deno.test("NameServer under load: 20 concurrent clients, counts consistent", async (t) => {
  for (const storage of ["memory", "sql"] as const) {
    await t.step(storage, async () => {
      const dir = await Deno.makeTempDir();
      try {
        await using server = await startNameServer({
          host: "127.0.0.1",
          port: 0,
          storage: storage === "sql" ? `sql:${dir}/ns.sqlite` : "memory",
        });
        const serializers = ["serpent", "json", "marshal", "msgpack"] as const;
        const deadline = Date.now() + 1500;
        const registered = await Promise.all(Array.from({ length: 20 }, async (_, client) => {
          await using ns = new PyroProxy(server.uri, { serializer: serializers[client % 4] });
          let count = 0;
          for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
            const name = `load.${client}.${i}`;
            await ns.register(name, `PYRO:o${i}@localhost:${1000 + client}`, false, [
              `c${client}`,
              "load",
            ]);
            count++;
            const back = await ns.lookup(name, true) as [PyroUri, Set<string> | string[]];
            strictEqual(back[0].toString(), `PYRO:o${i}@localhost:${1000 + client}`);
            if (i % 10 === 0) {
              strictEqual(Object.keys(await ns.list(`load.${client}.`)).length, count);
            }
          }
          return count;
        }));
        const total = registered.reduce((a, b) => a + b, 0);
        ok(total >= 20, `only ${total} registrations`);
        await using ns = new PyroProxy(server.uri);
        strictEqual(await ns.count(), total + 1);
        strictEqual(Object.keys(await ns.yplookup(["load"], null, false)).length, total);
        for (let client = 0; client < 20; client++) {
          strictEqual(
            Object.keys(await ns.yplookup([`c${client}`, "load"])).length,
            registered[client],
          );
        }
        strictEqual(await ns.remove(null, "load."), total);
        strictEqual(await ns.count(), 1);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});

Deno.test("cli/ns prints what pyro5-ns prints", async (t) => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const lines: string[] = [];
    const code = await nsMain(args, {
      out: (l) => lines.push(l),
      err: (l) => lines.push(`E: ${l}`),
      env,
      stop: Promise.resolve(),
    });
    return { code, lines };
  };
  await t.step("loopback", async () => {
    const { code, lines } = await run(["-n", "127.0.0.1", "-p", "0"]);
    strictEqual(code, 0);
    strictEqual(lines[0], "Not starting broadcast server for localhost.");
    ok(/^NS running on 127\.0\.0\.1:\d+ \(127\.0\.0\.1\)$/.test(lines[1]), lines[1]);
    ok(/^URI = PYRO:Pyro\.NameServer@127\.0\.0\.1:\d+$/.test(lines[2]), lines[2]);
    strictEqual(lines[3], "NS shut down.");
  });
  await t.step("NAT", async () => {
    const { lines } = await run([
      "-n",
      "127.0.0.1",
      "-p",
      "0",
      "--nathost",
      "nat.example",
      "--natport",
      "7777",
      "-x",
    ]);
    ok(/^internal URI = PYRO:Pyro\.NameServer@127\.0\.0\.1:\d+$/.test(lines[2]), lines[2]);
    strictEqual(lines[3], "external URI = PYRO:Pyro.NameServer@nat.example:7777");
  });
  await t.step("existing registrations", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const storage = new SqlStorage(`${dir}/ns.sqlite`);
      storage.put("one", "PYRO:one@localhost:1", []);
      storage.put("two", "PYRO:two@localhost:1", []);
      storage.close();
      const { lines } = await run(["-n", "127.0.0.1", "-p", "0", "-s", `sql:${dir}/ns.sqlite`]);
      strictEqual(lines[1], "Persistent store contains 3 existing registrations.");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("PYRO_* environment", async () => {
    const { lines } = await run([], { PYRO_HOST: "127.0.0.1", PYRO_NS_PORT: "0" });
    ok(/^NS running on 127\.0\.0\.1:\d+ /.test(lines[1]), lines[1]);
  });
  await t.step("usage errors", async () => {
    deepStrictEqual((await run(["-p", "abc"])).code, 2);
    ok(
      (await run(["-p", "abc"])).lines[1].includes("argument -p/--port: invalid int value: 'abc'"),
    );
    strictEqual((await run(["--bogus"])).code, 2);
    strictEqual((await run(["-s", "disk", "-n", "127.0.0.1", "-p", "0"])).code, 1);
    strictEqual((await run([], { PYRO_NOPE: "1" })).code, 1);
    const help = await run(["-h"]);
    strictEqual(help.code, 0);
    ok(help.lines[0].startsWith("usage: ns"));
  });
});
