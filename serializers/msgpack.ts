/**
 * Pyro5's msgpack serializer (id 4), byte for byte what Python's msgpack 1.0 writes under Pyro5
 * 5.15 (`msgpack.packb(value, use_bin_type=True, default=...)`), and a reader of every msgpack
 * format.
 *
 * | TypeScript                            | msgpack (first byte)                                 |
 * | ------------------------------------- | ---------------------------------------------------- |
 * | `null`, `undefined`                   | nil `c0`                                             |
 * | `boolean`                             | `c2` / `c3`                                          |
 * | safe integer `number`, `bigint`       | smallest of fixint, uint `cc`..`cf`, int `d0`..`d3`  |
 * | `bigint` beyond 64 bits               | ext `0x31`: its ASCII decimal text                   |
 * | other `number`, {@linkcode PyFloat}   | float64 `cb` (never float32)                         |
 * | `string`                              | fixstr `a0`, str8 `d9`, str16 `da`, str32 `db`       |
 * | `Uint8Array`, `ArrayBuffer`, `DataView` | bin8 `c4`, bin16 `c5`, bin32 `c6`                  |
 * | `Array`, PyTuple, `Set`, typed arrays | fixarray `90`, array16 `dc`, array32 `dd`            |
 * | plain object, `Map`, class dicts      | fixmap `80`, map16 `de`, map32 `df`                  |
 * | {@linkcode PyComplex}                 | fixext16 `d8 30`: float64 real, float64 imag         |
 * | `Date`                                | fixext8 `d7 32`: float64 seconds since the epoch     |
 *
 * Headers are big-endian as msgpack says; Pyro5's ext payloads are little-endian (Python's native
 * `struct` order). `Float64Array`/`Float32Array` elements stay floats (like Python's
 * `array('d').tolist()`), other typed arrays follow the number rule. A `Map`'s keys go out as
 * whatever they are (Python packs a dict with int keys so), though Python merges keys it finds
 * equal (`1` and `true`). A `PyFrozenSet` cannot be sent, as in Python Pyro5.
 *
 * `dumpsParts` and `dumpsCallParts` write the same bytes without copying big `bin` values: they
 * hand them out as parts of the result, for a connection to send as they are.
 *
 * Decoding reads every msgpack format (float32, non-minimal ints, timestamps too): 64-bit ints
 * beyond the safe range become `bigint`; a dict with a `__class__` key goes through the class
 * registry. Where it differs from Python's:
 * - a map with a key that is not a `str` becomes a `Map` (Python's `strict_map_key` refuses it);
 * - ext `0x32` (datetime) and msgpack's timestamp ext (-1) become a `Date`, ext `0x33` (a Python
 *   `date`: int64 ordinal) a `Date` at UTC midnight;
 * - `bin` becomes a `Uint8Array` `subarray` view on the input, not a copy. Aliasing: do not
 *   modify or reuse the input buffer while decoded bytes are in use (protocol/connection.ts
 *   gives every message a buffer of its own);
 * - `loadsCall` decodes ext types as `loads` does (Python Pyro5 leaves them raw `ExtType`s
 *   there), and takes `None` kwargs as `{}`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MsgpackSerializer } from "./msgpack.ts";
 * const msgpack = new MsgpackSerializer();
 * const bytes = msgpack.dumps({ a: 1 });
 * assert(bytes.join(",") === "129,161,97,1");
 * assert((msgpack.loads(bytes) as { a: number }).a === 1);
 * ```
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import { ClassRegistry } from "./classes.ts";
import { MsgpackDecoder } from "./_msgpack_decode.ts";
import { MsgpackEncoder } from "./_msgpack_encode.ts";
import {
  type DecodedCall,
  DEFAULT_MAX_DEPTH,
  type Serializer,
  type SerializerOptions,
} from "./types.ts";
import { isPlainObject, type PyStringDict } from "./values.ts";

/**
 * Pyro5's msgpack serializer. One instance may serve many connections: results never share
 * bytes, though small ones are views on a common 16 KiB chunk (see `dumps`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MsgpackSerializer } from "./msgpack.ts";
 * const msgpack = new MsgpackSerializer();
 * const call = msgpack.loadsCall(msgpack.dumpsCall("obj", "add", [1, 2], {}));
 * assert(call.method === "add" && call.args[1] === 2);
 * ```
 */
export class MsgpackSerializer implements Serializer {
  /** Pyro5's id of this serializer. */
  readonly id = 4;
  /** Pyro5's name of this serializer. */
  readonly name = "msgpack" as const;
  #classes: ClassRegistry;
  #maxDepth: number;
  #encoder: MsgpackEncoder;
  #decoder: MsgpackDecoder;

  /**
   * Makes a msgpack serializer.
   *
   * @param options class registry and nesting limit (both ways)
   */
  constructor(options: SerializerOptions = {}) {
    this.#classes = options.classes ?? new ClassRegistry();
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#encoder = new MsgpackEncoder(this.#classes, this.#maxDepth);
    this.#decoder = new MsgpackDecoder(this.#classes, this.#maxDepth);
  }

  /** The shared encoder, or a one-off one when a class converter serializes mid-encode. */
  #encoderFor(): MsgpackEncoder {
    return this.#encoder.busy
      ? new MsgpackEncoder(this.#classes, this.#maxDepth, 256)
      : this.#encoder;
  }

  /**
   * Encodes a value as Python's `msgpack.packb` under Pyro5.
   *
   * Small results are views carved one after another from a 16 KiB chunk (one `ArrayBuffer`
   * per result would cost more than encoding a small call); a kept result keeps its chunk alive.
   *
   * @param value the value
   * @returns the msgpack bytes
   * @throws {SerializeError} for functions, symbols, frozensets, lone surrogates, invalid
   * Dates, and nesting deeper than `maxDepth` (cycles included)
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MsgpackSerializer } from "./msgpack.ts";
   * assert(new MsgpackSerializer().dumps(1.5)[0] === 0xcb);
   * ```
   */
  dumps(value: unknown): Uint8Array {
    return this.#encoderFor().encode(value);
  }

  /**
   * Encodes a value like {@linkcode MsgpackSerializer.dumps}, without copying big bytes: each
   * `bin` of at least 256 KiB (a `Uint8Array`, `ArrayBuffer` or `DataView`) is referenced, and
   * the result is then a list of parts whose concatenation is exactly what `dumps` returns,
   * those bins among them as given. `MessageConnection.send` and `encode` take such parts as a
   * message's `data` and write them without joining them.
   *
   * Aliasing: a referenced bin must not change until the parts are sent (with `dumps` it may
   * change as soon as the call returns).
   *
   * @param value the value
   * @returns the msgpack bytes, or parts when a big bin was referenced
   * @throws {SerializeError} as `dumps`
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MsgpackSerializer } from "./msgpack.ts";
   * const msgpack = new MsgpackSerializer();
   * const big = new Uint8Array(1 << 20);
   * const parts = msgpack.dumpsParts([1, big]) as Uint8Array[];
   * assert(parts.length === 2 && parts[1] === big);
   * assert.deepStrictEqual(parts[0], new Uint8Array([0x92, 1, 0xc6, 0, 0x10, 0, 0]));
   * assert(msgpack.dumpsParts("small") instanceof Uint8Array);
   * ```
   */
  dumpsParts(value: unknown): Uint8Array | Uint8Array[] {
    return this.#encoderFor().encodeParts(value);
  }

  /**
   * Decodes msgpack bytes into a value, as Pyro5's `loads`.
   *
   * @param data exactly one msgpack value; decoded `bin` values are views on it
   * @returns the value
   * @throws {SerializeError} for malformed or truncated input, trailing bytes, unknown ext
   * codes, and nesting deeper than `maxDepth`
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MsgpackSerializer } from "./msgpack.ts";
   * assert(new MsgpackSerializer().loads(new Uint8Array([0x92, 1, 2])) instanceof Array);
   * ```
   */
  loads(data: Uint8Array): unknown {
    const decoder = this.#decoder.busy
      ? new MsgpackDecoder(this.#classes, this.#maxDepth)
      : this.#decoder;
    return decoder.decode(data);
  }

  /**
   * Encodes a call as Pyro5's `dumpsCall`: the array `[objectId, method, args, kwargs]`.
   *
   * @param objectId the object id
   * @param method the method name
   * @param args positional arguments
   * @param kwargs keyword arguments
   * @returns the msgpack bytes
   * @throws {SerializeError} for arguments that cannot be sent
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MsgpackSerializer } from "./msgpack.ts";
   * assert(new MsgpackSerializer().dumpsCall("o", "m", [], {})[0] === 0x94);
   * ```
   */
  dumpsCall(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
  ): Uint8Array {
    return this.#encoderFor().encodeCall(
      objectId,
      method,
      args,
      kwargs,
    );
  }

  /**
   * Encodes a call like {@linkcode MsgpackSerializer.dumpsCall}, referencing big bins as
   * {@linkcode MsgpackSerializer.dumpsParts} does (they must not change until sent).
   *
   * @param objectId the object id
   * @param method the method name
   * @param args positional arguments
   * @param kwargs keyword arguments
   * @returns the msgpack bytes, or parts when a big bin was referenced
   * @throws {SerializeError} for arguments that cannot be sent
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MsgpackSerializer } from "./msgpack.ts";
   * const msgpack = new MsgpackSerializer();
   * const big = new Uint8Array(300_000).fill(1);
   * const parts = msgpack.dumpsCallParts("o", "upload", [big], {}) as Uint8Array[];
   * assert(parts[1] === big && parts.length === 3); // ..., the bin, then the kwargs {}
   * const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
   * let at = 0;
   * for (const part of parts) at += (whole.set(part, at), part.length);
   * assert.deepStrictEqual(whole, msgpack.dumpsCall("o", "upload", [big], {}));
   * ```
   */
  dumpsCallParts(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
  ): Uint8Array | Uint8Array[] {
    return this.#encoderFor().encodeCallParts(objectId, method, args, kwargs);
  }

  /**
   * Decodes a call written by `dumpsCall` (Python's or ours).
   *
   * @param data the msgpack bytes
   * @returns object id, method, args and kwargs (`{}` for Python's `None`)
   * @throws {SerializeError} when the data is malformed or not a call
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MsgpackSerializer } from "./msgpack.ts";
   * const msgpack = new MsgpackSerializer();
   * const call = msgpack.loadsCall(msgpack.dumpsCall("o", "m", [], { x: 1 }));
   * assert(call.kwargs.x === 1);
   * ```
   */
  loadsCall(data: Uint8Array): DecodedCall {
    const call = this.loads(data);
    if (!Array.isArray(call) || call.length !== 4) {
      throw new SerializeError("invalid msgpack call: expected [object, method, args, kwargs]");
    }
    const [objectId, method, args, kwargs] = call;
    if (typeof objectId !== "string" || typeof method !== "string") {
      throw new SerializeError("invalid msgpack call: object id and method must be str");
    }
    if (!Array.isArray(args)) throw new SerializeError("invalid msgpack call: args must be a list");
    // A Pyro5 proxy sends None as kwargs for attribute access.
    if (kwargs === null) return { objectId, method, args, kwargs: {} };
    if (!isPlainObject(kwargs)) {
      throw new SerializeError("invalid msgpack call: kwargs must be a dict with str keys");
    }
    return { objectId, method, args, kwargs };
  }
}
