/**
 * Pyro5's `json` serializer (wire id 3), byte for byte what Python Pyro5 5.15 sends:
 * `json.dumps(data, ensure_ascii=False, default=...)` in UTF-8.
 *
 * | TypeScript value                 | JSON written                                         |
 * | -------------------------------- | ---------------------------------------------------- |
 * | `null`, `undefined`, booleans    | `null`, `true`, `false`                              |
 * | safe integer, `bigint`           | the int (`bigint` above 4300 digits: SerializeError) |
 * | other `number`, `PyFloat`        | Python's float repr; `NaN`, `Infinity`, `-Infinity` |
 * | `string`                         | escaped like Python (`ensure_ascii=False`)           |
 * | `Array`, `PyTuple`, `Set`        | list (a `Set` in its iteration order)                |
 * | plain object, `Map`              | dict; Map keys converted like Python's `json`        |
 * | `Date`                           | ISO 8601 string, UTC (`...+00:00`)                   |
 * | other objects                    | their class dict (`ClassRegistry.toDict`)            |
 * | `Uint8Array`, `PyComplex`, `PyFrozenSet` | SerializeError, like Python Pyro5            |
 *
 * Separators are `", "` and `": "`. A call is the dict
 * `{"object": ..., "method": ..., "params": [...], "kwargs": {...}}`.
 *
 * Decoding follows Python's `json.loads`: ints are exact (`bigint` beyond 2^53), `NaN` and
 * `Infinity` are read, and dicts with a `__class__` key become objects, innermost first.
 *
 * Known differences: a string with a lone surrogate is written as a `\udxxx` escape (Python's
 * UTF-8 encoding fails on it); a plain object lists integer-like keys first (JavaScript's property
 * order), where Python keeps insertion order.
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
import { isPlainObject, type PyStringDict } from "./values.ts";
import { JsonEncoder } from "./_json_encode.ts";
import { JsonDecoder } from "./_json_reader.ts";

/**
 * Pyro5's JSON serializer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { JsonSerializer } from "./json.ts";
 * import { tuple } from "./values.ts";
 * const json = new JsonSerializer({});
 * const bytes = json.dumps({ a: tuple<unknown>(1, 2.5, "x"), b: null });
 * assert(new TextDecoder().decode(bytes) === '{"a": [1, 2.5, "x"], "b": null}');
 * assert((json.loads(bytes) as { a: unknown[] }).a[2] === "x");
 * ```
 */
export class JsonSerializer implements Serializer {
  /** Pyro5's id of the json serializer. */
  readonly id = 3;
  /** Pyro5's name of the json serializer. */
  readonly name = "json" as const;
  #classes: ClassRegistry;
  #maxDepth: number;
  /** Reused by every `dumps` and `dumpsCall` that does not run inside another one. */
  #encoder: JsonEncoder;
  /** Reused by every `loads` and `loadsCall` (it may be used again from inside a decode). */
  #decoder: JsonDecoder;

  /**
   * Makes the serializer; it keeps no value between calls (only a reused output buffer).
   *
   * @param options class registry and depth limit
   */
  constructor(options: SerializerOptions = {}) {
    this.#classes = options.classes ?? new ClassRegistry();
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#encoder = new JsonEncoder(this.#classes, this.#maxDepth);
    this.#decoder = new JsonDecoder(this.#classes, this.#maxDepth);
  }

  /** The shared encoder, or a fresh one while it is busy (a class converter calling dumps). */
  #beginEncoder(): JsonEncoder {
    const encoder = this.#encoder.busy
      ? new JsonEncoder(this.#classes, this.#maxDepth)
      : this.#encoder;
    encoder.begin();
    return encoder;
  }

  /**
   * Encodes a value as Python Pyro5's `JsonSerializer.dumps`.
   *
   * @param value any value of the value model
   * @returns UTF-8 JSON (a view of a buffer owned by nobody else)
   * @throws {SerializeError} for bytes, complex, frozenset, unsupported dict keys, functions,
   *   symbols, too deep (or circular) nesting
   */
  dumps(value: unknown): Uint8Array {
    const encoder = this.#beginEncoder();
    try {
      encoder.value(value, 0);
      return encoder.finish();
    } catch (error) {
      throw asSerializeError(error);
    } finally {
      encoder.end();
    }
  }

  /**
   * Decodes JSON as Python Pyro5's `JsonSerializer.loads`.
   *
   * @param data UTF-8 JSON
   * @returns the value
   * @throws {SerializeError} on malformed data (with Python's message and position)
   */
  loads(data: Uint8Array): unknown {
    try {
      return this.#decoder.decode(data);
    } catch (error) {
      throw asSerializeError(error);
    }
  }

  /**
   * Encodes a call as Python Pyro5's `JsonSerializer.dumpsCall`.
   *
   * @param objectId the target object id
   * @param method the method name
   * @param args positional arguments
   * @param kwargs keyword arguments; `null` writes `null`, as Python Pyro5 does for its
   *   `__getattr__` calls
   * @returns UTF-8 JSON of `{"object", "method", "params", "kwargs"}`
   * @throws {SerializeError} as {@linkcode JsonSerializer.dumps}
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { JsonSerializer } from "./json.ts";
   * const bytes = new JsonSerializer().dumpsCall("obj", "add", [1, 2], {});
   * assert(
   *   new TextDecoder().decode(bytes) ===
   *     '{"object": "obj", "method": "add", "params": [1, 2], "kwargs": {}}',
   * );
   * ```
   */
  dumpsCall(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict> | null,
  ): Uint8Array {
    const encoder = this.#beginEncoder();
    try {
      encoder.call(objectId, method, args, kwargs);
      return encoder.finish();
    } catch (error) {
      throw asSerializeError(error);
    } finally {
      encoder.end();
    }
  }

  /**
   * Decodes a call as Python Pyro5's `JsonSerializer.loadsCall`.
   *
   * @param data UTF-8 JSON of a call dict
   * @returns object id, method, args and kwargs (`{}` for Python's `None`)
   * @throws {SerializeError} when the data is malformed or not a call dict
   */
  loadsCall(data: Uint8Array): DecodedCall {
    const call = this.loads(data);
    if (isPlainObject(call)) {
      const { object, method, params, kwargs } = call;
      if (
        typeof object === "string" && typeof method === "string" && Array.isArray(params) &&
        (kwargs === null || isPlainObject(kwargs))
      ) {
        // Python Pyro5 sends None kwargs for __getattr__.
        return { objectId: object, method, args: params, kwargs: kwargs ?? {} };
      }
    }
    throw new SerializeError("invalid json call data: expected object, method, params, kwargs");
  }
}

/** A PyroError as it is; anything else (a stack overflow...) as a SerializeError. */
function asSerializeError(error: unknown): unknown {
  if (error instanceof PyroError) return error;
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new SerializeError("json data nested too deeply", { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new SerializeError(`json serializer failed: ${message}`, { cause: error });
}
