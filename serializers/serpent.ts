/**
 * Pyro5's default serializer, serpent (wire id 1): values travel as Python literal expressions
 * in UTF-8, which Python reads back with `ast.literal_eval`. Output is byte for byte what
 * serpent 1.41 writes for Pyro5 5.15 (`serpent.dumps(value, module_in_classname=True,
 * bytes_repr=SERPENT_BYTES_REPR)`).
 *
 * | Value                    | serpent text                                             |
 * | ------------------------ | -------------------------------------------------------- |
 * | header (every document)  | `# serpent utf-8 python3.2\n`                            |
 * | `None`, `True`, ints     | `None`, `True`, `-12`, `123456789012345678901234567890`  |
 * | floats                   | Python `repr`: `2.0`, `1e+16`, `1e-05`; `1e30000` for infinity; NaN as `{'__class__':'float','value':'nan'}` |
 * | complex                  | `(1.0+2.0j)`, `(1.0-2.0j)`                               |
 * | str                      | Python `repr`: `'a'`, `"it's"`, `'\n\x00\u2028'`         |
 * | bytes                    | `{'data': 'AAE=', 'encoding': 'base64'}`, or `b'\x00\x01'` with `serpentBytesRepr` |
 * | tuple, list              | `()`, `(1,)`, `(1,2)`, `[1,2]`                           |
 * | set, frozenset           | `{1,2}`; the empty set as `()`                           |
 * | dict, class dict         | `{'a':1}` in insertion order; `{'__class__':'Pyro5.core.URI','state':(...)}` |
 *
 * A call is the tuple `(objectId, method, args, kwargs)`.
 *
 * Where bytes cannot match Python's: sets print in JavaScript insertion order (Python's order
 * follows hashes, and for strings changes per process); a string holding two surrogate escapes
 * that form a pair in JavaScript prints as the one character; Python 3.12+ prints a few
 * characters newer than Unicode 14 unescaped where this module (like Python 3.11) escapes them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SerpentSerializer } from "./serpent.ts";
 * import { tuple } from "./values.ts";
 * const serpent = new SerpentSerializer();
 * const bytes = serpent.dumps({ a: tuple<unknown>(1, "x") });
 * assert(new TextDecoder().decode(bytes) === "# serpent utf-8 python3.2\n{'a':(1,'x')}");
 * const back = serpent.loads(bytes) as { a: unknown[] };
 * assert(back.a[1] === "x");
 * ```
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import { ClassRegistry } from "./classes.ts";
import { SerpentDecoder } from "./_serpent_decode.ts";
import { SerpentEncoder, type SerpentEncoderSettings } from "./_serpent_encode.ts";
import {
  type DecodedCall,
  DEFAULT_MAX_DEPTH,
  type Serializer,
  type SerializerOptions,
} from "./types.ts";
import { isPlainObject, type PyStringDict } from "./values.ts";

/**
 * Pyro5's serpent serializer (id 1), the default one.
 *
 * Decoding never evaluates anything: it parses the literal subset `ast.literal_eval` accepts
 * (except `\N{...}` escapes and `...`) and refuses the rest with a SerializeError naming the byte
 * offset; it also reads serpent's own `(1.0+-0.0j)`, which Python cannot.
 * Dicts with `__class__` become objects through the class registry (bottom-up), serpent's
 * `{'__class__':'float','value':'nan'}` becomes NaN, and a dict of exactly
 * `{'data': <base64 str>, 'encoding': 'base64'}` becomes a Uint8Array.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SerpentSerializer } from "./serpent.ts";
 * const serpent = new SerpentSerializer();
 * const call = serpent.loadsCall(serpent.dumpsCall("obj", "echo", ["hi"], {}));
 * assert(call.method === "echo" && call.args[0] === "hi");
 * ```
 */
export class SerpentSerializer implements Serializer {
  /** Pyro5's wire id of serpent. */
  readonly id = 1;
  /** Pyro5's name of serpent. */
  readonly name = "serpent" as const;
  #settings: SerpentEncoderSettings;
  /** Reused for every call that is not nested inside another one (see `#encoder()`). */
  #shared: SerpentEncoder;
  #decoder: SerpentDecoder;

  /**
   * Creates a serpent serializer.
   *
   * @param options class registry, depth limit, bytes format
   * @throws {RangeError} when maxDepth is not a positive integer
   */
  constructor(options: SerializerOptions = {}) {
    const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) {
      throw new RangeError(`maxDepth must be a positive integer: ${maxDepth}`);
    }
    this.#settings = {
      classes: options.classes ?? new ClassRegistry(),
      maxDepth,
      bytesRepr: options.serpentBytesRepr ?? false,
    };
    this.#shared = new SerpentEncoder(this.#settings);
    this.#decoder = new SerpentDecoder(this.#settings);
  }

  /** The shared encoder, or a fresh one when a class hook serializes from inside a call. */
  #encoder(): SerpentEncoder {
    return this.#shared.busy ? new SerpentEncoder(this.#settings) : this.#shared;
  }

  /**
   * Encodes a value as serpent, like Pyro5's `SerpentSerializer.dumps`.
   *
   * @param value the value (see `values.ts` for the type mapping)
   * @returns the serpent bytes
   * @throws {SerializeError} for values that cannot travel (functions, symbols, cycles, nesting
   *   beyond maxDepth, unhashable dict keys or set items)
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { SerpentSerializer } from "./serpent.ts";
   * const text = new TextDecoder().decode(new SerpentSerializer().dumps([1.5, null]));
   * assert(text.endsWith("[1.5,None]"));
   * ```
   */
  dumps(value: unknown): Uint8Array {
    return this.#encoder().encode(value);
  }

  /**
   * Decodes serpent bytes, like Pyro5's `SerpentSerializer.loads`.
   *
   * @param data the serpent bytes
   * @returns the value
   * @throws {SerializeError} for malformed data (the message names the byte offset), unknown
   *   classes, nesting beyond maxDepth
   * @throws {SecurityError} for class names with double underscores
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { SerpentSerializer } from "./serpent.ts";
   * const value = new SerpentSerializer().loads(new TextEncoder().encode("{'a': (1, 2j)}"));
   * assert((value as { a: unknown[] }).a.length === 2);
   * ```
   */
  loads(data: Uint8Array): unknown {
    return this.#decoder.decode(data);
  }

  /**
   * Encodes a call as Pyro5 does: `(objectId, method, args, kwargs)`. Python Pyro5 sends the
   * args of ordinary calls as a tuple (pass a `PyTuple`, e.g. `tuple(...args)`, for
   * identical bytes) and a list for a few daemon calls such as `get_metadata` (pass an array).
   *
   * @param objectId the object id
   * @param method the method name
   * @param args positional arguments: a PyTuple travels as a tuple, another array as a list
   * @param kwargs keyword arguments; `null` writes `None`, as Python Pyro5 does for its
   *   `__getattr__`/`__setattr__` calls
   * @returns the serpent bytes
   * @throws {SerializeError} for arguments that cannot travel
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { SerpentSerializer } from "./serpent.ts";
   * import { tuple } from "./values.ts";
   * const bytes = new SerpentSerializer().dumpsCall("obj", "add", tuple(1, 2), {});
   * assert(new TextDecoder().decode(bytes).endsWith("('obj','add',(1,2),{})"));
   * ```
   */
  dumpsCall(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict> | null,
  ): Uint8Array {
    return this.#encoder().encodeCall(objectId, method, args, kwargs);
  }

  /**
   * Decodes a call written by {@linkcode SerpentSerializer.dumpsCall} or Python Pyro5.
   *
   * @param data the serpent bytes
   * @returns object id, method, args and kwargs (`None` kwargs become `{}`)
   * @throws {SerializeError} for malformed data or a value that is not a
   *   `(str, str, tuple or list, dict)` 4-tuple
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { SerpentSerializer } from "./serpent.ts";
   * const data = new TextEncoder().encode("('obj','ping',(),None)");
   * const call = new SerpentSerializer().loadsCall(data);
   * assert(call.objectId === "obj" && call.args.length === 0);
   * ```
   */
  loadsCall(data: Uint8Array): DecodedCall {
    const value = this.#decoder.decode(data);
    if (!Array.isArray(value) || value.length !== 4) {
      throw new SerializeError(
        "Invalid call data: expected a tuple (object id, method, args, kwargs)",
      );
    }
    const [objectId, method, args, kwargs] = value;
    if (typeof objectId !== "string") {
      throw new SerializeError("Invalid call data: the object id is not a str");
    }
    if (typeof method !== "string") {
      throw new SerializeError("Invalid call data: the method name is not a str");
    }
    if (!Array.isArray(args)) {
      throw new SerializeError("Invalid call data: the args are not a tuple or list");
    }
    if (kwargs !== null && !isPlainObject(kwargs)) {
      throw new SerializeError("Invalid call data: the kwargs are not a dict with str keys");
    }
    return { objectId, method, args, kwargs: kwargs ?? {} };
  }
}
