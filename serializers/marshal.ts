/** Placeholder until the marshal serializer lands. @module */
import type { DecodedCall, Serializer, SerializerOptions } from "./types.ts";
/** marshal serializer. */
export class MarshalSerializer implements Serializer {
  readonly id = 0;
  readonly name = "marshal" as const;
  constructor(_options: SerializerOptions = {}) {}
  dumps(_value: unknown): Uint8Array {
    throw new Error("todo");
  }
  loads(_data: Uint8Array): unknown {
    throw new Error("todo");
  }
  dumpsCall(): Uint8Array {
    throw new Error("todo");
  }
  loadsCall(_data: Uint8Array): DecodedCall {
    throw new Error("todo");
  }
}
