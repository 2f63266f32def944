/**
 * JSON encoder that writes exactly what Python Pyro5's `JsonSerializer` sends:
 * `json.dumps(data, ensure_ascii=False, default=...)` encoded as UTF-8, with Python's default
 * separators `", "` and `": "`, Python's float repr, `NaN` / `Infinity` / `-Infinity`, sets as
 * lists, dict keys converted like Python's `json` module, and everything Python cannot write refused
 * with the same messages.
 *
 * Output goes into one growable byte buffer; ASCII text is written byte by byte, anything else
 * through `JSON.stringify` (whose escaping equals Python's `ensure_ascii=False` escaping for
 * well-formed strings) and `TextEncoder.encodeInto`.
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import type { ClassRegistry } from "./classes.ts";
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

/** Python refuses to turn ints with more decimal digits than this into text (`sys.int_info`). */
export const MAX_INT_DIGITS = 4300;

const ENCODER = new TextEncoder();
/** Results are carved from slabs of this size, handed out as views. */
const SLAB_SIZE = 16384;
/** A new result starts a fresh slab when less than this is left of the current one. */
const SLAB_MIN_FREE = 1024;
const NO_SLAB = new Uint8Array(0);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Strings shorter than this are scanned and copied by hand; longer ones go to native code. */
const SHORT_STRING = 48;
/** What needs an escape (or, for lone surrogates, special care) in a JSON string. */
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Python's `repr(float)` as `json` writes it (`NaN`, `Infinity`, `-Infinity` for the specials).
 * The common magnitudes take a fast path: there JavaScript's shortest digits are Python's.
 *
 * @param value the number
 * @returns its JSON text
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { jsonFloatText } from "./_json_encode.ts";
 * assert(jsonFloatText(2) === "2.0" && jsonFloatText(NaN) === "NaN");
 * assert(jsonFloatText(1e-5) === "1e-05");
 * ```
 */
export function jsonFloatText(value: number): string {
  if (value !== value) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  const magnitude = value < 0 ? -value : value;
  if (magnitude >= 1e-4 && magnitude < 1e16) {
    const text = String(value);
    return Number.isInteger(value) ? text + ".0" : text;
  }
  return pythonFloatRepr(value);
}

/** Python's text for an int, refusing what Python's `int_max_str_digits` refuses. */
function bigintText(value: bigint): string {
  const text = value.toString();
  const digits = value < 0n ? text.length - 1 : text.length;
  if (digits > MAX_INT_DIGITS) {
    throw new SerializeError(
      `Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit`,
    );
  }
  return text;
}

/**
 * The Python type name of a value, for error messages that mirror Python's.
 *
 * @param value any value
 * @returns the name of the Python type it travels as
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pythonTypeName } from "./_json_encode.ts";
 * import { tuple } from "./values.ts";
 * assert(pythonTypeName(tuple()) === "tuple" && pythonTypeName(1.5) === "float");
 * ```
 */
export function pythonTypeName(value: unknown): string {
  switch (typeof value) {
    case "string":
      return "str";
    case "number":
      return isPythonInt(value) ? "int" : "float";
    case "bigint":
      return "int";
    case "boolean":
      return "bool";
    case "undefined":
      return "NoneType";
    case "function":
      return "function";
    case "symbol":
      return "symbol";
  }
  if (value === null) return "NoneType";
  if (value instanceof PyTuple) return "tuple";
  if (Array.isArray(value)) return "list";
  if (value instanceof PyFrozenSet) return "frozenset";
  if (value instanceof Set) return "set";
  if (value instanceof Map || isPlainObject(value)) return "dict";
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return "bytes";
  if (value instanceof PyComplex) return "complex";
  if (value instanceof PyFloat) return "float";
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  return ctor?.name ?? "object";
}

/** An empty object inheriting from `Object.prototype` only. */
const PROBE = Object.freeze({});

/** Whether `Object.prototype` has enumerable properties (then for-in would list them). */
function inheritsEnumerable(): boolean {
  for (const _ in PROBE) return true;
  return false;
}

function cannotSerialize(pythonClass: string): SerializeError {
  return new SerializeError(
    `don't know how to serialize class <class '${pythonClass}'> using serializer JsonSerializer. Give it vars() or an appropriate __getstate__`,
  );
}

/**
 * Writes Python Pyro5's JSON. One instance serves many results in turn: each one is framed by
 * {@linkcode JsonEncoder.begin} and {@linkcode JsonEncoder.finish} (then {@linkcode JsonEncoder.end}),
 * and is a view of a slab whose region is never written again, so results stay valid. Without
 * `begin`, {@linkcode JsonEncoder.result} gives everything written so far.
 *
 * Not re-entrant: while {@linkcode JsonEncoder.busy} is true (a class converter serializing from
 * inside a `dumps`), use another encoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { JsonEncoder } from "./_json_encode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const encoder = new JsonEncoder(new ClassRegistry(), 100);
 * encoder.value({ a: [1, 2.5] }, 0);
 * assert(new TextDecoder().decode(encoder.result()) === '{"a": [1, 2.5]}');
 * ```
 */
export class JsonEncoder {
  #buf: Uint8Array = NO_SLAB;
  /** Where the current result starts in `#buf`. */
  #start = 0;
  #pos = 0;
  #busy = false;
  /** The bytes of the last call dict up to its params, with the object id and method. */
  #head: Uint8Array = NO_SLAB;
  #headObject = "";
  #headMethod = "";
  #classes: ClassRegistry;
  #maxDepth: number;

  /**
   * @param classes converts class instances into class dicts
   * @param maxDepth deepest nesting written before giving up (catches circular references)
   */
  constructor(classes: ClassRegistry, maxDepth: number) {
    this.#classes = classes;
    this.#maxDepth = maxDepth;
  }

  /** Whether a result is being written (between `begin` and `end`). */
  get busy(): boolean {
    return this.#busy;
  }

  /** Starts a new result (marks the encoder busy until {@linkcode JsonEncoder.end}). */
  begin(): void {
    this.#busy = true;
    if (this.#buf.length - this.#pos < SLAB_MIN_FREE) {
      this.#buf = new Uint8Array(SLAB_SIZE);
      this.#pos = 0;
    }
    this.#start = this.#pos;
  }

  /**
   * The finished result; the slab space after it is free for the next one.
   *
   * @returns a view no later result shares bytes with
   */
  finish(): Uint8Array {
    const result = this.#buf.subarray(this.#start, this.#pos);
    // A slab grown for one big result is not reused: small results would pin it.
    if (this.#buf.length > SLAB_SIZE) this.#pos = this.#buf.length;
    this.#start = this.#pos;
    return result;
  }

  /** Ends a result, finished or failed (a failed one's space is free again). */
  end(): void {
    this.#busy = false;
    this.#pos = this.#start;
  }

  /** The bytes of the current result written so far (a view of the internal buffer). */
  result(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#pos);
  }

  /** Moves the current result to a bigger buffer with room for `needed` more bytes. */
  #grow(needed: number): void {
    const used = this.#pos - this.#start;
    let size = SLAB_SIZE;
    if (needed >= SLAB_SIZE) {
      // One big piece (a long string): room for it and a little more, not double.
      size = used + needed + SLAB_SIZE;
    } else {
      while (size < (used + needed) * 2) size *= 2;
    }
    const bigger = new Uint8Array(size);
    bigger.set(this.#buf.subarray(this.#start, this.#pos));
    this.#buf = bigger;
    this.#start = 0;
    this.#pos = used;
  }

  /** Writes ASCII-only text (numbers, literals, separators). */
  ascii(text: string): void {
    const n = text.length;
    if (this.#pos + n > this.#buf.length) this.#grow(n);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < n; i++) buf[pos++] = text.charCodeAt(i);
    this.#pos = pos;
  }

  /**
   * Writes Python Pyro5's call dict `{"object": ..., "method": ..., "params": [...], "kwargs":
   * {...}}`.
   *
   * @param objectId the target object id
   * @param method the method name
   * @param args positional arguments
   * @param kwargs keyword arguments, or `null` (written as `null`)
   */
  call(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict> | null,
  ): void {
    const head = this.#head;
    if (objectId === this.#headObject && method === this.#headMethod && head.length > 0) {
      // The same object and method as the last call: the same bytes up to the params.
      const n = head.length;
      if (this.#pos + n > this.#buf.length) this.#grow(n);
      this.#buf.set(head, this.#pos);
      this.#pos += n;
    } else {
      const from = this.#pos - this.#start;
      this.ascii('{"object": ');
      this.string(objectId);
      this.ascii(', "method": ');
      this.string(method);
      this.ascii(', "params": ');
      this.#head = this.#buf.slice(this.#start + from, this.#pos);
      this.#headObject = objectId;
      this.#headMethod = method;
    }
    this.value(args, 0);
    this.ascii(', "kwargs": ');
    this.value(kwargs, 0);
    this.#byte(0x7d);
  }

  #byte(b: number): void {
    if (this.#pos >= this.#buf.length) this.#grow(1);
    this.#buf[this.#pos++] = b;
  }

  #twoBytes(a: number, b: number): void {
    if (this.#pos + 2 > this.#buf.length) this.#grow(2);
    this.#buf[this.#pos++] = a;
    this.#buf[this.#pos++] = b;
  }

  /** Writes a JSON string literal, escaped as Python's `json` with `ensure_ascii=False`. */
  string(text: string): void {
    const n = text.length;
    if (n < SHORT_STRING) {
      if (this.#pos + n + 2 > this.#buf.length) this.#grow(n + 2);
      const buf = this.#buf;
      const start = this.#pos;
      let pos = start;
      buf[pos++] = QUOTE;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c < 0x20 || c >= 0x80 || c === QUOTE || c === BACKSLASH) break;
        buf[pos++] = c;
      }
      if (i === n) {
        buf[pos++] = QUOTE;
        this.#pos = pos;
        return;
      }
    }
    if (n >= SHORT_STRING && !NEEDS_ESCAPE.test(text)) {
      // Long text without escapes: straight into the buffer.
      this.#byte(QUOTE);
      this.#utf8(text);
      this.#byte(QUOTE);
      return;
    }
    // Escapes or lone surrogates: JSON.stringify escapes exactly like Python for well-formed text
    // (and writes a lone surrogate as a \udxxx escape, where Python's encode would fail).
    this.#utf8(JSON.stringify(text));
  }

  /** UTF-8 of well-formed text, growing the buffer as needed (optimistic: one byte a char). */
  #utf8(text: string): void {
    const n = text.length;
    if (this.#pos + n > this.#buf.length) this.#grow(n);
    let read = 0;
    for (;;) {
      const step = ENCODER.encodeInto(
        read === 0 ? text : text.slice(read),
        this.#buf.subarray(this.#pos),
      );
      read += step.read;
      this.#pos += step.written;
      if (read >= n) return;
      this.#grow(3 * (n - read));
    }
  }

  /** Writes any value of the value model. */
  value(value: unknown, depth: number): void {
    switch (typeof value) {
      case "string":
        return this.string(value);
      case "number":
        return this.ascii(isPythonInt(value) ? String(value) : jsonFloatText(value));
      case "boolean":
        return this.ascii(value ? "true" : "false");
      case "bigint":
        return this.ascii(bigintText(value));
      case "undefined":
        return this.ascii("null");
      case "object":
        if (value === null) return this.ascii("null");
        return this.#object(value, depth);
      case "function": // the class registry decides: a callback proxy, or a refusal
        return this.#object(value, depth);
      default:
        throw new SerializeError(
          `don't know how to serialize ${typeof value} ${
            typeof value === "function" ? value.name || "<anonymous>" : String(value)
          }`,
        );
    }
  }

  #object(value: object, depth: number): void {
    if (depth >= this.#maxDepth) {
      throw new SerializeError(
        `maximum nesting depth ${this.#maxDepth} exceeded (circular reference?)`,
      );
    }
    if (Array.isArray(value)) return this.#array(value, depth + 1);
    // isPlainObject, inline: a call site of its own sees only this encoder's objects.
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      return this.#plainDict(value as PyStringDict, depth + 1);
    }
    if (value instanceof Map) return this.#map(value, depth + 1);
    if (value instanceof PyFloat) return this.ascii(jsonFloatText(value.value));
    if (value instanceof PyFrozenSet) throw cannotSerialize("frozenset");
    if (value instanceof Set) return this.#iterable(value, depth + 1);
    if (value instanceof Uint8Array || value instanceof ArrayBuffer) throw cannotSerialize("bytes");
    if (value instanceof Float64Array || value instanceof Float32Array) {
      return this.#floats(value);
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      return this.#iterable(value as unknown as Iterable<unknown>, depth + 1);
    }
    if (value instanceof PyComplex) throw cannotSerialize("complex");
    if (value instanceof Date) return this.string(pythonIsoFormat(value));
    return this.#dict(this.#classes.toDict(value), depth + 1);
  }

  #array(items: readonly unknown[], depth: number): void {
    const n = items.length;
    if (n === 0) return this.#twoBytes(0x5b, 0x5d); // []
    this.#byte(0x5b);
    this.value(items[0], depth);
    for (let i = 1; i < n; i++) {
      this.#twoBytes(0x2c, 0x20); // ", "
      this.value(items[i], depth);
    }
    this.#byte(0x5d);
  }

  /** A float typed array: Python's array('d').tolist() is a list of floats. */
  #floats(items: Float64Array | Float32Array): void {
    this.#byte(0x5b);
    for (let i = 0; i < items.length; i++) {
      if (i > 0) this.#twoBytes(0x2c, 0x20);
      this.ascii(jsonFloatText(items[i]));
    }
    this.#byte(0x5d);
  }

  #iterable(items: Iterable<unknown>, depth: number): void {
    this.#byte(0x5b);
    let first = true;
    for (const item of items) {
      if (first) first = false;
      else this.#twoBytes(0x2c, 0x20);
      this.value(item, depth);
    }
    this.#byte(0x5d);
  }

  /** A dict whose prototype is `Object.prototype` or `null`: its own enumerable keys. */
  #plainDict(dict: PyStringDict, depth: number): void {
    if (inheritsEnumerable()) return this.#dict(dict, depth);
    // for-in over a plain object lists exactly Object.keys (nothing is inherited), and V8 reads
    // the values by the enumeration cache: much quicker than Object.keys and keyed loads.
    let opening = 0x7b;
    for (const key in dict) {
      this.#dictKey(key, opening);
      opening = 0x2c;
      this.value(dict[key], depth);
    }
    if (opening === 0x7b) return this.#twoBytes(0x7b, 0x7d); // {}
    this.#byte(0x7d);
  }

  /** Any dict of string keys: its own enumerable keys. */
  #dict(dict: PyStringDict, depth: number): void {
    const keys = Object.keys(dict);
    const n = keys.length;
    if (n === 0) return this.#twoBytes(0x7b, 0x7d); // {}
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      this.#dictKey(key, i === 0 ? 0x7b : 0x2c);
      this.value(dict[key], depth);
    }
    this.#byte(0x7d);
  }

  /**
   * Writes what comes before a dict value: `{` or `, `, the key, and `: `. Short ASCII keys
   * without escapes are copied in one go, the usual case.
   */
  #dictKey(key: string, opening: number): void {
    const n = key.length;
    if (n < SHORT_STRING) {
      if (this.#pos + n + 6 > this.#buf.length) this.#grow(n + 6);
      const buf = this.#buf;
      let pos = this.#pos;
      buf[pos++] = opening;
      if (opening === 0x2c) buf[pos++] = 0x20;
      buf[pos++] = QUOTE;
      let i = 0;
      for (; i < n; i++) {
        const c = key.charCodeAt(i);
        if (c < 0x20 || c >= 0x80 || c === QUOTE || c === BACKSLASH) break;
        buf[pos++] = c;
      }
      if (i === n) {
        buf[pos] = QUOTE;
        buf[pos + 1] = 0x3a; // ": "
        buf[pos + 2] = 0x20;
        this.#pos = pos + 3;
        return;
      }
    }
    if (opening === 0x2c) this.#twoBytes(0x2c, 0x20);
    else this.#byte(opening);
    this.string(key);
    this.#twoBytes(0x3a, 0x20);
  }

  #map(map: Map<unknown, unknown>, depth: number): void {
    if (map.size === 0) return this.#twoBytes(0x7b, 0x7d);
    this.#byte(0x7b);
    let first = true;
    for (const [key, item] of map) {
      if (first) first = false;
      else this.#twoBytes(0x2c, 0x20);
      this.string(jsonKeyText(key));
      this.#twoBytes(0x3a, 0x20);
      this.value(item, depth);
    }
    this.#byte(0x7d);
  }
}

/** Python `json`'s conversion of a dict key to its string, or its TypeError as a SerializeError. */
function jsonKeyText(key: unknown): string {
  switch (typeof key) {
    case "string":
      return key;
    case "number":
      return isPythonInt(key) ? String(key) : jsonFloatText(key);
    case "bigint":
      return bigintText(key);
    case "boolean":
      return key ? "true" : "false";
    case "undefined":
      return "null";
  }
  if (key === null) return "null";
  if (key instanceof PyFloat) return jsonFloatText(key.value);
  throw new SerializeError(
    `keys must be str, int, float, bool or None, not ${pythonTypeName(key)}`,
  );
}
