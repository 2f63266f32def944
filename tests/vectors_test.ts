/**
 * Golden vectors: bytes captured from Python Pyro5 5.15 (`scripts/gen_vectors.py`,
 * `tests/testdata/values.json`) against our four serializers.
 *
 * For every serializer and case:
 * - loads: our decoder turns Pyro5's bytes into the tagged `decoded` value (type-aware equality).
 *   When Python's decoder refused the bytes and no tolerant `decoded` is given, ours must refuse
 *   too when Python raised a SerializeError/SecurityError; other refusals (serpent's unhashable
 *   keys, msgpack's list keys) are not asserted.
 * - dumps: when TypeScript can express the value, our encoder gives Pyro5's bytes exactly; for
 *   marshal, equal after canonicalizing both (`marshalCanonical`: references expanded, plain
 *   string codes, sets sorted by their bytes), since CPython's reference flags and interned codes
 *   follow reference counts, not values.
 * - refusal: when Pyro5 refused to encode a value TypeScript can express, ours throws a
 *   SerializeError.
 *
 * The user class `testsupport.Point` travels as a {@linkcode TestObject} through
 * {@linkcode testClassRegistry} (Python registers the same conversions).
 *
 * Run: deno test --allow-read=. tests/vectors_test.ts
 */
import { SecurityError, SerializeError } from "../errors.ts";
import { createSerializer, type Serializer, type SerializerName } from "../serializers/mod.ts";
import { isPlainObject, type PyStringDict } from "../serializers/values.ts";
import {
  assertPyEqual,
  b64,
  type CallCase,
  fromTag,
  loadJson,
  marshalCanonical,
  type PythonError,
  type SerializerEntry,
  testClassRegistry,
  type ValueCase,
  type ValuesFile,
} from "./_support.ts";

const VECTORS = loadJson("testdata/values.json") as ValuesFile;
const SERIALIZERS: { name: SerializerName; cls: string }[] = [
  { name: "serpent", cls: "SerpentSerializer" },
  { name: "marshal", cls: "MarshalSerializer" },
  { name: "json", cls: "JsonSerializer" },
  { name: "msgpack", cls: "MsgpackSerializer" },
];
/** Python refusals our decoders must share. */
const SHARED_REFUSALS: Record<string, new (...args: never[]) => Error> = {
  SerializeError,
  SecurityError,
};

function hex(bytes: Uint8Array, from: number, to: number): string {
  return [...bytes.subarray(Math.max(0, from), to)].map((b) => b.toString(16).padStart(2, "0"))
    .join(" ");
}

/** Asserts equal bytes, showing the first difference (and the text, for text formats). */
function assertBytes(actual: Uint8Array, expected: Uint8Array, textual: boolean): void {
  if (!(actual instanceof Uint8Array)) {
    throw new Error(`dumps returned ${Object.prototype.toString.call(actual)}, not a Uint8Array`);
  }
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  if (i === n && actual.length === expected.length) return;
  let detail = `bytes differ at offset ${i} (expected length ${expected.length}, got ` +
    `${actual.length})\n  expected …${hex(expected, i - 8, i + 24)}\n  actual   …${
      hex(actual, i - 8, i + 24)
    }`;
  if (textual) {
    const decoder = new TextDecoder("utf-8", { fatal: false });
    const around = (b: Uint8Array) =>
      JSON.stringify(decoder.decode(b.subarray(Math.max(0, i - 40), i + 60)));
    detail += `\n  expected text …${around(expected)}\n  actual text   …${around(actual)}`;
  }
  throw new Error(detail);
}

/**
 * Asserts our encoder's output against Pyro5's: byte for byte, except that for marshal both sides
 * are compared in canonical form (CPython's reference flags and interned string codes follow
 * reference counts and interning, which a TypeScript encoder can only guess at; the rest, type
 * codes, sizes, digits, set order, must be exact).
 */
function assertEncoded(
  ser: Serializer,
  actual: Uint8Array,
  entry: { data?: string; canonical?: string },
) {
  if (ser.name !== "marshal") {
    assertBytes(actual, b64(entry.data!), true);
    return;
  }
  let canonical: Uint8Array;
  try {
    canonical = marshalCanonical(actual);
  } catch (error) {
    throw new Error(`our marshal output is not well-formed: ${error}`, { cause: error });
  }
  assertBytes(canonical, b64(entry.canonical ?? entry.data!), false);
}

function isEncodable(encodable: boolean, entry: { encodable?: boolean }): boolean {
  return entry.encodable ?? encodable;
}

function assertThrowsSerializeError(action: () => unknown, python: PythonError): void {
  try {
    action();
  } catch (error) {
    if (error instanceof SerializeError) return;
    throw new Error(
      `expected a SerializeError (Python: ${python.error}: ${python.message}), got ${error}`,
      { cause: error },
    );
  }
  throw new Error(`expected a SerializeError (Python: ${python.error}: ${python.message})`);
}

function checkLoads(ser: Serializer, entry: SerializerEntry): void {
  if (entry.data === undefined) return;
  const data = b64(entry.data);
  if (entry.decoded) {
    assertPyEqual(ser.loads(data), fromTag(entry.decoded, "decoded"));
    return;
  }
  const refusal = entry.loadsError && SHARED_REFUSALS[entry.loadsError.error];
  if (!refusal) return;
  try {
    ser.loads(data);
  } catch (error) {
    if (error instanceof refusal) return;
    throw new Error(`expected a ${entry.loadsError!.error}, got ${error}`, { cause: error });
  }
  throw new Error(
    `expected a ${entry.loadsError!.error} like Python: ${entry.loadsError!.message}`,
  );
}

function checkValueCase(ser: Serializer, c: ValueCase): void {
  const entry = c.serializers[ser.name];
  checkLoads(ser, entry);
  if (!isEncodable(c.encodable, entry)) return;
  if (entry.data !== undefined) {
    assertEncoded(ser, ser.dumps(fromTag(c.value, "encode")), entry);
  } else if (entry.error) {
    assertThrowsSerializeError(() => ser.dumps(fromTag(c.value, "encode")), {
      error: entry.error,
      message: entry.message ?? "",
    });
  }
}

function checkCallCase(ser: Serializer, c: CallCase): void {
  const entry = c.serializers[ser.name];
  if (entry.data !== undefined && entry.decoded) {
    const call = ser.loadsCall(b64(entry.data));
    const want = entry.decoded;
    assertPyEqual(call.objectId, want.objectId, "$.objectId");
    assertPyEqual(call.method, want.method, "$.method");
    // DecodedCall.args is an array; whether it is a tuple on the wire is not part of the API.
    const args = fromTag(want.args, "decoded") as unknown[];
    if (!Array.isArray(call.args)) throw new Error("loadsCall args is not an array");
    assertPyEqual([...call.args], [...args], "$.args");
    if (want.kwargs.t === "none") {
      // Python sends None for __getattr__ calls; an empty dict is just as good.
      const kwargs = call.kwargs as unknown;
      if (kwargs !== null && !(isPlainObject(kwargs) && Object.keys(kwargs).length === 0)) {
        throw new Error("$.kwargs: expected null or {}");
      }
    } else {
      assertPyEqual(call.kwargs, fromTag(want.kwargs, "decoded"), "$.kwargs");
    }
  }
  if (!isEncodable(c.encodable, entry)) return;
  const args = fromTag(c.value.args, "encode") as unknown[];
  const kwargs = fromTag(c.value.kwargs, "encode") as PyStringDict;
  const encode = () => ser.dumpsCall(c.value.objectId, c.value.method, args, kwargs);
  if (entry.data !== undefined) {
    assertEncoded(ser, encode(), entry);
  } else if (entry.error) {
    assertThrowsSerializeError(encode, { error: entry.error, message: entry.message ?? "" });
  }
}

for (const { name, cls } of SERIALIZERS) {
  Deno.test(`${cls} matches Pyro5 value vectors`, async (t) => {
    const ser = createSerializer(name, { classes: testClassRegistry() });
    for (const c of VECTORS.cases) {
      await t.step(c.name, () => checkValueCase(ser, c));
    }
  });

  Deno.test(`${cls} matches Pyro5 call vectors`, async (t) => {
    const ser = createSerializer(name, { classes: testClassRegistry() });
    for (const c of VECTORS.calls) {
      await t.step(c.name, () => checkCallCase(ser, c));
    }
  });
}

Deno.test("values.json covers what the vectors promise", () => {
  // Guards against an accidentally truncated or regenerated file.
  if (VECTORS.pyro5 !== "5.15") throw new Error(`vectors from Pyro5 ${VECTORS.pyro5}`);
  if (VECTORS.cases.length < 150 || VECTORS.calls.length < 10) {
    throw new Error(`only ${VECTORS.cases.length} cases and ${VECTORS.calls.length} calls`);
  }
  const names = new Set<string>();
  for (const c of [...VECTORS.cases, ...VECTORS.calls]) {
    if (names.has(c.name)) throw new Error(`duplicate case name ${c.name}`);
    names.add(c.name);
    for (const { name } of SERIALIZERS) {
      const entry = c.serializers[name];
      if (!entry || (entry.data === undefined && entry.error === undefined)) {
        throw new Error(`${c.name}: no ${name} entry`);
      }
    }
  }
});
