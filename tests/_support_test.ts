/**
 * Tests of the shared test support: the tag reader and the type-aware equality must themselves
 * be right, or every vector test that uses them proves nothing.
 *
 * Run: deno test --allow-read=. tests/_support_test.ts
 */
import { deepStrictEqual, equal, ok, throws } from "node:assert";
import { NamingError, RemoteError, SerializeError } from "../errors.ts";
import { PyroUri } from "../uri.ts";
import { ExceptionWrapper } from "../serializers/classes.ts";
import { PyComplex, PyFloat, PyFrozenSet, PyTuple, tuple } from "../serializers/values.ts";
import {
  assertPyEqual,
  b64,
  fromTag,
  loadJson,
  marshalCanonical,
  PyEqualityError,
  type Tag,
  testClassRegistry,
  TestObject,
  type ValuesFile,
} from "./_support.ts";

function differs(actual: unknown, expected: unknown, pathPart?: string): void {
  throws(() => assertPyEqual(actual, expected), (error: unknown) => {
    ok(error instanceof PyEqualityError, `not a PyEqualityError: ${error}`);
    if (pathPart) ok(error.message.includes(pathPart), `message ${error.message}`);
    return true;
  });
}

Deno.test("assertPyEqual accepts equal values of the same types", () => {
  const value = () =>
    new Map<unknown, unknown>([
      [tuple<unknown>(1, "a"), [null, true, 2n ** 70n, NaN, -0, new Uint8Array([1, 2])]],
      ["k", { x: new Set([1, "2"]), y: new PyFrozenSet([tuple()]), z: new PyComplex(1, -0) }],
      [3, new PyroUri("PYRO:obj@[::1]:5")],
    ]);
  assertPyEqual(value(), value());
  assertPyEqual(new Set([1, 2, 3]), new Set([3, 1, 2]));
  assertPyEqual(new PyFloat(2), new PyFloat(2));
  assertPyEqual(new Date(5), new Date(5));
  assertPyEqual(new TestObject("a.B", { x: 1 }), new TestObject("a.B", { x: 1 }));
  assertPyEqual(new PyroUri("PYROMETA:a,b@h"), new PyroUri("PYROMETA:b,a@h"));
});

Deno.test("assertPyEqual tells types apart", () => {
  differs([1], tuple(1));
  differs(tuple(1), [1]);
  differs(new Set([1]), new PyFrozenSet([1]));
  differs(new PyFrozenSet([1]), new Set([1]));
  differs(new Map([["a", 1]]), { a: 1 });
  differs({ a: 1 }, new Map([["a", 1]]));
  differs(1n, 1);
  differs(1, 1n);
  differs(0, -0);
  differs(-0, 0);
  differs(undefined, null);
  differs("1", 1);
  differs([1, 2], new Uint8Array([1, 2]));
  differs(new Uint8Array([1, 3]), new Uint8Array([1, 2]), "[1]");
  differs(2, new PyFloat(2));
  differs(new PyComplex(1, 0), new PyComplex(1, -0));
  differs(new Date(1), new Date(2));
  differs(new TestObject("a.B", { x: 1 }), new TestObject("a.C", { x: 1 }));
  differs({ __class__: "a.B", x: 1 }, new TestObject("a.B", { x: 1 }));
});

Deno.test("assertPyEqual compares NaN, containers and order", () => {
  assertPyEqual(NaN, NaN);
  differs(NaN, 1);
  differs([1, 2], [1, 2, 3], "length");
  differs({ a: 1, b: 2 }, { b: 2, a: 1 }, "keys");
  differs(new Map([[1, "a"], [2, "b"]]), new Map([[2, "b"], [1, "a"]]));
  differs(new Set([1, 2]), new Set([1, 3]));
  differs(new Set([1n]), new Set([1]));
  differs({ a: [1, { b: tuple(1, 2) }] }, { a: [1, { b: tuple(1, 3) }] }, "$.a[1].b[1]");
});

Deno.test("assertPyEqual compares errors by class, args, attributes and traceback", () => {
  const make = (args: unknown[], attributes = {}, remoteTraceback: string[] = []) =>
    new RemoteError("builtins.ValueError", args, { attributes, remoteTraceback });
  assertPyEqual(make(["x", 1]), make(["x", 1]));
  assertPyEqual(
    new NamingError("n", { args: ["n"], remoteTraceback: [] }),
    new NamingError("n", { args: ["n"] }),
  );
  differs(make(["x"]), make(["y"]), "args");
  differs(make(["x"], { a: 1 }), make(["x"]), "attributes");
  differs(make(["x"], {}, ["tb"]), make(["x"]), "remoteTraceback");
  differs(new RemoteError("builtins.KeyError", ["x"]), make(["x"]), "python class");
  differs(new SerializeError("x"), new NamingError("x"), "error class");
  differs(new ExceptionWrapper(make(["a"])), new ExceptionWrapper(make(["b"])), "error");
  differs(new PyroUri("PYRO:a@h:1"), new PyroUri("PYRO:a@h:2"), "URI");
});

Deno.test("fromTag builds decoded and encodable values", () => {
  const float2: Tag = { t: "float", v: "2.0" };
  equal(fromTag(float2, "decoded"), 2);
  assertPyEqual(fromTag(float2, "encode"), new PyFloat(2));
  equal(fromTag({ t: "float", v: "0.5" }, "encode"), 0.5);
  ok(Object.is(fromTag({ t: "float", v: "-0.0" }, "encode"), -0));
  equal(fromTag({ t: "float", v: "1e+16" }, "decoded"), 1e16);
  ok(Number.isNaN(fromTag({ t: "float", v: "nan" }, "decoded")));
  equal(fromTag({ t: "float", v: "-inf" }, "decoded"), -Infinity);
  equal(fromTag({ t: "int", v: "9007199254740991" }, "decoded"), 9007199254740991);
  equal(fromTag({ t: "int", v: "-9007199254740992" }, "decoded"), -9007199254740992n);
  deepStrictEqual(fromTag({ t: "bytes", v: "AAH/" }, "decoded"), new Uint8Array([0, 1, 255]));
  ok(fromTag({ t: "tuple", v: [] }, "decoded") instanceof PyTuple);
  ok(fromTag({ t: "frozenset", v: [] }, "decoded") instanceof PyFrozenSet);
  const pairs: [Tag, Tag][] = [
    [{ t: "str", v: "b" }, { t: "int", v: "1" }],
    [{ t: "str", v: "1" }, { t: "int", v: "2" }],
  ];
  // A plain object would put "1" first: the encodable value keeps Python's order in a Map.
  deepStrictEqual(Object.keys(fromTag({ t: "dict", v: pairs }, "decoded") as object), ["1", "b"]);
  deepStrictEqual([...(fromTag({ t: "dict", v: pairs }, "encode") as Map<string, number>)], [
    ["b", 1],
    ["1", 2],
  ]);
  assertPyEqual(
    fromTag({ t: "dict", v: [[{ t: "int", v: "1" }, { t: "none" }]] }, "decoded"),
    new Map([[1, null]]),
  );
  const proto = fromTag(
    { t: "dict", v: [[{ t: "str", v: "__proto__" }, { t: "int", v: "1" }]] },
    "decoded",
  ) as object;
  ok(Object.hasOwn(proto, "__proto__") && Object.getPrototypeOf(proto) === Object.prototype);
  equal(String(fromTag({ t: "uri", v: "PYRO:x@./u:/tmp/s" }, "decoded")), "PYRO:x@./u:/tmp/s");
  throws(() => fromTag({ t: "decimal", v: "1.5" }, "encode"), TypeError);
  throws(() => fromTag({ t: "uuid", v: "x" }, "decoded"), TypeError);
});

Deno.test("fromTag builds dates in UTC", () => {
  const date = (iso: string) => (fromTag({ t: "datetime", iso }, "decoded") as Date).toISOString();
  equal(date("2020-01-02T03:04:05.125Z"), "2020-01-02T03:04:05.125Z");
  equal(date("2020-01-02T03:04:05.125000"), "2020-01-02T03:04:05.125Z");
  equal(date("2020-01-02T03:04:05.123456+00:00"), "2020-01-02T03:04:05.123Z");
  equal(date("2020-01-02T03:04:05+02:00"), "2020-01-02T01:04:05.000Z");
  equal(date("1999-12-31T23:59:59"), "1999-12-31T23:59:59.000Z");
});

Deno.test("fromTag builds errors, proxies and class objects", () => {
  const error: Tag = {
    t: "error",
    cls: "Pyro5.errors.NamingError",
    args: [{ t: "str", v: "unknown" }],
    attrs: { t: "dict", v: [[{ t: "str", v: "code" }, { t: "int", v: "7" }]] },
    traceback: ["line 1\n"],
  };
  const decoded = fromTag(error, "decoded") as NamingError;
  ok(decoded instanceof NamingError);
  deepStrictEqual(decoded.args, ["unknown"]);
  deepStrictEqual(decoded.attributes, { code: 7 });
  deepStrictEqual(decoded.remoteTraceback, ["line 1\n"]);
  const encoded = fromTag(error, "encode") as NamingError;
  deepStrictEqual(encoded.attributes, { code: 7, _pyroTraceback: ["line 1\n"] });
  const builtin = fromTag({ ...error, cls: "builtins.ValueError", traceback: null }, "decoded");
  ok(builtin instanceof RemoteError && builtin.pythonClass === "builtins.ValueError");
  deepStrictEqual(builtin.remoteTraceback, []);
  const wrapped = fromTag({ t: "exwrap", error }, "decoded");
  ok(wrapped instanceof ExceptionWrapper && wrapped.error instanceof NamingError);

  const proxy: Tag = {
    t: "proxy",
    uri: "PYRO:thing@localhost:1",
    oneway: ["a", "b"],
    methods: ["a", "b", "c"],
    attrs: [],
    handshake: { t: "str", v: "hi" },
    serializer: null,
  };
  const state = fromTag(proxy, "decoded") as { uri: PyroUri; oneway: string[] };
  ok(state.uri instanceof PyroUri);
  // Name lists are sets in Python: their order does not matter.
  assertPyEqual({ ...state, oneway: ["b", "a"] }, state);
  differs({ ...state, oneway: ["a"] }, state, "oneway");
  assertPyEqual(fromTag(proxy, "encode"), {
    __class__: "Pyro5.client.Proxy",
    state: tuple<unknown>(
      "PYRO:thing@localhost:1",
      tuple("a", "b"),
      tuple("a", "b", "c"),
      tuple(),
      "hi",
      null,
    ),
  });

  const point = fromTag(
    { t: "object", cls: "testsupport.Point", v: { t: "dict", v: [] } },
    "decoded",
  );
  ok(point instanceof TestObject && point.pythonClass === "testsupport.Point");
  const registry = testClassRegistry();
  const dict = registry.toDict(new TestObject("testsupport.Point", { x: 1, y: 2 }));
  deepStrictEqual(Object.keys(dict), ["__class__", "x", "y"]);
  assertPyEqual(registry.fromDict(dict), new TestObject("testsupport.Point", { x: 1, y: 2 }));
});

Deno.test("loadJson and b64 read the vectors", () => {
  const values = loadJson("testdata/values.json") as ValuesFile;
  equal(values.pyro5, "5.15");
  deepStrictEqual(b64(""), new Uint8Array());
  deepStrictEqual(b64("UFlSTw=="), new TextEncoder().encode("PYRO"));
  // Every tag in the file can be read for decoding, and for encoding where the case says so.
  for (const c of values.cases) {
    for (const entry of Object.values(c.serializers)) {
      if (entry.decoded) fromTag(entry.decoded, "decoded");
    }
    if (c.encodable) fromTag(c.value, "encode");
  }
});

Deno.test("marshalCanonical reproduces the generator's canonical marshal bytes", () => {
  const values = loadJson("testdata/values.json") as ValuesFile;
  let withRefs = 0;
  for (const c of [...values.cases, ...values.calls]) {
    const entry = c.serializers.marshal;
    if (entry.data === undefined) continue;
    const data = b64(entry.data);
    if (entry.canonical) withRefs++;
    deepStrictEqual(marshalCanonical(data), b64(entry.canonical ?? entry.data), c.name);
  }
  ok(withRefs > 100, `only ${withRefs} marshal vectors exercise references`);
  // Interned codes, a back-reference and an unsorted set, by hand.
  const data = new Uint8Array([
    0xdb,
    2,
    0,
    0,
    0,
    0xda,
    1,
    0x61,
    0x72,
    1,
    0,
    0,
    0, // [ 'a'(Z, ref), r#1 ]
  ]);
  deepStrictEqual(
    marshalCanonical(data),
    new Uint8Array([0x5b, 2, 0, 0, 0, 0x7a, 1, 0x61, 0x7a, 1, 0x61]),
  );
  const set = new Uint8Array([0x3c, 2, 0, 0, 0, 0x69, 2, 0, 0, 0, 0xe9, 1, 0, 0, 0]);
  deepStrictEqual(
    marshalCanonical(set),
    new Uint8Array([0x3c, 2, 0, 0, 0, 0x69, 1, 0, 0, 0, 0x69, 2, 0, 0, 0]),
  );
  throws(() => marshalCanonical(new Uint8Array([0x72, 0, 0, 0, 0])));
  throws(() => marshalCanonical(new Uint8Array([0x69, 1])));
});
