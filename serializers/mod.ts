/**
 * Pyro5's four serializers, by name and by id, over one shared value model
 * (see `values.ts`) and one class registry (see `classes.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { createSerializer, tuple } from "./mod.ts";
 * const serpent = createSerializer("serpent");
 * const back = serpent.loads(serpent.dumps(tuple<unknown>(1, "two")));
 * assert(Array.isArray(back) && back[1] === "two");
 * ```
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import { JsonSerializer } from "./json.ts";
import { MarshalSerializer } from "./marshal.ts";
import { MsgpackSerializer } from "./msgpack.ts";
import { SerpentSerializer } from "./serpent.ts";
import type { Serializer, SerializerOptions } from "./types.ts";

export * from "./values.ts";
export * from "./classes.ts";
export * from "./types.ts";
export { JsonSerializer, MarshalSerializer, MsgpackSerializer, SerpentSerializer };

/** Pyro5's serializer names. */
export type SerializerName = Serializer["name"];

/**
 * Serializer ids by name, as Pyro5 numbers them on the wire.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SERIALIZER_IDS } from "./mod.ts";
 * assert(SERIALIZER_IDS.msgpack === 4);
 * ```
 */
export const SERIALIZER_IDS: Readonly<Record<SerializerName, number>> = Object.freeze({
  serpent: 1,
  marshal: 2,
  json: 3,
  msgpack: 4,
});

const NAMES_BY_ID: Readonly<Record<number, SerializerName>> = Object.freeze({
  1: "serpent",
  2: "marshal",
  3: "json",
  4: "msgpack",
});

/**
 * Makes a serializer by name or wire id.
 *
 * @param which name (`"serpent"`, `"marshal"`, `"json"`, `"msgpack"`) or id (1 to 4)
 * @param options class registry, depth limit, serpent bytes format
 * @returns the serializer
 * @throws {SerializeError} for an unknown name or id
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { createSerializer } from "./mod.ts";
 * assert(createSerializer(4).name === "msgpack");
 * ```
 */
export function createSerializer(
  which: SerializerName | number,
  options: SerializerOptions = {},
): Serializer {
  const name = typeof which === "number" ? NAMES_BY_ID[which] : which;
  switch (name) {
    case "serpent":
      return new SerpentSerializer(options);
    case "marshal":
      return new MarshalSerializer(options);
    case "json":
      return new JsonSerializer(options);
    case "msgpack":
      return new MsgpackSerializer(options);
    default:
      throw new SerializeError(`unknown serializer: ${which}`);
  }
}
