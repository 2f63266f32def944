/**
 * Marshal decoder: reads every data type code Python 3.11's `marshal` can produce (see
 * `_marshal_codes.ts`), including TYPE_REF back-references, into the value model. Code objects,
 * StopIteration, Ellipsis and unknown codes are refused with a SerializeError; nothing is ever
 * evaluated.
 *
 * Untrusted input: every read is bounds-checked, a declared size larger than the rest of the
 * input is refused before anything is allocated, nesting is limited, and the reference table only
 * grows by one entry per flagged object actually read (so never beyond the input's length).
 *
 * Like Python, bytes after the first complete object are ignored.
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import type { ClassRegistry } from "./classes.ts";
import {
  fromPythonInt,
  PyComplex,
  PyFrozenSet,
  type PyStringDict,
  PyTuple,
  setDictItem,
} from "./values.ts";
import { unhashableType } from "./_marshal_encode.ts";
import {
  FLAG_REF,
  TYPE_ASCII,
  TYPE_ASCII_INTERNED,
  TYPE_BINARY_COMPLEX,
  TYPE_BINARY_FLOAT,
  TYPE_CODE,
  TYPE_COMPLEX,
  TYPE_DICT,
  TYPE_ELLIPSIS,
  TYPE_FALSE,
  TYPE_FLOAT,
  TYPE_FROZENSET,
  TYPE_INT,
  TYPE_INT64,
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
  TYPE_STOPITER,
  TYPE_STRING,
  TYPE_TRUE,
  TYPE_TUPLE,
  TYPE_UNICODE,
} from "./_marshal_codes.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Marks a reference slot whose object is still being read (a dict). */
const UNDER_CONSTRUCTION: unique symbol = Symbol("under construction");
/** Marks the NULL object that ends a dict. */
const NULL: unique symbol = Symbol("NULL");
/** What `float()` accepts in marshal's text floats (no spaces, no underscores, no hex). */
const FLOAT_TEXT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;
/** The input before the first decode and after each. */
const EMPTY = new Uint8Array(0);
/** Reference slots kept (cleared) between decodes; a bigger table is dropped. */
const KEEP_SLOTS = 1024;
/** Short ASCII strs of up to this many bytes go through the str cache. */
const CACHED_LENGTH = 16;
/** Slots of the str cache (a power of two), in pairs. */
const STR_CACHE_SIZE = 512;

/**
 * Reads marshal objects. One decoder serves many inputs in turn; it keeps nothing of an input
 * after its `decode` returns. Not re-entrant: while {@linkcode MarshalDecoder.busy} is true (a
 * class converter deserializing from inside a decode), use another decoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MarshalDecoder } from "./_marshal_decode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const decoder = new MarshalDecoder(new ClassRegistry(), 100);
 * const value = decoder.decode(new Uint8Array([0x5b, 1, 0, 0, 0, 0x4e])) as unknown[]; // [None]
 * assert(value.length === 1 && value[0] === null);
 * assert(decoder.decode(new Uint8Array([0xe9, 7, 0, 0, 0])) === 7);
 * ```
 */
export class MarshalDecoder {
  #data: Uint8Array = EMPTY;
  /** Made on first need (long ints only). */
  #dataView: DataView | undefined;
  /** Eight bytes to turn a float64 into a number without a DataView on the input. */
  #scratch = new DataView(new ArrayBuffer(8));
  #pos = 0;
  /** The reference table: its first `#refCount` slots are this input's. */
  #refs: unknown[] = [];
  #refCount = 0;
  /**
   * Recent short Latin-1 strs (dict keys above all) by a hash of their bytes (a cache: it
   * changes no result), made on first need.
   */
  #strCache: string[] | undefined;
  #busy = false;
  #classes: ClassRegistry;
  #maxDepth: number;

  /**
   * Makes a decoder.
   *
   * @param classes converts class dicts into objects
   * @param maxDepth deepest nesting accepted
   */
  constructor(classes: ClassRegistry, maxDepth: number) {
    this.#classes = classes;
    this.#maxDepth = maxDepth;
  }

  /** Whether a decode is running on this decoder right now. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Reads the object at the start of the data (bytes after it are ignored, as by Python).
   *
   * @param data the marshal bytes (never modified)
   * @returns the value
   * @throws {SerializeError} on malformed data, code objects and other non-data types
   */
  decode(data: Uint8Array): unknown {
    this.#begin(data);
    try {
      const value = this.#read(0);
      if (value === NULL) throw this.#bad("NULL object", this.#pos - 1);
      return value;
    } finally {
      this.#forget();
    }
  }

  /**
   * Reads a call as {@linkcode MarshalDecoder.decode} does, except that a top-level unflagged
   * 4-tuple (Pyro5's call tuple) comes back as a plain array.
   *
   * @param data the marshal bytes (never modified)
   * @returns the value
   * @throws {SerializeError} on malformed data, code objects and other non-data types
   */
  decodeCall(data: Uint8Array): unknown {
    // A flagged tuple could be referred to from inside: only an unflagged one is skipped.
    if (data.length < 2 || data[0] !== TYPE_SMALL_TUPLE || data[1] !== 4) return this.decode(data);
    this.#begin(data);
    try {
      this.#pos = 2;
      if (4 > data.length - 2) throw this.#short();
      return this.#sequence([], 4, 0, 0, true);
    } finally {
      this.#forget();
    }
  }

  #begin(data: Uint8Array): void {
    this.#busy = true;
    this.#data = data;
    this.#pos = 0;
    this.#refCount = 0;
  }

  /** Lets go of the input and of everything read from it. */
  #forget(): void {
    this.#data = EMPTY;
    this.#dataView = undefined;
    const refs = this.#refs;
    const count = this.#refCount;
    if (count > KEEP_SLOTS || refs.length > KEEP_SLOTS) this.#refs = [];
    else for (let i = 0; i < count; i++) refs[i] = undefined;
    this.#refCount = 0;
    this.#busy = false;
  }

  get #view(): DataView {
    const data = this.#data;
    return this.#dataView ??= new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  #bad(what: string, at = this.#pos): SerializeError {
    return new SerializeError(`bad marshal data (${what}) at offset ${at}`);
  }

  #short(): SerializeError {
    return new SerializeError(`marshal data too short at offset ${this.#pos}`);
  }

  /** Checks that `n` more bytes are there. */
  #need(n: number): void {
    if (n > this.#data.length - this.#pos) throw this.#short();
  }

  #int32(): number {
    this.#need(4);
    const data = this.#data;
    const pos = this.#pos;
    this.#pos = pos + 4;
    return data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) | (data[pos + 3] << 24);
  }

  /** A little-endian float64 (bounds already checked). */
  #float64(pos: number): number {
    const data = this.#data;
    const scratch = this.#scratch;
    scratch.setInt32(
      0,
      data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) | (data[pos + 3] << 24),
      true,
    );
    scratch.setInt32(
      4,
      data[pos + 4] | (data[pos + 5] << 8) | (data[pos + 6] << 16) | (data[pos + 7] << 24),
      true,
    );
    return scratch.getFloat64(0, true);
  }

  /** A size field: not negative, and not more than the remaining bytes allow. */
  #size(what: string, bytesPerItem: number): number {
    const at = this.#pos;
    const n = this.#int32();
    if (n < 0) throw this.#bad(`${what} size out of range`, at);
    if (n * bytesPerItem > this.#data.length - this.#pos) throw this.#short();
    return n;
  }

  #remember<T>(flagged: number, value: T): T {
    if (flagged) this.#refs[this.#refCount++] = value;
    return value;
  }

  #read(depth: number): unknown {
    const data = this.#data;
    if (this.#pos >= data.length) throw this.#short();
    const at = this.#pos;
    const code = data[this.#pos++];
    const flagged = code & FLAG_REF;
    switch (code & ~FLAG_REF) {
      case TYPE_NONE:
        return null;
      case TYPE_TRUE:
        return true;
      case TYPE_FALSE:
        return false;
      case TYPE_NULL:
        return NULL;
      case TYPE_INT:
        return this.#remember(flagged, this.#int32());
      case TYPE_SHORT_ASCII:
      case TYPE_SHORT_ASCII_INTERNED: {
        this.#need(1);
        const n = data[this.#pos++];
        return this.#remember(
          flagged,
          n <= CACHED_LENGTH ? this.#cachedLatin1(n) : this.#latin1(n),
        );
      }
      case TYPE_ASCII:
      case TYPE_ASCII_INTERNED:
        return this.#remember(flagged, this.#latin1(this.#size("string", 1)));
      case TYPE_UNICODE:
      case TYPE_INTERNED:
        return this.#remember(flagged, this.#utf8(this.#size("string", 1)));
      case TYPE_REF: {
        const index = this.#int32();
        if (index < 0 || index >= this.#refCount) throw this.#bad("invalid reference", at);
        const value = this.#refs[index];
        if (value === UNDER_CONSTRUCTION) throw this.#bad("invalid reference", at);
        return value;
      }
      case TYPE_SMALL_TUPLE: {
        this.#need(1);
        const n = data[this.#pos++];
        if (n > data.length - this.#pos) throw this.#short();
        return this.#sequence(newTuple(), n, flagged, depth, true);
      }
      case TYPE_TUPLE:
        return this.#sequence(newTuple(), this.#size("tuple", 1), flagged, depth, true);
      case TYPE_LIST:
        return this.#sequence([], this.#size("list", 1), flagged, depth, false);
      case TYPE_DICT:
        return this.#dict(flagged, depth);
      case TYPE_SET:
        return this.#set(new Set(), this.#size("set", 1), flagged, depth);
      case TYPE_FROZENSET:
        return this.#set(new PyFrozenSet(), this.#size("set", 1), flagged, depth);
      case TYPE_BINARY_FLOAT: {
        this.#need(8);
        const value = this.#float64(this.#pos);
        this.#pos += 8;
        return this.#remember(flagged, value);
      }
      case TYPE_BINARY_COMPLEX: {
        this.#need(16);
        const real = this.#float64(this.#pos);
        const imag = this.#float64(this.#pos + 8);
        this.#pos += 16;
        return this.#remember(flagged, new PyComplex(real, imag));
      }
      case TYPE_LONG:
        return this.#remember(flagged, this.#long());
      case TYPE_STRING: {
        const n = this.#size("bytes object", 1);
        const bytes = data.subarray(this.#pos, this.#pos + n); // a view, as msgpack's bins
        this.#pos += n;
        return this.#remember(flagged, bytes);
      }
      case TYPE_INT64: {
        this.#need(8);
        const value = this.#view.getBigInt64(this.#pos, true);
        this.#pos += 8;
        return this.#remember(flagged, fromPythonInt(value));
      }
      case TYPE_FLOAT:
        return this.#remember(flagged, this.#textFloat());
      case TYPE_COMPLEX: {
        const real = this.#textFloat();
        const imag = this.#textFloat();
        return this.#remember(flagged, new PyComplex(real, imag));
      }
      case TYPE_CODE:
        throw new SerializeError(`marshal code objects are refused at offset ${at}`);
      case TYPE_STOPITER:
        throw new SerializeError(`unsupported marshal value StopIteration at offset ${at}`);
      case TYPE_ELLIPSIS:
        throw new SerializeError(`unsupported marshal value Ellipsis at offset ${at}`);
      default:
        throw this.#bad(`unknown type code 0x${code.toString(16).padStart(2, "0")}`, at);
    }
  }

  /** Reads an item inside a container: NULL is not an object there. */
  #item(depth: number, container: string): unknown {
    const value = this.#read(depth);
    if (value === NULL) throw this.#bad(`NULL object in ${container}`, this.#pos - 1);
    return value;
  }

  #enter(depth: number): number {
    if (depth >= this.#maxDepth) {
      throw new SerializeError(`marshal data nested deeper than ${this.#maxDepth} levels`);
    }
    return depth + 1;
  }

  #sequence(
    items: unknown[],
    n: number,
    flagged: number,
    depth: number,
    tuple: boolean,
  ): unknown[] {
    const inner = this.#enter(depth);
    this.#remember(flagged, items);
    for (let i = 0; i < n; i++) {
      const value = this.#read(inner);
      if (value === NULL) {
        throw this.#bad(`NULL object in ${tuple ? "tuple" : "list"}`, this.#pos - 1);
      }
      items[i] = value;
    }
    return items;
  }

  #set(set: Set<unknown>, n: number, flagged: number, depth: number): Set<unknown> {
    const inner = this.#enter(depth);
    this.#remember(flagged, set);
    for (let i = 0; i < n; i++) {
      const at = this.#pos;
      const item = this.#item(inner, "set");
      const unhashable = unhashableType(item);
      if (unhashable) throw this.#bad(`unhashable type: '${unhashable}'`, at);
      set.add(item);
    }
    return set;
  }

  #dict(flagged: number, depth: number): unknown {
    const inner = this.#enter(depth);
    let slot = -1;
    if (flagged) {
      slot = this.#refCount++;
      this.#refs[slot] = UNDER_CONSTRUCTION;
    }
    // Straight into a plain object while the keys are strs; a Map from the first other key on.
    const dict: PyStringDict = {};
    let map: Map<unknown, unknown> | null = null;
    // The keys in the order read, from the first one a plain object would reorder (an index).
    let order: string[] | null = null;
    let classDict = false;
    for (;;) {
      const at = this.#pos;
      const key = this.#read(inner);
      if (key === NULL) break;
      const value = this.#read(inner);
      if (value === NULL) break; // Python ends the dict here too, dropping the key
      if (map !== null) {
        if (typeof key !== "string") this.#hashable(key, at);
        map.set(key, value);
      } else if (typeof key === "string") {
        const first = key.charCodeAt(0);
        if (first >= 0x30 && first <= 0x39) (order ??= Object.keys(dict)).push(key);
        else if (order !== null) order.push(key);
        if (key === "__proto__") setDictItem(dict, key, value);
        else {
          dict[key] = value;
          if (key === "__class__") classDict = true;
        }
      } else {
        this.#hashable(key, at);
        // Same entries as a Map would have had from the start: first positions, last values.
        map = new Map();
        const keys = order ?? Object.keys(dict);
        for (let i = 0; i < keys.length; i++) map.set(keys[i], dict[keys[i]]);
        map.set(key, value);
      }
    }
    let result: unknown = map;
    if (map === null) {
      result = classDict ? this.#classes.fromDict(dict) : dict;
    }
    if (slot >= 0) this.#refs[slot] = result;
    return result;
  }

  /** Refuses a dict key Python could not hash. */
  #hashable(key: unknown, at: number): void {
    const unhashable = unhashableType(key);
    if (unhashable) throw this.#bad(`unhashable type: '${unhashable}'`, at);
  }

  #long(): number | bigint {
    const at = this.#pos;
    const n = this.#int32();
    if (n === -2147483648) throw this.#bad("long size out of range", at);
    const size = n < 0 ? -n : n;
    if (size * 2 > this.#data.length - this.#pos) throw this.#short();
    if (size === 0) return 0;
    const view = this.#view;
    const start = this.#pos;
    for (let i = 0; i < size; i++) {
      if (view.getUint16(start + 2 * i, true) > 0x7fff) {
        throw this.#bad("digit out of range in long", start + 2 * i);
      }
    }
    if (view.getUint16(start + 2 * (size - 1), true) === 0) {
      throw this.#bad("unnormalized long data", start);
    }
    this.#pos += 2 * size;
    if (size <= 3) { // below 2^45: exact as a number
      let value = 0;
      for (let i = size - 1; i >= 0; i--) {
        value = value * 32768 + view.getUint16(start + 2 * i, true);
      }
      return n < 0 ? -value : value;
    }
    const magnitude = digitsToBigInt(view, start, size);
    return fromPythonInt(n < 0 ? -magnitude : magnitude);
  }

  #textFloat(): number {
    this.#need(1);
    const n = this.#data[this.#pos++];
    const at = this.#pos;
    const text = this.#latin1(n);
    if (!FLOAT_TEXT.test(text)) throw this.#bad(`invalid float text ${JSON.stringify(text)}`, at);
    const lower = text.toLowerCase();
    if (lower.endsWith("nan")) return NaN;
    if (lower.endsWith("inf") || lower.endsWith("infinity")) {
      return text.startsWith("-") ? -Infinity : Infinity;
    }
    return Number(text);
  }

  /**
   * n bytes as Latin-1, from the cache of short strs when read before: the same string object
   * each time is cheaper to make and much cheaper to add as a property than a fresh one.
   */
  #cachedLatin1(n: number): string {
    this.#need(n);
    if (n === 0) return "";
    const data = this.#data;
    const start = this.#pos;
    const end = start + n;
    // Two slots per hash of the length and three bytes: cheap, and good enough for a cache.
    let hash = (n << 24) ^ (data[start] << 16) ^ (data[start + (n >> 1)] << 8) ^ data[end - 1];
    hash = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d);
    hash = Math.imul(hash ^ (hash >>> 12), 0x297a2d39);
    const slot = (hash ^ (hash >>> 15)) & (STR_CACHE_SIZE - 2);
    const cache = this.#strCache ??= new Array(STR_CACHE_SIZE).fill("");
    const first = cache[slot];
    if (this.#matches(first, start, n)) {
      this.#pos = end;
      return first;
    }
    const second = cache[slot + 1];
    if (this.#matches(second, start, n)) {
      this.#pos = end;
      return second;
    }
    // The newest goes first, the one it displaces second.
    const text = this.#latin1(n);
    cache[slot + 1] = first;
    cache[slot] = text;
    return text;
  }

  /** Whether a cached str is the n bytes at `start` as Latin-1. */
  #matches(cached: string, start: number, n: number): boolean {
    if (cached.length !== n) return false;
    const data = this.#data;
    for (let i = 0; i < n; i++) {
      if (cached.charCodeAt(i) !== data[start + i]) return false;
    }
    return true;
  }

  /** n bytes as Latin-1 (Python reads the ASCII types that way). */
  #latin1(n: number): string {
    this.#need(n);
    const data = this.#data;
    const start = this.#pos;
    const end = start + n;
    this.#pos = end;
    if (n <= 64) {
      const codes = new Array<number>(n);
      for (let i = 0; i < n; i++) codes[i] = data[start + i];
      return String.fromCharCode.apply(null, codes);
    }
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (data[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return UTF8.decode(data.subarray(start, end));
    const parts: string[] = [];
    for (let i = start; i < end; i += 8192) {
      parts.push(String.fromCharCode(...data.subarray(i, Math.min(end, i + 8192))));
    }
    return parts.join("");
  }

  /** n bytes of UTF-8, lone surrogates allowed (Python's "surrogatepass"). */
  #utf8(n: number): string {
    this.#need(n);
    const start = this.#pos;
    this.#pos += n;
    const bytes = this.#data.subarray(start, start + n);
    try {
      return UTF8.decode(bytes);
    } catch {
      return decodeSurrogatePass(bytes, start);
    }
  }
}

/** An empty tuple; Reflect.construct is several times quicker than `new PyTuple()` in V8. */
function newTuple(): unknown[] {
  return Reflect.construct(Array, [], PyTuple);
}

/** The magnitude of a long from its 15-bit digits, in linear time (through hex text). */
function digitsToBigInt(view: DataView, start: number, size: number): bigint {
  const hex: string[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < size; i++) {
    acc |= view.getUint16(start + 2 * i, true) << bits;
    bits += 15;
    while (bits >= 4) {
      hex.push((acc & 0xf).toString(16));
      acc >>>= 4;
      bits -= 4;
    }
  }
  if (bits > 0) hex.push(acc.toString(16));
  return BigInt("0x" + hex.reverse().join(""));
}

/** Strict UTF-8 decoding that lets encoded surrogates (ED A0..BF xx) through as lone ones. */
function decodeSurrogatePass(bytes: Uint8Array, offset: number): string {
  const units: number[] = [];
  const parts: string[] = [];
  const n = bytes.length;
  let i = 0;
  const fail = (): never => {
    throw new SerializeError(
      `bad marshal data (invalid UTF-8 byte 0x${bytes[i].toString(16)}) at offset ${offset + i}`,
    );
  };
  const cont = (k: number): number => {
    if (i + k >= n) fail();
    const b = bytes[i + k];
    if ((b & 0xc0) !== 0x80) fail();
    return b & 0x3f;
  };
  while (i < n) {
    const b = bytes[i];
    let c: number;
    if (b < 0x80) {
      c = b;
      i += 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
      c = ((b & 0x1f) << 6) | cont(1);
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      c = ((b & 0x0f) << 12) | (cont(1) << 6) | cont(2);
      if (c < 0x800) fail();
      i += 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      c = ((b & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
      if (c < 0x10000 || c > 0x10ffff) fail();
      i += 4;
    } else {
      return fail();
    }
    if (c >= 0x10000) {
      c -= 0x10000;
      units.push(0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
    } else units.push(c);
    if (units.length >= 8192) {
      parts.push(String.fromCharCode(...units));
      units.length = 0;
    }
  }
  parts.push(String.fromCharCode(...units));
  return parts.join("");
}
