/**
 * The msgpack encoder behind {@linkcode MsgpackSerializer}: writes values the way Python's
 * `msgpack.packb(value, use_bin_type=True, default=...)` does under Pyro5, into chunks of
 * memory that successive results are carved from.
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import type { ClassRegistry } from "./classes.ts";
import { PyComplex, PyDate, PyFloat, PyFrozenSet, type PyStringDict } from "./values.ts";
import { writeCodePoint } from "./_utf8.ts";

const DAY_MS = 86400000;
const EPOCH_ORDINAL = 719163;

/** Pyro5's ext type for `complex`: two float64, real then imaginary, little-endian. */
export const EXT_COMPLEX = 0x30;
/** Pyro5's ext type for an int beyond 64 bits: its ASCII decimal text. */
export const EXT_BIGINT = 0x31;
/** Pyro5's ext type for `datetime`: a float64 POSIX timestamp in seconds, little-endian. */
export const EXT_DATETIME = 0x32;
/** Pyro5's ext type for `date`: an int64 proleptic Gregorian ordinal, little-endian. */
export const EXT_DATE = 0x33;
/** msgpack's own timestamp ext type. */
export const EXT_TIMESTAMP = -1;

/** Size of the chunks results are carved from. */
const CHUNK_SIZE = 16384;
/**
 * In a parts encode, `bin` values at least this long are referenced, not copied: copying less
 * costs less than the extra write of a part.
 */
export const BIN_REFERENCE_MIN = 256 * 1024;
/** Strings up to this length are encoded by hand rather than by `encodeInto`. */
const SHORT_STRING = 64;
const TWO_32 = 4294967296;
const UINT64_MAX = 0xffffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

const UTF8 = new TextEncoder();

/** The chunk before the first encode: chunks are allocated on first use. */
const NO_CHUNK = new Uint8Array(0);
const NO_VIEW = new DataView(NO_CHUNK.buffer);

/** Python's strict UTF-8 codec refuses lone surrogates, so its packer does too. */
function loneSurrogate(): SerializeError {
  return new SerializeError(
    "'utf-8' codec can't encode a lone surrogate in a str: surrogates not allowed",
  );
}

/** Size of the str header for a UTF-8 length. */
function strHeaderSize(length: number): number {
  return length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

/**
 * Writes msgpack into a chunk of memory that successive results are carved from, so that a
 * small result costs a view instead of a fresh `ArrayBuffer` (allocating one costs more than
 * encoding a small call). A region handed out is never written again: results stay valid and
 * independent. A result that outgrows the chunk moves to a bigger fresh one.
 *
 * Not re-entrant: while {@linkcode MsgpackEncoder.busy} is true (a class converter serializing
 * from inside an encode), use another encoder.
 */
export class MsgpackEncoder {
  #classes: ClassRegistry;
  #maxDepth: number;
  #chunkSize: number;
  #buf: Uint8Array = NO_CHUNK;
  #view: DataView = NO_VIEW;
  /** Where the current result starts in `#buf`. */
  #start = 0;
  #pos = 0;
  #busy = false;
  /** Whether the running encode may reference big `bin` values (a parts encode). */
  #partsMode = false;
  /** The parts handed out so far by a parts encode (made at its first referenced bin). */
  #parts: Uint8Array[] | null = null;

  /**
   * @param classes converts class instances into dicts
   * @param maxDepth deepest container nesting written before a SerializeError (cycles end there)
   * @param chunkSize size of the first chunk (allocated by the first encode)
   */
  constructor(classes: ClassRegistry, maxDepth: number, chunkSize: number = CHUNK_SIZE) {
    this.#classes = classes;
    this.#maxDepth = maxDepth;
    this.#chunkSize = chunkSize;
  }

  /** Whether an encode is running on this encoder right now. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Encodes one value.
   *
   * @param value the value
   * @returns its msgpack bytes (a view on a chunk no other result shares bytes with)
   * @throws {SerializeError} for values msgpack under Pyro5 cannot carry
   */
  encode(value: unknown): Uint8Array {
    this.#begin();
    try {
      this.#write(value, 0);
      return this.#finish();
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Encodes one value like {@linkcode MsgpackEncoder.encode}, but references each `bin` of at
   * least {@linkcode BIN_REFERENCE_MIN} bytes instead of copying it.
   *
   * @param value the value
   * @returns its msgpack bytes; when a bin was referenced, parts to be written one after
   * another, the referenced bins among them as given
   * @throws {SerializeError} for values msgpack under Pyro5 cannot carry
   */
  encodeParts(value: unknown): Uint8Array | Uint8Array[] {
    this.#begin();
    this.#partsMode = true;
    try {
      this.#write(value, 0);
      return this.#finishParts();
    } finally {
      this.#endParts();
    }
  }

  /**
   * Encodes Pyro5's call tuple `(objectId, method, args, kwargs)`.
   *
   * @param objectId the object id
   * @param method the method name
   * @param args positional arguments
   * @param kwargs keyword arguments
   * @returns the msgpack bytes
   * @throws {SerializeError} for arguments msgpack under Pyro5 cannot carry
   */
  encodeCall(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
  ): Uint8Array {
    this.#begin();
    try {
      this.#writeCall(objectId, method, args, kwargs);
      return this.#finish();
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Encodes a call like {@linkcode MsgpackEncoder.encodeCall}, referencing big `bin` values
   * as {@linkcode MsgpackEncoder.encodeParts} does.
   *
   * @param objectId the object id
   * @param method the method name
   * @param args positional arguments
   * @param kwargs keyword arguments
   * @returns the msgpack bytes, or parts when a bin was referenced
   * @throws {SerializeError} for arguments msgpack under Pyro5 cannot carry
   */
  encodeCallParts(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
  ): Uint8Array | Uint8Array[] {
    this.#begin();
    this.#partsMode = true;
    try {
      this.#writeCall(objectId, method, args, kwargs);
      return this.#finishParts();
    } finally {
      this.#endParts();
    }
  }

  #writeCall(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
  ): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x94;
    this.#writeString(objectId);
    this.#writeString(method);
    this.#writeArray(args, 1);
    this.#writeObject(kwargs, 1);
  }

  #finishParts(): Uint8Array | Uint8Array[] {
    const parts = this.#parts;
    if (parts === null) return this.#finish();
    if (this.#pos > this.#start) parts.push(this.#finish());
    return parts;
  }

  #endParts(): void {
    this.#partsMode = false;
    this.#parts = null;
    this.#busy = false;
  }

  #begin(): void {
    this.#busy = true;
    if (this.#buf === NO_CHUNK) this.#newChunk(this.#chunkSize);
    // A failed encode leaves #start where it was, so its bytes are simply overwritten.
    this.#pos = this.#start;
  }

  #finish(): Uint8Array {
    const result = this.#buf.subarray(this.#start, this.#pos);
    this.#start = this.#pos;
    if (this.#buf.length > CHUNK_SIZE) {
      // Leave an outsized chunk to the result that needed it, so it is not kept alive here;
      // the next encode allocates a normal one.
      this.#buf = NO_CHUNK;
      this.#chunkSize = CHUNK_SIZE;
      this.#start = 0;
    }
    return result;
  }

  #newChunk(size: number): void {
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Makes room for `n` more bytes, moving the current result to a fresh chunk if needed. */
  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const used = this.#pos - this.#start;
    let size = CHUNK_SIZE;
    if (n >= CHUNK_SIZE) {
      // One big value (bytes, a long string): room for it and a little more, not double.
      size = used + n + CHUNK_SIZE;
    } else {
      while (size < 2 * (used + n)) size *= 2;
    }
    const old = this.#buf;
    this.#newChunk(size);
    this.#buf.set(old.subarray(this.#start, this.#pos));
    this.#start = 0;
    this.#pos = used;
  }

  #write(value: unknown, depth: number): void {
    switch (typeof value) {
      case "string":
        return this.#writeString(value);
      case "number":
        if (Number.isSafeInteger(value) && (value !== 0 || 1 / value > 0)) {
          return this.#writeInt(value);
        }
        return this.#writeFloat(value);
      case "boolean":
        this.#ensure(1);
        this.#buf[this.#pos++] = value ? 0xc3 : 0xc2;
        return;
      case "undefined":
        this.#ensure(1);
        this.#buf[this.#pos++] = 0xc0;
        return;
      case "bigint":
        return this.#writeBigInt(value);
      case "object":
        if (value === null) {
          this.#ensure(1);
          this.#buf[this.#pos++] = 0xc0;
          return;
        }
        return this.#writeObjectValue(value, depth);
      case "function": // the class registry decides: a callback proxy, or a refusal
        return this.#writeObjectValue(value, depth);
      default:
        throw new SerializeError(`don't know how to serialize ${typeof value}`);
    }
  }

  #writeObjectValue(value: object, depth: number): void {
    if (depth >= this.#maxDepth) {
      throw new SerializeError(
        `recursion limit exceeded: nesting deeper than ${this.#maxDepth} (or a cycle)`,
      );
    }
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      return this.#writeObject(value as PyStringDict, depth + 1);
    }
    if (Array.isArray(value)) return this.#writeArray(value, depth + 1);
    if (value instanceof Uint8Array) return this.#writeBin(value);
    if (value instanceof PyFloat) return this.#writeFloat(value.value);
    if (value instanceof Map) return this.#writeMap(value, depth + 1);
    if (value instanceof Set) {
      if (value instanceof PyFrozenSet) {
        // Python Pyro5's msgpack cannot carry a frozenset either.
        throw new SerializeError(
          "don't know how to serialize class <class 'frozenset'> using serializer " +
            "MsgpackSerializer. Give it vars() or an appropriate __getstate__",
        );
      }
      return this.#writeSet(value, depth + 1);
    }
    if (value instanceof PyDate) return this.#writeCalendarDate(value);
    if (value instanceof Date) return this.#writeDate(value);
    if (value instanceof PyComplex) {
      this.#ensure(18);
      this.#buf[this.#pos] = 0xd8;
      this.#buf[this.#pos + 1] = EXT_COMPLEX;
      this.#view.setFloat64(this.#pos + 2, value.real, true);
      this.#view.setFloat64(this.#pos + 10, value.imag, true);
      this.#pos += 18;
      return;
    }
    if (value instanceof ArrayBuffer) return this.#writeBin(new Uint8Array(value));
    if (ArrayBuffer.isView(value)) {
      if (value instanceof DataView) {
        return this.#writeBin(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      }
      if (value instanceof Float64Array || value instanceof Float32Array) {
        // Like Python's array('d').tolist(): every element stays a float, 2.0 included.
        this.#writeArrayHeader(value.length);
        for (let i = 0; i < value.length; i++) this.#writeFloat(value[i]);
        return;
      }
      return this.#writeArray(value as unknown as ArrayLike<unknown>, depth + 1);
    }
    const dict = this.#classes.toDict(value);
    return this.#writeObject(dict, depth + 1);
  }

  #writeInt(n: number): void {
    this.#ensure(9);
    const buf = this.#buf;
    const pos = this.#pos;
    if (n >= 0) {
      if (n < 0x80) {
        buf[pos] = n;
        this.#pos = pos + 1;
      } else if (n < 0x100) {
        buf[pos] = 0xcc;
        buf[pos + 1] = n;
        this.#pos = pos + 2;
      } else if (n < 0x10000) {
        buf[pos] = 0xcd;
        buf[pos + 1] = n >>> 8;
        buf[pos + 2] = n;
        this.#pos = pos + 3;
      } else if (n < TWO_32) {
        buf[pos] = 0xce;
        this.#view.setUint32(pos + 1, n);
        this.#pos = pos + 5;
      } else {
        buf[pos] = 0xcf;
        this.#view.setUint32(pos + 1, Math.floor(n / TWO_32));
        this.#view.setUint32(pos + 5, n >>> 0);
        this.#pos = pos + 9;
      }
    } else if (n >= -32) {
      buf[pos] = n & 0xff;
      this.#pos = pos + 1;
    } else if (n >= -0x80) {
      buf[pos] = 0xd0;
      buf[pos + 1] = n & 0xff;
      this.#pos = pos + 2;
    } else if (n >= -0x8000) {
      buf[pos] = 0xd1;
      buf[pos + 1] = (n >> 8) & 0xff;
      buf[pos + 2] = n & 0xff;
      this.#pos = pos + 3;
    } else if (n >= -0x80000000) {
      buf[pos] = 0xd2;
      this.#view.setInt32(pos + 1, n);
      this.#pos = pos + 5;
    } else {
      buf[pos] = 0xd3;
      this.#view.setInt32(pos + 1, Math.floor(n / TWO_32));
      this.#view.setUint32(pos + 5, n >>> 0);
      this.#pos = pos + 9;
    }
  }

  #writeFloat(n: number): void {
    // Python's packb uses float64 for every float (use_single_float is off).
    this.#ensure(9);
    this.#buf[this.#pos] = 0xcb;
    this.#view.setFloat64(this.#pos + 1, n);
    this.#pos += 9;
  }

  #writeBigInt(n: bigint): void {
    if (n >= 0n) {
      if (n < 0x100000000n) return this.#writeInt(Number(n));
      if (n <= UINT64_MAX) {
        this.#ensure(9);
        this.#buf[this.#pos] = 0xcf;
        this.#view.setBigUint64(this.#pos + 1, n);
        this.#pos += 9;
        return;
      }
    } else {
      if (n >= -0x80000000n) return this.#writeInt(Number(n));
      if (n >= INT64_MIN) {
        this.#ensure(9);
        this.#buf[this.#pos] = 0xd3;
        this.#view.setBigInt64(this.#pos + 1, n);
        this.#pos += 9;
        return;
      }
    }
    // Beyond 64 bits Python's packer overflows and Pyro5's default() sends the decimal text.
    const text = n.toString();
    this.#writeExtHeader(text.length, EXT_BIGINT);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
    this.#pos = pos;
  }

  #writeDate(date: Date): void {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new SerializeError("cannot serialize an invalid Date");
    // Pyro5 sends datetime.timestamp(), which Python computes as whole seconds (floored) plus
    // microseconds / 1e6: the same sum here gives the same float to the last bit.
    const seconds = Math.floor(ms / 1000);
    const timestamp = seconds + (ms - seconds * 1000) / 1000;
    this.#ensure(10);
    this.#buf[this.#pos] = 0xd7;
    this.#buf[this.#pos + 1] = EXT_DATETIME;
    this.#view.setFloat64(this.#pos + 2, timestamp, true);
    this.#pos += 10;
  }

  #writeCalendarDate(date: PyDate): void {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new SerializeError("cannot serialize an invalid Date");
    // Pyro5 sends date.toordinal() as a native (little-endian, 8-byte) long.
    const ordinal = Math.floor(ms / DAY_MS) + EPOCH_ORDINAL;
    this.#ensure(10);
    this.#buf[this.#pos] = 0xd7;
    this.#buf[this.#pos + 1] = EXT_DATE;
    this.#view.setBigInt64(this.#pos + 2, BigInt(ordinal), true);
    this.#pos += 10;
  }

  /** Writes an ext header and makes room for its `length` data bytes. */
  #writeExtHeader(length: number, type: number): void {
    this.#ensure(6 + length);
    const buf = this.#buf;
    let pos = this.#pos;
    switch (length) {
      case 1:
        buf[pos++] = 0xd4;
        break;
      case 2:
        buf[pos++] = 0xd5;
        break;
      case 4:
        buf[pos++] = 0xd6;
        break;
      case 8:
        buf[pos++] = 0xd7;
        break;
      case 16:
        buf[pos++] = 0xd8;
        break;
      default:
        if (length < 0x100) {
          buf[pos++] = 0xc7;
          buf[pos++] = length;
        } else if (length < 0x10000) {
          buf[pos++] = 0xc8;
          buf[pos++] = length >>> 8;
          buf[pos++] = length;
        } else {
          buf[pos++] = 0xc9;
          this.#view.setUint32(pos, length);
          pos += 4;
        }
    }
    buf[pos++] = type & 0xff;
    this.#pos = pos;
  }

  #writeString(s: string): void {
    const length = s.length;
    if (length > SHORT_STRING) return this.#writeUtf8(s);
    // By hand: at most 3 bytes per UTF-16 unit, so str8 always suffices for 32 units or more.
    this.#ensure(2 + length * 3);
    const buf = this.#buf;
    const start = this.#pos;
    const header = length < 32 ? 1 : 2;
    let pos = start + header;
    for (let i = 0; i < length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        buf[pos++] = c;
      } else if (c < 0x800) {
        buf[pos++] = 0xc0 | (c >> 6);
        buf[pos++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        buf[pos++] = 0xe0 | (c >> 12);
        buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
        buf[pos++] = 0x80 | (c & 0x3f);
      } else {
        const low = c <= 0xdbff && i + 1 < length ? s.charCodeAt(i + 1) : 0;
        if (low < 0xdc00 || low > 0xdfff) throw loneSurrogate();
        pos = writeCodePoint(buf, pos, 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00));
        i++;
      }
    }
    const size = pos - start - header;
    if (header === 2) {
      buf[start] = 0xd9;
      buf[start + 1] = size;
    } else if (size < 32) {
      buf[start] = 0xa0 | size;
    } else {
      // Fewer than 32 units but 32 bytes or more: make room for str8's length byte.
      buf.copyWithin(start + 2, start + 1, pos);
      buf[start] = 0xd9;
      buf[start + 1] = size;
      pos++;
    }
    this.#pos = pos;
  }

  #writeUtf8(s: string): void {
    if (!s.isWellFormed()) throw loneSurrogate();
    const maxBytes = s.length * 3;
    const minHeader = strHeaderSize(s.length);
    const maxHeader = strHeaderSize(maxBytes);
    this.#ensure(maxHeader + maxBytes);
    const start = this.#pos;
    // Encode after the largest header it can need, then close the gap if it was smaller.
    const written = UTF8.encodeInto(s, this.#buf.subarray(start + maxHeader)).written;
    const header = minHeader === maxHeader ? maxHeader : strHeaderSize(written);
    if (header !== maxHeader) {
      this.#buf.copyWithin(start + header, start + maxHeader, start + maxHeader + written);
    }
    const buf = this.#buf;
    if (header === 1) {
      buf[start] = 0xa0 | written;
    } else if (header === 2) {
      buf[start] = 0xd9;
      buf[start + 1] = written;
    } else if (header === 3) {
      buf[start] = 0xda;
      buf[start + 1] = written >>> 8;
      buf[start + 2] = written;
    } else {
      buf[start] = 0xdb;
      this.#view.setUint32(start + 1, written);
    }
    this.#pos = start + header + written;
  }

  #writeBin(bytes: Uint8Array): void {
    const length = bytes.length;
    if (this.#partsMode && length >= BIN_REFERENCE_MIN) return this.#referenceBin(bytes);
    this.#ensure(5 + length);
    const buf = this.#buf;
    let pos = this.#pos;
    if (length < 0x100) {
      buf[pos++] = 0xc4;
      buf[pos++] = length;
    } else if (length < 0x10000) {
      buf[pos++] = 0xc5;
      buf[pos++] = length >>> 8;
      buf[pos++] = length;
    } else {
      buf[pos++] = 0xc6;
      this.#view.setUint32(pos, length);
      pos += 4;
    }
    buf.set(bytes, pos);
    this.#pos = pos + length;
  }

  /**
   * Writes a bin32 header, hands out the bytes so far as a part (a region of the chunk never
   * written again), then the bin itself as the next part.
   */
  #referenceBin(bytes: Uint8Array): void {
    this.#ensure(5);
    const pos = this.#pos;
    this.#buf[pos] = 0xc6;
    this.#view.setUint32(pos + 1, bytes.length);
    this.#pos = pos + 5;
    const segment = this.#buf.subarray(this.#start, this.#pos);
    this.#start = this.#pos;
    if (this.#parts === null) this.#parts = [segment, bytes];
    else this.#parts.push(segment, bytes);
  }

  #writeArrayHeader(length: number): void {
    this.#ensure(5);
    const buf = this.#buf;
    const pos = this.#pos;
    if (length < 16) {
      buf[pos] = 0x90 | length;
      this.#pos = pos + 1;
    } else if (length < 0x10000) {
      buf[pos] = 0xdc;
      buf[pos + 1] = length >>> 8;
      buf[pos + 2] = length;
      this.#pos = pos + 3;
    } else {
      buf[pos] = 0xdd;
      this.#view.setUint32(pos + 1, length);
      this.#pos = pos + 5;
    }
  }

  #writeMapHeader(size: number): void {
    this.#ensure(5);
    const buf = this.#buf;
    const pos = this.#pos;
    if (size < 16) {
      buf[pos] = 0x80 | size;
      this.#pos = pos + 1;
    } else if (size < 0x10000) {
      buf[pos] = 0xde;
      buf[pos + 1] = size >>> 8;
      buf[pos + 2] = size;
      this.#pos = pos + 3;
    } else {
      buf[pos] = 0xdf;
      this.#view.setUint32(pos + 1, size);
      this.#pos = pos + 5;
    }
  }

  #writeArray(items: ArrayLike<unknown>, depth: number): void {
    const length = items.length;
    this.#writeArrayHeader(length);
    for (let i = 0; i < length; i++) this.#write(items[i], depth);
  }

  #writeSet(items: Set<unknown>, depth: number): void {
    // Pyro5's default() sends a set as tuple(set): an array.
    this.#writeArrayHeader(items.size);
    for (const item of items) this.#write(item, depth);
  }

  #writeObject(dict: Readonly<PyStringDict>, depth: number): void {
    const keys = Object.keys(dict);
    const size = keys.length;
    this.#writeMapHeader(size);
    for (let i = 0; i < size; i++) {
      const key = keys[i];
      this.#writeString(key);
      this.#write(dict[key], depth);
    }
  }

  #writeMap(map: Map<unknown, unknown>, depth: number): void {
    // Any key type goes out as its own msgpack value, as Python packs a dict with int keys.
    this.#writeMapHeader(map.size);
    for (const [key, value] of map) {
      this.#write(key, depth);
      this.#write(value, depth);
    }
  }
}
