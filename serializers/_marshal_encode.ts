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
import { writeCodePoint } from "./_utf8.ts";

const ENCODER = new TextEncoder();
/** Size of the chunks results are carved from. */
const CHUNK_SIZE = 16384;
/** The chunk before the first encode: chunks are allocated on first use. */
const NO_CHUNK = new Uint8Array(0);
const NO_VIEW = new DataView(NO_CHUNK.buffer);
/** Thrown to abandon an optimistic pass (never seen outside the encoder). */
const RESTART: unique symbol = Symbol("restart with the scan");
/** Interned strs an encoder remembers between encodes (their slots), at most. */
const STR_SLOTS_MAX = 4096;
/** How many objects the scan searches linearly before it switches to a Set. */
const SEEN_LIST_SIZE = 16;
/** CPython's small ints, -5..256, shared singletons. */
const SMALL_INT_COUNT = 262;

/**
 * Bytes at least this big are referred to, not copied, by `encodeParts` and `encodeCallParts`
 * (256 KiB, as msgpack's bins).
 */
export const BYTES_REFERENCE_MIN = 256 * 1024;

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

/**
 * Whether `Object.prototype` has no enumerable property, so that `for...in` over a plain object
 * lists exactly its own keys, as `Object.keys` does (and quicker).
 */
function protoIsClean(): boolean {
  for (const _ in Object.prototype) return false;
  return true;
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
 * class instance (converted once, so hooks run once). One scan serves many encodes in turn:
 * {@linkcode MarshalScan.reset} forgets everything (and lets go of the values) after each.
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
 * scan.reset();
 * assert(!scan.isShared(shared));
 * ```
 */
export class MarshalScan {
  /** The first objects seen, searched linearly (cheaper than a Set for a few). */
  #seenList: (object | null)[] = new Array(SEEN_LIST_SIZE).fill(null);
  #seenCount = 0;
  /** The objects seen beyond the first SEEN_LIST_SIZE. */
  #seenSet: Set<object> | null = null;
  #shared: Set<object> | null = null;
  #dicts: Map<object, PyStringDict> | null = null;
  /** What a class conversion threw, so that it runs once even when an encode starts over. */
  #failures: Map<object, { error: unknown }> | null = null;
  /** Whether `for...in` lists exactly the own keys of plain objects (see `protoIsClean`). */
  #forIn = false;
  #classes: ClassRegistry;
  #maxDepth: number;

  /**
   * Makes a scan.
   *
   * @param classes class-to-dict conversions
   * @param maxDepth deepest nesting accepted
   */
  constructor(classes: ClassRegistry, maxDepth: number) {
    this.#classes = classes;
    this.#maxDepth = maxDepth;
  }

  /**
   * Starts a scan.
   *
   * @param forIn whether plain objects may be walked with `for...in` (no enumerable property
   *   on `Object.prototype`)
   */
  start(forIn: boolean): void {
    this.#forIn = forIn;
  }

  /** Scans one value and everything inside it. */
  scan(value: unknown, depth: number): void {
    if ((typeof value !== "object" && typeof value !== "function") || value === null) return;
    const kind = kindOf(value);
    if (kind === Kind.Date || kind === Kind.Typed) return; // written fresh each time
    if (!this.#firstSight(value)) { // reached before
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
        if (this.#forIn) {
          const dict = value as PyStringDict;
          for (const key in dict) {
            const item = dict[key];
            if (typeof item === "object" && item !== null) this.scan(item, depth + 1);
          }
          return;
        }
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
      const failure = this.#failures?.get(value);
      if (failure) throw failure.error;
      try {
        dict = this.#classes.toDict(value);
      } catch (error) {
        (this.#failures ??= new Map()).set(value, { error });
        throw error;
      }
      dicts.set(value, dict);
    }
    return dict;
  }

  /**
   * Records an object as the scan does, for an encode that goes without the scan.
   *
   * @param value the object
   * @returns false when it was recorded before (it is shared)
   */
  see(value: object): boolean {
    return this.#firstSight(value);
  }

  /** Forgets the objects recorded, but not the class conversions made. */
  forgetSightings(): void {
    const list = this.#seenList;
    for (let i = 0; i < this.#seenCount; i++) list[i] = null;
    this.#seenCount = 0;
    this.#seenSet = null;
    this.#shared = null;
  }

  /** Whether an object was reached more than once. */
  isShared(value: object): boolean {
    return this.#shared !== null && this.#shared.has(value);
  }

  /** Forgets every object scanned (call it after each encode, failed ones included). */
  reset(): void {
    this.forgetSightings();
    this.#dicts = null;
    this.#failures = null;
  }

  /** Records an object; false when it was recorded before. */
  #firstSight(value: object): boolean {
    const list = this.#seenList;
    const count = this.#seenCount;
    for (let i = 0; i < count; i++) {
      if (list[i] === value) return false;
    }
    if (count < SEEN_LIST_SIZE) {
      list[count] = value;
      this.#seenCount = count + 1;
      return true;
    }
    const set = this.#seenSet ??= new Set();
    const before = set.size;
    set.add(value);
    return set.size !== before;
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
 * Writes marshal bytes into a chunk of memory that successive results are carved from, as the
 * msgpack encoder does: a small result costs a view instead of a fresh
 * `ArrayBuffer`, and a region handed out is never written again, so results stay valid and
 * independent. A result that outgrows the chunk moves to a bigger fresh one. The reference
 * tables are reset for each encode, a failed one included.
 *
 * Not re-entrant: while {@linkcode MarshalEncoder.busy} is true (a class converter serializing
 * from inside an encode), use another encoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MarshalEncoder, MarshalScan } from "./_marshal_encode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const encoder = new MarshalEncoder(new MarshalScan(new ClassRegistry(), 100), 100);
 * const first = encoder.encode(300);
 * const second = encoder.encode(300);
 * assert(first.join() === [0xe9, 0x2c, 0x01, 0, 0].join()); // flagged: the caller holds it
 * assert(second.join() === first.join() && second.byteOffset !== first.byteOffset);
 * ```
 */
export class MarshalEncoder {
  #buf: Uint8Array = NO_CHUNK;
  #view: DataView = NO_VIEW;
  /** Where the current result starts in `#buf`. */
  #start = 0;
  #pos = 0;
  #chunkSize: number;
  #busy = false;
  /** Number of flagged objects so far: the next reference index. */
  #nextRef = 0;
  /** Number of the current encode: table stamps from other encodes are stale. */
  #generation = 0;
  // Reference tables. Small ints and one-character strs: by stamp, nothing to clear.
  #intStamps = new Int32Array(SMALL_INT_COUNT);
  #intRefs = new Int32Array(SMALL_INT_COUNT);
  #charStamps = new Int32Array(256);
  #charRefs = new Int32Array(256);
  /**
   * Interned strs (dict keys, method names, the empty str) met lately, each with a slot in the
   * stamp tables below; forgotten when there are more than STR_SLOTS_MAX.
   */
  #strSlots = new Map<string, number>();
  #strStamps = new Int32Array(64);
  #strRefs = new Int32Array(64);
  /** 1 when the str is also interned as a dict key (empty or made of name characters). */
  #strKeyLike = new Uint8Array(64);
  /** Whether plain objects are walked with `for...in` in this encode. */
  #forIn = false;
  /**
   * Whether this pass goes without the scan, betting that nothing is shared: each object is
   * recorded as the scan would, and the pass is abandoned (for one with the scan) at the first
   * object met twice, a set to sort, or any error.
   */
  #optimistic = false;
  #emptyBytesRef = -1;
  #emptyTupleRef = -1;
  /** Whether big bytes are referenced rather than copied (encodeParts, encodeCallParts). */
  #partsMode = false;
  /** Big bytes left out of the result: offset in the result, then the bytes, for each. */
  #holes: (number | Uint8Array)[] | null = null;
  /** Objects the scan found shared, once written flagged. */
  #objRefs: Map<object, number> | null = null;
  #scan: MarshalScan;
  #maxDepth: number;

  /**
   * Makes an encoder; its first chunk is allocated by its first encode.
   *
   * @param scan the scan to use (and reset after each encode)
   * @param maxDepth deepest nesting written
   * @param chunkSize size of the first chunk (allocated by the first encode)
   */
  constructor(scan: MarshalScan, maxDepth: number, chunkSize: number = CHUNK_SIZE) {
    this.#scan = scan;
    this.#maxDepth = maxDepth;
    this.#chunkSize = chunkSize;
  }

  /** Whether an encode is running on this encoder right now. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Encodes one value as `marshal.dumps` does (the value itself flagged: the caller holds it).
   *
   * @param value any value of the value model
   * @returns its marshal bytes (a view on a chunk no other result shares bytes with)
   * @throws {SerializeError} for values marshal cannot carry
   */
  encode(value: unknown): Uint8Array {
    const scan = this.#scan;
    this.#begin();
    try {
      scan.start(this.#forIn = protoIsClean());
      this.#optimistic = true;
      try {
        this.value(value, 0, true);
        return this.#finish();
      } catch {
        this.#restart();
      } finally {
        this.#optimistic = false;
      }
      scan.scan(value, 0);
      this.value(value, 0, true);
      return this.#finish();
    } finally {
      this.#end();
      scan.reset();
    }
  }

  /**
   * Encodes Pyro5's call tuple `(objectId, method, [args...], {kwargs...})`: the list and dict
   * are fresh (flagged), each argument and keyword value held (flagged).
   *
   * @param objectId the object id (a flagged str)
   * @param method the method name (an interned str)
   * @param args positional arguments
   * @param kwargs keyword arguments
   * @returns the marshal bytes
   * @throws {SerializeError} for arguments marshal cannot carry
   */
  encodeCall(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
  ): Uint8Array {
    const scan = this.#scan;
    this.#begin();
    try {
      scan.start(this.#forIn = protoIsClean());
      const keys = Object.keys(kwargs);
      this.#optimistic = true;
      try {
        this.#call(objectId, method, args, kwargs, keys);
        return this.#finish();
      } catch {
        this.#restart();
      } finally {
        this.#optimistic = false;
      }
      for (let i = 0; i < args.length; i++) scan.scan(args[i], 1);
      for (let i = 0; i < keys.length; i++) scan.scan(kwargs[keys[i]], 1);
      this.#call(objectId, method, args, kwargs, keys);
      return this.#finish();
    } finally {
      this.#end();
      scan.reset();
    }
  }

  /**
   * Encodes one value like {@linkcode MarshalEncoder.encode}, but leaves bytes of at least
   * {@linkcode BYTES_REFERENCE_MIN} out of the result and refers to them instead.
   *
   * @param value any value of the value model
   * @returns the marshal bytes; when bytes were referenced, parts to be written one after
   * another, the referenced bytes among them as given
   * @throws {SerializeError} for values marshal cannot carry
   */
  encodeParts(value: unknown): Uint8Array | Uint8Array[] {
    this.#partsMode = true;
    try {
      return this.#split(this.encode(value));
    } finally {
      this.#partsMode = false;
      this.#holes = null;
    }
  }

  /**
   * Encodes a call like {@linkcode MarshalEncoder.encodeCall}, referring to big bytes as
   * {@linkcode MarshalEncoder.encodeParts} does.
   *
   * @param objectId the object id
   * @param method the method name
   * @param args positional arguments
   * @param kwargs keyword arguments
   * @returns the marshal bytes, or parts when bytes were referenced
   * @throws {SerializeError} for arguments marshal cannot carry
   */
  encodeCallParts(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
  ): Uint8Array | Uint8Array[] {
    this.#partsMode = true;
    try {
      return this.#split(this.encodeCall(objectId, method, args, kwargs));
    } finally {
      this.#partsMode = false;
      this.#holes = null;
    }
  }

  /** The result with the referenced bytes put back in their places, as parts. */
  #split(result: Uint8Array): Uint8Array | Uint8Array[] {
    const holes = this.#holes;
    if (holes === null) return result;
    const parts: Uint8Array[] = [];
    let from = 0;
    for (let i = 0; i < holes.length; i += 2) {
      const at = holes[i] as number;
      if (at > from) parts.push(result.subarray(from, at));
      parts.push(holes[i + 1] as Uint8Array);
      from = at;
    }
    if (result.length > from) parts.push(result.subarray(from));
    return parts;
  }

  #call(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
    keys: readonly string[],
  ): void {
    this.#ensure(2);
    this.#buf[this.#pos++] = TYPE_SMALL_TUPLE;
    this.#buf[this.#pos++] = 4;
    this.#str(objectId, StrMode.Flagged);
    this.#str(method, StrMode.Interned);
    this.#type(TYPE_LIST, true);
    this.#int32(args.length);
    for (let i = 0; i < args.length; i++) this.value(args[i], 1, true);
    this.#type(TYPE_DICT, true);
    for (let i = 0; i < keys.length; i++) {
      this.#str(keys[i], StrMode.Key);
      this.value(kwargs[keys[i]], 1, true);
    }
    this.#type(TYPE_NULL, false);
  }

  /** One set element alone, unflagged, with the scan of the enclosing encode: its sort key. */
  #encodeElement(value: unknown, depth: number): Uint8Array {
    const partsMode = this.#partsMode;
    this.#partsMode = false; // a sort key is copied whole into the result
    this.#begin();
    try {
      this.value(value, depth, false);
      return this.#finish();
    } finally {
      this.#end();
      this.#partsMode = partsMode;
    }
  }

  #begin(): void {
    this.#busy = true;
    if (this.#buf === NO_CHUNK) this.#newChunk(this.#chunkSize);
    // A failed encode leaves #start where it was, so its bytes are simply overwritten.
    this.#pos = this.#start;
    this.#nextRef = 0;
    this.#emptyBytesRef = -1;
    this.#emptyTupleRef = -1;
    this.#nextGeneration();
  }

  /** Makes every table stamp stale. */
  #nextGeneration(): void {
    if (++this.#generation === 0x7fffffff) { // after two billion encodes: start the stamps over
      this.#intStamps.fill(0);
      this.#charStamps.fill(0);
      this.#strStamps.fill(0);
      this.#generation = 1;
    }
  }

  /** Drops what an abandoned optimistic pass wrote and recorded. */
  #restart(): void {
    this.#pos = this.#start;
    this.#nextRef = 0;
    this.#emptyBytesRef = -1;
    this.#emptyTupleRef = -1;
    this.#objRefs = null;
    this.#holes = null;
    this.#nextGeneration();
    this.#scan.forgetSightings();
  }

  /** Forgets the encode's references (after success and failure alike). */
  #end(): void {
    this.#busy = false;
    if (this.#strSlots.size > STR_SLOTS_MAX) this.#strSlots.clear();
    this.#objRefs = null;
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

  /**
   * Makes room for `needed` more bytes, moving the current result to a fresh chunk if needed
   * (then every absolute position inside the result changes: take them after this call).
   */
  #ensure(needed: number): void {
    if (this.#pos + needed <= this.#buf.length) return;
    const used = this.#pos - this.#start;
    let size = CHUNK_SIZE;
    if (needed >= CHUNK_SIZE) {
      // One big piece (bytes, a long string): room for it and a little more, not double.
      size = used + needed + CHUNK_SIZE;
    } else {
      while (size < 2 * (used + needed)) size *= 2;
    }
    const old = this.#buf;
    this.#newChunk(size);
    this.#buf.set(old.subarray(this.#start, this.#pos));
    this.#start = 0;
    this.#pos = used;
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
    const buf = this.#buf;
    const pos = this.#pos;
    buf[pos] = value;
    buf[pos + 1] = value >> 8;
    buf[pos + 2] = value >> 16;
    buf[pos + 3] = value >> 24;
    this.#pos = pos + 4;
  }

  #ref(index: number): void {
    this.#ensure(5);
    const buf = this.#buf;
    const pos = this.#pos;
    buf[pos] = TYPE_REF;
    buf[pos + 1] = index;
    buf[pos + 2] = index >> 8;
    buf[pos + 3] = index >> 16;
    buf[pos + 4] = index >> 24;
    this.#pos = pos + 5;
  }

  /** Remembers the reference index a flagged object took, when it will be met again. */
  #remember(value: object, index: number): void {
    if (this.#scan.isShared(value)) (this.#objRefs ??= new Map()).set(value, index);
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
    // An interned str (with its slot in the str tables, or -1 when it has none yet), or a
    // one-character singleton (by its char code).
    let interned = false;
    let slot = -1;
    let char = -1;
    if (mode >= StrMode.Key || n === 0) {
      const known = this.#strSlots.get(text);
      if (known !== undefined) {
        if (this.#strStamps[known] === this.#generation) return this.#ref(this.#strRefs[known]);
        slot = known;
      }
      // Dict keys are interned when made of name characters; method names and "" always.
      interned = mode !== StrMode.Key ||
        (slot >= 0 ? this.#strKeyLike[slot] === 1 : n === 0 || isNameLike(text));
    }
    // Interned strs and one-character singletons are distinct objects in CPython 3.11.
    if (!interned && n === 1) {
      const c = text.charCodeAt(0);
      if (c < 0x100) {
        if (this.#charStamps[c] === this.#generation) return this.#ref(this.#charRefs[c]);
        char = c;
      }
    }
    const flagged = interned || char >= 0 || mode === StrMode.Flagged ||
      mode === StrMode.Interned;
    // Short strs: copy by hand, optimistically ASCII.
    if (n <= 64) {
      this.#ensure(2 + n);
      const buf = this.#buf;
      const start = this.#pos;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + 2 + i] = c;
      }
      if (i === n) {
        const code = interned ? TYPE_SHORT_ASCII_INTERNED : TYPE_SHORT_ASCII;
        buf[start + 1] = n;
        this.#pos = start + 2 + n;
        if (flagged) {
          buf[start] = code | FLAG_REF;
          this.#noteStr(text, this.#nextRef++, interned ? slot : -2, char);
        } else buf[start] = code;
        return;
      }
    }
    // Encode after room for the longest header, growing as needed (no 3n reservation).
    this.#ensure(5 + n);
    let start = this.#pos;
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
      start = this.#pos - 5 - written; // the result may have moved
    }
    let code: number;
    if (written === n) { // every char took one byte: ASCII
      if (n < 256) {
        this.#buf.copyWithin(start + 2, start + 5, start + 5 + n);
        this.#pos = start;
        const index = this.#type(interned ? TYPE_SHORT_ASCII_INTERNED : TYPE_SHORT_ASCII, flagged);
        this.#noteStr(text, index, interned ? slot : -2, char);
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
        start = this.#pos;
        written = writeSurrogatePass(text, this.#buf, start + 5);
      }
    }
    this.#pos = start;
    const index = this.#type(code, flagged);
    this.#noteStr(text, index, interned ? slot : -2, char);
    this.#view.setInt32(this.#pos, written, true);
    this.#pos += 4 + written;
  }

  /**
   * Remembers the reference index of an interned str (`slot` its slot, -1 for none yet, -2 when
   * not interned) or of a one-character singleton.
   */
  #noteStr(text: string, index: number, slot: number, char: number): void {
    if (slot >= -1) {
      if (slot === -1) slot = this.#newStrSlot(text);
      this.#strStamps[slot] = this.#generation;
      this.#strRefs[slot] = index;
    } else if (char >= 0) {
      this.#charStamps[char] = this.#generation;
      this.#charRefs[char] = index;
    }
  }

  /** Gives an interned str a slot in the str tables. */
  #newStrSlot(text: string): number {
    const slot = this.#strSlots.size;
    if (slot === this.#strStamps.length) {
      const stamps = new Int32Array(2 * slot);
      stamps.set(this.#strStamps);
      this.#strStamps = stamps;
      const refs = new Int32Array(2 * slot);
      refs.set(this.#strRefs);
      this.#strRefs = refs;
      const keyLike = new Uint8Array(2 * slot);
      keyLike.set(this.#strKeyLike);
      this.#strKeyLike = keyLike;
    }
    this.#strSlots.set(text, slot);
    this.#strKeyLike[slot] = text.length === 0 || isNameLike(text) ? 1 : 0;
    return slot;
  }

  #int(value: number, held: boolean): void {
    if (value >= -5 && value <= 256) {
      const slot = value + 5;
      if (this.#intStamps[slot] === this.#generation) return this.#ref(this.#intRefs[slot]);
      this.#intStamps[slot] = this.#generation;
      this.#intRefs[slot] = this.#type(TYPE_INT, true);
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
    if (this.#partsMode && n >= BYTES_REFERENCE_MIN) {
      (this.#holes ??= []).push(this.#pos - this.#start, data);
      return;
    }
    this.#ensure(n);
    this.#buf.set(data, this.#pos);
    this.#pos += n;
  }

  #object(value: object, depth: number, held: boolean): void {
    if (this.#objRefs !== null) {
      const known = this.#objRefs.get(value);
      if (known !== undefined) return this.#ref(known);
    }
    const kind = kindOf(value);
    if (this.#optimistic && kind !== Kind.Date && kind !== Kind.Typed) {
      // What the scan would do: give up when met before, too deep, or a set to sort.
      if (
        !this.#scan.see(value) || depth >= this.#maxDepth ||
        ((kind === Kind.Set || kind === Kind.FrozenSet) && (value as Set<unknown>).size > 1)
      ) throw RESTART;
    }
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
    if (this.#forIn) {
      for (const key in dict) {
        this.#str(key, StrMode.Key);
        this.value(dict[key], depth + 1, false);
      }
    } else {
      const keys = Object.keys(dict);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        this.#str(key, StrMode.Key);
        this.value(dict[key], depth + 1, false);
      }
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
        if (this.#optimistic && !this.#scan.see(item)) throw RESTART;
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
      // CPython sorts the elements by their own marshal bytes (reproducible output). Each is
      // written alone, with reference tables of its own, by one helper encoder per set.
      const alone = new MarshalEncoder(this.#scan, this.#maxDepth, 256);
      alone.#forIn = this.#forIn;
      const keyed = items.map((item) => ({ item, key: alone.#encodeElement(item, depth + 1) }));
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
    pos = writeCodePoint(buf, pos, c);
  }
  return pos - start;
}
