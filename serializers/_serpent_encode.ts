/**
 * The serpent encoder: writes a value as the Python literal text serpent 1.41 produces with
 * `indent=False, module_in_classname=True` (Pyro5's settings), into one growable byte buffer.
 * Internal to `serpent.ts`.
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import type { ClassRegistry } from "./classes.ts";
import { isPythonPrintable } from "./_serpent_printable.ts";
import { writeCodePoint } from "./_utf8.ts";
import {
  isPlainObject,
  isPythonInt,
  PyComplex,
  PyFloat,
  PyFrozenSet,
  type PyStringDict,
  pythonFloatRepr,
  pythonIsoFormat,
  PyTuple,
} from "./values.ts";

/** The first line of every serpent document. */
export const SERPENT_HEADER = "# serpent utf-8 python3.2\n";

/** Python refuses to write or read decimal ints longer than this (`sys.get_int_max_str_digits`). */
export const MAX_INT_DIGITS = 4300;

/**
 * Results are written into slabs of this size and handed out as views (like Node's Buffer
 * pool): allocating a typed array per result costs more than writing a small one.
 */
const SLAB_SIZE = 16 * 1024;
/** A new slab is started when less than this is left. */
const SLAB_MIN_FREE = 1024;

// Byte values used while writing.
const QUOTE = 0x27; // '
const DQUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const HEX_DIGITS = "0123456789abcdef";
const NAN_DICT = "{'__class__':'float','value':'nan'}";

/** Settings of one encoder. */
export interface SerpentEncoderSettings {
  /** Class conversions for objects that are not plain values. */
  classes: ClassRegistry;
  /** Deepest container nesting written. */
  maxDepth: number;
  /** Write bytes as `b'...'` literals instead of base64 dicts. */
  bytesRepr: boolean;
}

/**
 * Writes values as serpent text. One instance reuses its buffer across calls; it is not
 * reentrant (check {@linkcode SerpentEncoder.busy} first).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SerpentEncoder } from "./_serpent_encode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const enc = new SerpentEncoder({ classes: new ClassRegistry(), maxDepth: 100, bytesRepr: false });
 * const text = new TextDecoder().decode(enc.encode([1, "a"]));
 * assert(text === "# serpent utf-8 python3.2\n[1,'a']");
 * ```
 */
export class SerpentEncoder {
  /** The current slab: bytes before #start belong to earlier results and are never rewritten. */
  #buf = new Uint8Array(0);
  #start = 0;
  #pos = 0;
  /** Containers being written, by level: only read to tell a cycle from deep nesting. */
  #stack: unknown[] = [];
  #busy = false;
  #classes: ClassRegistry;
  #maxDepth: number;
  #bytesRepr: boolean;

  /** @param settings class registry, depth limit, bytes format */
  constructor(settings: SerpentEncoderSettings) {
    this.#classes = settings.classes;
    this.#maxDepth = settings.maxDepth;
    this.#bytesRepr = settings.bytesRepr;
  }

  /** True while a call is writing (a class hook that serializes again needs its own encoder). */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Serializes one value, header included.
   *
   * @param value the value
   * @returns the bytes: a view that may share its ArrayBuffer with other results; the encoder
   *   never writes it again
   * @throws {SerializeError} for values that cannot travel
   */
  encode(value: unknown): Uint8Array {
    this.#begin();
    try {
      this.#value(value, 0);
      return this.#result();
    } catch (error) {
      throw stackOverflowAsSerializeError(error);
    } finally {
      this.#end();
    }
  }

  /**
   * Serializes a call as Pyro5 does: `(objectId, method, args, kwargs)`.
   *
   * @param objectId the object id
   * @param method the method name
   * @param args positional arguments: a PyTuple is written as a tuple, another array as a list
   * @param kwargs keyword arguments; null writes `None` as Pyro5's attribute calls do
   * @returns the bytes, a view as for {@linkcode SerpentEncoder.encode}
   * @throws {SerializeError} for values that cannot travel
   */
  encodeCall(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict> | null,
  ): Uint8Array {
    this.#begin();
    try {
      this.#ensure(1);
      this.#buf[this.#pos++] = 0x28; // (
      this.#value(objectId, 1);
      this.#ensure(1);
      this.#buf[this.#pos++] = 0x2c;
      this.#value(method, 1);
      this.#ensure(1);
      this.#buf[this.#pos++] = 0x2c;
      // Python writes whatever vargs is: a tuple for ordinary calls, a list for some
      // daemon calls (get_metadata); a PyTuple here is a tuple, any other array a list.
      this.#value(args, 1);
      this.#ensure(1);
      this.#buf[this.#pos++] = 0x2c;
      this.#value(kwargs, 1);
      this.#ensure(1);
      this.#buf[this.#pos++] = 0x29; // )
      return this.#result();
    } catch (error) {
      throw stackOverflowAsSerializeError(error);
    } finally {
      this.#end();
    }
  }

  #begin(): void {
    this.#busy = true;
    if (this.#buf.length - this.#pos < SLAB_MIN_FREE) {
      this.#buf = new Uint8Array(SLAB_SIZE);
      this.#pos = 0;
    }
    this.#start = this.#pos;
    this.#ascii(SERPENT_HEADER);
  }

  /** The finished result; what follows it in the slab is free for the next one. */
  #result(): Uint8Array {
    const result = this.#buf.subarray(this.#start, this.#pos);
    // A slab grown for one big result is not reused: small results would pin it.
    if (this.#buf.length > SLAB_SIZE) this.#pos = this.#buf.length;
    this.#start = this.#pos;
    return result;
  }

  #end(): void {
    this.#busy = false;
    this.#stack.length = 0;
    this.#pos = this.#start; // after a failure: the partial output's space is free again
  }

  /** Makes room for `n` more bytes, moving the result so far to a bigger buffer if needed. */
  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const used = this.#pos - this.#start;
    let size = SLAB_SIZE;
    if (n >= SLAB_SIZE) {
      // One big piece (bytes, a long string): room for it and a little more, not double.
      size = used + n + SLAB_SIZE;
    } else {
      while (size < (used + n) * 2) size *= 2;
    }
    const bigger = new Uint8Array(size);
    bigger.set(this.#buf.subarray(this.#start, this.#pos));
    this.#buf = bigger;
    this.#start = 0;
    this.#pos = used;
  }

  /** Writes text known to be ASCII. */
  #ascii(text: string): void {
    const n = text.length;
    this.#ensure(n);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < n; i++) buf[pos++] = text.charCodeAt(i);
    this.#pos = pos;
  }

  #value(value: unknown, level: number): void {
    switch (typeof value) {
      case "string":
        this.#str(value);
        return;
      case "number":
        if (isPythonInt(value)) this.#int(value);
        else this.#float(value);
        return;
      case "boolean":
        this.#ascii(value ? "True" : "False");
        return;
      case "bigint":
        this.#bigint(value);
        return;
      case "undefined":
        this.#ascii("None");
        return;
      case "object":
        if (value === null) this.#ascii("None");
        else this.#object(value, level);
        return;
      case "function":
        // The registry may know it (a replace hook); otherwise it refuses with Pyro's message.
        this.#dict(this.#classes.toDict(value), level);
        return;
      default:
        throw new SerializeError(`Don't know how to serialize ${typeof value}`);
    }
  }

  #object(value: object, level: number): void {
    if (Array.isArray(value)) {
      if (value instanceof PyTuple) this.#tuple(value, level);
      else this.#list(value, level);
    } else if (isPlainObject(value)) {
      this.#dict(value, level);
    } else if (value instanceof Uint8Array) {
      this.#bytes(value);
    } else if (value instanceof PyFloat) {
      this.#float(value.value);
    } else if (value instanceof Set) {
      this.#set(value, level);
    } else if (value instanceof Map) {
      this.#map(value, level);
    } else if (value instanceof PyComplex) {
      this.#complex(value);
    } else if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) {
        throw new SerializeError("Cannot serialize an invalid Date");
      }
      this.#str(pythonIsoFormat(value)); // a PyDate as YYYY-MM-DD, like a Python date
    } else if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
      this.#bytes(new Uint8Array(value));
    } else if (ArrayBuffer.isView(value)) {
      if (value instanceof DataView) {
        this.#bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      } else {
        this.#list(value as unknown as ArrayLike<unknown>, level);
      }
    } else if (
      value instanceof String || value instanceof Number || value instanceof Boolean
    ) {
      this.#value(value.valueOf(), level);
    } else {
      this.#dict(this.#classes.toDict(value), level);
    }
  }

  /** Checks the depth of a container about to be written at `level`. */
  #enter(container: unknown, level: number, kind: string): void {
    if (level >= this.#maxDepth) {
      const stack = this.#stack;
      for (let i = 0; i < level && i < stack.length; i++) {
        if (stack[i] === container) {
          throw new SerializeError(`Circular reference detected (${kind})`);
        }
      }
      throw new SerializeError(`Object graph nesting too deep: more than ${this.#maxDepth} levels`);
    }
    this.#stack[level] = container;
  }

  #int(value: number): void {
    if (value >= 0 && value < 10) {
      this.#ensure(1);
      this.#buf[this.#pos++] = 0x30 + value;
    } else {
      this.#ascii(String(value));
    }
  }

  #bigint(value: bigint): void {
    const text = value.toString();
    if (text.length - (value < 0n ? 1 : 0) > MAX_INT_DIGITS) {
      throw new SerializeError(
        `Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion`,
      );
    }
    this.#ascii(text);
  }

  #float(value: number): void {
    if (value !== value) this.#ascii(NAN_DICT);
    else if (value === Infinity) this.#ascii("1e30000");
    else if (value === -Infinity) this.#ascii("-1e30000");
    else {
      // Where Python's repr and JavaScript's String() agree but for the ".0": the usual case.
      const abs = value < 0 ? -value : value;
      if (abs >= 1e-4 && abs < 1e16) {
        const text = String(value);
        this.#ascii(text);
        if (text.indexOf(".") < 0) this.#ascii(".0");
      } else {
        this.#ascii(pythonFloatRepr(value));
      }
    }
  }

  #complex(value: PyComplex): void {
    // serpent's own form: "(" real ["+"] imag "j)", the "+" whenever imag >= 0 (so -0.0 gives
    // "+-0.0j", and a NaN part gives text Python cannot read back; written all the same).
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x28;
    this.#float(value.real);
    if (value.imag >= 0) {
      this.#ensure(1);
      this.#buf[this.#pos++] = 0x2b;
    }
    this.#float(value.imag);
    this.#ascii("j)");
  }

  /** Python's `repr(str)`. */
  #str(text: string): void {
    const n = text.length;
    // Python picks double quotes only when the text has a ' and no ".
    const q = text.indexOf("'") >= 0 && text.indexOf('"') < 0 ? DQUOTE : QUOTE;
    this.#ensure(n * 3 + 2);
    let buf = this.#buf;
    let pos = this.#pos;
    buf[pos++] = q;
    for (let i = 0; i < n; i++) {
      let c = text.charCodeAt(i);
      if (c >= 0x20 && c < 0x7f) {
        if (c === q || c === BACKSLASH) buf[pos++] = BACKSLASH;
        buf[pos++] = c;
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          c = ((c - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          i++;
        }
      }
      // Escapes can outgrow the 3 bytes per unit reserved above: reserve for the rest again.
      if (pos + 10 + (n - i) * 3 > buf.length) {
        this.#pos = pos;
        this.#ensure(10 + (n - i) * 3);
        buf = this.#buf;
      }
      if (c < 0x80) {
        buf[pos++] = BACKSLASH;
        if (c === 0x09) buf[pos++] = 0x74; // \t
        else if (c === 0x0a) buf[pos++] = 0x6e; // \n
        else if (c === 0x0d) buf[pos++] = 0x72; // \r
        else pos = writeHexEscape(buf, pos, 0x78, c, 2);
      } else if (c >= 0xd800 && c <= 0xdfff) {
        // A lone surrogate: not printable.
        buf[pos++] = BACKSLASH;
        pos = writeHexEscape(buf, pos, 0x75, c, 4);
      } else if (isPythonPrintable(c)) {
        pos = writeCodePoint(buf, pos, c);
      } else {
        buf[pos++] = BACKSLASH;
        if (c <= 0xff) pos = writeHexEscape(buf, pos, 0x78, c, 2);
        else if (c <= 0xffff) pos = writeHexEscape(buf, pos, 0x75, c, 4);
        else pos = writeHexEscape(buf, pos, 0x55, c, 8);
      }
    }
    buf[pos++] = q;
    this.#pos = pos;
  }

  #bytes(data: Uint8Array): void {
    if (!this.#bytesRepr) {
      // repr() of the dict {"data": b64, "encoding": "base64"}: Python's own spacing.
      this.#ascii("{'data': '");
      this.#ascii(data.toBase64());
      this.#ascii("', 'encoding': 'base64'}");
      return;
    }
    // Python's repr(bytes).
    const n = data.length;
    const q = data.includes(QUOTE) && !data.includes(DQUOTE) ? DQUOTE : QUOTE;
    this.#ensure(n * 4 + 3);
    const buf = this.#buf;
    let pos = this.#pos;
    buf[pos++] = 0x62; // b
    buf[pos++] = q;
    for (let i = 0; i < n; i++) {
      const c = data[i];
      if (c >= 0x20 && c < 0x7f) {
        if (c === q || c === BACKSLASH) buf[pos++] = BACKSLASH;
        buf[pos++] = c;
      } else {
        buf[pos++] = BACKSLASH;
        if (c === 0x09) buf[pos++] = 0x74;
        else if (c === 0x0a) buf[pos++] = 0x6e;
        else if (c === 0x0d) buf[pos++] = 0x72;
        else pos = writeHexEscape(buf, pos, 0x78, c, 2);
      }
    }
    buf[pos++] = q;
    this.#pos = pos;
  }

  #tuple(items: ArrayLike<unknown>, level: number): void {
    this.#enter(items, level, "tuple");
    const n = items.length;
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x28; // (
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        this.#ensure(1);
        this.#buf[this.#pos++] = 0x2c;
      }
      this.#value(items[i], level + 1);
    }
    this.#ensure(2);
    if (n === 1) this.#buf[this.#pos++] = 0x2c; // (x,)
    this.#buf[this.#pos++] = 0x29; // )
  }

  #list(items: ArrayLike<unknown>, level: number): void {
    this.#enter(items, level, "list");
    const n = items.length;
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x5b; // [
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        this.#ensure(1);
        this.#buf[this.#pos++] = 0x2c;
      }
      this.#value(items[i], level + 1);
    }
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x5d; // ]
  }

  #dict(dict: PyStringDict, level: number): void {
    this.#enter(dict, level, "dict");
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x7b; // {
    let first = true;
    for (const key in dict) {
      if (!Object.hasOwn(dict, key)) continue;
      if (first) first = false;
      else {
        this.#ensure(1);
        this.#buf[this.#pos++] = 0x2c;
      }
      this.#str(key);
      this.#ensure(1);
      this.#buf[this.#pos++] = 0x3a; // :
      this.#value(dict[key], level + 1);
    }
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x7d; // }
  }

  #map(map: Map<unknown, unknown>, level: number): void {
    this.#enter(map, level, "dict");
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x7b;
    let first = true;
    for (const [key, value] of map) {
      if (first) first = false;
      else {
        this.#ensure(1);
        this.#buf[this.#pos++] = 0x2c;
      }
      checkHashable(key);
      this.#value(key, level + 1);
      this.#ensure(1);
      this.#buf[this.#pos++] = 0x3a;
      this.#value(value, level + 1);
    }
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x7d;
  }

  #set(set: Set<unknown>, level: number): void {
    // No literal for an empty set: serpent writes an empty tuple.
    if (set.size === 0) {
      this.#ascii("()");
      return;
    }
    this.#enter(set, level, "set");
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x7b;
    let first = true;
    for (const item of set) {
      if (first) first = false;
      else {
        this.#ensure(1);
        this.#buf[this.#pos++] = 0x2c;
      }
      checkHashable(item);
      this.#value(item, level + 1);
    }
    this.#ensure(1);
    this.#buf[this.#pos++] = 0x7d;
  }
}

/** A stack overflow (maxDepth set beyond what the stack holds) as a SerializeError. */
function stackOverflowAsSerializeError(error: unknown): unknown {
  return error instanceof RangeError
    ? new SerializeError("Object graph nesting too deep for the call stack", { cause: error })
    : error;
}

/**
 * Writes the rest of an escape whose backslash is written: the letter (x, u, U) and `width`
 * lowercase hex digits. Returns the next position.
 */
function writeHexEscape(
  buf: Uint8Array,
  pos: number,
  letter: number,
  value: number,
  width: number,
): number {
  buf[pos++] = letter;
  for (let shift = (width - 1) * 4; shift >= 0; shift -= 4) {
    buf[pos++] = HEX_DIGITS.charCodeAt((value >>> shift) & 0xf);
  }
  return pos;
}

/**
 * serpent's check on dict keys and set items: bool, bytes, str, tuple or a number, else a
 * TypeError in Python; a SerializeError here.
 */
function checkHashable(value: unknown): void {
  switch (typeof value) {
    case "string":
    case "number":
    case "bigint":
    case "boolean":
      return;
    case "object":
      if (
        value instanceof PyTuple || value instanceof Uint8Array || value instanceof PyFloat ||
        value instanceof PyComplex || value instanceof ArrayBuffer
      ) return;
  }
  throw new SerializeError(
    `One of the keys in a dict or set is not of a primitive hashable type: ${
      pythonTypeName(value)
    }. Use simple types as keys or use a list or tuple as container`,
  );
}

/** The Python type a value would have, for messages. */
function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return "NoneType";
  if (Array.isArray(value)) return "list";
  if (value instanceof Set) return value instanceof PyFrozenSet ? "frozenset" : "set";
  if (value instanceof Map || isPlainObject(value)) return "dict";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
