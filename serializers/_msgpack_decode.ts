/**
 * The msgpack decoder behind {@linkcode MsgpackSerializer}: reads every msgpack format the way
 * Python's `msgpack.unpackb(data, raw=False, object_hook=..., ext_hook=...)` does under Pyro5,
 * from untrusted input: every read is bounds-checked, no declared length is believed beyond the
 * bytes really there, nesting is capped, and every failure is a {@linkcode SerializeError}.
 *
 * @module
 */
import { PyroError, SerializeError } from "../errors.ts";
import type { ClassRegistry } from "./classes.ts";
import {
  EXT_BIGINT,
  EXT_COMPLEX,
  EXT_DATE,
  EXT_DATETIME,
  EXT_TIMESTAMP,
} from "./_msgpack_encode.ts";
import { fromPythonInt, PyComplex, PyDate, type PyStringDict, setDictItem } from "./values.ts";

/** Strings up to this many bytes are decoded by hand rather than by `TextDecoder`. */
const SHORT_STRING = 64;
const TWO_32 = 4294967296;
/** Dict keys of up to this many bytes go through the key cache. */
const KEY_CACHE_MAX_LENGTH = 16;
/** Slots of the key cache (a power of two). */
const KEY_CACHE_SIZE = 512;
/** Python refuses int() of longer decimal texts (sys.int_info.default_max_str_digits). */
const MAX_INT_DIGITS = 4300;
/** Largest absolute Date time value in milliseconds. */
const MAX_DATE_MS = 8.64e15;
/** Day number of 1970-01-01 counted from 0001-01-01 as day 1 (Python's date.toordinal()). */
const EPOCH_ORDINAL = 719163;
/** Ordinal of 9999-12-31, Python's date.max. */
const MAX_ORDINAL = 3652059;
const DAY_MS = 86400000;
const BIGINT_TEXT = /^[ \t\n\v\f\r]*[+-]?[0-9]+(?:_[0-9]+)*[ \t\n\v\f\r]*$/;

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const EMPTY = new Uint8Array(0);

/**
 * Reads msgpack. One decoder serves many inputs in turn; it keeps nothing of an input after its
 * `decode` returns. Not re-entrant: while {@linkcode MsgpackDecoder.busy} is true (a class
 * converter deserializing from inside a decode), use another decoder.
 */
export class MsgpackDecoder {
  #classes: ClassRegistry;
  #maxDepth: number;
  #data: Uint8Array = EMPTY;
  #pos = 0;
  /** Made on first need: many messages hold no float and no 64-bit int. */
  #dataView: DataView | undefined;
  /**
   * Recent short dict keys by a hash of their bytes (a cache: it changes no result), made on
   * first need.
   */
  #keyCache: (string | undefined)[] | undefined;
  /** Eight bytes to turn a big-endian float64 into a number without a DataView on the input. */
  #scratch = new DataView(new ArrayBuffer(8));
  #busy = false;

  /**
   * @param classes turns dicts with `__class__` into objects
   * @param maxDepth deepest container nesting accepted
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
   * Decodes exactly one value spanning the whole input.
   *
   * @param data the msgpack bytes (never modified; bin values are views on it)
   * @returns the value
   * @throws {SerializeError} on malformed input or trailing bytes
   */
  decode(data: Uint8Array): unknown {
    this.#busy = true;
    this.#data = data;
    this.#pos = 0;
    try {
      const value = this.#read(0);
      if (this.#pos !== data.length) {
        throw new SerializeError(
          `invalid msgpack data: extra data after the value, at byte ${this.#pos}`,
        );
      }
      return value;
    } finally {
      this.#data = EMPTY;
      this.#dataView = undefined;
      this.#busy = false;
    }
  }

  get #view(): DataView {
    const data = this.#data;
    return this.#dataView ??= new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  /** Big-endian float64 at `pos`. */
  #float64(pos: number): number {
    const scratch = this.#scratch;
    scratch.setUint32(0, this.#u32(pos));
    scratch.setUint32(4, this.#u32(pos + 4));
    return scratch.getFloat64(0);
  }

  /** Big-endian uint16 at `pos`. */
  #u16(pos: number): number {
    const data = this.#data;
    return (data[pos] << 8) | data[pos + 1];
  }

  /** Big-endian uint32 at `pos`. */
  #u32(pos: number): number {
    const data = this.#data;
    return data[pos] * 0x1000000 + ((data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]);
  }

  #incomplete(): SerializeError {
    return new SerializeError(`invalid msgpack data: incomplete input at byte ${this.#pos}`);
  }

  /** Checks that `n` more bytes are there. */
  #need(n: number): void {
    if (this.#data.length - this.#pos < n) throw this.#incomplete();
  }

  #read(depth: number): unknown {
    const data = this.#data;
    if (this.#pos >= data.length) throw this.#incomplete();
    const byte = data[this.#pos++];
    if (byte < 0x80) return byte;
    if (byte >= 0xe0) return byte - 0x100;
    if (byte < 0x90) return this.#readMap(byte & 0x0f, depth);
    if (byte < 0xa0) return this.#readArray(byte & 0x0f, depth);
    if (byte < 0xc0) {
      // Short strs repeat (names, tags, enum-like values): from the cache, like dict keys.
      this.#pos--;
      return this.#cachedKey(byte & 0x1f);
    }
    let pos = this.#pos;
    switch (byte) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        this.#need(1);
        this.#pos = pos + 1;
        return this.#readBin(data[pos]);
      case 0xc5:
        this.#need(2);
        this.#pos = pos + 2;
        return this.#readBin(this.#u16(pos));
      case 0xc6:
        this.#need(4);
        this.#pos = pos + 4;
        return this.#readBin(this.#u32(pos));
      case 0xc7:
        this.#need(2);
        this.#pos = pos + 2;
        return this.#readExt(data[pos], (data[pos + 1] << 24) >> 24);
      case 0xc8:
        this.#need(3);
        this.#pos = pos + 3;
        return this.#readExt(this.#u16(pos), (data[pos + 2] << 24) >> 24);
      case 0xc9:
        this.#need(5);
        this.#pos = pos + 5;
        return this.#readExt(this.#u32(pos), (data[pos + 4] << 24) >> 24);
      case 0xca:
        this.#need(4);
        this.#pos = pos + 4;
        return this.#view.getFloat32(pos);
      case 0xcb:
        this.#need(8);
        this.#pos = pos + 8;
        return this.#float64(pos);
      case 0xcc:
        this.#need(1);
        this.#pos = pos + 1;
        return data[pos];
      case 0xcd:
        this.#need(2);
        this.#pos = pos + 2;
        return this.#u16(pos);
      case 0xce:
        this.#need(4);
        this.#pos = pos + 4;
        return this.#u32(pos);
      case 0xcf: {
        this.#need(8);
        this.#pos = pos + 8;
        const n = this.#u32(pos) * TWO_32 + this.#u32(pos + 4);
        return Number.isSafeInteger(n) ? n : this.#view.getBigUint64(pos);
      }
      case 0xd0:
        this.#need(1);
        this.#pos = pos + 1;
        return (data[pos] << 24) >> 24;
      case 0xd1:
        this.#need(2);
        this.#pos = pos + 2;
        return (this.#u16(pos) << 16) >> 16;
      case 0xd2:
        this.#need(4);
        this.#pos = pos + 4;
        return (data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3];
      case 0xd3: {
        this.#need(8);
        this.#pos = pos + 8;
        const n =
          ((data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]) *
            TWO_32 + this.#u32(pos + 4);
        return Number.isSafeInteger(n) ? n : this.#view.getBigInt64(pos);
      }
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        this.#need(1);
        this.#pos = pos + 1;
        return this.#readExt(1 << (byte - 0xd4), (data[pos] << 24) >> 24);
      case 0xd9:
        this.#need(1);
        this.#pos = pos + 1;
        return this.#readString(data[pos]);
      case 0xda:
        this.#need(2);
        this.#pos = pos + 2;
        return this.#readString(this.#u16(pos));
      case 0xdb:
        this.#need(4);
        this.#pos = pos + 4;
        return this.#readString(this.#u32(pos));
      case 0xdc:
        this.#need(2);
        this.#pos = pos + 2;
        return this.#readArray(this.#u16(pos), depth);
      case 0xdd:
        this.#need(4);
        this.#pos = pos + 4;
        return this.#readArray(this.#u32(pos), depth);
      case 0xde:
        this.#need(2);
        this.#pos = pos + 2;
        return this.#readMap(this.#u16(pos), depth);
      case 0xdf:
        this.#need(4);
        this.#pos = pos + 4;
        return this.#readMap(this.#u32(pos), depth);
      default:
        pos = this.#pos - 1;
        throw new SerializeError(`invalid msgpack data: reserved byte 0xc1 at byte ${pos}`);
    }
  }

  #readString(length: number): string {
    this.#need(length);
    const start = this.#pos;
    this.#pos = start + length;
    if (length <= SHORT_STRING) return this.#utf8(start, start + length);
    try {
      return UTF8.decode(this.#data.subarray(start, start + length));
    } catch (error) {
      throw this.#badUtf8(start, error);
    }
  }

  #badUtf8(start: number, cause?: unknown): SerializeError {
    return new SerializeError(`invalid msgpack data: invalid UTF-8 in str at byte ${start}`, {
      cause,
    });
  }

  /** Strict UTF-8 by hand (as `TextDecoder` with `fatal`), cheaper for short strings. */
  #utf8(start: number, end: number): string {
    const data = this.#data;
    if (end - start <= 16) {
      // Short ASCII, the usual dict key: no array needed.
      let text = "";
      let k = start;
      for (; k < end; k++) {
        const c = data[k];
        if (c >= 0x80) break;
        text += String.fromCharCode(c);
      }
      if (k === end) return text;
    }
    const units: number[] = [];
    let i = start;
    while (i < end) {
      const b0 = data[i++];
      if (b0 < 0x80) {
        units.push(b0);
        continue;
      }
      if (b0 >= 0xc2 && b0 <= 0xdf) {
        const b1 = i < end ? data[i] : 0;
        if ((b1 & 0xc0) !== 0x80) throw this.#badUtf8(start);
        units.push(((b0 & 0x1f) << 6) | (b1 & 0x3f));
        i += 1;
      } else if (b0 >= 0xe0 && b0 <= 0xef) {
        const b1 = i < end ? data[i] : 0;
        const b2 = i + 1 < end ? data[i + 1] : 0;
        // No overlong forms (e0 a0..), no surrogates (ed ..9f).
        const low = b0 === 0xe0 ? 0xa0 : 0x80;
        const high = b0 === 0xed ? 0x9f : 0xbf;
        if (b1 < low || b1 > high || (b2 & 0xc0) !== 0x80) throw this.#badUtf8(start);
        units.push(((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f));
        i += 2;
      } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        const b1 = i < end ? data[i] : 0;
        const b2 = i + 1 < end ? data[i + 1] : 0;
        const b3 = i + 2 < end ? data[i + 2] : 0;
        // No overlong forms (f0 90..), nothing above U+10FFFF (f4 ..8f).
        const low = b0 === 0xf0 ? 0x90 : 0x80;
        const high = b0 === 0xf4 ? 0x8f : 0xbf;
        if (b1 < low || b1 > high || (b2 & 0xc0) !== 0x80 || (b3 & 0xc0) !== 0x80) {
          throw this.#badUtf8(start);
        }
        const point = (((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) |
          (b3 & 0x3f)) - 0x10000;
        units.push(0xd800 | (point >> 10), 0xdc00 | (point & 0x3ff));
        i += 3;
      } else {
        throw this.#badUtf8(start);
      }
    }
    return String.fromCharCode.apply(null, units);
  }

  /**
   * A `subarray` view on the input, no copy (the connection gives every message a buffer of its
   * own): values alias the input, which must not be modified or reused while they are in use.
   */
  #readBin(length: number): Uint8Array {
    this.#need(length);
    const start = this.#pos;
    this.#pos = start + length;
    return this.#data.subarray(start, start + length);
  }

  #enter(depth: number): void {
    if (depth >= this.#maxDepth) {
      throw new SerializeError(
        `invalid msgpack data: nesting deeper than ${this.#maxDepth} at byte ${this.#pos}`,
      );
    }
  }

  #readArray(length: number, depth: number): unknown[] {
    this.#enter(depth);
    // Every element takes at least one byte: a longer claim cannot be true.
    if (length > this.#data.length - this.#pos) throw this.#incomplete();
    const items = new Array<unknown>(length);
    for (let i = 0; i < length; i++) items[i] = this.#read(depth + 1);
    return items;
  }

  #readMap(size: number, depth: number): unknown {
    this.#enter(depth);
    if (size * 2 > this.#data.length - this.#pos) throw this.#incomplete();
    let dict: PyStringDict = {};
    let map: Map<unknown, unknown> | undefined;
    const data = this.#data;
    for (let i = 0; i < size; i++) {
      const head = data[this.#pos];
      const key = head > 0xa0 && head <= 0xa0 + KEY_CACHE_MAX_LENGTH
        ? this.#cachedKey(head & 0x1f)
        : this.#read(depth + 1);
      const value = this.#read(depth + 1);
      if (map !== undefined) {
        map.set(key, value);
      } else if (typeof key === "string") {
        if (key === "__proto__") setDictItem(dict, key, value);
        else dict[key] = value;
      } else {
        // Python (strict_map_key) refuses non-str keys; we keep them, in a Map.
        map = new Map(Object.entries(dict));
        map.set(key, value);
        dict = {};
      }
    }
    if (map !== undefined) return map;
    if (Object.hasOwn(dict, "__class__")) return this.#fromDict(dict);
    return dict;
  }

  /**
   * A fixstr (dict key or value), from the cache when seen before: the same string object each
   * time makes adding it as a property much cheaper than a fresh string would, and a cached
   * value costs one comparison instead of building the string again.
   */
  #cachedKey(length: number): string {
    const data = this.#data;
    const start = this.#pos + 1;
    const end = start + length;
    if (end > data.length) {
      this.#pos++;
      return this.#readString(length);
    }
    let hash = length;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ data[i], 0x01000193);
    const slot = (hash >>> 0) & (KEY_CACHE_SIZE - 1);
    const cache = this.#keyCache ??= new Array(KEY_CACHE_SIZE).fill(undefined);
    const cached = cache[slot];
    if (cached !== undefined && cached.length === length) {
      let i = 0;
      while (i < length && cached.charCodeAt(i) === data[start + i]) i++;
      if (i === length) {
        this.#pos = end;
        return cached;
      }
    }
    this.#pos++;
    const key = this.#readString(length);
    // Only ASCII keys: then string length and byte length agree, as the check above needs.
    if (key.length === length) cache[slot] = key;
    return key;
  }

  #fromDict(dict: PyStringDict): unknown {
    try {
      return this.#classes.fromDict(dict);
    } catch (error) {
      if (error instanceof PyroError) throw error;
      throw new SerializeError(
        `cannot deserialize class ${String(dict.__class__)}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
  }

  #readExt(length: number, type: number): unknown {
    this.#need(length);
    const start = this.#pos;
    this.#pos = start + length;
    const view = this.#view;
    switch (type) {
      case EXT_COMPLEX:
        this.#extLength(type, length, 16, start);
        return new PyComplex(view.getFloat64(start, true), view.getFloat64(start + 8, true));
      case EXT_BIGINT:
        return this.#bigIntText(start, length);
      case EXT_DATETIME: {
        this.#extLength(type, length, 8, start);
        const ms = Math.round(view.getFloat64(start, true) * 1000);
        return this.#date(ms, start);
      }
      case EXT_DATE: {
        this.#extLength(type, length, 8, start);
        const ordinal = view.getInt32(start + 4, true) * TWO_32 + view.getUint32(start, true);
        if (ordinal < 1 || ordinal > MAX_ORDINAL) {
          throw new SerializeError(
            `invalid msgpack data: date ordinal out of range at byte ${start}`,
          );
        }
        return new PyDate((ordinal - EPOCH_ORDINAL) * DAY_MS);
      }
      case EXT_TIMESTAMP:
        return this.#timestamp(start, length);
      default:
        throw new SerializeError(`invalid ext code for msgpack: ${type}`);
    }
  }

  #extLength(type: number, length: number, expected: number, start: number): void {
    if (length !== expected) {
      throw new SerializeError(
        `invalid msgpack data: ext ${type} needs ${expected} bytes, got ${length} at byte ${start}`,
      );
    }
  }

  #date(ms: number, start: number): Date {
    if (!(Math.abs(ms) <= MAX_DATE_MS)) {
      throw new SerializeError(`invalid msgpack data: time out of range at byte ${start}`);
    }
    return new Date(ms);
  }

  /** msgpack's timestamp ext: 32-bit seconds, or 30-bit nanoseconds with 34 or 64-bit seconds. */
  #timestamp(start: number, length: number): Date {
    const view = this.#view;
    let seconds: number;
    let nanoseconds = 0;
    if (length === 4) {
      seconds = view.getUint32(start);
    } else if (length === 8) {
      const high = view.getUint32(start);
      nanoseconds = high >>> 2;
      seconds = (high & 3) * TWO_32 + view.getUint32(start + 4);
    } else if (length === 12) {
      nanoseconds = view.getUint32(start);
      seconds = view.getInt32(start + 4) * TWO_32 + view.getUint32(start + 8);
    } else {
      throw new SerializeError(
        `invalid msgpack data: timestamp needs 4, 8 or 12 bytes, got ${length} at byte ${start}`,
      );
    }
    if (nanoseconds > 999999999) {
      throw new SerializeError(`invalid msgpack data: timestamp nanoseconds at byte ${start}`);
    }
    return this.#date(seconds * 1000 + Math.floor(nanoseconds / 1e6), start);
  }

  /** Pyro5's ext 0x31: `int(data)` of ASCII decimal text. */
  #bigIntText(start: number, length: number): number | bigint {
    const data = this.#data;
    let text = "";
    if (length <= MAX_INT_DIGITS + 64) {
      for (let i = start; i < start + length; i++) text += String.fromCharCode(data[i]);
    }
    if (!BIGINT_TEXT.test(text) || text.replace(/[^0-9]/g, "").length > MAX_INT_DIGITS) {
      throw new SerializeError(`invalid msgpack data: invalid int text in ext 49 at byte ${start}`);
    }
    return fromPythonInt(BigInt(text.replaceAll("_", "").trim()));
  }
}
