/**
 * SerpentSerializer: tables of values <-> bytes captured from Python Pyro5 5.15 / serpent 1.41
 * (Python 3.11), literals checked against `ast.literal_eval`, refusals, class dicts, calls.
 *
 * The expected texts were captured with Python's
 * `Pyro5.serializers.SerpentSerializer().dumps(value)` and `ast.literal_eval(source)`, for the
 * same values written in both languages.
 *
 * Run: deno test tests/serpent_test.ts
 */
import { deepStrictEqual, ok as assert, strictEqual, throws } from "node:assert";
import { NamingError, PyroError, RemoteError, SecurityError, SerializeError } from "../errors.ts";
import { PyroUri } from "../uri.ts";
import { ClassRegistry, ExceptionWrapper, type ProxyState } from "../serializers/classes.ts";
import { SerpentSerializer } from "../serializers/serpent.ts";
import {
  makeDict,
  PyComplex,
  PyDate,
  PyFloat,
  PyFrozenSet,
  type PyStringDict,
  PyTuple,
  toPyroDict,
  tuple,
} from "../serializers/values.ts";
import { assertPyEqual } from "./_support.ts";

const HEADER = "# serpent utf-8 python3.2\n";
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A tuple of mixed items. */
const tup: (...items: unknown[]) => PyTuple = tuple;

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/** Serpent bytes of a text. */
function data(source: string): Uint8Array {
  return utf8.encode(source);
}

/** Asserts that `fn` throws an instance of `cls` whose message matches `message`. */
function assertThrows(
  fn: () => unknown,
  cls: new (...args: never[]) => Error,
  message?: RegExp,
): Error {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof cls)) {
    throw new Error(`expected ${cls.name}, got ${caught instanceof Error ? caught.stack : caught}`);
  }
  if (message && !message.test(caught.message)) {
    throw new Error(`message ${JSON.stringify(caught.message)} does not match ${message}`);
  }
  return caught;
}

/** [name, value, Python's serpent text] from `SerpentSerializer().dumps` of the same value. */
const ENCODE_TABLE: [string, unknown, string][] = [
  ["None", null, "# serpent utf-8 python3.2\nNone"],
  ["undefined as None", undefined, "# serpent utf-8 python3.2\nNone"],
  ["True", true, "# serpent utf-8 python3.2\nTrue"],
  ["False", false, "# serpent utf-8 python3.2\nFalse"],
  ["int 0", 0, "# serpent utf-8 python3.2\n0"],
  ["int 9", 9, "# serpent utf-8 python3.2\n9"],
  ["int 10", 10, "# serpent utf-8 python3.2\n10"],
  ["int -1", -1, "# serpent utf-8 python3.2\n-1"],
  ["int max safe", Number.MAX_SAFE_INTEGER, "# serpent utf-8 python3.2\n9007199254740991"],
  ["int min safe", Number.MIN_SAFE_INTEGER, "# serpent utf-8 python3.2\n-9007199254740991"],
  ["bigint 2**64", 2n ** 64n, "# serpent utf-8 python3.2\n18446744073709551616"],
  ["bigint -2**100", -(2n ** 100n), "# serpent utf-8 python3.2\n-1267650600228229401496703205376"],
  ["bigint small", 5n, "# serpent utf-8 python3.2\n5"],
  ["float 0.5", 0.5, "# serpent utf-8 python3.2\n0.5"],
  ["float -0.0", -0, "# serpent utf-8 python3.2\n-0.0"],
  ["float 0.0 via PyFloat", new PyFloat(0), "# serpent utf-8 python3.2\n0.0"],
  ["float 2.0 via PyFloat", new PyFloat(2), "# serpent utf-8 python3.2\n2.0"],
  ["float 2**53 as number", 2 ** 53, "# serpent utf-8 python3.2\n9007199254740992.0"],
  ["float 1e16", 1e16, "# serpent utf-8 python3.2\n1e+16"],
  ["float 1e15+0.5", 1e15 + 0.5, "# serpent utf-8 python3.2\n1000000000000000.5"],
  ["float 123456789.123", 123456789.123, "# serpent utf-8 python3.2\n123456789.123"],
  ["float 1e-4", 1e-4, "# serpent utf-8 python3.2\n0.0001"],
  ["float 9.99e-5", 9.99e-5, "# serpent utf-8 python3.2\n9.99e-05"],
  ["float 1e-5", 1e-5, "# serpent utf-8 python3.2\n1e-05"],
  ["float 1e21", 1e21, "# serpent utf-8 python3.2\n1e+21"],
  ["float 1e22", 1e22, "# serpent utf-8 python3.2\n1e+22"],
  ["float 1.5e300", 1.5e300, "# serpent utf-8 python3.2\n1.5e+300"],
  ["float min subnormal", 5e-324, "# serpent utf-8 python3.2\n5e-324"],
  ["float max", Number.MAX_VALUE, "# serpent utf-8 python3.2\n1.7976931348623157e+308"],
  ["float 0.1+0.2", 0.1 + 0.2, "# serpent utf-8 python3.2\n0.30000000000000004"],
  ["float -1.5e-7", -1.5e-7, "# serpent utf-8 python3.2\n-1.5e-07"],
  [
    "float 9007199254740993 (rounds)",
    9007199254740993,
    "# serpent utf-8 python3.2\n9007199254740992.0",
  ],
  ["float inf", Infinity, "# serpent utf-8 python3.2\n1e30000"],
  ["float -inf", -Infinity, "# serpent utf-8 python3.2\n-1e30000"],
  ["float nan", NaN, "# serpent utf-8 python3.2\n{'__class__':'float','value':'nan'}"],
  ["complex 1+2j", new PyComplex(1, 2), "# serpent utf-8 python3.2\n(1.0+2.0j)"],
  ["complex 1-2j", new PyComplex(1, -2), "# serpent utf-8 python3.2\n(1.0-2.0j)"],
  ["complex imag -0", new PyComplex(1, -0), "# serpent utf-8 python3.2\n(1.0+-0.0j)"],
  [
    "complex inf parts",
    new PyComplex(Infinity, -Infinity),
    "# serpent utf-8 python3.2\n(1e30000-1e30000j)",
  ],
  [
    "complex nan imag",
    new PyComplex(1, NaN),
    "# serpent utf-8 python3.2\n(1.0{'__class__':'float','value':'nan'}j)",
  ],
  ["complex tiny", new PyComplex(1e-300, 2.5e20), "# serpent utf-8 python3.2\n(1e-300+2.5e+20j)"],
  ["str empty", "", "# serpent utf-8 python3.2\n''"],
  ["str plain", "hello", "# serpent utf-8 python3.2\n'hello'"],
  ["str single quote", "it's", '# serpent utf-8 python3.2\n"it\'s"'],
  ["str double quote", 'say "hi"', "# serpent utf-8 python3.2\n'say \"hi\"'"],
  ["str both quotes", "'\"", "# serpent utf-8 python3.2\n'\\'\"'"],
  ["str backslash", "a\\b", "# serpent utf-8 python3.2\n'a\\\\b'"],
  ["str controls", "\t\n\r\x00\x1b\x7f", "# serpent utf-8 python3.2\n'\\t\\n\\r\\x00\\x1b\\x7f'"],
  [
    "str latin1 range",
    "\x80\x9f\xa0\xad\xe9\xff",
    "# serpent utf-8 python3.2\n'\\x80\\x9f\\xa0\\xad\u00e9\u00ff'",
  ],
  [
    "str bmp",
    "\u0100\u2028\u2029\u200b\ufeff\uffff\u4e2d\u0378",
    "# serpent utf-8 python3.2\n'\u0100\\u2028\\u2029\\u200b\\ufeff\\uffff\u4e2d\\u0378'",
  ],
  [
    "str astral",
    "\u{1F600}\u{E0001}\u{10FFFF}\u{20000}",
    "# serpent utf-8 python3.2\n'\ud83d\ude00\\U000e0001\\U0010ffff\ud840\udc00'",
  ],
  ["str lone surrogates", "\ud800x\udfff", "# serpent utf-8 python3.2\n'\\ud800x\\udfff'"],
  [
    "str unicode 15 char (Python 3.11 escapes)",
    "\u{1FAE8}",
    "# serpent utf-8 python3.2\n'\\U0001fae8'",
  ],
  ["str with ' and unicode", "\u00e9'", '# serpent utf-8 python3.2\n"\u00e9\'"'],
  ["bytes", bytes(0, 1, 255), "# serpent utf-8 python3.2\n{'data': 'AAH/', 'encoding': 'base64'}"],
  ["bytes empty", bytes(), "# serpent utf-8 python3.2\n{'data': '', 'encoding': 'base64'}"],
  [
    "bytes ArrayBuffer",
    bytes(97, 98).buffer,
    "# serpent utf-8 python3.2\n{'data': 'YWI=', 'encoding': 'base64'}",
  ],
  [
    "bytes DataView",
    new DataView(bytes(97, 98, 99, 100).buffer, 1, 2),
    "# serpent utf-8 python3.2\n{'data': 'YmM=', 'encoding': 'base64'}",
  ],
  ["tuple empty", tup(), "# serpent utf-8 python3.2\n()"],
  ["tuple 1", tup(1), "# serpent utf-8 python3.2\n(1,)"],
  ["tuple 2", tup(1, "a"), "# serpent utf-8 python3.2\n(1,'a')"],
  ["tuple nested", tup(tup(), tup(tup(1))), "# serpent utf-8 python3.2\n((),((1,),))"],
  ["list empty", [], "# serpent utf-8 python3.2\n[]"],
  ["list", [1, [2, []], null], "# serpent utf-8 python3.2\n[1,[2,[]],None]"],
  ["list sparse", new Array(2), "# serpent utf-8 python3.2\n[None,None]"],
  ["set empty", new Set(), "# serpent utf-8 python3.2\n()"],
  ["set one", new Set([1]), "# serpent utf-8 python3.2\n{1}"],
  ["set two ints", new Set([1, 2]), "# serpent utf-8 python3.2\n{1,2}"],
  ["frozenset", new PyFrozenSet([3]), "# serpent utf-8 python3.2\n{3}"],
  ["frozenset empty", new PyFrozenSet(), "# serpent utf-8 python3.2\n()"],
  ["dict empty", {}, "# serpent utf-8 python3.2\n{}"],
  ["dict", { a: 1, b: [true] }, "# serpent utf-8 python3.2\n{'a':1,'b':[True]}"],
  ["dict keys in order", { z: 1, a: 2 }, "# serpent utf-8 python3.2\n{'z':1,'a':2}"],
  [
    "dict null prototype",
    Object.assign(Object.create(null), { k: "v" }),
    "# serpent utf-8 python3.2\n{'k':'v'}",
  ],
  ["Map int keys", new Map([[1, "a"], [2, "b"]]), "# serpent utf-8 python3.2\n{1:'a',2:'b'}"],
  [
    "Map mixed keys",
    new Map<unknown, unknown>([["1", 1], [2, 2], [tup(3), 3], [1.5, 4], [true, 5]]),
    "# serpent utf-8 python3.2\n{'1':1,2:2,(3,):3,1.5:4,True:5}",
  ],
  [
    "Map bytes key",
    new Map([[bytes(107), 1]]),
    "# serpent utf-8 python3.2\n{{'data': 'aw==', 'encoding': 'base64'}:1}",
  ],
  [
    "Map bigint and complex keys",
    new Map<unknown, unknown>([[2n ** 70n, 1], [new PyComplex(0, 1), 2]]),
    "# serpent utf-8 python3.2\n{1180591620717411303424:1,(0.0+1.0j):2}",
  ],
  ["int typed array", new Int16Array([1, 2, 3]), "# serpent utf-8 python3.2\n[1,2,3]"],
  ["float typed array", new Float64Array([1, 2.5]), "# serpent utf-8 python3.2\n[1,2.5]"],
  ["bigint typed array", new BigInt64Array([-1n, 2n]), "# serpent utf-8 python3.2\n[-1,2]"],
  [
    "Date",
    new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 123)),
    "# serpent utf-8 python3.2\n'2020-01-02T03:04:05.123000+00:00'",
  ],
  ["PyDate", PyDate.of(2020, 1, 2), "# serpent utf-8 python3.2\n'2020-01-02'"],
  [
    "Date whole second",
    new Date(Date.UTC(2020, 0, 2, 3, 4, 5)),
    "# serpent utf-8 python3.2\n'2020-01-02T03:04:05+00:00'",
  ],
  [
    "boxed primitives",
    [new String("s"), new Number(1), new Boolean(true)],
    "# serpent utf-8 python3.2\n['s',1,True]",
  ],
  [
    "URI",
    new PyroUri("PYRO:obj@localhost:1234"),
    "# serpent utf-8 python3.2\n{'__class__':'Pyro5.core.URI','state':('PYRO','obj',None,'localhost',1234)}",
  ],
  [
    "PyroError",
    new NamingError("x", { args: ["x", 2] }),
    "# serpent utf-8 python3.2\n{'__class__':'Pyro5.errors.NamingError','__exception__':True,'args':('x',2),'attributes':{}}",
  ],
  [
    "builtin error",
    new RemoteError("builtins.ValueError", ["bad"]),
    "# serpent utf-8 python3.2\n{'__class__':'builtins.ValueError','__exception__':True,'args':('bad',),'attributes':{}}",
  ],
  [
    "exception wrapper",
    new ExceptionWrapper(new RemoteError("builtins.ValueError", ["bad"])),
    "# serpent utf-8 python3.2\n{'__class__':'Pyro5.core._ExceptionWrapper','exception':{'__class__':'builtins.ValueError','__exception__':True,'args':('bad',),'attributes':{}}}",
  ],
  [
    "nested mix",
    { a: tup(1, [2.5, { b: null }]), c: new Set([3]) },
    "# serpent utf-8 python3.2\n{'a':(1,[2.5,{'b':None}]),'c':{3}}",
  ],
];

Deno.test("SerpentSerializer.dumps matches Pyro5 byte for byte", async (t) => {
  const serpent = new SerpentSerializer();
  for (const [name, value, expected] of ENCODE_TABLE) {
    await t.step(name, () => {
      const out = serpent.dumps(value);
      strictEqual(text.decode(out), expected);
      deepStrictEqual([...out], [...utf8.encode(expected)]);
    });
  }
});

/** Pyro5 with SERPENT_BYTES_REPR = True. */
const BYTES_REPR_TABLE: [unknown, string][] = [
  [bytes(), "# serpent utf-8 python3.2\nb''"],
  [bytes(97, 98, 99), "# serpent utf-8 python3.2\nb'abc'"],
  [bytes(39), '# serpent utf-8 python3.2\nb"\'"'],
  [bytes(34, 39), "# serpent utf-8 python3.2\nb'\"\\''"],
  [
    bytes(0, 9, 10, 13, 92, 127, 128, 255),
    "# serpent utf-8 python3.2\nb'\\x00\\t\\n\\r\\\\\\x7f\\x80\\xff'",
  ],
  [[bytes(97), bytes(98)], "# serpent utf-8 python3.2\n[b'a',b'b']"],
];

Deno.test("SerpentSerializer writes bytes literals with serpentBytesRepr", async (t) => {
  const serpent = new SerpentSerializer({ serpentBytesRepr: true });
  for (const [value, expected] of BYTES_REPR_TABLE) {
    await t.step(expected.slice(HEADER.length), () => {
      const out = serpent.dumps(value);
      strictEqual(text.decode(out), expected);
      assertPyEqual(serpent.loads(out), value);
    });
  }
});

/**
 * [source, value]: what `ast.literal_eval(source)` gives in Python 3.11, in our value model
 * (generated from Python, except the `__proto__` row).
 */
const DECODE_TABLE: [string, unknown][] = [
  ["0", 0],
  ["7", 7],
  ["-7", -7],
  ["+7", 7],
  ["- 7", -7],
  ["-0", 0],
  ["00", 0],
  ["0_0", 0],
  ["1_000_000", 1000000],
  ["9007199254740991", 9007199254740991],
  ["9007199254740992", 9007199254740992n],
  ["-9007199254740993", -9007199254740993n],
  ["123456789012345678901234567890", 123456789012345678901234567890n],
  ["0x_1f", 31],
  ["0XFF", 255],
  ["0o17", 15],
  ["0O7_7", 63],
  ["0b101", 5],
  ["0B1_0", 2],
  ["-0x10", -16],
  ["0xffffffffffffffffffff", 1208925819614629174706175n],
  ["1.5", 1.5],
  ["1.", 1.0],
  [".5", 0.5],
  ["1e5", 100000.0],
  ["1E+5", 100000.0],
  ["1e-5", 1e-05],
  ["1.e5", 100000.0],
  ["1_0.0_1e1_0", 100100000000.0],
  ["010.5", 10.5],
  ["00.5", 0.5],
  ["1e30000", Infinity],
  ["-1e30000", -Infinity],
  ["1e-400", 0.0],
  ["-0.0", -0],
  ["0.1", 0.1],
  ["2.5e-324", 5e-324],
  ["1.7976931348623157e308", 1.7976931348623157e+308],
  ["123456789012345678.9", 1.2345678901234568e+17],
  ["0.30000000000000004", 0.30000000000000004],
  ["4.35", 4.35],
  ["1e22", 1e+22],
  ["1e23", 1e+23],
  ["9007199254740993.0", 9007199254740992.0],
  ["1j", new PyComplex(0.0, 1.0)],
  ["1.5j", new PyComplex(0.0, 1.5)],
  ["1e3j", new PyComplex(0.0, 1000.0)],
  ["010j", new PyComplex(0.0, 10.0)],
  ["0j", new PyComplex(0.0, 0.0)],
  ["-1j", new PyComplex(-0, -1.0)],
  ["+2j", new PyComplex(0.0, 2.0)],
  ["1+2j", new PyComplex(1.0, 2.0)],
  ["1-2j", new PyComplex(1.0, -2.0)],
  ["-1-2j", new PyComplex(-1.0, -2.0)],
  ["1 + 2j", new PyComplex(1.0, 2.0)],
  ["(1+2j)", new PyComplex(1.0, 2.0)],
  ["(1)+2j", new PyComplex(1.0, 2.0)],
  ["(-1)+2j", new PyComplex(-1.0, 2.0)],
  ["1e30000+1j", new PyComplex(Infinity, 1.0)],
  ["1+(2j)", new PyComplex(1.0, 2.0)],
  ["1.5-0.0j", new PyComplex(1.5, 0.0)],
  ["-0.0+1j", new PyComplex(0.0, 1.0)],
  ["12345678901234567890+1j", new PyComplex(1.2345678901234567e+19, 1.0)],
  ["True", true],
  ["False", false],
  ["None", null],
  ["(True)", true],
  ["''", ""],
  ['""', ""],
  ["'a'", "a"],
  ['"it\'s"', "it's"],
  ["'\\''", "'"],
  ["'\\\"'", '"'],
  ["'\\\\'", "\\"],
  ["'\\a\\b\\f\\n\\r\\t\\v'", "\u0007\b\f\n\r\t\u000b"],
  ["'\\x41\\x7f\\xff'", "A\u007f\u00ff"],
  ["'\\u00e9\\u2028'", "\u00e9\u2028"],
  ["'\\U0001F600'", "\ud83d\ude00"],
  ["'\\0'", "\u0000"],
  ["'\\7'", "\u0007"],
  ["'\\101'", "A"],
  ["'\\777'", "\u01ff"],
  ["'\\1234'", "S4"],
  ["'\\8'", "\\8"],
  ["'\\q'", "\\q"],
  ["'a\\\nb'", "ab"],
  ["'a\\\r\nb'", "ab"],
  ["'''a'b\"c'''", "a'b\"c"],
  ['"""x\ny"""', "x\ny"],
  ["'''a\r\nb\rc'''", "a\nb\nc"],
  ["''''''", ""],
  ["'''\\''''", "'"],
  ["'\u00e9\u4e2d\ud83d\ude00'", "\u00e9\u4e2d\ud83d\ude00"],
  ["'\\ud800'", "\ud800"],
  ["'\\ud83d\\ude00'", "\ud83d\ude00"],
  ["r'\\n'", "\\n"],
  ["R'\\x'", "\\x"],
  ["r'\\''", "\\'"],
  ["r'a\\\nb'", "a\\\nb"],
  ["r'''a\\\r\nb'''", "a\\\nb"],
  ["u'x'", "x"],
  ["U'x'", "x"],
  ["'a' 'b'", "ab"],
  ["'a''b'", "ab"],
  ["'a'  \"b\" '''c'''", "abc"],
  ["('a'\n'b')", "ab"],
  ["'a' r'\\n'", "a\\n"],
  ["('a' # c\n 'b')", "ab"],
  ["b''", bytes()],
  ["b'abc'", bytes(97, 98, 99)],
  ["B'a'", bytes(97)],
  ["b'\\x00\\xff'", bytes(0, 255)],
  ["b'\\777'", bytes(255)],
  ["b'\\400'", bytes(0)],
  ["b'\\u1234'", bytes(92, 117, 49, 50, 51, 52)],
  ["b'\\N{x}'", bytes(92, 78, 123, 120, 125)],
  ["br'\\x00'", bytes(92, 120, 48, 48)],
  ["Rb'\\n'", bytes(92, 110)],
  ["rB'x'", bytes(120)],
  ["b'a' b'b'", bytes(97, 98)],
  ["b'''a\nb'''", bytes(97, 10, 98)],
  ["b'\\''", bytes(39)],
  ['b"\'"', bytes(39)],
  ["()", tup()],
  ["(1,)", tup(1)],
  ["(1,2)", tup(1, 2)],
  ["(1,2,)", tup(1, 2)],
  ["((1))", 1],
  ["((1,),)", tup(tup(1))],
  ["[]", []],
  ["[1]", [1]],
  ["[1,]", [1]],
  ["[1,2]", [1, 2]],
  ["[[]]", [[]]],
  ["[1\n,\n2]", [1, 2]],
  ["{}", {}],
  ["{1}", new Set([1])],
  ["{1,}", new Set([1])],
  ["{1,2}", new Set([1, 2])],
  ["{1:2}", new Map<unknown, unknown>([[1, 2]])],
  ["{1:2,}", new Map<unknown, unknown>([[1, 2]])],
  ["{'a':1,'b':2}", { "a": 1, "b": 2 }],
  ["{'a':1,'a':2}", { "a": 2 }],
  ["{'b':1,'a':2,'b':3}", { "b": 3, "a": 2 }],
  ["{1:'a',1.0:'b'}", new Map<unknown, unknown>([[1, "b"]])],
  ["{(1,2):3}", new Map<unknown, unknown>([[tup(1, 2), 3]])],
  ["{None:1}", new Map<unknown, unknown>([[null, 1]])],
  ["{1.5:2}", new Map<unknown, unknown>([[1.5, 2]])],
  ["{1j:2}", new Map<unknown, unknown>([[new PyComplex(0.0, 1.0), 2]])],
  ["{b'k':1}", new Map<unknown, unknown>([[bytes(107), 1]])],
  ["{'1':1,'a':2,2:3}", new Map<unknown, unknown>([["1", 1], ["a", 2], [2, 3]])],
  ["{'a':[1,{'b':(2,{3})}]}", { "a": [1, { "b": tup(2, new Set([3])) }] }],
  ["[(1,2),]", [tup(1, 2)]],
  ["1,", tup(1)],
  ["1,2", tup(1, 2)],
  ["1, 2,", tup(1, 2)],
  ["{'__proto__': 1}", makeDict(["__proto__"], [1])],
  ["{'__proto__': 1, 2: 3}", new Map<unknown, unknown>([["__proto__", 1], [2, 3]])],
  [" 1", 1],
  ["\t1", 1],
  ["1\n", 1],
  ["1\n\n# c\n", 1],
  ["1 # x", 1],
  ["#c\n1", 1],
  ["\n\n1", 1],
  ["  # c\n1", 1],
  ["\\\n1", 1],
  ["(\\\n1)", 1],
  ["[1, # one\n 2]", [1, 2]],
  ["1\r\n", 1],
  ["\f1", 1],
  ["# serpent utf-8 python3.2\n(1,'a')", tup(1, "a")],
  ["[1 ,2 ,3]", [1, 2, 3]],
  ["{ 1 : 2 }", new Map<unknown, unknown>([[1, 2]])],
  ["[\n]", []],
  ["1 ,\n", tup(1)],
];

Deno.test("SerpentSerializer.loads reads what ast.literal_eval reads", async (t) => {
  const serpent = new SerpentSerializer();
  for (const [source, expected] of DECODE_TABLE) {
    await t.step(JSON.stringify(source), () => {
      assertPyEqual(serpent.loads(data(source)), expected);
    });
  }
});

/**
 * Sources `ast.literal_eval` refuses too, except `'\N{LATIN SMALL LETTER A}'` and `...` (Ellipsis),
 * which we refuse deliberately (no Unicode name table; no Ellipsis in the value model).
 */
const MALFORMED: string[] = [
  "",
  " ",
  "# only a comment\n",
  "\n  1",
  "1\n  2",
  "1 2",
  "1\n2",
  "1\n+2j",
  "--1",
  "-True",
  "-'a'",
  "-(1,)",
  "-(1+2j)",
  "+-1",
  "1j+1",
  "1+2",
  "1+'a'",
  "1-2.5",
  "(1+2j)+3j",
  "1j-1",
  "'a' b'b'",
  "b'a' 'b'",
  "ur'x'",
  "bu'x'",
  "f'x'",
  "rf'x'",
  "'\\x4'",
  "'\\xg0'",
  "'\\u12'",
  "'\\U00110000'",
  "'\\U1234'",
  "'\\N'",
  "'\\N{LATIN SMALL LETTER A}'",
  "'abc",
  "'abc\\'",
  "'''abc''",
  "'a\nb'",
  "'a\rb'",
  "b'\u00e9'",
  "b'\\\u00e9'",
  "'\\'",
  "010",
  "0_7",
  "1__0",
  "1_",
  "0x",
  "0x_",
  "0x1_",
  "0b102",
  "0o8",
  "0xffj",
  "1jj",
  "1e",
  "1e+",
  "1.5_",
  "1_.5",
  "1L",
  "0_x1",
  "1.e",
  "1.5e_1",
  "._5",
  "...",
  ".",
  "1..2",
  "[1 2]",
  "(1 2)",
  "{1:2, 3}",
  "{1, 2:3}",
  "(,)",
  "[,]",
  "{,}",
  "[1,,2]",
  "(1,,)",
  "{:1}",
  "{1::2}",
  "[",
  "(",
  "{",
  "]",
  ")",
  "}",
  "[1",
  "(1,",
  "{1:",
  "{1:2",
  "[1]]",
  "(1))",
  "x",
  "none",
  "true",
  "Truex",
  "None'x'",
  "abc",
  "_",
  "print(1)",
  "[1](0)",
  "a.b",
  "1 if 1 else 2",
  "lambda: 1",
  "1 < 2",
  "not 1",
  "{**x}",
  "[*x]",
  "1;2",
  "1 = 2",
  "{[1]:2}",
  "{(1,[2]):3}",
  "{{1:2}:3}",
  "{[1]}",
  "{{1}}",
  "{1:2, [3]:4}",
  "{1, [2]}",
  "\\",
  "1 \\x",
  "'a'\\",
  "@",
  "$",
  "`1`",
  "\u00e91",
  "1\u00a0",
  "\ufeff1",
];

Deno.test("SerpentSerializer.loads refuses malformed input with a position", async (t) => {
  const serpent = new SerpentSerializer();
  for (const source of MALFORMED) {
    await t.step(JSON.stringify(source), () => {
      assertThrows(() => serpent.loads(data(source)), SerializeError, /at byte \d+: /);
    });
  }
});

Deno.test("SerpentSerializer.loads turns class dicts into objects", async (t) => {
  const serpent = new SerpentSerializer();
  await t.step("URI (TCP, IPv6, Unix socket)", () => {
    const uris = serpent.loads(data(
      HEADER + "[{'__class__':'Pyro5.core.URI','state':('PYRO','obj',None,'localhost',1234)}," +
        "{'__class__':'Pyro5.core.URI','state':('PYRO','obj',None,'::1',5000)}," +
        "{'__class__':'Pyro5.core.URI','state':('PYRO','obj','/tmp/sock',None,None)}]",
    )) as PyroUri[];
    assert(uris.every((uri) => uri instanceof PyroUri));
    deepStrictEqual(uris.map(String), [
      "PYRO:obj@localhost:1234",
      "PYRO:obj@[::1]:5000",
      "PYRO:obj@./u:/tmp/sock",
    ]);
  });
  await t.step("Pyro error with traceback, inside an exception wrapper", () => {
    const wrapped = serpent.loads(data(
      HEADER +
        "{'__class__':'Pyro5.core._ExceptionWrapper','exception':{'__class__':'Pyro5.errors." +
        "CommunicationError','__exception__':True,'args':('lost',),'attributes':" +
        "{'_pyroTraceback':['tb line 1\\n','tb line 2\\n']}}}",
    ));
    assert(wrapped instanceof ExceptionWrapper);
    const error = wrapped.error as PyroError;
    assert(error instanceof PyroError);
    strictEqual(error.name, "CommunicationError");
    strictEqual(error.message, "lost");
    deepStrictEqual(error.remoteTraceback, ["tb line 1\n", "tb line 2\n"]);
  });
  await t.step("Python exception", () => {
    const error = serpent.loads(data(
      "{'__class__':'builtins.ValueError','__exception__':True,'args':('bad',2),'attributes':{}}",
    ));
    assert(error instanceof RemoteError);
    strictEqual(error.pythonClass, "builtins.ValueError");
    deepStrictEqual(error.args, ["bad", 2]);
  });
  await t.step("proxy state", () => {
    const state = serpent.loads(data(
      HEADER + "{'__class__':'Pyro5.client.Proxy','state':('PYRO:thing@localhost:9999'," +
        "('ping',),('echo',),(),'hello',None)}",
    )) as ProxyState;
    strictEqual(String(state.uri), "PYRO:thing@localhost:9999");
    deepStrictEqual(state.oneway, ["ping"]);
    deepStrictEqual(state.methods, ["echo"]);
    strictEqual(state.handshake, "hello");
  });
  await t.step("serpent's NaN and other float dicts", () => {
    const values = serpent.loads(data(
      "[{'__class__':'float','value':'nan'},{'__class__':'float','value':'-inf'}," +
        "{'value':' Infinity ','__class__':'float'},{'__class__':'float','value':'1_0.5e1'}," +
        "{'__class__':'float','value':3}]",
    )) as number[];
    assertPyEqual(values, [NaN, -Infinity, Infinity, 105, 3]);
    assertThrows(
      () => serpent.loads(data("{'__class__':'float','value':'x'}")),
      SerializeError,
      /invalid float class dict/,
    );
    assertThrows(() => serpent.loads(data("{'__class__':'float'}")), SerializeError);
  });
  await t.step("base64 bytes dict, and dicts that only look like one", () => {
    assertPyEqual(
      serpent.loads(data("{'data': 'AAH/', 'encoding': 'base64'}")),
      bytes(0, 1, 255),
    );
    assertPyEqual(serpent.loads(data("{'encoding':'base64','data':''}")), bytes());
    assertPyEqual(
      serpent.loads(data("{'data':'AAH/','encoding':'base64','x':1}")),
      { data: "AAH/", encoding: "base64", x: 1 },
    );
    assertPyEqual(
      serpent.loads(data("{'data':'AAH/','encoding':'hex'}")),
      { data: "AAH/", encoding: "hex" },
    );
    assertThrows(
      () => serpent.loads(data("{'data':'A$$$','encoding':'base64'}")),
      SerializeError,
      /at byte 0: invalid base64/,
    );
  });
  await t.step("double underscores are a SecurityError, unknown classes a SerializeError", () => {
    assertThrows(
      () => serpent.loads(data("{'__class__':'os.__builtins__'}")),
      SecurityError,
      /double underscores/,
    );
    assertThrows(
      () => serpent.loads(data("[1,{'__class__':'mymodule.Thing','x':1}]")),
      SerializeError,
      /unsupported serialized class: mymodule.Thing/,
    );
    // A dict with non-string keys is checked too.
    assertThrows(
      () => serpent.loads(data("{1:2,'__class__':'x__y'}")),
      SecurityError,
    );
  });
  await t.step("registered classes, bottom-up", () => {
    class Point {
      constructor(readonly x: unknown, readonly y: unknown) {}
    }
    const classes = new ClassRegistry().registerDictToClass(
      "shapes.Point",
      (_, d) => new Point(d.x, d.y),
    );
    const custom = new SerpentSerializer({ classes });
    const line = custom.loads(data(
      "{'__class__':'shapes.Point','x':{'__class__':'shapes.Point','x':1,'y':2},'y':(3,)}",
    )) as Point;
    assert(line instanceof Point && line.x instanceof Point);
    assertPyEqual(line.y, tup(3));
  });
  await t.step("a hook that throws a non-Pyro error gives a SerializeError", () => {
    const classes = new ClassRegistry().registerDictToClass("bad.Hook", () => {
      throw new TypeError("boom");
    });
    const error = assertThrows(
      () => new SerpentSerializer({ classes }).loads(data("{'__class__':'bad.Hook'}")),
      SerializeError,
      /bad\.Hook: boom/,
    );
    assert(error.cause instanceof TypeError);
  });
});

Deno.test("SerpentSerializer.loads keeps dict order and types", async (t) => {
  const serpent = new SerpentSerializer();
  await t.step("a dict that turns into a Map keeps Python's key order", () => {
    const map = serpent.loads(data("{'b':1,'10':2,'a':3,'2':4,5:5,'b':6}")) as Map<
      unknown,
      unknown
    >;
    assert(map instanceof Map);
    deepStrictEqual([...map.keys()], ["b", "10", "a", "2", 5]);
    strictEqual(map.get("b"), 6);
  });
  await t.step("__proto__ is an own key", () => {
    const dict = serpent.loads(data("{'__proto__':{'polluted':1},'a':2}")) as PyStringDict;
    strictEqual(Object.getPrototypeOf(dict), Object.prototype);
    assert(Object.hasOwn(dict, "__proto__"));
    strictEqual(({} as PyStringDict).polluted, undefined);
  });
  await t.step("equal keys from repeated texts, across calls", () => {
    const one = serpent.loads(data("{'name':1}")) as PyStringDict;
    const two = serpent.loads(data("{'name':2}")) as PyStringDict;
    deepStrictEqual([Object.keys(one), Object.keys(two)], [["name"], ["name"]]);
    strictEqual(two.name, 2);
  });
  await t.step("tuples are PyTuple, sets are Set", () => {
    const [t1, s1] = serpent.loads(data("((1,2),{1})")) as [unknown, unknown];
    assert(t1 instanceof PyTuple && Array.isArray(t1));
    assert(s1 instanceof Set && !(s1 instanceof PyFrozenSet));
    strictEqual((t1 as PyTuple).map((x) => x).constructor, Array);
  });
  await t.step("lenient a+-bj: serpent's own form for a -0.0 imaginary part", () => {
    const z = serpent.loads(serpent.dumps(new PyComplex(1.5, -0))) as PyComplex;
    assert(Object.is(z.imag, -0) && z.real === 1.5);
    assertPyEqual(serpent.loads(data("1 - -2j")), new PyComplex(1, 2));
    assertPyEqual(serpent.loads(data("1 - +2j")), new PyComplex(1, -2));
  });
});

Deno.test("SerpentSerializer.loads error positions are byte offsets", () => {
  const serpent = new SerpentSerializer();
  // "é" and "中" take 2 and 3 bytes: the stray "x" is at byte 2 + 2 + 3 + 2 = 9 (char 6).
  assertThrows(() => serpent.loads(data("['é中',x]")), SerializeError, /at byte 9: name 'x'/);
  assertThrows(() => serpent.loads(data("'😀' @")), SerializeError, /at byte 7: /);
  assertThrows(
    () => serpent.loads(data("[1, # c\x00\n 2]")),
    SerializeError,
    /at byte 7: it contains a 0-byte/,
  );
  assertThrows(() => serpent.loads(data("'a\x00'")), SerializeError, /at byte 2/);
  assertThrows(() => serpent.loads(bytes(0x27, 0xff, 0x27)), SerializeError, /not valid UTF-8/);
  assertThrows(() => serpent.loads(bytes(0x27, 0xed, 0xa0, 0x80, 0x27)), SerializeError, /UTF-8/);
  assertThrows(() => serpent.loads(data("\ufeff1")), SerializeError, /at byte 0/);
});

Deno.test("SerpentSerializer enforces maxDepth both ways", async (t) => {
  const serpent = new SerpentSerializer({ maxDepth: 5 });
  const nested = (n: number): unknown => (n === 0 ? 1 : [nested(n - 1)]);
  await t.step("decode: at the limit and beyond", () => {
    assertPyEqual(serpent.loads(data("[[[[[1]]]]]")), nested(5));
    assertThrows(() => serpent.loads(data("[[[[[[1]]]]]]")), SerializeError, /deeper than 5/);
    assertThrows(() => serpent.loads(data("((((((1))))))")), SerializeError, /deeper than 5/);
    assertThrows(() => serpent.loads(data("{1:{2:{3:{4:{5:{6}}}}}}")), SerializeError);
  });
  await t.step("encode: at the limit and beyond", () => {
    strictEqual(text.decode(serpent.dumps(nested(5))), HEADER + "[[[[[1]]]]]");
    assertThrows(() => serpent.dumps(nested(6)), SerializeError, /nesting too deep/);
  });
  await t.step("the default limit refuses a deep document without a stack overflow", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    assertThrows(() => new SerpentSerializer().loads(data(deep)), SerializeError, /deeper than/);
  });
  await t.step("a limit beyond the stack still ends in a SerializeError", () => {
    const huge = new SerpentSerializer({ maxDepth: 10_000_000 });
    const deep = "(".repeat(1_000_000) + "1" + ")".repeat(1_000_000);
    assertThrows(() => huge.loads(data(deep)), SerializeError, /nesting too deep/);
    let value: unknown = 1;
    for (let i = 0; i < 1_000_000; i++) value = [value];
    assertThrows(() => huge.dumps(value), SerializeError, /nesting too deep/);
  });
  await t.step("bad limits are refused", () => {
    throws(() => new SerpentSerializer({ maxDepth: 0 }), RangeError);
    throws(() => new SerpentSerializer({ maxDepth: 1.5 }), RangeError);
  });
});

Deno.test("SerpentSerializer.dumps refuses what cannot travel", async (t) => {
  const serpent = new SerpentSerializer();
  await t.step("functions and symbols", () => {
    assertThrows(() => serpent.dumps(() => 1), SerializeError, /function/);
    assertThrows(() => serpent.dumps([Symbol("s")]), SerializeError, /symbol/);
  });
  await t.step("cycles", () => {
    const list: unknown[] = [1];
    list.push(list);
    assertThrows(() => serpent.dumps(list), SerializeError, /Circular reference detected \(list\)/);
    const dict: PyStringDict = {};
    dict.self = { inner: dict };
    assertThrows(() => serpent.dumps(dict), SerializeError, /Circular reference detected \(dict\)/);
  });
  await t.step("unhashable dict keys and set items, like serpent", () => {
    assertThrows(
      () => serpent.dumps(new Map([[[1], 2]])),
      SerializeError,
      /not of a primitive hashable type: list/,
    );
    assertThrows(() => serpent.dumps(new Map([[null, 2]])), SerializeError, /NoneType/);
    assertThrows(() => serpent.dumps(new Set([new Set([1])])), SerializeError, /: set\./);
    assertThrows(() => serpent.dumps(new Set([{}])), SerializeError, /: dict\./);
  });
  await t.step("ints beyond Python's 4300 digits, invalid dates", () => {
    strictEqual(serpent.dumps(10n ** 4299n).length, HEADER.length + 4300);
    assertThrows(() => serpent.dumps(-(10n ** 4300n)), SerializeError, /4300 digits/);
    assertThrows(() => serpent.dumps(new Date(NaN)), SerializeError, /invalid Date/);
  });
  await t.step("decoding refuses those long ints too", () => {
    strictEqual(serpent.loads(data("9".repeat(4300))), 10n ** 4300n - 1n);
    assertThrows(() => serpent.loads(data("9".repeat(4301))), SerializeError, /4300 digits/);
    strictEqual(serpent.loads(data("0x" + "f".repeat(5000))), 16n ** 5000n - 1n);
  });
});

Deno.test("SerpentSerializer.dumps results stay intact and independent", () => {
  const serpent = new SerpentSerializer();
  const results: [Uint8Array, string][] = [];
  for (let i = 0; i < 3000; i++) {
    const value = i % 97 === 0 ? "x".repeat(20_000 + i) : { i, s: "v".repeat(i % 50) };
    if (i % 13 === 0) throws(() => serpent.dumps([1, () => 0]), SerializeError);
    const out = serpent.dumps(value);
    results.push([out, text.decode(out)]);
  }
  for (const [out, expected] of results) strictEqual(text.decode(out), expected);
  const [first] = results[1];
  first.fill(0x20); // the caller may overwrite its result without harming later ones
  strictEqual(text.decode(serpent.dumps({ a: 1 })), HEADER + "{'a':1}");
});

Deno.test("SerpentSerializer.dumps may nest from inside a class hook", () => {
  const serpent = new SerpentSerializer();
  class Holder {
    [toPyroDict](): PyStringDict {
      return { __class__: "x.Holder", inner: text.decode(serpent.dumps(tup(2))) };
    }
  }
  strictEqual(
    text.decode(serpent.dumps([new Holder(), 3])),
    HEADER + "[{'__class__':'x.Holder','inner':'# serpent utf-8 python3.2\\n(2,)'},3]",
  );
});

Deno.test("SerpentSerializer calls", async (t) => {
  const serpent = new SerpentSerializer();
  await t.step("dumpsCall: tuple args, list args, None kwargs (as Python Pyro5 sends them)", () => {
    strictEqual(
      text.decode(serpent.dumpsCall("thing", "echo", tup(1, "a"), { k: null })),
      HEADER + "('thing','echo',(1,'a'),{'k':None})",
    );
    strictEqual(
      text.decode(serpent.dumpsCall("Pyro.Daemon", "get_metadata", ["thing"], {})),
      HEADER + "('Pyro.Daemon','get_metadata',['thing'],{})",
    );
    strictEqual(
      text.decode(serpent.dumpsCall("thing", "__getattr__", tup("size"), null)),
      HEADER + "('thing','__getattr__',('size',),None)",
    );
  });
  await t.step("loadsCall: round trip and Python's None kwargs", () => {
    const call = serpent.loadsCall(serpent.dumpsCall("o", "m", tup(1, [2]), { x: tup() }));
    strictEqual(call.objectId, "o");
    strictEqual(call.method, "m");
    assertPyEqual(call.args, tup(1, [2]));
    assertPyEqual(call.kwargs, { x: tup() });
    const getattr = serpent.loadsCall(data(HEADER + "('thing','__getattr__',('size',),None)"));
    deepStrictEqual(getattr.kwargs, {});
    assertPyEqual(serpent.loadsCall(data("['o','m',[1],{}]")).args, [1]);
  });
  await t.step("loadsCall refuses other shapes", () => {
    for (
      const [source, message] of [
        ["('o','m',())", /expected a tuple/],
        ["('o','m',(),{},1)", /expected a tuple/],
        ["{'o':1}", /expected a tuple/],
        ["(1,'m',(),{})", /object id/],
        ["('o',None,(),{})", /method name/],
        ["('o','m',{1},{})", /args/],
        ["('o','m',(),{1:2})", /kwargs/],
        ["('o','m',(),[])", /kwargs/],
        ["('o','m',(),", /at byte/],
      ] as const
    ) {
      assertThrows(() => serpent.loadsCall(data(source)), SerializeError, message);
    }
  });
});

/** Python 3.11's `chr(cp).isprintable()` for boundary and random code points. */
const PRINTABLE: [number, boolean][] = [
  [0x80, false],
  [0x9f, false],
  [0xa0, false],
  [0xa1, true],
  [0xac, true],
  [0xad, false],
  [0xae, true],
  [0x377, true],
  [0x378, false],
  [0x37f, true],
  [0x2028, false],
  [0x202f, false],
  [0x3000, false],
  [0xd7ff, false],
  [0xe000, false],
  [0xf8ff, false],
  [0xfeff, false],
  [0xfffd, true],
  [0xffff, false],
  [0x10000, true],
  [0x1f600, true],
  [0x1fae8, false],
  [0x20000, true],
  [0x2a6df, true],
  [0x2a6e0, false],
  [0xe0001, false],
  [0xe0100, true],
  [0xf0000, false],
  [0x10fffd, false],
  [0x10ffff, false],
  [0xa5d56, false],
  [0x4d441, false],
  [0xca2e4, false],
  [0x18c0f, true],
  [0x251e5, true],
  [0x3039d, true],
  [0xbb439, false],
  [0x1dba0, false],
  [0x103d69, false],
  [0x6df4e, false],
  [0x133aa, true],
  [0x2c094, true],
  [0xde0ec, false],
  [0xd622a, false],
  [0x23cc1, true],
  [0x7b402, false],
  [0x2e79e, true],
  [0xd9629, false],
  [0x1e4bb, false],
  [0x3f6af, false],
  [0x72546, false],
  [0x1fb46, true],
  [0xcb21b, false],
  [0x196bc, false],
  [0x7139a, false],
  [0x17e1a, true],
  [0x44377, false],
  [0x944fa, false],
  [0xd6a16, false],
  [0x49e3c, false],
];

Deno.test("SerpentSerializer escapes exactly the characters Python 3.11 escapes", () => {
  const serpent = new SerpentSerializer();
  for (const [cp, printable] of PRINTABLE) {
    const written = text.decode(serpent.dumps(String.fromCodePoint(cp))).slice(HEADER.length);
    strictEqual(written === `'${String.fromCodePoint(cp)}'`, printable, `U+${cp.toString(16)}`);
    strictEqual(serpent.loads(data(written)), String.fromCodePoint(cp));
  }
});
