/**
 * Pyro5's `marshal` serializer (wire id 2): Python's marshal format, version 4, as Python 3.11's
 * `marshal.dumps` writes it. The byte layout and type codes are tabulated in `_marshal_codes.ts`.
 *
 * | TypeScript value                 | marshal type written                                 |
 * | -------------------------------- | ---------------------------------------------------- |
 * | `null`, `undefined`, booleans    | `N`, `F`, `T`                                        |
 * | safe integer, `bigint`           | `i` (int32 range), else `l` (15-bit digits)          |
 * | other `number`, `PyFloat`        | `g` (float64)                                        |
 * | `PyComplex`                      | `y` (two float64)                                    |
 * | `string`                         | `z`/`a` (ASCII, short/long), `u` (UTF-8); `Z`/`A`/`t` interned |
 * | `Uint8Array`, `ArrayBuffer`      | `s` (bytes)                                          |
 * | `PyTuple`                        | `)` (under 256 items) or `(`                         |
 * | `Array`, other typed arrays      | `[`                                                  |
 * | plain object, `Map`              | `{` ... `0`                                          |
 * | `Set`, `PyFrozenSet`             | `<`, `>` (elements sorted by their bytes, as CPython) |
 * | `Date`                           | str, ISO 8601 UTC (`...+00:00`)                      |
 * | other objects                    | their class dict (`ClassRegistry.toDict`)            |
 *
 * Byte-exactness: CPython sets the reference flag (0x80) by reference count and picks the
 * interned string codes by interning, neither of which exists for TypeScript values. The encoder
 * applies one fixed model (see `_marshal_encode.ts`) that reproduces Python Pyro5's bytes for
 * calls and for results computed at run time; results built from Python literals may differ in
 * those flag bits and string codes only. Every decoder (Python's and this one) reads both.
 *
 * Unlike Python Pyro5, class instances nested inside containers are converted too (Python's
 * marshal refuses them). Decoded bytes are copies. A dict that contains itself is refused.
 *
 * @module
 */
import { PyroError, SerializeError } from "../errors.ts";
import { ClassRegistry } from "./classes.ts";
import {
  type DecodedCall,
  DEFAULT_MAX_DEPTH,
  type Serializer,
  type SerializerOptions,
} from "./types.ts";
import { isPlainObject, type PyStringDict, PyTuple } from "./values.ts";
import { MarshalEncoder, MarshalScan } from "./_marshal_encode.ts";
import { MarshalDecoder } from "./_marshal_decode.ts";

/**
 * Pyro5's marshal serializer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MarshalSerializer } from "./marshal.ts";
 * import { tuple } from "./values.ts";
 * const marshal = new MarshalSerializer({});
 * const bytes = marshal.dumps(tuple<unknown>(1, "a"));
 * assert(bytes[0] === 0xa9 && bytes.length === 10); // flagged small tuple of 2
 * const back = marshal.loads(bytes) as unknown[];
 * assert(back[0] === 1 && back[1] === "a");
 * ```
 */
export class MarshalSerializer implements Serializer {
  /** Pyro5's id of the marshal serializer. */
  readonly id = 2;
  /** Pyro5's name of the marshal serializer. */
  readonly name = "marshal" as const;
  #classes: ClassRegistry;
  #maxDepth: number;
  #encoder: MarshalEncoder;
  #decoder: MarshalDecoder;

  /**
   * Makes the serializer. It keeps one encoder and one decoder for all its calls: their tables
   * are reset for each call, and nothing of a call is kept beyond caches of short strs.
   *
   * @param options class registry and depth limit
   */
  constructor(options: SerializerOptions = {}) {
    this.#classes = options.classes ?? new ClassRegistry();
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#encoder = new MarshalEncoder(
      new MarshalScan(this.#classes, this.#maxDepth),
      this.#maxDepth,
    );
    this.#decoder = new MarshalDecoder(this.#classes, this.#maxDepth);
  }

  /** The shared encoder, or a one-off one when a class converter serializes mid-encode. */
  #encoderFor(): MarshalEncoder {
    return this.#encoder.busy
      ? new MarshalEncoder(new MarshalScan(this.#classes, this.#maxDepth), this.#maxDepth, 256)
      : this.#encoder;
  }

  /** The shared decoder, or a one-off one when a class converter deserializes mid-decode. */
  #decoderFor(): MarshalDecoder {
    return this.#decoder.busy ? new MarshalDecoder(this.#classes, this.#maxDepth) : this.#decoder;
  }

  /**
   * Encodes a value as Python Pyro5's `MarshalSerializer.dumps`.
   *
   * Small results are views carved one after another from a 16 KiB chunk (one `ArrayBuffer`
   * per result would cost more than encoding a small call); a region handed out is never
   * written again, and a kept result keeps its chunk alive.
   *
   * @param value any value of the value model
   * @returns marshal bytes (a view on a chunk no other result shares bytes with)
   * @throws {SerializeError} for functions, symbols, unhashable dict keys or set elements, too
   *   deep nesting
   */
  dumps(value: unknown): Uint8Array {
    try {
      return this.#encoderFor().encode(value);
    } catch (error) {
      throw codecError(error);
    }
  }

  /**
   * Encodes a value as {@linkcode MarshalSerializer.dumps} does, but without copying bytes of
   * 256 KiB or more: the result is then a list of parts (the big bytes among them, as given)
   * whose concatenation is what `dumps` returns. The big bytes must not change until sent.
   *
   * @param value any value of the value model
   * @returns the marshal bytes, or parts when big bytes were referenced
   * @throws {SerializeError} as {@linkcode MarshalSerializer.dumps}
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MarshalSerializer } from "./marshal.ts";
   * const marshal = new MarshalSerializer();
   * const big = new Uint8Array(1 << 20);
   * const parts = marshal.dumpsParts(big) as Uint8Array[];
   * assert(parts.length === 2 && parts[1] === big);
   * assert.deepStrictEqual(parts[0], new Uint8Array([0x73 | 0x80, 0, 0, 0x10, 0]));
   * assert(marshal.dumpsParts("small") instanceof Uint8Array);
   * ```
   */
  dumpsParts(value: unknown): Uint8Array | Uint8Array[] {
    try {
      return this.#encoderFor().encodeParts(value);
    } catch (error) {
      throw codecError(error);
    }
  }

  /**
   * Encodes a call as {@linkcode MarshalSerializer.dumpsCall} does, referring to big bytes as
   * {@linkcode MarshalSerializer.dumpsParts} does (they must not change until sent).
   *
   * @param objectId the target object id
   * @param method the method name
   * @param args positional arguments
   * @param kwargs keyword arguments (`null` as in `dumpsCall`)
   * @returns the marshal bytes, or parts when big bytes were referenced
   * @throws {SerializeError} as {@linkcode MarshalSerializer.dumps}
   */
  dumpsCallParts(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict> | null,
  ): Uint8Array | Uint8Array[] {
    try {
      return this.#encoderFor().encodeCallParts(objectId, method, args, kwargs ?? {});
    } catch (error) {
      throw codecError(error);
    }
  }

  /**
   * Decodes marshal bytes as Python Pyro5's `MarshalSerializer.loads`.
   *
   * @param data marshal bytes; decoded bytes values are views on it
   * @returns the value
   * @throws {SerializeError} on malformed data, code objects and other non-data types
   */
  loads(data: Uint8Array): unknown {
    try {
      return this.#decoderFor().decode(data);
    } catch (error) {
      throw codecError(error);
    }
  }

  /**
   * Encodes a call as Python Pyro5's `MarshalSerializer.dumpsCall`:
   * `(objectId, method, [args...], {kwargs...})`.
   *
   * @param objectId the target object id
   * @param method the method name
   * @param args positional arguments (sent as a list)
   * @param kwargs keyword arguments; `null` (Python Pyro5's `None` for `__getattr__`, which its
   *   marshal serializer cannot write) is sent as an empty dict
   * @returns marshal bytes
   * @throws {SerializeError} as {@linkcode MarshalSerializer.dumps}
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MarshalSerializer } from "./marshal.ts";
   * const marshal = new MarshalSerializer();
   * const call = marshal.loadsCall(marshal.dumpsCall("obj", "add", [1, 2], { z: 3 }));
   * assert(call.method === "add" && call.args[1] === 2 && call.kwargs.z === 3);
   * ```
   */
  dumpsCall(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict> | null,
  ): Uint8Array {
    try {
      return this.#encoderFor().encodeCall(objectId, method, args, kwargs ?? {});
    } catch (error) {
      throw codecError(error);
    }
  }

  /**
   * Decodes a call as Python Pyro5's `MarshalSerializer.loadsCall`.
   *
   * @param data marshal bytes of `(objectId, method, args, kwargs)`
   * @returns object id, method, args and kwargs (`{}` for Python's `None`)
   * @throws {SerializeError} when the data is malformed or not a call tuple
   */
  loadsCall(data: Uint8Array): DecodedCall {
    let call: unknown;
    try {
      call = this.#decoderFor().decodeCall(data);
    } catch (error) {
      throw codecError(error);
    }
    if (Array.isArray(call) && call.length === 4) {
      const objectId: unknown = call[0];
      const method: unknown = call[1];
      const args: unknown = call[2];
      const kwargs: unknown = call[3];
      if (
        typeof objectId === "string" && typeof method === "string" && Array.isArray(args) &&
        (kwargs === null || isPlainObject(kwargs))
      ) {
        return {
          objectId,
          method,
          args: args instanceof PyTuple ? [...args] : args,
          kwargs: kwargs ?? {},
        };
      }
    }
    throw new SerializeError(
      "invalid marshal call data: expected (objectId, method, args, kwargs)",
    );
  }
}

/** What a codec failure is thrown as: a PyroError as it is, anything else as a SerializeError. */
function codecError(error: unknown): unknown {
  if (error instanceof PyroError) return error;
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new SerializeError("marshal data nested too deeply", { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new SerializeError(`marshal serializer failed: ${message}`, { cause: error });
}
