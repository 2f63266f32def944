/**
 * MsgpackSerializer against bytes captured from Python 3.11, msgpack 1.0.3 and Pyro5 5.15
 * (`MsgpackSerializer().dumps(...)`, `.dumpsCall(...)`, `.loads(...)`).
 */
import { deepStrictEqual, equal, ok, throws } from "node:assert";
import { PyroError, RemoteError, SecurityError, SerializeError } from "../errors.ts";
import { ClassRegistry } from "../serializers/classes.ts";
import { MsgpackSerializer } from "../serializers/msgpack.ts";
import { PyComplex, PyFloat, PyFrozenSet, tuple } from "../serializers/values.ts";
import { PyroUri } from "../uri.ts";
import { concatBytes } from "./_support.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const msgpack = new MsgpackSerializer();

interface Vector {
  /** The Python expression the bytes were captured from. */
  python: string;
  value: unknown;
  bytes: string;
  /** What decoding gives, when it is not `value` itself. */
  decoded?: unknown;
}

/** `MsgpackSerializer().dumps(<python>).hex()` in Python. */
const VECTORS: Vector[] = [
  { python: "0", value: 0, bytes: "00" },
  { python: "1", value: 1, bytes: "01" },
  { python: "127", value: 127, bytes: "7f" },
  { python: "128", value: 128, bytes: "cc80" },
  { python: "255", value: 255, bytes: "ccff" },
  { python: "256", value: 256, bytes: "cd0100" },
  { python: "65535", value: 65535, bytes: "cdffff" },
  { python: "65536", value: 65536, bytes: "ce00010000" },
  { python: "2**32-1", value: 2 ** 32 - 1, bytes: "ceffffffff" },
  { python: "2**32", value: 2 ** 32, bytes: "cf0000000100000000" },
  { python: "2**53-1", value: 2 ** 53 - 1, bytes: "cf001fffffffffffff" },
  { python: "2**53", value: 2n ** 53n, bytes: "cf0020000000000000" },
  { python: "2**63", value: 2n ** 63n, bytes: "cf8000000000000000" },
  { python: "2**64-1", value: 2n ** 64n - 1n, bytes: "cfffffffffffffffff" },
  {
    python: "2**64",
    value: 2n ** 64n,
    bytes: "c714313138343436373434303733373039353531363136",
  },
  { python: "-1", value: -1, bytes: "ff" },
  { python: "-32", value: -32, bytes: "e0" },
  { python: "-33", value: -33, bytes: "d0df" },
  { python: "-128", value: -128, bytes: "d080" },
  { python: "-129", value: -129, bytes: "d1ff7f" },
  { python: "-32768", value: -32768, bytes: "d18000" },
  { python: "-32769", value: -32769, bytes: "d2ffff7fff" },
  { python: "-2**31", value: -(2 ** 31), bytes: "d280000000" },
  { python: "-2**31-1", value: -(2 ** 31) - 1, bytes: "d3ffffffff7fffffff" },
  { python: "-(2**53-1)", value: -(2 ** 53 - 1), bytes: "d3ffe0000000000001" },
  { python: "-2**53", value: -(2n ** 53n), bytes: "d3ffe0000000000000" },
  { python: "-2**63", value: -(2n ** 63n), bytes: "d38000000000000000" },
  {
    python: "-2**63-1",
    value: -(2n ** 63n) - 1n,
    bytes: "c714312d39323233333732303336383534373735383039",
  },
  {
    python: "10**40",
    value: 10n ** 40n,
    bytes: "c72931313030303030303030303030303030303030303030303030303030303030303030303030303030" +
      "3030",
  },
  {
    python: "-10**40",
    value: -(10n ** 40n),
    bytes: "c72a312d3130303030303030303030303030303030303030303030303030303030303030303030303030" +
      "303030",
  },
  { python: "small int as bigint", value: 5n, bytes: "05", decoded: 5 },
  { python: "-200 as bigint", value: -200n, bytes: "d1ff38", decoded: -200 },
  { python: "0.0", value: new PyFloat(0), bytes: "cb0000000000000000", decoded: 0 },
  { python: "-0.0", value: -0, bytes: "cb8000000000000000" },
  { python: "1.5", value: 1.5, bytes: "cb3ff8000000000000" },
  { python: "-2.25", value: -2.25, bytes: "cbc002000000000000" },
  { python: "1e300", value: 1e300, bytes: "cb7e37e43c8800759c" },
  { python: "0.1", value: 0.1, bytes: "cb3fb999999999999a" },
  { python: "float('nan')", value: NaN, bytes: "cb7ff8000000000000" },
  { python: "float('inf')", value: Infinity, bytes: "cb7ff0000000000000" },
  { python: "float('-inf')", value: -Infinity, bytes: "cbfff0000000000000" },
  { python: "2.0", value: new PyFloat(2), bytes: "cb4000000000000000", decoded: 2 },
  { python: "float(2**60)", value: 2 ** 60, bytes: "cb43b0000000000000" },
  { python: "None", value: null, bytes: "c0" },
  { python: "None (undefined)", value: undefined, bytes: "c0", decoded: null },
  { python: "True", value: true, bytes: "c3" },
  { python: "False", value: false, bytes: "c2" },
  { python: "''", value: "", bytes: "a0" },
  { python: "'a'", value: "a", bytes: "a161" },
  { python: "'hello'", value: "hello", bytes: "a568656c6c6f" },
  { python: "'é'", value: "é", bytes: "a2c3a9" },
  { python: "'€'", value: "€", bytes: "a3e282ac" },
  { python: "'😀'", value: "😀", bytes: "a4f09f9880" },
  {
    python: "'€' * 10",
    value: "€".repeat(10),
    bytes: "bee282ace282ace282ace282ace282ace282ace282ace282ace282ace282ac",
  },
  {
    python: "'€' * 11",
    value: "€".repeat(11),
    bytes: "d921e282ace282ace282ace282ace282ace282ace282ace282ace282ace282ace282ac",
  },
  {
    python: "'é' * 20",
    value: "é".repeat(20),
    bytes: "d928c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9",
  },
  { python: "'\\x00\\x7f'", value: "\x00\x7f", bytes: "a2007f" },
  { python: "'\\ufeffx'", value: "\ufeffx", bytes: "a4efbbbf78" },
  { python: "'héllo wörld'", value: "héllo wörld", bytes: "ad68c3a96c6c6f2077c3b6726c64" },
  { python: "b''", value: new Uint8Array(0), bytes: "c400" },
  { python: "b'\\x00\\xff'", value: new Uint8Array([0, 255]), bytes: "c40200ff" },
  {
    python: "b'\\x00\\xff' (ArrayBuffer)",
    value: new Uint8Array([0, 255]).buffer,
    bytes: "c40200ff",
    decoded: new Uint8Array([0, 255]),
  },
  {
    python: "b'\\x01\\x02' (DataView)",
    value: new DataView(new Uint8Array([9, 1, 2, 9]).buffer, 1, 2),
    bytes: "c4020102",
    decoded: new Uint8Array([1, 2]),
  },
  { python: "[]", value: [], bytes: "90" },
  { python: "[1,2,3]", value: [1, 2, 3], bytes: "93010203" },
  { python: "(1,'a')", value: tuple<unknown>(1, "a"), bytes: "9201a161", decoded: [1, "a"] },
  { python: "{1}", value: new Set([1]), bytes: "9101", decoded: [1] },
  {
    python: "array('d', [1.5, 2.0]).tolist()",
    value: new Float64Array([1.5, 2]),
    bytes: "92cb3ff8000000000000cb4000000000000000",
    decoded: [1.5, 2],
  },
  { python: "[1, -1]", value: new Int32Array([1, -1]), bytes: "9201ff", decoded: [1, -1] },
  { python: "{}", value: {}, bytes: "80" },
  { python: "{'a':1}", value: { a: 1 }, bytes: "81a16101" },
  { python: "{1:2}", value: new Map([[1, 2]]), bytes: "810102" },
  {
    python: "{1:'a','b':2}",
    value: new Map<unknown, unknown>([[1, "a"], ["b", 2]]),
    bytes: "8201a161a16202",
  },
  {
    python: "{'a': {'b': [1, (2, 3)], 'c': None}}",
    value: { a: { b: [1, tuple(2, 3)], c: null } },
    bytes: "81a16182a1629201920203a163c0",
    decoded: { a: { b: [1, [2, 3]], c: null } },
  },
  {
    python: "1+2j",
    value: new PyComplex(1, 2),
    bytes: "d830000000000000f03f0000000000000040",
  },
  {
    python: "complex(-0.0, inf)",
    value: new PyComplex(-0, Infinity),
    bytes: "d8300000000000000080000000000000f07f",
  },
  {
    python: "datetime.fromtimestamp(1577934245.123)",
    value: new Date(1577934245123),
    bytes: "d7323bdf47695783d741",
  },
  { python: "datetime.fromtimestamp(-1.5)", value: new Date(-1500), bytes: "d732000000000000f8bf" },
  {
    python: "datetime.fromtimestamp(0) - timedelta(milliseconds=1)",
    value: new Date(-1),
    bytes: "d73200aaf1d24d6250bf",
  },
  {
    python: "URI('PYRO:obj@localhost:9999')",
    value: new PyroUri("PYRO:obj@localhost:9999"),
    bytes: "82a95f5f636c6173735f5fae5079726f352e636f72652e555249a5737461746595a45059524fa36f626a" +
      "c0a96c6f63616c686f7374cd270f",
  },
  {
    python: "ValueError('x')",
    value: new RemoteError("builtins.ValueError", ["x"]),
    decoded: new RemoteError("builtins.ValueError", ["x"], { remoteTraceback: [] }),
    bytes: "84a95f5f636c6173735f5fb36275696c74696e732e56616c75654572726f72ad5f5f657863657074696f" +
      "6e5f5fc3a46172677391a178aa6174747269627574657380",
  },
];

Deno.test("MsgpackSerializer.dumps writes Python's bytes", async (t) => {
  for (const vector of VECTORS) {
    await t.step(vector.python, () => {
      equal(hex(msgpack.dumps(vector.value)), vector.bytes);
    });
  }
});

Deno.test("MsgpackSerializer.loads reads Python's bytes", async (t) => {
  for (const vector of VECTORS) {
    await t.step(vector.python, () => {
      const expected = "decoded" in vector ? vector.decoded : vector.value;
      deepStrictEqual(msgpack.loads(unhex(vector.bytes)), expected);
    });
  }
});

/** `(header hex, total length)` of `MsgpackSerializer().dumps(...)` for size boundaries. */
const SIZED: [string, unknown, string, number][] = [
  ["'x' * 31", "x".repeat(31), "bf7878787878", 32],
  ["'x' * 32", "x".repeat(32), "d92078787878", 34],
  ["'x' * 255", "x".repeat(255), "d9ff78787878", 257],
  ["'x' * 256", "x".repeat(256), "da0100787878", 259],
  ["'x' * 65535", "x".repeat(65535), "daffff787878", 65538],
  ["'x' * 65536", "x".repeat(65536), "db0001000078", 65541],
  ["'é' * 16", "é".repeat(16), "d920c3a9c3a9", 34],
  ["'é' * 15 + 'a'", "é".repeat(15) + "a", "bfc3a9c3a9c3", 32],
  ["'€' * 85", "€".repeat(85), "d9ffe282ace2", 257],
  ["'€' * 86", "€".repeat(86), "da0102e282ac", 261],
  ["'é' * 32768", "é".repeat(32768), "db00010000c3", 65541],
  ["'é' * 32767 + 'a'", "é".repeat(32767) + "a", "daffffc3a9c3", 65538],
  ["'x' * 64 + 'é'", "x".repeat(64) + "é", "d94278787878", 68],
  ["'😀' * 100", "😀".repeat(100), "da0190f09f98", 403],
  ["b'x' * 31", new Uint8Array(31).fill(0x78), "c41f78787878", 33],
  ["b'x' * 32", new Uint8Array(32).fill(0x78), "c42078787878", 34],
  ["b'x' * 255", new Uint8Array(255).fill(0x78), "c4ff78787878", 257],
  ["b'x' * 256", new Uint8Array(256).fill(0x78), "c50100787878", 259],
  ["b'x' * 65535", new Uint8Array(65535).fill(0x78), "c5ffff787878", 65538],
  ["b'x' * 65536", new Uint8Array(65536).fill(0x78), "c60001000078", 65541],
  ["[0] * 15", new Array(15).fill(0), "9f0000000000", 16],
  ["[0] * 16", new Array(16).fill(0), "dc0010000000", 19],
  ["[0] * 65535", new Array(65535).fill(0), "dcffff000000", 65538],
  ["[0] * 65536", new Array(65536).fill(0), "dd0001000000", 65541],
  ["{str(i): 0 for i in range(15)}", numberedDict(15), "8fa13000a131", -1],
  ["{str(i): 0 for i in range(16)}", numberedDict(16), "de0010a13000", -1],
  ["{str(i): 0 for i in range(65535)}", numberedDict(65535), "deffffa13000", -1],
  ["{str(i): 0 for i in range(65536)}", numberedDict(65536), "df00010000a1", -1],
];

/** Python's dict keeps insertion order; JS orders integer-like keys ascending, the same here. */
function numberedDict(n: number): Record<string, number> {
  const dict: Record<string, number> = {};
  for (let i = 0; i < n; i++) dict[String(i)] = 0;
  return dict;
}

Deno.test("MsgpackSerializer.dumps picks Python's header sizes", async (t) => {
  for (const [python, value, header, length] of SIZED) {
    await t.step(python, () => {
      const bytes = msgpack.dumps(value);
      equal(hex(bytes.subarray(0, 6)), header);
      if (length >= 0) equal(bytes.length, length);
      deepStrictEqual(msgpack.loads(bytes), value);
    });
  }
});

Deno.test("MsgpackSerializer.dumpsCall writes Python's call tuple", () => {
  equal(
    hex(msgpack.dumpsCall("obj", "method", [1, "a"], { k: 2 })),
    "94a36f626aa66d6574686f649201a16181a16b02",
  );
  const lookup = "94af5079726f2e4e616d65536572766572a66c6f6f6b757091b06578616d706c652e67726565" +
    "74696e6781af72657475726e5f6d65746164617461c2";
  equal(
    hex(msgpack.dumpsCall("Pyro.NameServer", "lookup", ["example.greeting"], {
      return_metadata: false,
    })),
    lookup,
  );
  deepStrictEqual(msgpack.loadsCall(unhex(lookup)), {
    objectId: "Pyro.NameServer",
    method: "lookup",
    args: ["example.greeting"],
    kwargs: { return_metadata: false },
  });
});

Deno.test("MsgpackSerializer.loadsCall decodes ext types in arguments", () => {
  // Python's loadsCall leaves them as ExtType(48, ...); we decode them as loads does.
  const call = msgpack.loadsCall(
    unhex("94a36f626aa66d6574686f649201d830000000000000f03f000000000000004080"),
  );
  deepStrictEqual(call.args, [1, new PyComplex(1, 2)]);
});

Deno.test("MsgpackSerializer.loadsCall takes None kwargs as {}", () => {
  // Python: MsgpackSerializer().dumpsCall("obj", "__getattr__", ("name",), None)
  deepStrictEqual(msgpack.loadsCall(unhex("94a36f626aab5f5f676574617474725f5f91a46e616d65c0")), {
    objectId: "obj",
    method: "__getattr__",
    args: ["name"],
    kwargs: {},
  });
});

Deno.test("MsgpackSerializer.loadsCall refuses what is not a call", async (t) => {
  const cases: [string, string][] = [
    ["not an array", "c0"],
    ["three items", "93a1610180"],
    ["int object id", "9401a16d9080"],
    ["args not a list", "94a16fa16d0180"],
    ["kwargs not a dict", "94a16fa16d9090"],
    ["kwargs with int keys", "94a16fa16d90810102"],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, () => {
      throws(() => msgpack.loadsCall(unhex(bytes)), SerializeError);
    });
  }
});

/** Inputs Python writes differently or never; what Python's `loads` gives, in TS. */
const DECODE_ONLY: [string, string, unknown][] = [
  ["float32 1.5", "ca3fc00000", 1.5],
  ["uint16 1 (not minimal)", "cd0001", 1],
  ["int8 0", "d000", 0],
  ["int8 -1", "d0ff", -1],
  ["uint32 1", "ce00000001", 1],
  ["int16 -2", "d1fffe", -2],
  ["int32 1", "d200000001", 1],
  ["uint64 2**53", "cf0020000000000000", 2n ** 53n],
  ["int64 -2**53", "d3ffe0000000000000", -(2n ** 53n)],
  ["int64 5", "d30000000000000005", 5],
  ["str8 'a'", "d90161", "a"],
  ["str16 'a'", "da000161", "a"],
  ["str32 'a'", "db0000000161", "a"],
  ["'\\uffff'", "a3efbfbf", "\uffff"],
  ["bin16", "c50001ff", new Uint8Array([255])],
  ["bin32", "c600000001ff", new Uint8Array([255])],
  ["array16", "dc0001c0", [null]],
  ["array32", "dd00000001c0", [null]],
  ["map16", "de0001a161c0", { a: null }],
  ["map32", "df00000001a161c0", { a: null }],
  ["Timestamp(seconds=1)", "d6ff00000001", new Date(1000)],
  ["Timestamp(1, 500000000)", "d7ff7735940000000001", new Date(1500)],
  ["Timestamp(-1, 1000000)", "c70cff000f4240ffffffffffffffff", new Date(-999)],
  ["date(2020, 1, 2)", "d73392400b0000000000", new Date(Date.UTC(2020, 0, 2))],
  ["date(1, 1, 1)", "d7330100000000000000", new Date("0001-01-01T00:00:00Z")],
  ["int(b'  -12_3 ')", "c7083120202d31325f3320", -123],
  ["int(b'+123')", "d6312b313233", 123],
  ["int(b'5')", "d43135", 5],
  ["{b'a': 1}", "81c4016101", new Map([[new Uint8Array([0x61]), 1]])],
  ["{'__proto__': 1}", "81a95f5f70726f746f5f5f01", JSON.parse('{"__proto__": 1}')],
  ["{'1': 2, 3: 4}", "82a1310203 04", new Map<unknown, unknown>([["1", 2], [3, 4]])],
  ["{None: 1}", "81c001", new Map([[null, 1]])],
];

Deno.test("MsgpackSerializer.loads reads every msgpack format", async (t) => {
  for (const [name, bytes, expected] of DECODE_ONLY) {
    await t.step(name, () => {
      const value = msgpack.loads(unhex(bytes));
      if (expected instanceof Date) {
        ok(value instanceof Date);
        equal(value.getTime(), expected.getTime());
      } else {
        deepStrictEqual(value, expected);
      }
    });
  }
  await t.step("date(1, 1, 1) is year 1 at UTC midnight", () => {
    const value = msgpack.loads(unhex("d7330100000000000000")) as Date;
    equal(value.toISOString(), "0001-01-01T00:00:00.000Z");
  });
});

/** Inputs Python's `loads` refuses (its error in the comment), and the start of ours. */
const DECODE_ERRORS: [string, string, RegExp][] = [
  // ValueError: Unpack failed: incomplete input
  ["truncated array", "930102", /incomplete input/],
  ["truncated str", "a568", /incomplete input/],
  ["truncated float", "cb00", /incomplete input/],
  ["truncated array16 header", "dc00", /incomplete input/],
  ["truncated bin", "c40500", /incomplete input/],
  ["bin without length", "c4", /incomplete input/],
  ["truncated ext", "d83000", /incomplete input/],
  ["empty input", "", /incomplete input/],
  // ExtraData: unpack(b) received extra data.
  ["extra data", "0102", /extra data after the value, at byte 1/],
  ["extra data after a map", "80c0", /extra data/],
  // FormatError
  ["reserved byte", "c1", /reserved byte 0xc1 at byte 0/],
  // ValueError: 4294967295 exceeds max_array_len(6)
  ["array32 claiming 2**32-1 items", "ddffffffff00000000c0", /incomplete input at byte 5$/],
  ["map32 claiming 2**32-1 pairs", "dfffffffff0000000000", /incomplete input at byte 5$/],
  ["map16 claiming more pairs than bytes", "de0003a161c0a162", /incomplete input at byte 3$/],
  ["str32 claiming 4 GB", "dbffffffff61", /incomplete input/],
  ["bin32 claiming 4 GB", "c6ffffffff61", /incomplete input/],
  ["ext32 claiming 4 GB", "c9ffffffff3061", /incomplete input/],
  // UnicodeDecodeError
  ["lone continuation byte", "a180", /invalid UTF-8 in str at byte 1/],
  ["overlong NUL", "a2c080", /invalid UTF-8/],
  ["encoded surrogate", "a3eda080", /invalid UTF-8/],
  ["beyond U+10FFFF", "a4f4908080", /invalid UTF-8/],
  // SerializeError: invalid ext code for msgpack: N
  ["ext 5", "d40500", /^invalid ext code for msgpack: 5$/],
  ["ext -128", "d48000", /^invalid ext code for msgpack: -128$/],
  // struct.error: unpack requires a buffer of 16 bytes
  ["complex of 0 bytes", "c70030", /ext 48 needs 16 bytes, got 0/],
  ["complex of 8 bytes", "d7300000000000000000", /ext 48 needs 16 bytes/],
  ["datetime of 2 bytes", "d5320000", /ext 50 needs 8 bytes/],
  // ValueError: invalid literal for int() with base 10
  ["int(b'\\n')", "d4310a", /invalid int text/],
  ["int(b'0.5')", "c70331302e35", /invalid int text/],
  ["int(b'0x1')", "c70331307831", /invalid int text/],
  ["int(b'1__2')", "c70431315f5f32", /invalid int text/],
  ["int of 5000 digits", "c9" + "00001388" + "31" + "31".repeat(5000), /invalid int text/],
  // ValueError: Invalid value NaN (not a number)
  ["datetime NaN", "d732000000000000f87f", /time out of range/],
  ["datetime 1e300", "d7329c7500883ce4377e", /time out of range/],
  // ValueError: ordinal must be >= 1; year 10008 is out of range
  ["date ordinal 0", "d7330000000000000000", /date ordinal out of range/],
  ["date year 10008", "d733bbc5370000000000", /date ordinal out of range/],
  ["date ordinal -1", "d733ffffffffffffffff", /date ordinal out of range/],
  // ValueError: Unpack failed: error = -1 (timestamps of other sizes)
  ["timestamp of 2 bytes", "d5ff0000", /timestamp needs 4, 8 or 12 bytes/],
  ["timestamp nanoseconds 10**9", "d7ff" + "ee6b2800" + "00000000", /timestamp nanoseconds/],
  // SerializeError: unsupported serialized class: foo
  ["class foo", "81a95f5f636c6173735f5fa3666f6f", /^unsupported serialized class: foo$/],
];

Deno.test("MsgpackSerializer.loads refuses malformed input", async (t) => {
  for (const [name, bytes, message] of DECODE_ERRORS) {
    await t.step(name, () => {
      throws(() => msgpack.loads(unhex(bytes)), (error: unknown) => {
        ok(error instanceof SerializeError, `${name}: ${error}`);
        ok(message.test(error.message), `${name}: ${error.message}`);
        return true;
      });
    });
  }
});

Deno.test("MsgpackSerializer.loads fails fast on huge declared sizes", () => {
  const start = performance.now();
  for (const head of ["dd", "df", "db", "c6", "c9"]) {
    for (let i = 0; i < 1000; i++) {
      throws(() => msgpack.loads(unhex(head + "fffffffe000000")), SerializeError);
    }
  }
  ok(performance.now() - start < 2000);
});

Deno.test("MsgpackSerializer.loads refuses class names with double underscores", () => {
  // {"__class__": "os.__x"}
  throws(
    () => msgpack.loads(unhex("81a95f5f636c6173735f5fa66f732e5f5f78")),
    SecurityError,
  );
});

Deno.test("MsgpackSerializer.loads wraps errors of class converters", () => {
  // A URI state that is not a 5-tuple: PyroUri refuses it with a PyroError, passed on as is.
  const badUri = msgpack.dumps({ __class__: "Pyro5.core.URI", state: 1 });
  throws(() => msgpack.loads(badUri), PyroError);
  const classes = new ClassRegistry().registerDictToClass("x.Bad", () => {
    throw new RangeError("nope");
  });
  const serializer = new MsgpackSerializer({ classes });
  throws(
    () => serializer.loads(serializer.dumps({ __class__: "x.Bad" })),
    (error: unknown) =>
      error instanceof SerializeError && error.message === "cannot deserialize class x.Bad: nope",
  );
});

Deno.test("MsgpackSerializer.loads returns bin values as views on its input", () => {
  const input = unhex("92c40201 02c4 0103");
  const [a, b] = msgpack.loads(input) as Uint8Array[];
  deepStrictEqual([a, b], [new Uint8Array([1, 2]), new Uint8Array([3])]);
  equal(a.buffer, input.buffer);
  equal(a.byteOffset, 3);
  // Values never overlap one another.
  a.fill(9);
  deepStrictEqual(b, new Uint8Array([3]));
  deepStrictEqual(msgpack.loads(unhex("c400")), new Uint8Array(0));
});

Deno.test("MsgpackSerializer.loads honours byteOffset of its input", () => {
  const backing = unhex("ffff93a161c403010203cbfffffffffffffff0ffff");
  deepStrictEqual(msgpack.loads(backing.subarray(2, 19)), ["a", new Uint8Array([1, 2, 3]), NaN]);
});

Deno.test("MsgpackSerializer limits nesting with maxDepth", () => {
  const nested = (n: number) => unhex("91".repeat(n) + "c0");
  equal(hex(msgpack.dumps(msgpack.loads(nested(1000)))), hex(nested(1000)));
  throws(() => msgpack.loads(nested(1001)), /nesting deeper than 1000/);
  throws(() => msgpack.loads(unhex("81a161".repeat(1001) + "c0")), SerializeError);
  const shallow = new MsgpackSerializer({ maxDepth: 2 });
  deepStrictEqual(shallow.loads(nested(2)), [[null]]);
  throws(() => shallow.loads(nested(3)), SerializeError);
  throws(() => shallow.dumps([[[1]]]), SerializeError);
  // Deep input never overflows the stack.
  throws(() => msgpack.loads(nested(200000)), SerializeError);
});

Deno.test("MsgpackSerializer.dumps refuses what Python Pyro5 cannot send", async (t) => {
  const cycle: unknown[] = [];
  cycle.push(cycle);
  const cases: [string, unknown, RegExp][] = [
    ["a function", function hello() {}, /don't know how to serialize function hello/],
    ["a symbol", Symbol("s"), /don't know how to serialize symbol/],
    ["a frozenset", new PyFrozenSet([1]), /<class 'frozenset'> using serializer Msgpack/],
    ["a lone surrogate", "a\ud800", /surrogates not allowed/],
    ["a lone surrogate in a key", { "\udc00": 1 }, /surrogates not allowed/],
    ["an invalid Date", new Date(NaN), /invalid Date/],
    ["a cycle", cycle, /recursion limit exceeded/],
  ];
  for (const [name, value, message] of cases) {
    await t.step(name, () => {
      throws(() => msgpack.dumps(value), (error: unknown) => {
        ok(error instanceof SerializeError, String(error));
        ok(message.test(error.message), error.message);
        return true;
      });
    });
  }
});

Deno.test("MsgpackSerializer uses its class registry both ways", () => {
  class Point {
    constructor(public x: number, public y: number) {}
  }
  const classes = new ClassRegistry()
    .registerClassToDict(Point, (p) => ({ __class__: "shapes.Point", x: p.x, y: p.y }))
    .registerDictToClass("shapes.Point", (_, d) => new Point(d.x as number, d.y as number));
  const serializer = new MsgpackSerializer({ classes });
  const bytes = serializer.dumps([new Point(1, 2)]);
  // Python: msgpack.packb([{"__class__": "shapes.Point", "x": 1, "y": 2}])
  equal(hex(bytes), "9183a95f5f636c6173735f5fac7368617065732e506f696e74a17801a17902");
  deepStrictEqual(serializer.loads(bytes), [new Point(1, 2)]);
});

Deno.test("MsgpackSerializer.dumps grows its buffer for big values", () => {
  const big = { list: new Array(5000).fill("é€😀 text"), blob: new Uint8Array(300000).fill(7) };
  const bytes = msgpack.dumps(big);
  deepStrictEqual(msgpack.loads(bytes), big);
  // The outsized chunk stays with its result only.
  ok(msgpack.dumps(1).buffer !== bytes.buffer);
  // A big bytes value gets a chunk of about its size, not a doubled one.
  const blob = new Uint8Array(1_000_000).fill(3);
  const packed = msgpack.dumps({ blob });
  ok(packed.buffer.byteLength < blob.length + 65536);
  deepStrictEqual(msgpack.loads(packed), { blob });
});

Deno.test("MsgpackSerializer.dumps results survive later and failed calls", () => {
  const serializer = new MsgpackSerializer();
  const first = serializer.dumps({ a: "x".repeat(100) });
  const copy = first.slice();
  throws(() => serializer.dumps(["y".repeat(200), () => {}]), SerializeError);
  const second = serializer.dumps("z".repeat(300));
  deepStrictEqual(first, copy);
  equal(serializer.loads(second), "z".repeat(300));
});

Deno.test("MsgpackSerializer is reentrant through class converters", () => {
  class Inner {}
  const classes = new ClassRegistry();
  const serializer = new MsgpackSerializer({ classes });
  classes.registerClassToDict(Inner, () => ({
    __class__: "x.Inner",
    packed: serializer.dumps("inner".repeat(100)),
  }));
  const bytes = serializer.dumps(["outer", new Inner(), "end"]);
  const plain = new ClassRegistry().registerDictToClass("x.Inner", (_, d) => d);
  const back = new MsgpackSerializer({ classes: plain }).loads(bytes) as unknown[];
  equal(back[0], "outer");
  equal(back[2], "end");
  const inner = back[1] as { packed: Uint8Array };
  equal(serializer.loads(inner.packed), "inner".repeat(100));
});

function filled(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

Deno.test("MsgpackSerializer.dumpsParts equals dumps, big bins referenced", async (t) => {
  const serializer = new MsgpackSerializer();
  const big = filled(256 * 1024, 1);
  const bigger = filled(1_000_003, 2);
  const buffer = filled(300_000, 3).buffer;
  const view = new DataView(filled(400_000, 4).buffer, 1000, 350_000);
  // [name, value, the bins expected among the parts as themselves (null: one array)]
  const cases: [string, unknown, Uint8Array[] | null][] = [
    ["a small value stays one array", { a: [1, "x", filled(1000, 5)] }, null],
    ["just below the limit is copied", filled(256 * 1024 - 1, 6), null],
    ["a big bin alone", big, [big]],
    ["big bins among other values", [1, big, "mid", { k: bigger }, 2.5], [big, bigger]],
    ["the same bin twice", [big, big], [big, big]],
    ["an ArrayBuffer and a DataView", [buffer, view], []],
    ["a bin last", ["x".repeat(5000), bigger], [bigger]],
  ];
  for (const [name, value, referenced] of cases) {
    await t.step(name, () => {
      const result = serializer.dumpsParts(value);
      deepStrictEqual(concatBytes(result), serializer.dumps(value));
      if (referenced === null) {
        ok(result instanceof Uint8Array);
        return;
      }
      ok(Array.isArray(result));
      // Every referenced bin is one of the parts itself, in order; nothing empty is handed out.
      const shared = result.filter((part) => referenced.includes(part));
      deepStrictEqual(shared, referenced);
      ok(result.every((part) => part.length > 0));
    });
  }
  await t.step("ArrayBuffer and DataView bins share their memory", () => {
    const result = serializer.dumpsParts([buffer, view]) as Uint8Array[];
    ok(result.some((part) => part.buffer === buffer && part.length === 300_000));
    ok(result.some((part) => part.buffer === view.buffer && part.byteOffset === 1000));
  });
});

Deno.test("MsgpackSerializer.dumpsCallParts equals dumpsCall", () => {
  const serializer = new MsgpackSerializer();
  const big = filled(2_000_000, 7);
  const parts = serializer.dumpsCallParts("obj", "upload", [big, 3], { name: big });
  deepStrictEqual(
    concatBytes(parts),
    serializer.dumpsCall("obj", "upload", [big, 3], { name: big }),
  );
  ok(Array.isArray(parts) && parts.filter((part) => part === big).length === 2);
  const call = serializer.loadsCall(concatBytes(parts));
  equal(call.method, "upload");
  deepStrictEqual(call.args[0], big);
  ok(serializer.dumpsCallParts("obj", "m", [1], {}) instanceof Uint8Array);
});

Deno.test("MsgpackSerializer.dumpsParts results survive later and failed calls", () => {
  const serializer = new MsgpackSerializer();
  const big = filled(300_000, 8);
  const first = serializer.dumpsParts(["head".repeat(10), big, "tail"]) as Uint8Array[];
  const copies = first.map((part) => part.slice());
  // A failure after a bin was referenced must not leave the encoder in parts mode or poison it.
  throws(() => serializer.dumpsParts(["x", big, () => {}]), SerializeError);
  throws(() => serializer.dumpsCallParts("o", "m", [big, Symbol("s")], {}), SerializeError);
  const whole = serializer.dumps(["y".repeat(100), big]);
  ok(whole instanceof Uint8Array && whole.length === 1 + 102 + 5 + big.length);
  const again = serializer.dumpsParts(["head".repeat(10), big, "tail"]);
  first.forEach((part, i) => deepStrictEqual(part, copies[i]));
  deepStrictEqual(concatBytes(again), concatBytes(first));
  deepStrictEqual(serializer.loads(whole), ["y".repeat(100), big]);
});

Deno.test("MsgpackSerializer.dumpsParts is reentrant through class converters", () => {
  class Inner {}
  const classes = new ClassRegistry();
  const serializer = new MsgpackSerializer({ classes });
  const big = filled(300_000, 9);
  classes.registerClassToDict(Inner, () => ({
    __class__: "x.Inner",
    packed: serializer.dumps(["inner", big]),
  }));
  const value = [big, new Inner(), "end"];
  const parts = serializer.dumpsParts(value);
  deepStrictEqual(concatBytes(parts), serializer.dumps(value));
});
