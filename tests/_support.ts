/**
 * Shared test support: the golden-vector tag format (see `tests/testdata/README.md`), a strict
 * type-aware deep equality for Python values in their TypeScript form, the test classes the
 * vectors use, and small file helpers.
 *
 * @module
 */
import { PYRO_ERROR_CLASSES, pythonArgsMessage, RemoteError } from "../errors.ts";
import { PyroUri } from "../uri.ts";
import { ClassRegistry, ExceptionWrapper, type ProxyState } from "../serializers/classes.ts";
import {
  fromPythonInt,
  isPlainObject,
  isPythonInt,
  makeDict,
  PyComplex,
  PyFloat,
  PyFrozenSet,
  type PyStringDict,
  PyTuple,
  tuple,
} from "../serializers/values.ts";

/** A Python value described in JSON by `scripts/gen_vectors.py`. */
export type Tag =
  | { t: "none" }
  | { t: "bool"; v: boolean }
  | { t: "int"; v: string }
  | { t: "float"; v: string }
  | { t: "complex"; re: string; im: string }
  | { t: "str"; v: string }
  | { t: "bytes"; v: string }
  | { t: "list" | "tuple" | "set" | "frozenset"; v: Tag[] }
  | { t: "dict"; v: [Tag, Tag][] }
  | { t: "uri"; v: string }
  | { t: "error"; cls: string; args: Tag[]; attrs: Tag; traceback: string[] | null }
  | {
    t: "proxy";
    uri: string;
    oneway: string[];
    methods: string[];
    attrs: string[];
    handshake: Tag;
    serializer: string | null;
  }
  | { t: "exwrap"; error: Tag }
  | { t: "datetime" | "date" | "time"; iso: string }
  | { t: "decimal" | "uuid"; v: string }
  | { t: "array"; typecode: string; v: Tag[] }
  | { t: "object"; cls: string; v: Tag };

/** What Python raised, as the vectors record it. */
export interface PythonError {
  /** Exception class name (module-qualified outside builtins and Pyro5.errors). */
  error: string;
  /** `str(exception)`. */
  message: string;
}

/** One serializer's result for one vector. */
export interface SerializerEntry {
  /** Base64 of Pyro5's output; absent when Pyro5 refused the value. */
  data?: string;
  /** Marshal only: the same data without references and interned codes, sets sorted. */
  canonical?: string;
  /** Tag of what our decoder must produce from `data` (Python's result, with our conveniences). */
  decoded?: Tag;
  /** Python's decoder failed on `data`. */
  loadsError?: PythonError;
  /** Overrides the case's `encodable` for this serializer. */
  encodable?: boolean;
  /** Why an entry is special. */
  note?: string;
  /** Pyro5's encoder refused the value: the exception class name. */
  error?: string;
  /** Pyro5's encoder refused the value: the message. */
  message?: string;
}

/** A value vector of `tests/testdata/values.json`. */
export interface ValueCase {
  /** Unique case name. */
  name: string;
  /** Tag of the original Python value. */
  value: Tag;
  /** Whether TypeScript can express the original value exactly. */
  encodable: boolean;
  /** Results per serializer name. */
  serializers: Record<string, SerializerEntry>;
}

/** A call, as a call vector describes it (encoded or decoded). */
export interface CallTag {
  /** Object id. */
  objectId: string;
  /** Method name. */
  method: string;
  /** Positional arguments (a tuple or list tag). */
  args: Tag;
  /** Keyword arguments (a dict tag, or none). */
  kwargs: Tag;
}

/** One serializer's result for one call vector. */
export interface CallEntry extends Omit<SerializerEntry, "decoded"> {
  /** The call as our loadsCall must return it. */
  decoded?: CallTag;
}

/** A call vector of `tests/testdata/values.json`. */
export interface CallCase {
  /** Unique case name. */
  name: string;
  /** The call Python encoded. */
  value: CallTag;
  /** Whether TypeScript can express the call exactly. */
  encodable: boolean;
  /** Results per serializer name. */
  serializers: Record<string, CallEntry>;
}

/** The shape of `tests/testdata/values.json`. */
export interface ValuesFile {
  /** Pyro5 version the vectors come from. */
  pyro5: string;
  /** Value vectors. */
  cases: ValueCase[];
  /** Call vectors. */
  calls: CallCase[];
}

/**
 * An object of a user class in the vectors (`testsupport.Point` and friends): its Python class
 * name and its fields. Serializers learn it through {@linkcode testClassRegistry}.
 */
export class TestObject {
  /**
   * @param pythonClass fully qualified Python class name
   * @param fields the object's attributes
   */
  constructor(readonly pythonClass: string, readonly fields: PyStringDict) {}
}

/** Class names of the registered test classes (Python's `register_dict_to_class`). */
export const TEST_CLASS_NAMES: readonly string[] = ["testsupport.Point"];

/**
 * A class registry that knows the test classes: a {@linkcode TestObject} goes out as
 * `{"__class__": name, ...fields}` (the order Python's converter uses) and a dict whose
 * `__class__` is one of {@linkcode TEST_CLASS_NAMES} comes back as a TestObject.
 *
 * @returns a fresh registry
 */
export function testClassRegistry(): ClassRegistry {
  const registry = new ClassRegistry().registerClassToDict(
    TestObject,
    (o) => ({ __class__: o.pythonClass, ...o.fields }),
  );
  for (const name of TEST_CLASS_NAMES) {
    registry.registerDictToClass(name, (className, dict) => {
      const fields: PyStringDict = {};
      for (const [k, v] of Object.entries(dict)) if (k !== "__class__") fields[k] = v;
      return new TestObject(className, fields);
    });
  }
  return registry;
}

/**
 * Bytes of a base64 text.
 *
 * @param text base64
 * @returns the bytes
 */
export function b64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Reads and parses a JSON file relative to the tests folder.
 *
 * @param relPath path relative to `tests/`, e.g. `"testdata/values.json"`
 * @returns the parsed JSON
 */
export function loadJson(relPath: string): unknown {
  return JSON.parse(Deno.readTextFileSync(new URL(relPath, import.meta.url)));
}

/** Parses Python's float repr (`nan`, `inf`, `-inf`, `1e+16`, `-0.0` ...). */
function parseFloatRepr(text: string): number {
  if (text === "nan") return NaN;
  if (text === "inf") return Infinity;
  if (text === "-inf") return -Infinity;
  const value = Number(text);
  if (Number.isNaN(value)) throw new TypeError(`bad float repr: ${text}`);
  return value;
}

const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:\d{2})?$/;

/** A Date from an ISO text; without an offset the time is taken as UTC. */
function parseIso(text: string): Date {
  const m = ISO_PATTERN.exec(text);
  if (!m) throw new TypeError(`bad ISO date: ${text}`);
  const ms = m[7] ? Math.trunc(Number(m[7].padEnd(6, "0")) / 1000) : 0;
  let time = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
    ms,
  );
  if (m[8] && m[8] !== "Z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    time -= sign * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6))) * 60_000;
  }
  return new Date(time);
}

/** Why the expected value of a decoded proxy compares its name lists as sets. */
const PROXY_STATE = Symbol("proxy state");

/**
 * Marks a proxy state as an expected value for {@linkcode assertPyEqual}: its `oneway`,
 * `methods` and `attrs` lists then compare as sets, since Python keeps them in sets.
 *
 * @param state the expected state (`ClassRegistry.fromDict` gives such states without
 *   `makeProxy`)
 * @returns the same object, marked
 */
export function expectProxyState(state: ProxyState): ProxyState {
  Object.defineProperty(state, PROXY_STATE, { value: true, enumerable: false });
  return state;
}

/**
 * Builds the TypeScript value a tag stands for.
 *
 * - `"decoded"`: what our decoders must produce (integral floats are plain numbers, dicts are
 *   made by `makeDict`, a proxy is the `ProxyState` that `ClassRegistry.fromDict` returns
 *   without `makeProxy`, errors carry `remoteTraceback` (empty when none), msgpack dates are
 *   `Date`s).
 * - `"encode"`: a value that our encoders must turn into Python's bytes (integral floats are
 *   `PyFloat`, a dict with string keys whose order a plain object would change is a `Map`, a
 *   proxy is its class dict, an error's `_pyroTraceback` goes after its other attributes).
 *   Tags TypeScript cannot express (date, time, Decimal, uuid, array) throw a TypeError.
 *
 * @param tag the tag
 * @param purpose which of the two values
 * @returns the TypeScript value
 */
export function fromTag(tag: Tag, purpose: "decoded" | "encode"): unknown {
  const sub = (t: Tag) => fromTag(t, purpose);
  switch (tag.t) {
    case "none":
      return null;
    case "bool":
      return tag.v;
    case "int":
      return fromPythonInt(BigInt(tag.v));
    case "float": {
      const value = parseFloatRepr(tag.v);
      return purpose === "encode" && isPythonInt(value) ? new PyFloat(value) : value;
    }
    case "complex":
      return new PyComplex(parseFloatRepr(tag.re), parseFloatRepr(tag.im));
    case "str":
      return tag.v;
    case "bytes":
      return b64(tag.v);
    case "list":
      return tag.v.map(sub);
    case "tuple":
      return tuple(...tag.v.map(sub));
    case "set":
      return new Set(tag.v.map(sub));
    case "frozenset":
      return new PyFrozenSet(tag.v.map(sub));
    case "dict":
      return dictFromTag(tag.v, purpose);
    case "uri":
      return new PyroUri(tag.v);
    case "error":
      return errorFromTag(tag, purpose);
    case "proxy": {
      const handshake = sub(tag.handshake);
      if (purpose === "encode") {
        return {
          __class__: "Pyro5.client.Proxy",
          state: tuple<unknown>(
            tag.uri,
            tuple(...tag.oneway),
            tuple(...tag.methods),
            tuple(...tag.attrs),
            handshake,
            tag.serializer,
          ),
        };
      }
      return expectProxyState({
        uri: new PyroUri(tag.uri),
        oneway: [...tag.oneway],
        methods: [...tag.methods],
        attrs: [...tag.attrs],
        handshake,
        serializer: tag.serializer,
      });
    }
    case "exwrap":
      return new ExceptionWrapper(sub(tag.error) as Error);
    case "datetime":
      return parseIso(tag.iso);
    case "object":
      return new TestObject(tag.cls, sub(tag.v) as PyStringDict);
    default:
      throw new TypeError(`TypeScript cannot express a Python ${tag.t}`);
  }
}

function dictFromTag(pairs: [Tag, Tag][], purpose: "decoded" | "encode"): unknown {
  const keys = pairs.map(([k]) => fromTag(k, purpose));
  const values = pairs.map(([, v]) => fromTag(v, purpose));
  const dict = makeDict(keys, values);
  if (purpose === "encode" && isPlainObject(dict)) {
    // A plain object lists integer-like keys first: keep Python's order with a Map then.
    const order = Object.keys(dict);
    if (order.some((key, i) => key !== keys[i])) return new Map(keys.map((k, i) => [k, values[i]]));
  }
  return dict;
}

function errorFromTag(tag: Extract<Tag, { t: "error" }>, purpose: "decoded" | "encode"): Error {
  const args = tag.args.map((a) => fromTag(a, purpose));
  const attrs = fromTag(tag.attrs, purpose);
  if (!isPlainObject(attrs)) throw new TypeError("error attributes must have string keys");
  let attributes: PyStringDict = attrs;
  let remoteTraceback: string[] | undefined = tag.traceback ?? [];
  if (purpose === "encode") {
    // errorToDict sends `attributes` as they are: the traceback rides along, last, as in Python.
    attributes = tag.traceback ? { ...attrs, _pyroTraceback: [...tag.traceback] } : attrs;
    remoteTraceback = undefined;
  }
  if (tag.cls.startsWith("Pyro5.errors.")) {
    const errorClass = PYRO_ERROR_CLASSES.get(tag.cls.slice("Pyro5.errors.".length));
    if (errorClass) {
      return new errorClass(pythonArgsMessage(args), { args, attributes, remoteTraceback });
    }
  }
  return new RemoteError(tag.cls, args, { attributes, remoteTraceback });
}

const MARSHAL_FLAG_REF = 0x80;
const MARSHAL_NOT_INTERNED: Record<string, string> = { t: "u", A: "a", Z: "z" };

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Bytes joined into one array, as they go on the wire; one array is returned as it is.
 *
 * @param parts one array, or parts in order
 * @returns the joined bytes
 */
export function concatBytes(parts: Uint8Array | readonly Uint8Array[]): Uint8Array {
  if (parts instanceof Uint8Array) return parts;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The canonical form of marshal data (as `scripts/gen_vectors.py` computes it): references
 * removed (FLAG_REF cleared, TYPE_REF expanded into the referenced bytes), interned string codes
 * replaced by the plain ones (`Z`→`z`, `A`→`a`, `t`→`u`), set elements ordered by their
 * canonical bytes. Two encodings of the same value that differ only in CPython's
 * reference-count and interning choices have the same canonical form.
 *
 * @param data marshal bytes (version 4, no code objects)
 * @returns the canonical bytes
 * @throws {Error} on malformed input (this is a test oracle, not a decoder)
 */
export function marshalCanonical(data: Uint8Array): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const refs: (Uint8Array | undefined)[] = [];
  let pos = 0;
  const take = (n: number): Uint8Array => {
    if (pos + n > data.length) throw new Error(`marshal data ends early at ${pos}`);
    const part = data.subarray(pos, pos + n);
    pos += n;
    return part;
  };
  const int32 = (): number => {
    take(4);
    return view.getInt32(pos - 4, true);
  };
  const object = (): Uint8Array => {
    const code = take(1)[0];
    let kind = String.fromCharCode(code & ~MARSHAL_FLAG_REF);
    let slot = -1;
    if (code & MARSHAL_FLAG_REF) slot = refs.push(undefined) - 1;
    let out: Uint8Array;
    const start = pos;
    const head = (): Uint8Array => new Uint8Array([kind.charCodeAt(0)]);
    switch (kind) {
      case "0":
      case "N":
      case "F":
      case "T":
      case "S":
      case ".":
        out = head();
        break;
      case "r": {
        const ref = refs[int32()];
        if (!ref) throw new Error(`bad marshal reference at ${start}`);
        out = ref;
        break;
      }
      case "i":
        out = concatBytes([head(), take(4)]);
        break;
      case "g":
        out = concatBytes([head(), take(8)]);
        break;
      case "y":
        out = concatBytes([head(), take(16)]);
        break;
      case "l": {
        const digits = Math.abs(int32());
        out = concatBytes([head(), data.subarray(start, pos), take(2 * digits)]);
        break;
      }
      case "s":
      case "t":
      case "u":
      case "a":
      case "A": {
        const length = int32();
        kind = MARSHAL_NOT_INTERNED[kind] ?? kind;
        out = concatBytes([head(), data.subarray(start, pos), take(length)]);
        break;
      }
      case "z":
      case "Z": {
        const length = take(1)[0];
        kind = "z";
        out = concatBytes([head(), new Uint8Array([length]), take(length)]);
        break;
      }
      case ")":
      case "(":
      case "[":
      case "<":
      case ">": {
        const count = kind === ")" ? take(1)[0] : int32();
        const items: Uint8Array[] = [];
        const countBytes = data.slice(start, pos);
        for (let i = 0; i < count; i++) items.push(object());
        if (kind === "<" || kind === ">") items.sort(compareBytes);
        out = concatBytes([head(), countBytes, ...items]);
        break;
      }
      case "{": {
        const parts = [head()];
        while (true) {
          if (pos >= data.length) throw new Error("marshal dict does not end");
          if (data[pos] === 0x30) break;
          parts.push(object(), object());
        }
        take(1);
        parts.push(new Uint8Array([0x30]));
        out = concatBytes(parts);
        break;
      }
      default:
        throw new Error(`unexpected marshal type ${JSON.stringify(kind)} at ${start - 1}`);
    }
    if (slot >= 0) refs[slot] = out;
    return out;
  };
  const result = object();
  if (pos !== data.length) throw new Error(`trailing marshal data at ${pos}`);
  return result;
}

/** Failure of {@linkcode assertPyEqual}, naming the path where the values differ. */
export class PyEqualityError extends Error {
  /**
   * @param path where in the value
   * @param detail what differs
   */
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.name = "PyEqualityError";
  }
}

/** A short readable description of a value for failure messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  switch (typeof value) {
    case "number":
      return Object.is(value, -0) ? "number -0" : `number ${value}`;
    case "bigint":
      return `bigint ${value}n`;
    case "string":
      return `string ${JSON.stringify(value.length > 60 ? value.slice(0, 60) + "..." : value)}`;
    case "boolean":
      return `boolean ${value}`;
    case "function":
      return "function";
    case "symbol":
      return "symbol";
  }
  const name = (value as object).constructor?.name ?? "null-prototype object";
  if (value instanceof Uint8Array) return `${name}(${value.length})`;
  if (Array.isArray(value)) return `${name}(${value.length})`;
  if (value instanceof Set || value instanceof Map) return `${name}(${value.size})`;
  if (value instanceof PyroUri) return `PyroUri ${value}`;
  if (value instanceof Error) return `${name} ${JSON.stringify(value.message)}`;
  return isPlainObject(value) ? "plain object" : name;
}

function fail(path: string, actual: unknown, expected: unknown, what = ""): never {
  throw new PyEqualityError(
    path,
    `${what ? what + ": " : ""}expected ${describe(expected)}, got ${describe(actual)}`,
  );
}

/** Whether two values are equal by {@linkcode assertPyEqual}. */
function pyEquals(actual: unknown, expected: unknown): boolean {
  try {
    assertPyEqual(actual, expected);
    return true;
  } catch (error) {
    if (error instanceof PyEqualityError) return false;
    throw error;
  }
}

function assertSameElements(actual: Iterable<unknown>, expected: Iterable<unknown>, path: string) {
  const remaining = [...actual];
  let index = 0;
  for (const item of expected) {
    const found = remaining.findIndex((candidate) => pyEquals(candidate, item));
    if (found < 0) {
      throw new PyEqualityError(
        `${path}{${index}}`,
        `expected element ${describe(item)} not found`,
      );
    }
    remaining.splice(found, 1);
    index++;
  }
  if (remaining.length) {
    throw new PyEqualityError(path, `unexpected element ${describe(remaining[0])}`);
  }
}

function assertArrayEqual(actual: unknown[], expected: readonly unknown[], path: string) {
  if (actual.length !== expected.length) fail(path, actual, expected, "length");
  for (let i = 0; i < expected.length; i++) assertPyEqual(actual[i], expected[i], `${path}[${i}]`);
}

function assertErrorEqual(actual: unknown, expected: Error, path: string) {
  if (!(actual instanceof Error) || actual.constructor !== expected.constructor) {
    fail(path, actual, expected, "error class");
  }
  const a = actual as Error & Partial<RemoteError>;
  const e = expected as Error & Partial<RemoteError>;
  if (a.pythonClass !== e.pythonClass) {
    throw new PyEqualityError(path, `python class ${e.pythonClass} != ${a.pythonClass}`);
  }
  if (!Array.isArray(a.args)) fail(`${path}.args`, a.args, e.args);
  assertArrayEqual(a.args, e.args ?? [], `${path}.args`);
  assertPyEqual(a.attributes ?? {}, e.attributes ?? {}, `${path}.attributes`);
  assertPyEqual(a.remoteTraceback ?? [], e.remoteTraceback ?? [], `${path}.remoteTraceback`);
}

function isProxyState(value: object): boolean {
  return Object.hasOwn(value, PROXY_STATE);
}

/**
 * Strict deep equality of Python values in their TypeScript form: types count (PyTuple vs plain
 * Array, PyFrozenSet vs Set, Map vs plain object, bigint vs number, PyComplex, PyFloat), numbers
 * compare with `Object.is` (NaN equals NaN, -0 differs from 0), bytes are Uint8Arrays, sets
 * compare without order, dicts (Map and plain object) with order, errors by class, Python class,
 * args, attributes and remote traceback, URIs by their parts (PYROMETA tags as a set), Dates by
 * time. An expected decoded proxy state (from {@linkcode fromTag}) compares its name lists as
 * sets.
 *
 * @param actual the value under test
 * @param expected the expected value
 * @param path where these values are, for the failure message
 * @throws {PyEqualityError} naming the first path that differs
 */
export function assertPyEqual(actual: unknown, expected: unknown, path = "$"): void {
  if (expected === null || expected === undefined) {
    if (actual !== expected) fail(path, actual, expected);
    return;
  }
  if (typeof expected !== "object") {
    if (typeof actual !== typeof expected || !Object.is(actual, expected)) {
      fail(path, actual, expected);
    }
    return;
  }
  if (typeof actual !== "object" || actual === null) fail(path, actual, expected);
  if (expected instanceof Uint8Array) {
    if (!(actual instanceof Uint8Array)) fail(path, actual, expected);
    if (actual.length !== expected.length) fail(path, actual, expected, "length");
    for (let i = 0; i < expected.length; i++) {
      if (actual[i] !== expected[i]) {
        throw new PyEqualityError(`${path}[${i}]`, `byte ${expected[i]} != ${actual[i]}`);
      }
    }
    return;
  }
  if (expected instanceof PyComplex || expected instanceof PyFloat) {
    if (actual.constructor !== expected.constructor) fail(path, actual, expected);
    if (expected instanceof PyComplex) {
      const a = actual as PyComplex;
      if (!Object.is(a.real, expected.real) || !Object.is(a.imag, expected.imag)) {
        throw new PyEqualityError(
          path,
          `complex (${expected.real}, ${expected.imag}) != (${a.real}, ${a.imag})`,
        );
      }
    } else if (!Object.is((actual as PyFloat).value, expected.value)) {
      fail(path, (actual as PyFloat).value, expected.value, "PyFloat");
    }
    return;
  }
  if (Array.isArray(expected)) {
    const wantTuple = expected instanceof PyTuple;
    if (!Array.isArray(actual) || (actual instanceof PyTuple) !== wantTuple) {
      fail(path, actual, expected);
    }
    assertArrayEqual(actual, expected, path);
    return;
  }
  if (expected instanceof Set) {
    const wantFrozen = expected instanceof PyFrozenSet;
    if (!(actual instanceof Set) || (actual instanceof PyFrozenSet) !== wantFrozen) {
      fail(path, actual, expected);
    }
    if (actual.size !== expected.size) fail(path, actual, expected, "size");
    assertSameElements(actual, expected, path);
    return;
  }
  if (expected instanceof Map) {
    if (!(actual instanceof Map)) fail(path, actual, expected);
    if (actual.size !== expected.size) fail(path, actual, expected, "size");
    const actualEntries = [...actual];
    let i = 0;
    for (const [key, value] of expected) {
      const [actualKey, actualValue] = actualEntries[i];
      assertPyEqual(actualKey, key, `${path}.<key ${i}>`);
      assertPyEqual(actualValue, value, `${path}[${describe(key)}]`);
      i++;
    }
    return;
  }
  if (expected instanceof PyroUri) {
    if (!(actual instanceof PyroUri)) fail(path, actual, expected);
    const same = actual.protocol === expected.protocol && actual.host === expected.host &&
      actual.port === expected.port && actual.sockname === expected.sockname &&
      (expected.protocol === "PYROMETA"
        ? pyEquals(new Set(actual.metadata), new Set(expected.metadata))
        : actual.object === expected.object);
    if (!same) throw new PyEqualityError(path, `URI ${expected} != ${actual}`);
    return;
  }
  if (expected instanceof Error) {
    assertErrorEqual(actual, expected, path);
    return;
  }
  if (expected instanceof ExceptionWrapper) {
    if (!(actual instanceof ExceptionWrapper)) fail(path, actual, expected);
    assertErrorEqual(actual.error, expected.error, `${path}.error`);
    return;
  }
  if (expected instanceof Date) {
    if (!(actual instanceof Date)) fail(path, actual, expected);
    if (!Object.is(actual.getTime(), expected.getTime())) {
      throw new PyEqualityError(
        path,
        `Date ${expected.toISOString()} != ${
          Number.isNaN(actual.getTime()) ? "Invalid Date" : actual.toISOString()
        }`,
      );
    }
    return;
  }
  if (expected instanceof TestObject) {
    if (!(actual instanceof TestObject)) fail(path, actual, expected);
    if (actual.pythonClass !== expected.pythonClass) {
      throw new PyEqualityError(path, `class ${expected.pythonClass} != ${actual.pythonClass}`);
    }
    assertPyEqual(actual.fields, expected.fields, `${path}.fields`);
    return;
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) fail(path, actual, expected);
    const expectedKeys = Object.keys(expected);
    const actualKeys = Object.keys(actual);
    if (expectedKeys.join("\u0000") !== actualKeys.join("\u0000")) {
      throw new PyEqualityError(
        path,
        `keys ${JSON.stringify(expectedKeys)} != ${JSON.stringify(actualKeys)}`,
      );
    }
    const unordered = isProxyState(expected) ? ["oneway", "methods", "attrs"] : [];
    for (const key of expectedKeys) {
      const sub = `${path}.${key}`;
      if (unordered.includes(key)) {
        // Python keeps these names in sets: their order on the wire is not meaningful.
        if (!Array.isArray(actual[key])) fail(sub, actual[key], expected[key]);
        assertSameElements(actual[key] as unknown[], expected[key] as unknown[], sub);
      } else {
        assertPyEqual(actual[key], expected[key], sub);
      }
    }
    return;
  }
  throw new TypeError(`${path}: assertPyEqual cannot compare ${describe(expected)}`);
}
