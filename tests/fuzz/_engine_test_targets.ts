/**
 * Targets that misbehave on purpose, to show that the fuzz engine catches a hang and a crash:
 * input 0 of every run decodes to a value, a first byte 0xfe throws a TypeError, 0xff never
 * ends.
 *
 * @module
 */
import { ProtocolError } from "../../errors.ts";
import { Random } from "./_random.ts";
import type { FuzzTarget } from "./_targets.ts";

/** The misbehaving target (inputs are one byte: the index of the input, modulo 256). */
export const TARGETS: readonly FuzzTarget[] = [{
  name: "misbehaving",
  corpus: () => [],
  input: (seed) => new Uint8Array([new Random(seed).int(256)]),
  decode(input) {
    if (input[0] === 0xff) { for (;;) { /* a hang */ } }
    if (input[0] === 0xfe) throw new TypeError("Not a PyroError");
    if (input[0] % 2) throw new ProtocolError("Odd byte");
    return input[0];
  },
}];
