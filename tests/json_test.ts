/**
 * JsonSerializer: tables of values and the JSON text Python Pyro5 5.15 writes for them
 * (`json.dumps(..., ensure_ascii=False)` as UTF-8), both ways; Python's `json.loads` dialect and
 * its error messages; limits. The `json` columns and the error table were captured from the real
 * Python peer with `tests/_marshal_json_capture.ts`; the last test re-checks them live.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { NamingError, PyroError, RemoteError, SecurityError, SerializeError } from "../errors.ts";
import { PyroUri } from "../uri.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { ClassRegistry, ExceptionWrapper } from "../serializers/classes.ts";
import { decodeJson } from "../serializers/_json_decode.ts";
import {
  fromPythonInt,
  PyComplex,
  PyFloat,
  PyFrozenSet,
  type PyStringDict,
  PyTuple,
  tuple,
} from "../serializers/values.ts";
import { capturePython, toHex } from "./_marshal_json_capture.ts";

interface Case {
  name: string;
  py: string;
  ts: () => unknown;
  json?: string;
  error?: string;
}

const VALUES: Case[] = [
  { name: "null", py: "None", ts: () => (null), json: "null" },
  { name: "undefined", py: "None", ts: () => undefined, json: "null" },
  { name: "true", py: "True", ts: () => (true), json: "true" },
  { name: "false", py: "False", ts: () => (false), json: "false" },
  { name: "int 0", py: "0", ts: () => (0), json: "0" },
  { name: "int -1", py: "-1", ts: () => (-1), json: "-1" },
  {
    name: "int max safe",
    py: "2**53-1",
    ts: () => (Number.MAX_SAFE_INTEGER),
    json: "9007199254740991",
  },
  { name: "int 2**53 bigint", py: "2**53", ts: () => (2n ** 53n), json: "9007199254740992" },
  {
    name: "int 10**30",
    py: "10**30",
    ts: () => (10n ** 30n),
    json: "1000000000000000000000000000000",
  },
  {
    name: "int -(10**30)",
    py: "-(10**30)",
    ts: () => (-(10n ** 30n)),
    json: "-1000000000000000000000000000000",
  },
  {
    name: "int 4300 digits",
    py: "10**4299",
    ts: () => (10n ** 4299n),
    json:
      "1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
  },
  { name: "float 1.5", py: "1.5", ts: () => (1.5), json: "1.5" },
  { name: "float 2.0", py: "2.0", ts: () => (new PyFloat(2)), json: "2.0" },
  { name: "float -0.0", py: "-0.0", ts: () => (-0), json: "-0.0" },
  { name: "float 0.0", py: "0.0", ts: () => (new PyFloat(0)), json: "0.0" },
  { name: "float 1e16", py: "1e16", ts: () => (1e16), json: "1e+16" },
  {
    name: "float 9999999999999998.0",
    py: "9999999999999998.0",
    ts: () => (new PyFloat(9999999999999998)),
    json: "9999999999999998.0",
  },
  { name: "float 1e-05", py: "1e-05", ts: () => (1e-5), json: "1e-05" },
  { name: "float 0.0001", py: "0.0001", ts: () => (0.0001), json: "0.0001" },
  { name: "float 0.1+0.2", py: "0.1+0.2", ts: () => (0.1 + 0.2), json: "0.30000000000000004" },
  {
    name: "float 123456789.125",
    py: "123456789.125",
    ts: () => (123456789.125),
    json: "123456789.125",
  },
  { name: "float 1e22", py: "1e22", ts: () => (1e22), json: "1e+22" },
  { name: "float 1.5e-7", py: "1.5e-7", ts: () => (1.5e-7), json: "1.5e-07" },
  { name: "float 5e-324", py: "5e-324", ts: () => (5e-324), json: "5e-324" },
  {
    name: "float max",
    py: "1.7976931348623157e308",
    ts: () => (Number.MAX_VALUE),
    json: "1.7976931348623157e+308",
  },
  { name: "float -2.5e+100", py: "-2.5e100", ts: () => (-2.5e100), json: "-2.5e+100" },
  { name: "float nan", py: "nan", ts: () => NaN, json: "NaN" },
  { name: "float inf", py: "inf", ts: () => Infinity, json: "Infinity" },
  { name: "float -inf", py: "-inf", ts: () => (-Infinity), json: "-Infinity" },
  { name: "str empty", py: "''", ts: () => (""), json: '""' },
  { name: "str abc", py: "'abc'", ts: () => ("abc"), json: '"abc"' },
  {
    name: "str controls",
    py: "'\\x00\\x01\\x08\\t\\n\\x0b\\x0c\\r\\x1f'",
    ts: () => ("\x00\x01\x08\t\n\x0b\x0c\r\x1f"),
    json: '"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f"',
  },
  { name: "str quotes slashes", py: "'\"\\\\/'", ts: () => ('"\\/'), json: '"\\"\\\\/"' },
  { name: "str del", py: "'\\x7f'", ts: () => ("\x7f"), json: '"\u007f"' },
  {
    name: "str separators",
    py: "'\\u2028\\u2029'",
    ts: () => ("\u2028\u2029"),
    json: '"\u2028\u2029"',
  },
  {
    name: "str unicode",
    py: "'\\xe9\\u65e5\\U0001f600'",
    ts: () => ("\xe9\u65e5\u{1f600}"),
    json: '"\u00e9\u65e5\ud83d\ude00"',
  },
  {
    name: "str long ascii",
    py: "'abcdefghij'*10",
    ts: () => ("abcdefghij".repeat(10)),
    json:
      '"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"',
  },
  {
    name: "str long escapes",
    py: "'line\\n'*20",
    ts: () => ("line\n".repeat(20)),
    json:
      '"line\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\nline\\n"',
  },
  { name: "list empty", py: "[]", ts: () => [], json: "[]" },
  {
    name: "list",
    py: "[1, 'a', None, [2.5]]",
    ts: () => [1, "a", null, [2.5]],
    json: '[1, "a", null, [2.5]]',
  },
  { name: "tuple", py: "(1, 2)", ts: () => (tuple<unknown>(1, 2)), json: "[1, 2]" },
  { name: "tuple empty", py: "()", ts: () => (tuple<unknown>()), json: "[]" },
  { name: "dict empty", py: "{}", ts: () => ({}), json: "{}" },
  {
    name: "dict",
    py: "{'a': 1, 'b': [1, 2], 'c': {'d': None}}",
    ts: () => ({ a: 1, b: [1, 2], c: { d: null } }),
    json: '{"a": 1, "b": [1, 2], "c": {"d": null}}',
  },
  {
    name: "dict unicode key",
    py: "{'\\xe9\\n': 1}",
    ts: () => ({ "\xe9\n": 1 }),
    json: '{"\u00e9\\n": 1}',
  },
  {
    name: "dict non-str keys",
    py: "{2: 'a', 2.5: 'b', True: 'c', None: 'd', nan: 'e', inf: 'f', 10**20: 'g', 3.0: 'i'}",
    ts: () => (new Map<unknown, unknown>([
      [2, "a"],
      [2.5, "b"],
      [true, "c"],
      [null, "d"],
      [NaN, "e"],
      [Infinity, "f"],
      [10n ** 20n, "g"],
      [new PyFloat(3), "i"],
    ])),
    json:
      '{"2": "a", "2.5": "b", "true": "c", "null": "d", "NaN": "e", "Infinity": "f", "100000000000000000000": "g", "3.0": "i"}',
  },
  {
    name: "dict False key",
    py: "{False: 1}",
    ts: () => (new Map([[false, 1]])),
    json: '{"false": 1}',
  },
  { name: "set", py: "{1, 2, 3}", ts: () => (new Set([1, 2, 3])), json: "[1, 2, 3]" },
  { name: "set empty", py: "set()", ts: () => (new Set()), json: "[]" },
  {
    name: "records",
    py: "[{'name': 'n%d' % i, 'value': i + 0.5, 'ok': True} for i in range(3)]",
    ts: () => (Array.from({ length: 3 }, (_, i) => ({ name: `n${i}`, value: i + 0.5, ok: true }))),
    json:
      '[{"name": "n0", "value": 0.5, "ok": true}, {"name": "n1", "value": 1.5, "ok": true}, {"name": "n2", "value": 2.5, "ok": true}]',
  },
  { name: "nested", py: "[[[[[[1]]]]]]", ts: () => [[[[[[1]]]]]], json: "[[[[[[1]]]]]]" },
  {
    name: "datetime",
    py: "datetime.datetime(2020, 1, 2, 3, 4, 5, 123000, tzinfo=datetime.timezone.utc)",
    ts: () => (new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 123))),
    json: '"2020-01-02T03:04:05.123000+00:00"',
  },
  {
    name: "datetime no ms",
    py: "datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)",
    ts: () => (new Date(Date.UTC(1999, 11, 31, 23, 59, 59))),
    json: '"1999-12-31T23:59:59+00:00"',
  },
  {
    name: "array int",
    py: "__import__('array').array('i', [1, -2, 3])",
    ts: () => (new Int32Array([1, -2, 3])),
    json: "[1, -2, 3]",
  },
  {
    name: "array double",
    py: "__import__('array').array('d', [1.5, 2.0])",
    ts: () => (new Float64Array([1.5, 2])),
    json: "[1.5, 2.0]",
  },
  {
    name: "uri",
    py: "Pyro5.core.URI('PYRO:obj@localhost:9090')",
    ts: () => (new PyroUri("PYRO:obj@localhost:9090")),
    json: '{"__class__": "Pyro5.core.URI", "state": ["PYRO", "obj", null, "localhost", 9090]}',
  },
  {
    name: "exception builtin",
    py: "ValueError('boom')",
    ts: () => (new RemoteError("builtins.ValueError", ["boom"])),
    json:
      '{"__class__": "builtins.ValueError", "__exception__": true, "args": ["boom"], "attributes": {}}',
  },
  {
    name: "exception pyro",
    py: "Pyro5.errors.NamingError('unknown name: x')",
    ts: () => (new NamingError("unknown name: x")),
    json:
      '{"__class__": "Pyro5.errors.NamingError", "__exception__": true, "args": ["unknown name: x"], "attributes": {}}',
  },
  {
    name: "bytes refused",
    py: "b'abc'",
    ts: () => (new Uint8Array([1, 2, 3])),
    error:
      "don't know how to serialize class <class 'bytes'> using serializer JsonSerializer. Give it vars() or an appropriate __getstate__",
  },
  {
    name: "complex refused",
    py: "1+2j",
    ts: () => (new PyComplex(1, 2)),
    error:
      "don't know how to serialize class <class 'complex'> using serializer JsonSerializer. Give it vars() or an appropriate __getstate__",
  },
  {
    name: "frozenset refused",
    py: "frozenset({1})",
    ts: () => (new PyFrozenSet([1])),
    error:
      "don't know how to serialize class <class 'frozenset'> using serializer JsonSerializer. Give it vars() or an appropriate __getstate__",
  },
  {
    name: "tuple key refused",
    py: "{(1, 2): 3}",
    ts: () => (new Map([[tuple<unknown>(1, 2), 3]])),
    error: "keys must be str, int, float, bool or None, not tuple",
  },
  {
    name: "int too long refused",
    py: "10**4300",
    ts: () => (10n ** 4300n),
    error:
      "Exceeds the limit (4300 digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit",
  },
];

const CALLS: Case[] = [
  {
    name: "call no args",
    py: "('obj', 'ping', (), {})",
    ts: () => ["obj", "ping", [], {}],
    json: '{"object": "obj", "method": "ping", "params": [], "kwargs": {}}',
  },
  {
    name: "call args",
    py: "('Pyro.NameServer', 'lookup', ('my.object', 2**40, 1.5, None, [1, 2], '\\xe9'), {})",
    ts: () => ["Pyro.NameServer", "lookup", ["my.object", 2 ** 40, 1.5, null, [1, 2], "\xe9"], {}],
    json:
      '{"object": "Pyro.NameServer", "method": "lookup", "params": ["my.object", 1099511627776, 1.5, null, [1, 2], "\u00e9"], "kwargs": {}}',
  },
  {
    name: "call kwargs",
    py: "('test', 'echo', (), {'x': {'a': 1}, 'flag': True})",
    ts: () => ["test", "echo", [], { x: { a: 1 }, flag: true }],
    json:
      '{"object": "test", "method": "echo", "params": [], "kwargs": {"x": {"a": 1}, "flag": true}}',
  },
  {
    name: "call uri arg",
    py: "('obj', 'echo', (Pyro5.core.URI('PYRO:obj@localhost:9090'),), {})",
    ts: () => ["obj", "echo", [new PyroUri("PYRO:obj@localhost:9090")], {}],
    json:
      '{"object": "obj", "method": "echo", "params": [{"__class__": "Pyro5.core.URI", "state": ["PYRO", "obj", null, "localhost", 9090]}], "kwargs": {}}',
  },
];

const json = new JsonSerializer();
const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** What decoding the JSON of a table value gives back. */
function decodedForm(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "bigint") return fromPythonInt(value);
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof PyFloat) return value.value;
  if (Array.isArray(value) || value instanceof Set) return [...value].map(decodedForm);
  if (value instanceof Float64Array || value instanceof Int32Array) return [...value];
  if (value instanceof Date) {
    return value.toISOString().replace("Z", "000+00:00").replace(".000000", "");
  }
  if (value instanceof Map) {
    const result: PyStringDict = {};
    for (const [k, v] of value) {
      const key = typeof k === "string" ? k : text(json.dumps(k)).replace(/^"|"$/g, "");
      result[key] = decodedForm(v);
    }
    return result;
  }
  if (value instanceof PyroUri || value instanceof Error) return value;
  const result: PyStringDict = {};
  for (const [k, v] of Object.entries(value)) result[k] = decodedForm(v);
  return result;
}

function assertDecoded(actual: unknown, value: unknown): void {
  if (value instanceof PyroUri) {
    ok(actual instanceof PyroUri);
    strictEqual(actual.toString(), value.toString());
  } else if (value instanceof PyroError) {
    ok(actual instanceof value.constructor, `expected ${value.name}, got ${actual}`);
    strictEqual((actual as Error).message, value.message);
  } else if (value instanceof Error) {
    ok(actual instanceof RemoteError, `expected a RemoteError, got ${actual}`);
    deepStrictEqual(actual.args, [value.message]);
  } else {
    deepStrictEqual(actual, decodedForm(value));
  }
}

function dumpsCall(c: Case): Uint8Array {
  const [objectId, method, args, kwargs] = c.ts() as [string, string, unknown[], PyStringDict];
  return json.dumpsCall(objectId, method, args, kwargs);
}

Deno.test("JsonSerializer has Pyro5's id and name", () => {
  strictEqual(json.id, 3);
  strictEqual(json.name, "json");
});

Deno.test("JsonSerializer.dumps writes Python Pyro5's JSON", async (t) => {
  for (const c of VALUES) {
    await t.step(c.name, () => {
      if (c.json !== undefined) strictEqual(text(json.dumps(c.ts())), c.json);
      else {
        throws(
          () => json.dumps(c.ts()),
          (e) => e instanceof SerializeError && e.message === c.error,
        );
      }
    });
  }
});

Deno.test("JsonSerializer.loads reads Python Pyro5's JSON", async (t) => {
  for (const c of VALUES) {
    if (c.json === undefined) continue;
    await t.step(c.name, () => assertDecoded(json.loads(utf8(c.json!)), c.ts()));
  }
});

Deno.test("JsonSerializer.dumpsCall writes Python Pyro5's calls", async (t) => {
  for (const c of CALLS) {
    await t.step(c.name, () => strictEqual(text(dumpsCall(c)), c.json));
  }
});

Deno.test("JsonSerializer.loadsCall reads Python Pyro5's calls", async (t) => {
  for (const c of CALLS) {
    await t.step(c.name, () => {
      const [objectId, method, args, kwargs] = c.ts() as [string, string, unknown[], PyStringDict];
      const call = json.loadsCall(utf8(c.json!));
      strictEqual(call.objectId, objectId);
      strictEqual(call.method, method);
      strictEqual(call.args.length, args.length);
      args.forEach((arg, i) => assertDecoded(call.args[i], arg));
      deepStrictEqual(call.kwargs, decodedForm(kwargs));
    });
  }
});

/** Python 3.11's json.loads messages for malformed documents (captured). */
const MALFORMED: [string, string][] = [
  ["", "Expecting value: line 1 column 1 (char 0)"],
  [" ", "Expecting value: line 1 column 2 (char 1)"],
  ["[1, 2", "Expecting ',' delimiter: line 1 column 6 (char 5)"],
  ["[1,]", "Expecting value: line 1 column 4 (char 3)"],
  ["[,1]", "Expecting value: line 1 column 2 (char 1)"],
  ['{"a" 1}', "Expecting ':' delimiter: line 1 column 6 (char 5)"],
  ['{"a": 1,}', "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)"],
  ["{1: 2}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"],
  ["{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"],
  ["[", "Expecting value: line 1 column 2 (char 1)"],
  ['"abc', "Unterminated string starting at: line 1 column 1 (char 0)"],
  ['"a\\x"', "Invalid \\escape: line 1 column 3 (char 2)"],
  ['"a\\u12"', "Invalid \\uXXXX escape: line 1 column 4 (char 3)"],
  ['"a\tb"', "Invalid control character at: line 1 column 3 (char 2)"],
  ["[1] x", "Extra data: line 1 column 5 (char 4)"],
  ["tru", "Expecting value: line 1 column 1 (char 0)"],
  ["nul", "Expecting value: line 1 column 1 (char 0)"],
  ["-", "Expecting value: line 1 column 1 (char 0)"],
  ["--1", "Expecting value: line 1 column 1 (char 0)"],
  ["01", "Extra data: line 1 column 2 (char 1)"],
  ["1.", "Extra data: line 1 column 2 (char 1)"],
  ["1e", "Extra data: line 1 column 2 (char 1)"],
  [".5", "Expecting value: line 1 column 1 (char 0)"],
  ["+1", "Expecting value: line 1 column 1 (char 0)"],
  ["[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"],
  ['{"a": 1 "b": 2}', "Expecting ',' delimiter: line 1 column 9 (char 8)"],
  ["\n\n  [1,\n  ]", "Expecting value: line 4 column 3 (char 10)"],
  ["NaNx", "Extra data: line 1 column 4 (char 3)"],
  ["-Inf", "Expecting value: line 1 column 1 (char 0)"],
  ['["\\ud800", "ok"] ]', "Extra data: line 1 column 18 (char 17)"],
  ["\ufeff[]", "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"],
  ['{"a"}', "Expecting ':' delimiter: line 1 column 5 (char 4)"],
  ["[1, 2]]", "Extra data: line 1 column 7 (char 6)"],
  ["Infinity1", "Extra data: line 1 column 9 (char 8)"],
  ["[true false]", "Expecting ',' delimiter: line 1 column 7 (char 6)"],
  ["[1, 2, 3, NaN", "Expecting ',' delimiter: line 1 column 14 (char 13)"],
  ['{"k": [1, {"x": Infinity}], "j": -}', "Expecting value: line 1 column 34 (char 33)"],
];

Deno.test("JsonSerializer.loads reports malformed JSON as Python does", async (t) => {
  for (const [doc, message] of MALFORMED) {
    await t.step(JSON.stringify(doc), () => {
      throws(
        () => json.loads(utf8(doc)),
        (e) => e instanceof SerializeError && e.message === message,
      );
    });
  }
});

Deno.test("JsonSerializer.loads reads Python's extensions and exact ints", async (t) => {
  const cases: [string, unknown][] = [
    ["[NaN, Infinity, -Infinity]", [NaN, Infinity, -Infinity]],
    ['{"a": NaN}', { a: NaN }],
    ["12345678901234567890", 12345678901234567890n],
    ["[-9007199254740993, 9007199254740991]", [-9007199254740993n, 9007199254740991]],
    ["9007199254740992", 9007199254740992n],
    ["[1e400, -1e400, 1E2, 1.0]", [Infinity, -Infinity, 100, 1]],
    ["-0", 0],
    ["[-0, -0.0, -0e1]", [0, -0, -0]],
    ["1e16", 1e16],
    ["12345678901234567.5", 12345678901234567.5],
    ['"1234567890123456789"', "1234567890123456789"],
    ['"\\ud800\\udc00\\ud800"', "\u{10000}\ud800"],
    ['"\\u00e9\\/\\b"', "\xe9/\b"],
    [' \t\n\r[ 1 , {"k" : [ ] } ]\n', [1, { k: [] }]],
    ['{"__proto__": 1}', JSON.parse('{"__proto__": 1}')],
    ['{"a": 1, "a": 2}', { a: 2 }],
    ["[" + "1".repeat(4300) + "]", [BigInt("1".repeat(4300))]],
  ];
  for (const [doc, expected] of cases) {
    await t.step(doc.slice(0, 60), () => deepStrictEqual(json.loads(utf8(doc)), expected));
  }
  await t.step("__proto__ stays an own key", () => {
    const value = json.loads(utf8('{"__proto__": {"polluted": 1}}')) as PyStringDict;
    ok(Object.hasOwn(value, "__proto__") && Object.getPrototypeOf(value) === Object.prototype);
    const slow = json.loads(utf8('{"__proto__": {"x": 1}, "n": NaN}')) as PyStringDict;
    ok(Object.hasOwn(slow, "__proto__") && Object.getPrototypeOf(slow) === Object.prototype);
  });
  await t.step("more than 4300 digits is refused, as Python", () => {
    throws(() => json.loads(utf8("1".repeat(4301))), /Exceeds the limit \(4300 digits\)/);
  });
});

Deno.test("JsonSerializer.loads refuses bad UTF-8 and a BOM", () => {
  throws(() => json.loads(new Uint8Array([0x22, 0xc0, 0x80, 0x22])), /invalid UTF-8/);
  throws(() => json.loads(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])), /invalid UTF-8/);
  throws(() => json.loads(utf8("\ufeff[]")), /Unexpected UTF-8 BOM/);
});

Deno.test("JsonSerializer turns class dicts into objects, innermost first", () => {
  const wrapped = json.dumps(new ExceptionWrapper(new NamingError("gone")));
  strictEqual(
    text(wrapped),
    '{"__class__": "Pyro5.core._ExceptionWrapper", "exception": {"__class__": "Pyro5.errors.NamingError", "__exception__": true, "args": ["gone"], "attributes": {}}}',
  );
  const back = json.loads(wrapped);
  ok(back instanceof ExceptionWrapper && back.error instanceof NamingError);
  const slow = json.loads(utf8(text(wrapped).replace("{}", '{"x": NaN}')));
  ok(slow instanceof ExceptionWrapper && slow.error instanceof NamingError);
  ok(Number.isNaN(slow.error.attributes.x));
  throws(() => json.loads(utf8('[{"__class__": "evil.__Thing"}]')), SecurityError);
  throws(() => json.loads(utf8('{"__class__": "unknown.Thing"}')), /unsupported serialized class/);
  const classes = new ClassRegistry().registerDictToClass("shapes.Point", (_, d) => [d.x, d.y]);
  const custom = new JsonSerializer({ classes });
  deepStrictEqual(
    custom.loads(utf8('{"p": {"__class__": "shapes.Point", "x": 1, "y": [2]}}')),
    { p: [1, [2]] },
  );
});

Deno.test("JsonSerializer writes lone surrogates as escapes and reads them back", () => {
  const bytes = json.dumps(["a\ud800b", "\udfff", "ok\u{1f600}"]);
  strictEqual(text(bytes), '["a\\ud800b", "\\udfff", "ok\u{1f600}"]');
  deepStrictEqual(json.loads(bytes), ["a\ud800b", "\udfff", "ok\u{1f600}"]);
  const long = "x".repeat(100) + "\ud800";
  strictEqual(json.loads(json.dumps(long)), long);
});

Deno.test("JsonSerializer limits nesting depth both ways", () => {
  const shallow = new JsonSerializer({ maxDepth: 10 });
  ok(Array.isArray(shallow.loads(utf8("[".repeat(10) + "]".repeat(10)))));
  throws(() => shallow.loads(utf8("[".repeat(11) + "]".repeat(11))), /deeper than 10/);
  throws(() => shallow.loads(utf8("[".repeat(11) + "NaN" + "]".repeat(11))), /deeper than 10/);
  throws(() => json.loads(utf8("[".repeat(1_000_000) + "]".repeat(1_000_000))), SerializeError);
  throws(() => json.loads(utf8('{"a":'.repeat(5000) + "1" + "}".repeat(5000))), SerializeError);
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  throws(() => json.dumps(cyclic), /circular reference/);
  const big = new JsonSerializer({ maxDepth: 1_000_000 });
  throws(
    () => big.loads(utf8("[".repeat(1_000_000) + "NaN" + "]".repeat(1_000_000))),
    SerializeError,
  );
});

Deno.test("JsonSerializer.dumps refuses what Python Pyro5 refuses", () => {
  throws(() => json.dumps(() => 1), SerializeError);
  throws(() => json.dumps(Symbol("s")), SerializeError);
  throws(() => json.dumps(new Map([[new Set(), 1]])), /not set/);
  throws(() => json.dumps(new ArrayBuffer(2)), /<class 'bytes'>/);
  throws(() => json.dumps(new Date(NaN)), SerializeError);
});

Deno.test("JsonSerializer.dumps writes Python's float repr", () => {
  const floats = [
    0.1,
    1 / 3,
    1e-7,
    123e-20,
    1e21,
    2 ** 70,
    0.5e-4,
    9999999999999998,
    1e15 + 0.5,
  ];
  const expected = [
    "0.1",
    "0.3333333333333333",
    "1e-07",
    "1.23e-18",
    "1e+21",
    "1.1805916207174113e+21",
    "5e-05",
    "9999999999999998.0",
    "1000000000000000.5",
  ];
  strictEqual(text(json.dumps(floats)), `[${expected.join(", ")}]`);
  strictEqual(text(json.dumps(new Float32Array([0.5, 2]))), "[0.5, 2.0]");
  strictEqual(text(json.dumps(new BigInt64Array([2n ** 62n]))), "[4611686018427387904]");
});

Deno.test("JsonSerializer.dumps grows its buffer for big output", () => {
  const big = {
    s: "y".repeat(300_000),
    u: "\u00e9".repeat(200_000),
    list: new Array(50_000).fill(1.5),
  };
  const bytes = json.dumps(big);
  strictEqual(
    text(bytes),
    `{"s": "${big.s}", "u": "${big.u}", "list": [${big.list.map(() => "1.5").join(", ")}]}`,
  );
  deepStrictEqual(json.loads(bytes), big);
});

Deno.test("JsonSerializer.dumps results survive later, failed and nested calls", () => {
  class Inner {}
  const classes = new ClassRegistry();
  const serializer = new JsonSerializer({ classes });
  // A class converter that serializes from inside a dumps: it needs its own encoder.
  classes.registerClassToDict(Inner, () => ({
    __class__: "x.Inner",
    raw: text(serializer.dumps({ deep: [1, "two"] })),
  }));
  const first = serializer.dumps({ a: "x".repeat(100) });
  const copy = first.slice();
  throws(() => serializer.dumps(["y".repeat(200), () => {}]), SerializeError);
  const nested = serializer.dumps([new Inner(), "after"]);
  const call = serializer.dumpsCall("o", "m", ["z".repeat(300)], {});
  const big = serializer.dumps("b".repeat(100_000));
  const small = serializer.dumps(1);
  deepStrictEqual(first, copy);
  strictEqual(
    text(nested),
    '[{"__class__": "x.Inner", "raw": "{\\"deep\\": [1, \\"two\\"]}"}, "after"]',
  );
  strictEqual(
    text(call),
    `{"object": "o", "method": "m", "params": ["${"z".repeat(300)}"], "kwargs": {}}`,
  );
  strictEqual(text(big), `"${"b".repeat(100_000)}"`);
  // A buffer grown for one big result is left to it, not shared with later ones.
  ok(big.buffer !== small.buffer && big.buffer.byteLength < 2 * big.length);
  strictEqual(text(small), "1");
});

Deno.test("JsonSerializer writes and reads None kwargs as Python Pyro5's __getattr__", () => {
  const bytes = json.dumpsCall("example.thing", "__getattr__", ["size"], null);
  strictEqual(
    text(bytes),
    '{"object": "example.thing", "method": "__getattr__", "params": ["size"], "kwargs": null}',
  );
  deepStrictEqual(json.loadsCall(bytes).kwargs, {});
});

Deno.test("JsonSerializer.loadsCall refuses data that is not a call", async (t) => {
  const notCalls = [
    "[1, 2]",
    '{"object": "o", "method": "m", "params": []}',
    '{"object": 1, "method": "m", "params": [], "kwargs": {}}',
    '{"object": "o", "method": "m", "params": {}, "kwargs": {}}',
    '{"object": "o", "method": "m", "params": [], "kwargs": []}',
  ];
  for (const doc of notCalls) {
    await t.step(doc, () => throws(() => json.loadsCall(utf8(doc)), /invalid json call data/));
  }
});

Deno.test("JsonSerializer tables match the live Python peer", async (t) => {
  const values = await capturePython("json", VALUES.map((c) => ({ py: c.py })));
  const calls = await capturePython("json", CALLS.map((c) => ({ py: c.py, call: true })));
  const expect = (c: Case) =>
    c.json !== undefined ? { hex: toHex(utf8(c.json)) } : { error: c.error };
  for (const [i, c] of VALUES.entries()) {
    await t.step(c.name, () => {
      const got = values[i];
      deepStrictEqual("error" in got ? { error: got.error.replace(/^\w+: /, "") } : got, expect(c));
    });
  }
  for (const [i, c] of CALLS.entries()) {
    await t.step(c.name, () => deepStrictEqual(calls![i], expect(c)));
  }
});

// Keep the imported helpers referenced by the tables.
void [PyComplex, PyFrozenSet, PyTuple, tuple];

/** A value or the PyroError message, for comparing two decoders. */
function outcome(decode: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: decode() };
  } catch (error) {
    ok(error instanceof PyroError, String(error));
    return { error: error.message };
  }
}

/** Seeded numbers in every JSON form: short and long ints, fractions, exponents. */
function numberTexts(count: number): string[] {
  let state = 12345;
  const next = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const digits = (n: number) => {
    let text = String(1 + next(9));
    for (let i = 1; i < n; i++) text += String(next(10));
    return text;
  };
  const texts = [
    "0",
    "-0",
    "0.0",
    "-0.0",
    "-0e1",
    "0e0",
    "1E+2",
    "1e-400",
    "-1e400",
    "5e-324",
    "1.7976931348623157e308",
    "2.2250738585072014e-308",
    "0.1",
    "0.30000000000000004",
    "123456789012345",
    "-123456789012345",
    "1234567890123456",
    "9007199254740993",
    "123456789012345.6",
    "999999999999999.9",
    "1e22",
    "1e23",
    "1.5e-22",
    "4.35e-23",
    "0.000001",
    "0.00000000000000000000001",
    "2147483648",
    "-2147483649",
  ];
  for (let i = 0; i < count; i++) {
    let text = (next(3) === 0 ? "-" : "") + (next(4) === 0 ? "0" : digits(1 + next(18)));
    if (next(2) === 0) {
      text += "." + (next(5) === 0 ? "0".repeat(1 + next(8)) : "") + digits(1 + next(16));
    }
    if (next(3) === 0) text += "eE"[next(2)] + ["", "+", "-"][next(3)] + String(next(30));
    texts.push(text);
  }
  return texts;
}

Deno.test("JsonSerializer.loads reads every document as the full decoder does", async (t) => {
  const classes = new ClassRegistry();
  const check = (serializer: JsonSerializer, doc: string | Uint8Array, maxDepth = 1000) => {
    const data = typeof doc === "string" ? utf8(doc) : doc;
    deepStrictEqual(
      outcome(() => serializer.loads(data)),
      outcome(() => decodeJson(data, classes, maxDepth)),
      typeof doc === "string" ? doc : toHex(doc),
    );
  };
  await t.step("numbers", () => {
    const texts = numberTexts(3000);
    for (const text of texts) check(json, text);
    check(json, `[${texts.join(", ")}]`);
    for (const bad of ["01", "-", "1.", ".5", "+1", "1e", "1e+", "-I", "1.5.2", "0x10", "1_0"]) {
      check(json, `[${bad}]`);
    }
  });
  await t.step("strings", () => {
    const strings = [
      "",
      "a",
      "x".repeat(15),
      "x".repeat(16),
      "y".repeat(17),
      "z".repeat(40),
      "w".repeat(41),
      "v".repeat(300),
      "\u00e9",
      "a\u00e9b",
      "\u65e5\u672c",
      "\u{1f600}",
      "\ufeffbom",
      "\u007f",
      "\u2028",
      "\ufffd",
      "\ufffd".repeat(30),
      "\u00e9".repeat(100) + "\\" + "x".repeat(2000),
      "\ufeff" + "\u00e9".repeat(40),
    ];
    for (const s of strings) check(json, JSON.stringify(s));
    const escaped = [
      '"\\n\\t\\r\\b\\f\\/\\\\\\""',
      '"\\u0000"',
      '"\\ud83d\\ude00"',
      '"\\ud800"',
      '"\\uDFFF x"',
      '"a\\u00e9\\u00E9"',
      '"\\u12"',
      '"\\x41"',
      '"\\',
      '"abc',
      '"a\nb"',
      '"a\u0001"',
      '"\u00e9\\n\u00e9"',
      '"' + "\\n".repeat(50) + '"',
    ];
    for (const doc of escaped) check(json, doc);
    // Seeded byte soup in strings: valid and invalid UTF-8, short and long runs.
    let seed = 99;
    const byte = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 24;
    const pieces = [[0x61], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [
      0x5c,
      0x6e,
    ]];
    for (let i = 0; i < 3000; i++) {
      const bytes = [0x5b, 0x22];
      const count = byte() % (i % 10 === 0 ? 120 : 12);
      for (let k = 0; k < count; k++) {
        const b = byte();
        if (b < 200) bytes.push(...pieces[b % pieces.length]);
        else bytes.push(b < 240 ? byte() : [0x80, 0xc0, 0xe0, 0xed, 0xf4, 0xf5][b % 6]);
      }
      bytes.push(0x22, 0x5d);
      check(json, new Uint8Array(bytes));
    }
    const edges = [
      [0xf4, 0x8f, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf0, 0x8f, 0xbf, 0xbf],
      [0xf0, 0x90, 0x80, 0x80],
      [0xf0, 0x9f, 0x98, 0x41],
      [0xf0, 0x9f, 0x41],
      [0xe0, 0x9f, 0xbf],
      [0xe0, 0xa0, 0x80],
      [0xef, 0xbf, 0xbf],
      [0xed, 0x9f, 0xbf],
      [0xc1, 0xbf],
      [0xc2, 0x80],
      [0xdf, 0xc0],
      [0xf5, 0x80, 0x80, 0x80],
      [0x80],
      [0xff],
    ];
    for (const edge of edges) {
      check(json, new Uint8Array([0x22, ...edge, 0x22]));
      check(json, new Uint8Array([0x22, 0x61, ...edge, 0x5c, 0x6e, 0x22]));
    }
    check(json, new Uint8Array([0x22, 0xc3, 0x22])); // truncated UTF-8
    check(json, new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])); // an encoded surrogate
    check(json, new Uint8Array([0x22, 0x61, 0x00, 0x22])); // a NUL byte
  });
  await t.step("keys, literals and spacing", () => {
    const docs = [
      '{"__proto__": {"a": 1}}',
      '{"a": 1, "a": 2, "b": [true, false, null]}',
      '{"2": "x", "1": "y", "b": "z"}',
      "[NaN, Infinity, -Infinity]",
      "[nul]",
      "[tru, 1]",
      "[falsy]",
      "[Inf]",
      ' \t\r\n[ 1 ,\t{ "k" :\n[ ] } ] \n',
      "",
      " ",
      "[]",
      "{}",
      "[[]]",
      '{"a" 1}',
      '{"a": 1,}',
      "[1,]",
      "[1 2]",
      "{1: 2}",
      "null x",
      "\ufeff[]",
      '"x"',
      "true",
    ];
    for (const doc of docs) check(json, doc);
  });
  await t.step("every cut of a document", () => {
    const doc = '{"object": "o", "method": "m", "params": [1, -2.5e3, "\\u00e9\u00e9", ' +
      '[true, false, null, NaN]], "kwargs": {"k": {"x": -0}}}';
    for (let i = 0; i <= doc.length; i++) check(json, doc.slice(0, i));
  });
  await t.step("nesting at the depth limit", () => {
    const shallow = new JsonSerializer({ maxDepth: 3 });
    for (const doc of ["[[[1]]]", "[[[[1]]]]", '{"a": {"b": [1]}}', '{"a": {"b": [[1]]}}']) {
      check(shallow, doc, 3);
    }
  });
  await t.step("many different short strings, and strings in changing order", () => {
    const serializer = new JsonSerializer();
    const words = Array.from({ length: 3000 }, (_, i) => `k${(i * 7919) % 3001}`);
    check(serializer, JSON.stringify(Object.fromEntries(words.map((w, i) => [w, words[i ^ 1]]))));
    for (let round = 0; round < 3; round++) {
      for (
        const doc of [
          '{"ab": "cd", "abc": "cde"}',
          '{"ab": "cde", "abc": "cd"}',
          '{"abc": 1, "ab": 2}',
          '{"a": "b"}',
          '{"a": "bc"}',
          '{"ab": "c\\"", "ab": "c"}',
          '["cd", "cde", "cd"]',
          '{"ab": "' + "y".repeat(17) + '", "abc": "cd"}',
          '{"ab": "c',
          '{"abc": "cd"}',
        ]
      ) check(serializer, doc);
    }
  });
});

Deno.test("JsonSerializer.loads converts each class dict once, innermost first", () => {
  const classes = new ClassRegistry();
  const seen: string[] = [];
  const serializer = new JsonSerializer({ classes });
  classes.registerDictToClass("t.Box", (_, d) => {
    seen.push(String(d.id));
    // A converter may decode with the same serializer.
    return { box: d.id, inner: serializer.loads(utf8('{"v": [1, "two"]}')) };
  });
  const doc = '[{"__class__": "t.Box", "id": "outer", "x": {"__class__": "t.Box", "id": "in"}}]';
  const value = serializer.loads(utf8(doc)) as { box: string; inner: unknown }[];
  deepStrictEqual(seen, ["in", "outer"]);
  deepStrictEqual(value[0].inner, { v: [1, "two"] });
  strictEqual(value[0].box, "outer");
  // With Python's extensions, or when invalid, the full decoder decides: still once each.
  seen.length = 0;
  serializer.loads(utf8(doc.replace('"x"', '"n": NaN, "x"')));
  deepStrictEqual(seen, ["in", "outer"]);
  seen.length = 0;
  throws(() => serializer.loads(utf8(doc + " x")), /Extra data/);
  deepStrictEqual(seen, ["in", "outer"]);
  // An escaped "__class__" key is left as the full decoder leaves it.
  const escaped = utf8('{"\\u005f_class__": "t.Box", "id": 1}');
  deepStrictEqual(serializer.loads(escaped), decodeJson(escaped, classes, 1000));
});

Deno.test("JsonSerializer.dumpsCall writes each call's own object and method", () => {
  const serializer = new JsonSerializer();
  const call = (objectId: string, method: string, args: unknown[] = [1]) =>
    text(serializer.dumpsCall(objectId, method, args, {}));
  const expected = (objectId: string, method: string) =>
    `{"object": ${JSON.stringify(objectId)}, "method": ${
      JSON.stringify(method)
    }, "params": [1], "kwargs": {}}`;
  for (
    const [objectId, method] of [
      ["o", "m"],
      ["o", "m"],
      ["o", "n"],
      ["p", "n"],
      ['q"\u00e9', "m\n"],
      ["o", "m"],
    ]
  ) strictEqual(call(objectId, method), expected(objectId, method));
  throws(() => call("o", "x", [() => {}]), SerializeError);
  strictEqual(call("o", "x"), expected("o", "x"));
});

Deno.test("JsonSerializer.dumps lists own keys only, even when Object.prototype has more", () => {
  const value = { b: 1, 2: [{ a: null }], __proto__: null } as unknown as PyStringDict;
  const plain = { b: 1, 2: [{ a: null }] };
  const expected = '{"2": [{"a": null}], "b": 1}';
  strictEqual(text(json.dumps(plain)), expected);
  Object.defineProperty(Object.prototype, "polluted", {
    value: 1,
    enumerable: true,
    configurable: true,
  });
  try {
    strictEqual(text(json.dumps(plain)), expected);
    strictEqual(text(json.dumps(value)), expected);
  } finally {
    delete (Object.prototype as Record<string, unknown>).polluted;
  }
  strictEqual(text(json.dumps(value)), expected);
});
