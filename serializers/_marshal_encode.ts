/**
 * Marshal encoder: writes the value model in Python 3.11's marshal format (version 4).
 *
 * Type codes, sizes, 15-bit long digits, set ordering are Python's. Which objects carry
 * {@linkcode FLAG_REF} is, in CPython, a matter of reference counts ("is anybody else holding
 * this object?") and of string interning, which TypeScript values do not have. This encoder
 * follows one fixed model that equals what Python Pyro5 sends for values computed at run time:
 *
 * - objects CPython always shares are flagged and written once, later as TYPE_REF: ints -5..256,
 *   the empty str (interned), one-character strs below U+0100, the empty bytes, the empty tuple
 *   (one-byte bytes are singletons only when Python slices them, not when it reads them);
 * - dict keys made only of ASCII letters, digits and `_` are interned strs (flagged, shared), as
 *   Python's literals, attribute names and keyword names are;
 * - the value handed to `dumps`, each call argument and keyword value, and each set element is
 *   flagged (the caller, or Python's set sorting, holds a second reference); class dicts made by
 *   class-to-dict conversion, Dates and typed-array lists are fresh, so never flagged;
 * - a JavaScript object reached twice (same identity) is flagged on its first occurrence and a
 *   TYPE_REF afterwards, as in Python (found by a scan before writing);
 * - everything else (strs, floats, large ints, nested containers) is written unflagged.
 *
 * Set and frozenset elements are sorted by their own marshal bytes, as CPython 3.11 does.
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import type { ClassRegistry } from "./classes.ts";
import {
  isPlainObject,
  PyComplex,
  PyFloat,
  PyFrozenSet,
  type PyStringDict,
  pythonIsoFormat,
  PyTuple,
} from "./values.ts";
import {
  FLAG_REF,
  TYPE_ASCII,
  TYPE_ASCII_INTERNED,
  TYPE_BINARY_COMPLEX,
  TYPE_BINARY_FLOAT,
  TYPE_DICT,
  TYPE_FALSE,
  TYPE_FROZENSET,
  TYPE_INT,
  TYPE_INTERNED,
  TYPE_LIST,
  TYPE_LONG,
  TYPE_NONE,
  TYPE_NULL,
  TYPE_REF,
  TYPE_SET,
  TYPE_SHORT_ASCII,
  TYPE_SHORT_ASCII_INTERNED,
  TYPE_SMALL_TUPLE,
  TYPE_STRING,
  TYPE_TRUE,
  TYPE_TUPLE,
  TYPE_UNICODE,
} from "./_marshal_codes.ts";

const ENCODER = new TextEncoder();
/** A write at least this big gets a buffer of just its size plus this, instead of doubling. */
const BIG_PIECE = 16384;

/** How an object of the value model is written. */
const enum Kind {
  List,
  Tuple,
  Dict,
  Map,
  Set,
  FrozenSet,
  Bytes,
  Buffer,
  Typed,
  Float,
  Complex,
  Date,
  Class,
}

function kindOf(value: object): Kind {
  if (Array.isArray(value)) return value instanceof PyTuple ? Kind.Tuple : Kind.List;
  if (isPlainObject(value)) return Kind.Dict;
  if (value instanceof Map) return Kind.Map;
  if (value instanceof Set) return value instanceof PyFrozenSet ? Kind.FrozenSet : Kind.Set;
  if (value instanceof Uint8Array) return Kind.Bytes;
  if (value instanceof ArrayBuffer) return Kind.Buffer;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Kind.Typed;
  if (value instanceof PyFloat) return Kind.Float;
  if (value instanceof PyComplex) return Kind.Complex;
  if (value instanceof Date) return Kind.Date;
  return Kind.Class;
}

/** How a str is written: as a value, flagged, as a dict key, or always interned (method name). */
const enum StrMode {
  Plain,
  Flagged,
  /** A dict key: interned when made of name characters. */
  Key,
  /** Always interned (a method name). */
  Interned,
}

function tooDeep(): SerializeError {
  return new SerializeError("object too deeply nested to marshal");
}

/** Whether a str is made of ASCII letters, digits and `_` only (what CPython interns). */
function isNameLike(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (
      !((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
        c === 0x5f)
    ) return false;
  }
  return true;
}

/**
 * The Python type name of a value Python could not use as a dict key or set element, or
 * undefined when it is hashable.
 *
 * @param value a would-be key
 * @param depth nesting inside tuples so far
 * @returns `"list"`, `"dict"`, `"set"` or undefined
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { unhashableType } from "./_marshal_encode.ts";
 * import { tuple } from "./values.ts";
 * assert(unhashableType(tuple<unknown>(1, [2])) === "list");
 * assert(unhashableType(tuple(1, 2)) === undefined);
 * ```
 */
export function unhashableType(value: unknown, depth = 0): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (depth > 100) return "tuple";
  if (value instanceof PyTuple) {
    for (const item of value) {
      const inner = unhashableType(item, depth + 1);
      if (inner) return inner;
    }
    return undefined;
  }
  if (
    value instanceof PyFrozenSet || value instanceof Uint8Array || value instanceof ArrayBuffer ||
    value instanceof PyFloat || value instanceof PyComplex || value instanceof Date
  ) return undefined;
  if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    return "list";
  }
  if (value instanceof Set) return "set";
  return "dict"; // dicts, Maps and class instances (which travel as dicts)
}

function checkHashable(value: unknown): void {
  const name = unhashableType(value);
  if (name) throw new SerializeError(`unhashable type: '${name}'`);
}

/**
 * The scan before writing: which objects occur more than once, and the class dict of every
 * class instance (converted once, so hooks run once).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MarshalScan } from "./_marshal_encode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const shared = [1];
 * const scan = new MarshalScan(new ClassRegistry(), 100);
 * scan.scan([shared, shared], 0);
 * assert(scan.isShared(shared));
 * ```
 */
export class MarshalScan {
  #shared: Set<object> | null = null;
  #dicts: Map<object, PyStringDict> | null = null;
  #seen: Set<object> | null = null;
  #classes: ClassRegistry;
  #maxDepth: number;

  /**
   * @param classes class-to-dict conversions
   * @param maxDepth deepest nesting accepted
   */
  constructor(classes: ClassRegistry, maxDepth: number) {
    this.#classes = classes;
    this.#maxDepth = maxDepth;
  }

  /** Scans one value and everything inside it. */
  scan(value: unknown, depth: number): void {
    if ((typeof value !== "object" && typeof value !== "function") || value === null) return;
    const kind = kindOf(value);
    if (kind === Kind.Date || kind === Kind.Typed) return; // written fresh each time
    const seen = this.#seen ??= new Set();
    const before = seen.size;
    seen.add(value);
    if (seen.size === before) { // reached before
      (this.#shared ??= new Set()).add(value);
      return;
    }
    if (depth >= this.#maxDepth) throw tooDeep();
    switch (kind) {
      case Kind.List:
      case Kind.Tuple: {
        const items = value as unknown[];
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          if (typeof item === "object" && item !== null) this.scan(item, depth + 1);
        }
        return;
      }
      case Kind.Dict:
        return this.#scanDict(value as PyStringDict, depth + 1);
      case Kind.Map:
        for (const [key, item] of value as Map<unknown, unknown>) {
          this.scan(key, depth + 1);
          this.scan(item, depth + 1);
        }
        return;
      case Kind.Set:
      case Kind.FrozenSet:
        for (const item of value as Set<unknown>) this.scan(item, depth + 1);
        return;
      case Kind.Class:
        return this.#scanDict(this.classDict(value), depth + 1);
    }
  }

  /** The class dict of an instance, converted once. */
  classDict(value: object): PyStringDict {
    const dicts = this.#dicts ??= new Map();
    let dict = dicts.get(value);
    if (!dict) {
      dict = this.#classes.toDict(value);
      dicts.set(value, dict);
    }
    return dict;
  }

  /** Whether an object was reached more than once. */
  isShared(value: object): boolean {
    return this.#shared !== null && this.#shared.has(value);
  }

  #scanDict(dict: PyStringDict, depth: number): void {
    const items = Object.values(dict);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item === "object" && item !== null) this.scan(item, depth);
    }
  }
}

/**
 * Writes marshal bytes. One instance per `dumps` (and one per set element, to find the
 * element's sort key).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MarshalEncoder, MarshalScan } from "./_marshal_encode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const encoder = new MarshalEncoder(new MarshalScan(new ClassRegistry(), 100), 100);
 * encoder.value(300, 0, false);
 * assert(encoder.result().join() === [0x69, 0x2c, 0x01, 0, 0].join());
 * ```
 */
export class MarshalEncoder {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;
  /** Number of flagged objects so far: the next reference index. */
  #nextRef = 0;
  // Reference tables, made on first use (most messages need one or two of them).
  #strRefs: Map<string, number> | null = null;
  #charRefs: Map<string, number> | null = null;
  #intRefs: Map<number, number> | null = null;
  #emptyBytesRef = -1;
  #emptyTupleRef = -1;
  #objRefs: Map<object, number> | null = null;
  #scan: MarshalScan;
  #maxDepth: number;

  /**
   * @param scan the scan of the values to write
   * @param maxDepth deepest nesting written
   */
  constructor(scan: MarshalScan, maxDepth: number) {
    this.#scan = scan;
    this.#maxDepth = maxDepth;
  }

  /** The bytes written so far (a view of the internal buffer). */
  result(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  #ensure(needed: number): void {
    if (this.#pos + needed <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    if (needed >= BIG_PIECE) {
      // One big piece (bytes, a long string): room for it and a little more, not double.
      size = this.#pos + needed + BIG_PIECE;
    } else {
      while (size < this.#pos + needed) size *= 2;
    }
    const bigger = new Uint8Array(size);
    bigger.set(this.#buf.subarray(0, this.#pos));
    this.#buf = bigger;
    this.#view = new DataView(bigger.buffer);
  }

  /** Writes a type byte, flagged or not, and returns the reference index it took (or -1). */
  #type(code: number, flagged: boolean): number {
    this.#ensure(1);
    if (!flagged) {
      this.#buf[this.#pos++] = code;
      return -1;
    }
    this.#buf[this.#pos++] = code | FLAG_REF;
    return this.#nextRef++;
  }

  #int32(value: number): void {
    this.#ensure(4);
    this.#view.setInt32(this.#pos, value, true);
    this.#pos += 4;
  }

  #ref(index: number): void {
    this.#ensure(5);
    this.#buf[this.#pos++] = TYPE_REF;
    this.#view.setInt32(this.#pos, index, true);
    this.#pos += 4;
  }

  /** Remembers the reference index an object was written with. */
  #remember(value: object, index: number): void {
    (this.#objRefs ??= new Map()).set(value, index);
  }

  /** Writes the tuple header of a call, `(objectId, method, args, kwargs)`. */
  callHeader(): void {
    this.#type(TYPE_SMALL_TUPLE, false);
    this.#ensure(1);
    this.#buf[this.#pos++] = 4;
  }

  /** Writes a str as a value, flagged (`flagged`) or as an interned name (`interned`). */
  str(text: string, how: "plain" | "flagged" | "interned"): void {
    this.#str(
      text,
      how === "plain" ? StrMode.Plain : how === "flagged" ? StrMode.Flagged : StrMode.Interned,
    );
  }

  /** Writes the call's argument list (flagged, fresh) with each argument flagged. */
  callArgs(args: readonly unknown[]): void {
    this.#type(TYPE_LIST, true);
    this.#int32(args.length);
    for (let i = 0; i < args.length; i++) this.value(args[i], 1, true);
  }

  /** Writes the call's keyword dict (flagged, fresh) with each value flagged. */
  callKwargs(kwargs: Readonly<PyStringDict>): void {
    this.#type(TYPE_DICT, true);
    for (const key of Object.keys(kwargs)) {
      this.#str(key, StrMode.Key);
      this.value(kwargs[key], 1, true);
    }
    this.#type(TYPE_NULL, false);
  }

  /**
   * Writes one value.
   *
   * @param value any value of the value model
   * @param depth its nesting depth
   * @param held whether somebody else holds this value (flag it, as CPython would)
   */
  value(value: unknown, depth: number, held: boolean): void {
    switch (typeof value) {
      case "string":
        return this.#str(value, held ? StrMode.Flagged : StrMode.Plain);
      case "number":
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) return this.#int(value, held);
        return this.#float(value, held);
      case "bigint":
        if (value >= -9007199254740991n && value <= 9007199254740991n) {
          return this.#int(Number(value), held);
        }
        return this.#bigLong(value, held);
      case "boolean":
        return void this.#type(value ? TYPE_TRUE : TYPE_FALSE, false);
      case "undefined":
        return void this.#type(TYPE_NONE, false);
      case "object":
        if (value === null) return void this.#type(TYPE_NONE, false);
        return this.#object(value, depth, held);
      case "function": // the class registry decides: a callback proxy, or a refusal
        return this.#object(value, depth, held);
      default:
        throw new SerializeError(
          `unmarshallable object: ${typeof value} ${
            typeof value === "function" ? value.name || "<anonymous>" : String(value)
          }`,
        );
    }
  }

  #str(text: string, mode: StrMode): void {
    const n = text.length;
    let canonical = false;
    let interned = false;
    if (mode >= StrMode.Key) {
      // A name seen before is interned already: skip the name check.
      const known = this.#strRefs?.get(text);
      if (known !== undefined) return this.#ref(known);
      if (mode === StrMode.Interned || n === 0 || isNameLike(text)) canonical = interned = true;
    } else if (n === 0) canonical = interned = true;
    if (!canonical && n === 1 && text.charCodeAt(0) < 0x100) canonical = true;
    // Interned strs and one-character singletons are distinct objects in CPython 3.11.
    let refs: Map<string, number> | null = null;
    if (canonical) {
      refs = interned ? (this.#strRefs ??= new Map()) : (this.#charRefs ??= new Map());
      const known = refs.get(text);
      if (known !== undefined) return this.#ref(known);
    }
    const flagged = canonical || mode === StrMode.Flagged || mode === StrMode.Interned;
    // Short strs: copy by hand, optimistically ASCII.
    if (n <= 64) {
      this.#ensure(2 + n);
      const buf = this.#buf;
      let pos = this.#pos + 2;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos++] = c;
      }
      if (i === n) {
        const index = this.#type(interned ? TYPE_SHORT_ASCII_INTERNED : TYPE_SHORT_ASCII, flagged);
        if (refs) refs.set(text, index);
        buf[this.#pos++] = n;
        this.#pos = pos;
        return;
      }
    }
    // Encode after room for the longest header, growing as needed (no 3n reservation).
    const start = this.#pos;
    this.#ensure(5 + n);
    let read = 0;
    let written = 0;
    for (;;) {
      const rest = read === 0 ? text : text.slice(read);
      const step = ENCODER.encodeInto(rest, this.#buf.subarray(start + 5 + written));
      read += step.read;
      written += step.written;
      if (read >= n) break;
      this.#pos = start + 5 + written;
      this.#ensure(3 * (n - read));
    }
    let code: number;
    if (written === n) { // every char took one byte: ASCII
      if (n < 256) {
        this.#buf.copyWithin(start + 2, start + 5, start + 5 + n);
        this.#pos = start;
        const index = this.#type(interned ? TYPE_SHORT_ASCII_INTERNED : TYPE_SHORT_ASCII, flagged);
        if (refs) refs.set(text, index);
        this.#buf[this.#pos++] = n;
        this.#pos += n;
        return;
      }
      code = interned ? TYPE_ASCII_INTERNED : TYPE_ASCII;
    } else {
      code = interned ? TYPE_INTERNED : TYPE_UNICODE;
      if (!text.isWellFormed()) {
        this.#pos = start;
        this.#ensure(5 + 3 * n);
        written = writeSurrogatePass(text, this.#buf, start + 5);
      }
    }
    this.#pos = start;
    const index = this.#type(code, flagged);
    if (refs) refs.set(text, index);
    this.#view.setInt32(this.#pos, written, true);
    this.#pos += 4 + written;
  }

  #int(value: number, held: boolean): void {
    if (value >= -5 && value <= 256) {
      const refs = this.#intRefs ??= new Map();
      const known = refs.get(value);
      if (known !== undefined) return this.#ref(known);
      refs.set(value, this.#type(TYPE_INT, true));
      return this.#int32(value);
    }
    if (value >= -2147483648 && value <= 2147483647) {
      this.#type(TYPE_INT, held);
      return this.#int32(value);
    }
    // 15-bit digits of a safe integer: at most four.
    this.#type(TYPE_LONG, held);
    let magnitude = value < 0 ? -value : value;
    const digits: number[] = [];
    while (magnitude > 0) {
      digits.push(magnitude % 32768);
      magnitude = Math.floor(magnitude / 32768);
    }
    this.#int32(value < 0 ? -digits.length : digits.length);
    this.#ensure(2 * digits.length);
    for (const digit of digits) {
      this.#view.setUint16(this.#pos, digit, true);
      this.#pos += 2;
    }
  }

  #bigLong(value: bigint, held: boolean): void {
    this.#type(TYPE_LONG, held);
    const negative = value < 0n;
    const hex = (negative ? -value : value).toString(16);
    const digitCount = Math.ceil((hex.length * 4) / 15);
    this.#int32(negative ? -digitCount : digitCount);
    this.#ensure(2 * digitCount);
    // Take 15-bit digits from the least significant hex digits up.
    let acc = 0;
    let bits = 0;
    let written = 0;
    for (let i = hex.length - 1; i >= 0; i--) {
      acc |= parseInt(hex[i], 16) << bits;
      bits += 4;
      if (bits >= 15) {
        this.#view.setUint16(this.#pos, acc & 0x7fff, true);
        this.#pos += 2;
        written++;
        acc >>>= 15;
        bits -= 15;
      }
    }
    if (bits > 0 && acc !== 0) {
      this.#view.setUint16(this.#pos, acc, true);
      this.#pos += 2;
      written++;
    }
    // The top digit may have come out zero when the top hex digit was short of bits.
    if (written !== digitCount) {
      this.#view.setInt32(this.#pos - 2 * written - 4, negative ? -written : written, true);
    }
  }

  #float(value: number, held: boolean): void {
    this.#type(TYPE_BINARY_FLOAT, held);
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, value, true);
    this.#pos += 8;
  }

  #bytes(data: Uint8Array, flagged: boolean, identity: object): void {
    const n = data.length;
    if (n === 0) { // b"" is a singleton in CPython (one-byte bytes read off the wire are not)
      if (this.#emptyBytesRef >= 0) return this.#ref(this.#emptyBytesRef);
      this.#emptyBytesRef = this.#type(TYPE_STRING, true);
    } else {
      const index = this.#type(TYPE_STRING, flagged);
      if (index >= 0) this.#remember(identity, index);
    }
    this.#int32(n);
    this.#ensure(n);
    this.#buf.set(data, this.#pos);
    this.#pos += n;
  }

  #object(value: object, depth: number, held: boolean): void {
    const known = this.#objRefs?.get(value);
    if (known !== undefined) return this.#ref(known);
    const kind = kindOf(value);
    const flagged = held || this.#scan.isShared(value);
    if (kind <= Kind.FrozenSet && depth >= this.#maxDepth) throw tooDeep();
    switch (kind) {
      case Kind.List:
        return this.#sequence(TYPE_LIST, value as unknown[], value, depth, flagged);
      case Kind.Tuple: {
        const items = value as unknown[];
        if (items.length === 0) {
          if (this.#emptyTupleRef >= 0) return this.#ref(this.#emptyTupleRef);
          this.#emptyTupleRef = this.#type(TYPE_SMALL_TUPLE, true);
          this.#ensure(1);
          this.#buf[this.#pos++] = 0;
          return;
        }
        return this.#sequence(TYPE_TUPLE, items, value, depth, flagged);
      }
      case Kind.Dict:
        return this.#dict(value as PyStringDict, value, depth, flagged);
      case Kind.Map:
        return this.#map(value as Map<unknown, unknown>, depth, flagged);
      case Kind.Set:
      case Kind.FrozenSet:
        return this.#set(value as Set<unknown>, kind === Kind.FrozenSet, depth, flagged);
      case Kind.Bytes:
        return this.#bytes(value as Uint8Array, flagged, value);
      case Kind.Buffer:
        return this.#bytes(new Uint8Array(value as ArrayBuffer), flagged, value);
      case Kind.Typed: { // array.array.tolist(): a fresh list (of floats for float arrays)
        const items = value instanceof Float64Array || value instanceof Float32Array
          ? Array.from(value, (x) => new PyFloat(x))
          : [...(value as unknown as Iterable<unknown>)];
        return this.#sequence(TYPE_LIST, items, value, depth, false);
      }
      case Kind.Float: {
        const index = this.#type(TYPE_BINARY_FLOAT, flagged);
        if (index >= 0) this.#remember(value, index);
        this.#ensure(8);
        this.#view.setFloat64(this.#pos, (value as PyFloat).value, true);
        this.#pos += 8;
        return;
      }
      case Kind.Complex: {
        const index = this.#type(TYPE_BINARY_COMPLEX, flagged);
        if (index >= 0) this.#remember(value, index);
        this.#ensure(16);
        this.#view.setFloat64(this.#pos, (value as PyComplex).real, true);
        this.#view.setFloat64(this.#pos + 8, (value as PyComplex).imag, true);
        this.#pos += 16;
        return;
      }
      case Kind.Date: // isoformat(): a fresh str
        return this.#str(pythonIsoFormat(value as Date), StrMode.Plain);
      case Kind.Class: {
        if (depth >= this.#maxDepth) throw tooDeep();
        // A class dict is made fresh by the conversion: flagged only when the instance is shared.
        const dict = this.#scan.classDict(value);
        return this.#classDict(dict, value, depth, this.#scan.isShared(value));
      }
    }
  }

  #sequence(
    code: number,
    items: readonly unknown[],
    identity: object,
    depth: number,
    flagged: boolean,
  ): void {
    const n = items.length;
    if (code === TYPE_TUPLE && n < 256) {
      const index = this.#type(TYPE_SMALL_TUPLE, flagged);
      if (index >= 0) this.#remember(identity, index);
      this.#ensure(1);
      this.#buf[this.#pos++] = n;
    } else {
      const index = this.#type(code, flagged);
      if (index >= 0) this.#remember(identity, index);
      this.#int32(n);
    }
    for (let i = 0; i < n; i++) this.value(items[i], depth + 1, false);
  }

  #dict(dict: PyStringDict, identity: object, depth: number, flagged: boolean): void {
    const index = this.#type(TYPE_DICT, flagged);
    if (index >= 0) this.#remember(identity, index);
    for (const key of Object.keys(dict)) {
      this.#str(key, StrMode.Key);
      this.value(dict[key], depth + 1, false);
    }
    this.#type(TYPE_NULL, false);
  }

  /**
   * A class dict, flagged as CPython flags what Pyro5's class_to_dict returns: the values are
   * the instance's own attributes (held by the instance too), except the computed `__class__`
   * name, the fresh `state` tuple of Pyro's URI and proxy (whose items the instance holds, but
   * a proxy's URI text is computed), and the exception dict inside an exception wrapper.
   */
  #classDict(dict: PyStringDict, identity: object, depth: number, flagged: boolean): void {
    const index = this.#type(TYPE_DICT, flagged);
    if (index >= 0) this.#remember(identity, index);
    const className = typeof dict.__class__ === "string" ? dict.__class__ : "";
    const hasState = className === "Pyro5.core.URI" || className === "Pyro5.client.Proxy" ||
      className === "Pyro5.server.Daemon";
    for (const key of Object.keys(dict)) {
      this.#str(key, StrMode.Key);
      const item = dict[key];
      if (key === "__class__" || className === "Pyro5.core._ExceptionWrapper") {
        this.value(item, depth + 1, false);
      } else if (
        hasState && key === "state" && Array.isArray(item) && item.length > 0 && item.length < 256
      ) {
        if (depth + 1 >= this.#maxDepth) throw tooDeep();
        this.#type(TYPE_SMALL_TUPLE, false);
        this.#sequenceItems(item, depth + 1, className === "Pyro5.client.Proxy" ? 1 : 0);
      } else {
        this.value(item, depth + 1, true);
      }
    }
    this.#type(TYPE_NULL, false);
  }

  /** Writes a small tuple's size and items, the items from `heldFrom` on flagged as held. */
  #sequenceItems(items: readonly unknown[], depth: number, heldFrom: number): void {
    const n = items.length;
    this.#ensure(1);
    this.#buf[this.#pos++] = n;
    for (let i = 0; i < n; i++) this.value(items[i], depth + 1, i >= heldFrom);
  }

  #map(map: Map<unknown, unknown>, depth: number, flagged: boolean): void {
    const index = this.#type(TYPE_DICT, flagged);
    if (index >= 0) this.#remember(map, index);
    for (const [key, item] of map) {
      if (typeof key === "string") this.#str(key, StrMode.Key);
      else {
        checkHashable(key);
        this.value(key, depth + 1, false);
      }
      this.value(item, depth + 1, false);
    }
    this.#type(TYPE_NULL, false);
  }

  #set(set: Set<unknown>, frozen: boolean, depth: number, flagged: boolean): void {
    const index = this.#type(frozen ? TYPE_FROZENSET : TYPE_SET, flagged);
    if (index >= 0) this.#remember(set, index);
    this.#int32(set.size);
    for (const item of set) checkHashable(item);
    let items: unknown[] = [...set];
    if (items.length > 1) {
      // CPython sorts the elements by their own marshal bytes (reproducible output).
      const keyed = items.map((item) => {
        const alone = new MarshalEncoder(this.#scan, this.#maxDepth);
        alone.value(item, depth + 1, false);
        return { item, key: alone.result() };
      });
      keyed.sort((a, b) => compareBytes(a.key, b.key));
      items = keyed.map((entry) => entry.item);
    }
    // Python's sorting keeps a second reference to each element while writing it.
    for (const item of items) this.value(item, depth + 1, true);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** UTF-8 with lone surrogates written as three bytes each (Python's "surrogatepass"). */
function writeSurrogatePass(text: string, buf: Uint8Array, start: number): number {
  let pos = start;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) buf[pos++] = c;
    else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else {
      buf[pos++] = 0xf0 | (c >> 18);
      buf[pos++] = 0x80 | ((c >> 12) & 0x3f);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos - start;
}
