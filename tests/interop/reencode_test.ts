/**
 * Interop, TypeScript → Python → TypeScript: our serializers encode a broad set of values, the
 * real Python Pyro5 (tests/interop/reencode.py) decodes each one and encodes it again, and our
 * decoder must give back the expected value, types included.
 *
 * Where a serializer cannot carry a value, the expectation says what Pyro5 does instead: tuples
 * come back as lists through json and msgpack, our encoder refuses (SerializeError) what Python
 * cannot represent, or Python itself fails (an error frame, by exception class).
 *
 * Run: deno test --allow-run=bash,python3 tests/interop/reencode_test.ts
 */
import { NamingError, RemoteError, remoteJavaScriptError, SerializeError } from "../../errors.ts";
import { PyroUri } from "../../uri.ts";
import { createSerializer, SERIALIZER_IDS, type SerializerName } from "../../serializers/mod.ts";
import { ExceptionWrapper } from "../../serializers/classes.ts";
import {
  PyComplex,
  PyFloat,
  PyFrozenSet,
  type PyStringDict,
  tuple,
} from "../../serializers/values.ts";
import { assertPyEqual, expectProxyState, testClassRegistry, TestObject } from "../_support.ts";
import { repoPath, startPython } from "../_peer.ts";

const REPLY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5_000;
const MODE_VALUE = 0;
const MODE_CALL = 1;

/** What Python answered: re-encoded bytes, or the exception it raised. */
type Reply = { ok: true; data: Uint8Array } | { ok: false; error: string; message: string };

/** The Python re-encoding process, one request at a time. */
class ReencodePeer implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffered: Uint8Array = new Uint8Array(0);
  #closed = false;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#reader = child.stdout.getReader();
  }

  static async start(): Promise<ReencodePeer> {
    return new ReencodePeer(await startPython([repoPath("tests/interop/reencode.py")]));
  }

  async #readExactly(count: number): Promise<Uint8Array> {
    while (this.#buffered.length < count) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("reencode.py ended its output early");
      const joined = new Uint8Array(this.#buffered.length + value.length);
      joined.set(this.#buffered);
      joined.set(value, this.#buffered.length);
      this.#buffered = joined;
    }
    const result = this.#buffered.slice(0, count);
    this.#buffered = this.#buffered.subarray(count);
    return result;
  }

  async #exchange(serializerId: number, mode: number, payload: Uint8Array): Promise<Reply> {
    const frame = new Uint8Array(6 + payload.length);
    new DataView(frame.buffer).setUint32(0, payload.length + 2);
    frame[4] = serializerId;
    frame[5] = mode;
    frame.set(payload, 6);
    await this.#writer.write(frame);
    const length = new DataView((await this.#readExactly(4)).buffer).getUint32(0);
    const body = await this.#readExactly(length);
    if (body[0] === 0) return { ok: true, data: body.subarray(1) };
    const text = new TextDecoder().decode(body.subarray(1));
    const colon = text.indexOf(": ");
    return colon < 0
      ? { ok: false, error: text, message: "" }
      : { ok: false, error: text.slice(0, colon), message: text.slice(colon + 2) };
  }

  /** Sends a payload and waits (bounded) for Python's answer. */
  async reencode(serializerId: number, mode: number, payload: Uint8Array): Promise<Reply> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no reply from reencode.py within ${REPLY_TIMEOUT_MS} ms`)),
        REPLY_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([this.#exchange(serializerId, mode, payload), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the process: closes its input, waits (bounded) for it to exit, else kills it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await this.#writer.close().catch(() => {});
      const exited = await Promise.race([
        this.#child.status.then(() => true),
        new Promise<boolean>((resolve) =>
          timer = setTimeout(() => resolve(false), EXIT_TIMEOUT_MS)
        ),
      ]);
      if (!exited) {
        this.#child.kill("SIGKILL");
        await this.#child.status;
      }
    } finally {
      clearTimeout(timer);
      await this.#reader.cancel().catch(() => {});
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The table. `back` gives, per serializer, what differs from "the value comes back equal".

type Decode = (data: Uint8Array) => unknown;

/** Expectation for one serializer. */
type Expect =
  | { value: unknown } // comes back as this value
  | { encodeError: true } // our encoder refuses with a SerializeError, as Pyro5 would
  | { pythonError: string }; // Python raises this exception class

interface RoundTrip {
  name: string;
  value: () => unknown;
  back?: Partial<Record<SerializerName, Expect>>;
}

const ALL: SerializerName[] = ["serpent", "marshal", "json", "msgpack"];
const as = (value: unknown): Expect => ({ value });
const refused: Expect = { encodeError: true };
const pythonError = (error: string): Expect => ({ pythonError: error });
/** The same expectation for several serializers. */
function each<T>(names: SerializerName[], expect: T): Partial<Record<SerializerName, T>> {
  return Object.fromEntries(names.map((n) => [n, expect]));
}
const LISTS: SerializerName[] = ["json", "msgpack"];

const TRACEBACK = ["Traceback (most recent call last):\n", "ValueError: bad\n"];
const astral = "\u{1F600}\u{10348}\u{E0001}";

const CASES: RoundTrip[] = [
  { name: "null", value: () => null },
  { name: "undefined", value: () => undefined, back: each(ALL, as(null)) },
  { name: "true", value: () => true },
  { name: "false", value: () => false },
  { name: "int 0", value: () => 0 },
  { name: "int -1", value: () => -1 },
  { name: "int 2**31", value: () => 2 ** 31 },
  { name: "int max safe", value: () => Number.MAX_SAFE_INTEGER },
  { name: "int min safe", value: () => Number.MIN_SAFE_INTEGER },
  { name: "small bigint", value: () => 5n, back: each(ALL, as(5)) },
  { name: "bigint 2**53", value: () => 2n ** 53n },
  { name: "bigint 2**63", value: () => 2n ** 63n },
  { name: "bigint -2**63-1", value: () => -(2n ** 63n) - 1n },
  { name: "bigint 2**64", value: () => 2n ** 64n },
  { name: "bigint 2**70", value: () => 2n ** 70n },
  { name: "bigint -10**40", value: () => -(10n ** 40n) },
  { name: "float 0.5", value: () => 0.5 },
  { name: "float -0", value: () => -0 },
  { name: "float NaN", value: () => NaN },
  { name: "float Infinity", value: () => Infinity },
  { name: "float -Infinity", value: () => -Infinity },
  { name: "float 1e300", value: () => 1e300 },
  { name: "float min subnormal", value: () => 5e-324 },
  { name: "float 0.1+0.2", value: () => 0.1 + 0.2 },
  { name: "float 2**53 (unsafe integral number)", value: () => 2 ** 53 },
  { name: "PyFloat 2", value: () => new PyFloat(2), back: each(ALL, as(2)) },
  { name: "PyFloat -3", value: () => new PyFloat(-3), back: each(ALL, as(-3)) },
  { name: "complex", value: () => new PyComplex(1.5, -2), back: { json: refused } },
  { name: "str empty", value: () => "" },
  { name: "str ascii", value: () => "hello world" },
  { name: "str quotes and escapes", value: () => `it's "q" \\ \n\r\t\0\x07\x7f` },
  { name: "str latin-1", value: () => "caf\xe9 \xa0\xad\xff" },
  { name: "str BMP", value: () => "\u4e2d\u6587 \u20ac \u2028 \ufeff \ue000" },
  { name: "str astral", value: () => astral },
  { name: "str long", value: () => "abc\u00e9\u4e2d".repeat(20_000) },
  { name: "bytes empty", value: () => new Uint8Array(), back: { json: refused } },
  {
    name: "bytes 0..255",
    value: () => Uint8Array.from({ length: 256 }, (_, i) => i),
    back: { json: refused },
  },
  {
    name: "ArrayBuffer",
    value: () => new Uint8Array([1, 2, 3]).buffer,
    back: {
      ...each(["serpent", "marshal", "msgpack"], as(new Uint8Array([1, 2, 3]))),
      json: refused,
    },
  },
  {
    name: "Float64Array",
    value: () => new Float64Array([1.5, -2.25]),
    back: each(ALL, as([1.5, -2.25])),
  },
  { name: "Int32Array", value: () => new Int32Array([7, -8]), back: each(ALL, as([7, -8])) },
  { name: "list empty", value: () => [] },
  { name: "list nested", value: () => [1, [2, [3, ["x"]]], null] },
  { name: "list long", value: () => Array.from({ length: 10_000 }, (_, i) => i * 3) },
  { name: "tuple empty", value: () => tuple(), back: each(LISTS, as([])) },
  { name: "tuple one", value: () => tuple(1), back: each(LISTS, as([1])) },
  {
    name: "tuple nested",
    value: () => tuple<unknown>(1, tuple<unknown>("a", tuple()), [tuple(2)]),
    back: each(LISTS, as([1, ["a", []], [[2]]])),
  },
  { name: "set ints", value: () => new Set([1, 2, 3]), back: each(LISTS, as([1, 2, 3])) },
  {
    name: "set strs",
    value: () => new Set(["alpha", "beta", "gamma"]),
    // serpent and marshal: a Python set, compared without order; json and msgpack: a list.
    back: each(LISTS, as(["alpha", "beta", "gamma"])),
  },
  {
    name: "set empty",
    value: () => new Set(),
    back: { serpent: as(tuple()), ...each(LISTS, as([])) },
  },
  {
    name: "frozenset",
    value: () => new PyFrozenSet([1, 2]),
    back: { serpent: as(new Set([1, 2])), ...each(LISTS, refused) },
  },
  { name: "dict empty", value: () => ({}) },
  { name: "dict str keys", value: () => ({ a: 1, b: "two", c: [3], d: { e: null } }) },
  {
    name: "dict proto key",
    value: () => JSON.parse('{"__proto__": {"polluted": true}, "a": 2}'),
  },
  {
    name: "Map int keys",
    value: () => new Map<unknown, unknown>([[1, "one"], [-2, "minus two"]]),
    back: { json: as({ "1": "one", "-2": "minus two" }), msgpack: pythonError("ValueError") },
  },
  {
    name: "Map tuple keys",
    value: () => new Map<unknown, unknown>([[tuple(1, 2), "a"], [tuple("x"), "b"]]),
    back: { json: refused, msgpack: pythonError("ValueError") },
  },
  {
    name: "Map mixed keys",
    value: () => new Map<unknown, unknown>([["s", 1], [2, "int"], [2.5, "float"], [true, "bool"]]),
    back: {
      json: as({ s: 1, "2": "int", "2.5": "float", true: "bool" }),
      msgpack: pythonError("ValueError"),
    },
  },
  {
    name: "Map null key",
    value: () => new Map([[null, "none"]]),
    back: { serpent: refused, json: as({ null: "none" }), msgpack: pythonError("ValueError") },
  },
  {
    name: "nesting 100",
    value: () => {
      let v: unknown = "bottom";
      for (let i = 0; i < 100; i++) v = i % 2 ? [v] : { level: v };
      return v;
    },
  },
  {
    name: "Date",
    value: () => new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 125)),
    back: {
      ...each(["serpent", "marshal", "json"], as("2020-01-02T03:04:05.125000+00:00")),
    },
  },
  {
    name: "Date without milliseconds",
    value: () => new Date(Date.UTC(1999, 11, 31, 23, 59, 59)),
    back: each(["serpent", "marshal", "json"], as("1999-12-31T23:59:59+00:00")),
  },
  { name: "URI PYRO", value: () => new PyroUri("PYRO:thing@localhost:9999") },
  { name: "URI ipv6", value: () => new PyroUri("PYRO:thing@[::1]:51234") },
  { name: "URI unix socket", value: () => new PyroUri("PYRO:thing@./u:/tmp/pyro.sock") },
  { name: "URI PYRONAME", value: () => new PyroUri("PYRONAME:example.greeting") },
  { name: "URI PYROMETA", value: () => new PyroUri("PYROMETA:meta.a,meta.b@nshost:5555") },
  {
    name: "URIs in a list",
    value: () => [new PyroUri("PYRO:a@h:1"), new PyroUri("PYRONAME:b")],
    back: { marshal: pythonError("ValueError") }, // Pyro5's marshal converts top-level objects only
  },
  {
    name: "RemoteError with args and attributes",
    value: () => new RemoteError("builtins.ValueError", ["bad", 42], { attributes: { code: 7 } }),
  },
  {
    name: "RemoteError with traceback",
    value: () =>
      new RemoteError("builtins.ValueError", ["bad"], {
        attributes: { _pyroTraceback: TRACEBACK },
      }),
    back: each(
      ALL,
      as(new RemoteError("builtins.ValueError", ["bad"], { remoteTraceback: TRACEBACK })),
    ),
  },
  { name: "NamingError", value: () => new NamingError("unknown name: x") },
  { name: "SerializeError", value: () => new SerializeError("boom") },
  {
    name: "JavaScript TypeError",
    value: () => new TypeError("wrong"),
    // Python keeps the attribute naming the JavaScript class: it comes back a TypeError.
    back: each(
      ALL,
      as(remoteJavaScriptError("TypeError", {
        pythonClass: "builtins.TypeError",
        args: ["wrong"],
        remoteTraceback: [],
        attributes: {},
      })),
    ),
  },
  {
    name: "unknown exception class",
    value: () => new RemoteError("bank.InsufficientFunds", ["broke"]),
    back: each(ALL, pythonError("SerializeError")),
  },
  {
    name: "ExceptionWrapper",
    value: () => new ExceptionWrapper(new RemoteError("builtins.KeyError", ["k"])),
  },
  {
    name: "proxy class dict",
    value: () => ({
      __class__: "Pyro5.client.Proxy",
      state: tuple<unknown>(
        "PYRO:thing@localhost:9999",
        tuple("fire"),
        tuple("fire", "echo"),
        tuple("size"),
        { secret: 42 },
        "json",
      ),
    }),
    back: each(
      ALL,
      as(expectProxyState({
        uri: new PyroUri("PYRO:thing@localhost:9999"),
        oneway: ["fire"],
        methods: ["fire", "echo"],
        attrs: ["size"],
        handshake: { secret: 42 },
        serializer: "json",
      })),
    ),
  },
  {
    name: "registered class",
    value: () => new TestObject("testsupport.Point", { x: 1, y: [2.5, "y"] }),
  },
  {
    name: "registered class nested",
    value: () => ({ p: new TestObject("testsupport.Point", { x: 0, y: 0 }) }),
    back: { marshal: pythonError("ValueError") },
  },
  {
    name: "unregistered class",
    value: () =>
      new (class Gadget {
        size = 3;
      })(),
    back: each(ALL, pythonError("SerializeError")),
  },
  { name: "function", value: () => () => 1, back: each(ALL, refused) },
  { name: "symbol", value: () => Symbol("s"), back: each(ALL, refused) },
];

/** Calls: TypeScript dumpsCall → Python loadsCall/dumpsCall → TypeScript loadsCall. */
interface CallTrip {
  name: string;
  call: () => [string, string, unknown[], PyStringDict];
  /** Arguments that come back different from the ones sent. */
  back?: Partial<Record<SerializerName, { args: unknown[]; kwargs: PyStringDict }>>;
}

const CALLS: CallTrip[] = [
  { name: "no args", call: () => ["example.thing", "ping", [], {}] },
  {
    name: "args and kwargs",
    call: () => ["example.thing", "echo", [1, "two", 2n ** 64n, [3]], { k: { n: null }, z: -0 }],
  },
  {
    name: "tuple and uri args",
    call: () => ["obj", "relay", [tuple(1, 2), new PyroUri("PYRO:x@h:1")], { t: tuple("a") }],
    back: each(LISTS, {
      args: [[1, 2], new PyroUri("PYRO:x@h:1")],
      kwargs: { t: ["a"] },
    }),
  },
];

function expectationFor<T>(
  back: Partial<Record<SerializerName, T>> | undefined,
  name: SerializerName,
) {
  return back?.[name];
}

/** Checks Python's answer to a value against the expectation (the value itself by default). */
function checkReply(reply: Reply, expect: Expect | undefined, decode: Decode, value: unknown) {
  if (expect && "pythonError" in expect) {
    if (reply.ok) throw new Error(`expected Python to raise ${expect.pythonError}, it answered`);
    if (reply.error !== expect.pythonError) {
      throw new Error(
        `expected Python ${expect.pythonError}, got ${reply.error}: ${reply.message}`,
      );
    }
    return;
  }
  if (!reply.ok) throw new Error(`Python raised ${reply.error}: ${reply.message}`);
  assertPyEqual(decode(reply.data), expect && "value" in expect ? expect.value : value);
}

Deno.test("serializers survive a round trip through Python Pyro5", async (t) => {
  await using peer = await ReencodePeer.start();
  for (const name of ALL) {
    await t.step(name, async (t) => {
      const ser = createSerializer(name, { classes: testClassRegistry() });
      for (const c of CASES) {
        await t.step(c.name, async () => {
          const expect = expectationFor(c.back, name);
          const value = c.value();
          if (expect && "encodeError" in expect) {
            let thrown: unknown;
            try {
              ser.dumps(value);
            } catch (error) {
              thrown = error;
            }
            if (!(thrown instanceof SerializeError)) {
              throw new Error(
                `expected our encoder to refuse with a SerializeError, got ${thrown}`,
              );
            }
            return;
          }
          const reply = await peer.reencode(SERIALIZER_IDS[name], MODE_VALUE, ser.dumps(value));
          checkReply(reply, expect, (d) => ser.loads(d), value);
        });
      }
      for (const c of CALLS) {
        await t.step(`call: ${c.name}`, async () => {
          const [objectId, method, args, kwargs] = c.call();
          const reply = await peer.reencode(
            SERIALIZER_IDS[name],
            MODE_CALL,
            ser.dumpsCall(objectId, method, args, kwargs),
          );
          if (!reply.ok) throw new Error(`Python raised ${reply.error}: ${reply.message}`);
          const back = ser.loadsCall(reply.data);
          assertPyEqual(back.objectId, objectId, "$.objectId");
          assertPyEqual(back.method, method, "$.method");
          const want = expectationFor(c.back, name) ?? { args, kwargs };
          // Python may send the arguments as a tuple or a list: only the elements count.
          assertPyEqual([...back.args], [...want.args], "$.args");
          assertPyEqual(back.kwargs, want.kwargs, "$.kwargs");
        });
      }
    });
  }
});
