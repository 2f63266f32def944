/**
 * The shape every serializer has, and the options they share.
 *
 * @module
 */
import type { ClassRegistry } from "./classes.ts";
import type { PyStringDict } from "./values.ts";

/** A decoded remote call: what Pyro5's `loadsCall` returns. */
export interface DecodedCall {
  /** The object id the call is for. */
  objectId: string;
  /** The method (or attribute operation) name. */
  method: string;
  /** Positional arguments. */
  args: unknown[];
  /** Keyword arguments. */
  kwargs: PyStringDict;
}

/** Options shared by the serializers. */
export interface SerializerOptions {
  /**
   * Class conversions used both ways; by default Pyro's own types only.
   * @default {new ClassRegistry()}
   */
  classes?: ClassRegistry;
  /**
   * Deepest nesting of containers a decoder accepts before it gives up with a SerializeError.
   * @default {1000}
   */
  maxDepth?: number;
  /**
   * Serpent only: write bytes as Python bytes literals (Pyro5's SERPENT_BYTES_REPR) instead of
   * base64 dicts.
   * @default {false}
   */
  serpentBytesRepr?: boolean;
}

/** Default deepest nesting a decoder accepts. */
export const DEFAULT_MAX_DEPTH = 1000;

/**
 * One of Pyro5's serializers. Serializers hold no mutable state of their own: one instance may be
 * shared by many connections.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { createSerializer } from "./mod.ts";
 * const json = createSerializer("json");
 * assert(json.id === 3 && json.name === "json");
 * ```
 */
export interface Serializer {
  /** Pyro5's serializer id: 1 serpent, 2 marshal, 3 json, 4 msgpack. */
  readonly id: number;
  /** Pyro5's serializer name. */
  readonly name: "serpent" | "marshal" | "json" | "msgpack";
  /** Encodes a value, as Pyro5's `dumps`. */
  dumps(value: unknown): Uint8Array;
  /** Decodes a value, as Pyro5's `loads`; throws SerializeError on malformed input. */
  loads(data: Uint8Array): unknown;
  /** Encodes a call, in the exact layout Pyro5's `dumpsCall` uses for this serializer. */
  dumpsCall(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
  ): Uint8Array;
  /** Decodes a call; throws SerializeError when the data is not a well-formed call. */
  loadsCall(data: Uint8Array): DecodedCall;
  /** Like dumps; big bytes may be referenced as parts (must not change until sent). */
  dumpsParts?(value: unknown): Uint8Array | Uint8Array[];
  /** Like dumpsCall; big bytes may be referenced as parts (must not change until sent). */
  dumpsCallParts?(
    objectId: string,
    method: string,
    args: readonly unknown[],
    kwargs: Readonly<PyStringDict>,
  ): Uint8Array | Uint8Array[];
}
