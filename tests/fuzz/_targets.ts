/**
 * The fuzz targets: every decoder that reads bytes from the network, each with a corpus (the
 * golden vectors plus generated valid inputs) and a maker of inputs (mutants of the corpus,
 * token soup, random bytes), using the generators of the per-format fuzz tests.
 *
 * An input must end in a value or a {@linkcode PyroError} (the documented error classes:
 * ProtocolError, SerializeError, SecurityError, MessageTooLargeError ...); anything else thrown is
 * a crash. {@linkcode tryInput} is the one judge, used by the engine, the tests and the
 * regression replay.
 *
 * @module
 */
import { PyroError } from "../../errors.ts";
import {
  decodeMessage,
  encodeMessage,
  HEADER_SIZE,
  type OutgoingMessage,
} from "../../protocol/message.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { MarshalSerializer } from "../../serializers/marshal.ts";
import { createSerializer } from "../../serializers/mod.ts";
import { MsgpackSerializer } from "../../serializers/msgpack.ts";
import { SerpentSerializer } from "../../serializers/serpent.ts";
import type { Serializer } from "../../serializers/types.ts";
import { tuple } from "../../serializers/values.ts";
import { b64, loadJson } from "../_support.ts";
import { type GenOptions, mutate, randomValue } from "./_marshal_json_gen.ts";
import { MessageFuzzer } from "./_message_gen.ts";
import { mutateMsgpack, randomDate, randomExt, randomMsgpackValue } from "./_msgpack_gen.ts";
import { Random } from "./_random.ts";
import { SerpentFuzzer } from "./_serpent_gen.ts";

/** One decoder under fuzzing. */
export interface FuzzTarget {
  /** e.g. `serpent.loads`, `message`. */
  readonly name: string;
  /** Valid inputs to mutate, made from the seed (the same seed gives the same corpus). */
  corpus(seed: number): Uint8Array[];
  /** One input, made from its own seed. */
  input(seed: number, corpus: readonly Uint8Array[]): Uint8Array;
  /** Decodes the input; returns what came out or throws. */
  decode(input: Uint8Array): unknown;
}

/** How one input ended. */
export type Outcome =
  | { readonly kind: "value"; readonly ms: number }
  | { readonly kind: "rejected" | "crash"; readonly ms: number; readonly error: string };

/** Generated values per corpus, next to the golden vectors. */
const GENERATED = 300;

interface ValuesJson {
  cases: { serializers: Record<string, { data?: string; canonical?: string }> }[];
  calls: { serializers: Record<string, { data?: string; canonical?: string }> }[];
}
interface MessagesJson {
  sent: { output?: string; outputFlags?: number }[];
  received: { data: string }[];
}

/** The golden vectors' bytes of one serializer: values and calls. */
function goldenData(serializer: string): Uint8Array[] {
  const values = loadJson("testdata/values.json") as ValuesJson;
  const out: Uint8Array[] = [];
  for (const entry of [...values.cases, ...values.calls]) {
    const data = entry.serializers[serializer];
    if (data?.data) out.push(b64(data.data));
    if (data?.canonical) out.push(b64(data.canonical));
  }
  return out;
}

/** The golden vectors' message bytes (sent outputs and received inputs). */
function goldenMessages(): Uint8Array[] {
  const messages = loadJson("testdata/messages.json") as MessagesJson;
  return [
    ...messages.sent.flatMap((m) => m.output ? [b64(m.output)] : []),
    ...messages.received.map((m) => b64(m.data)),
  ];
}

/** A loads target and a loadsCall target over one corpus of values and calls. */
function serializerTargets(
  serializer: Serializer,
  generated: (seed: number) => Uint8Array[],
  input: (seed: number, corpus: readonly Uint8Array[]) => Uint8Array,
): FuzzTarget[] {
  const corpus = (seed: number) => [...goldenData(serializer.name), ...generated(seed)];
  return [
    { name: `${serializer.name}.loads`, corpus, input, decode: (b) => serializer.loads(b) },
    { name: `${serializer.name}.loadsCall`, corpus, input, decode: (b) => serializer.loadsCall(b) },
  ];
}

/** A few calls wrapping generated values, as a proxy sends them. */
function calls(serializer: Serializer, values: unknown[]): Uint8Array[] {
  return values.slice(0, 40).map((v, i) =>
    serializer.dumpsCall(`obj_${i}`, i % 2 ? "method" : "__getattr__", tuple(v, i), { k: v })
  );
}

const serpent = new SerpentSerializer();
const serpentTargets = serializerTargets(
  serpent,
  (seed) => {
    const fuzz = new SerpentFuzzer(seed);
    const values = Array.from({ length: GENERATED }, () => fuzz.value());
    const shallow = new SerpentSerializer({ serpentBytesRepr: true });
    return [
      ...values.map((v) => serpent.dumps(v)),
      ...calls(serpent, values),
      shallow.dumps([new Uint8Array([0, 39, 34, 92, 200]), tuple<unknown>("a", 1.5)]),
    ];
  },
  (seed, corpus) => {
    const fuzz = new SerpentFuzzer(seed);
    const r = fuzz.int(10);
    if (r < 6) return fuzz.mutate(fuzz.pick(corpus));
    if (r < 9) return fuzz.tokens();
    return fuzz.bytes(fuzz.int(64));
  },
);

const JSON_GEN: GenOptions = {
  marshal: false,
  loneSurrogates: true,
  oneCharStrings: true,
  sharing: false,
};
const JSON_ALPHABET = new TextEncoder().encode('{}[]",:0123456789-+.eEtrufalsnNIy \\/u\n');
const JSON_NOISE = new TextEncoder().encode('{}[]",:01-.eNI \\u\x00\xc3\xa9');
const json = new JsonSerializer();
const jsonTargets = serializerTargets(
  json,
  (seed) => {
    const rng = new Random(seed);
    const values = Array.from({ length: GENERATED }, () => randomValue(rng, JSON_GEN));
    return [...values.map((v) => json.dumps(v)), ...calls(json, values)];
  },
  (seed, corpus) => {
    const rng = new Random(seed);
    const r = rng.int(10);
    if (r < 5) return mutate(rng, rng.pick(corpus), JSON_ALPHABET);
    if (r < 8) return mutate(rng, rng.pick(corpus));
    return Uint8Array.from(
      { length: rng.int(30) },
      () => rng.int(4) === 0 ? rng.int(256) : JSON_NOISE[rng.int(JSON_NOISE.length)],
    );
  },
);

const MARSHAL_GEN: GenOptions = {
  marshal: true,
  loneSurrogates: true,
  oneCharStrings: true,
  sharing: true,
};
/** Bytes biased towards valid marshal type codes, so that decoding gets somewhere. */
const MARSHAL_CODES = [..."NFTi()[{<>zZaAuts0rlgy"].map((c) => c.charCodeAt(0));
const marshal = new MarshalSerializer();
const marshalTargets = serializerTargets(
  marshal,
  (seed) => {
    const rng = new Random(seed);
    const values = Array.from({ length: GENERATED }, () => randomValue(rng, MARSHAL_GEN));
    return [...values.map((v) => marshal.dumps(v)), ...calls(marshal, values)];
  },
  (seed, corpus) => {
    const rng = new Random(seed);
    if (rng.int(4) > 0) return mutate(rng, rng.pick(corpus));
    return Uint8Array.from(
      { length: 1 + rng.int(40) },
      () =>
        rng.int(3) === 0
          ? rng.pick(MARSHAL_CODES) | (rng.int(2) << 7)
          : rng.int(3) === 0
          ? rng.int(256)
          : rng.int(4),
    );
  },
);

const msgpack = new MsgpackSerializer();
const msgpackTargets = serializerTargets(
  msgpack,
  (seed) => {
    const rng = new Random(seed);
    const values = Array.from(
      { length: GENERATED },
      (_, i) => (i % 10 === 0 ? randomDate(rng) : randomMsgpackValue(rng, 1))[0],
    );
    return [...values.map((v) => msgpack.dumps(v).slice()), ...calls(msgpack, values)];
  },
  (seed, corpus) => {
    const rng = new Random(seed);
    const r = rng.int(20);
    if (r < 15) return mutateMsgpack(rng, rng.pick(corpus));
    if (r < 18) return rng.bytes(rng.int(40));
    return randomExt(rng);
  },
);

/** Random messages: `compressed` ones have compressible payloads and go out compressed. */
function randomMessages(seed: number, compressed: boolean): Uint8Array[] {
  const fuzz = new MessageFuzzer(seed);
  return Array.from({ length: GENERATED }, () => {
    const message: OutgoingMessage = fuzz.message();
    if (compressed && message.data.length <= 100) message.data = fuzz.payload(101 + fuzz.int(3000));
    return encodeMessage(message, { compress: compressed || fuzz.chance(0.5) });
  });
}

/** Calls of every serializer, compressed, in messages as a proxy sends them. */
function compressedCalls(seed: number): Uint8Array[] {
  const rng = new Random(seed);
  const out: Uint8Array[] = [];
  for (const [id, serializer] of [1, 2, 3, 4].map((id) => [id, createSerializer(id)] as const)) {
    for (let i = 0; i < 30; i++) {
      const args = tuple<unknown>("x".repeat(rng.int(400)), rng.int(1000), [1.5, null, "é"]);
      const data = serializer.dumpsCall(`obj_${i}`, "method", args, { i });
      out.push(encodeMessage(callMessage(id, i, data), { compress: true }));
    }
  }
  // A bomb: 4 MiB of zeros inflate past the target's 1 MiB limit.
  out.push(encodeMessage(callMessage(1, 0, new Uint8Array(4 << 20)), { compress: true }));
  return out;
}

function callMessage(serializerId: number, seq: number, data: Uint8Array): OutgoingMessage {
  return {
    type: 4, // INVOKE
    flags: 0,
    seq,
    serializerId,
    data,
    annotations: new Map(),
    correlationId: null,
  };
}

/** Damage inside a message's body only (the deflate stream of a compressed message). */
function mutateBody(fuzz: MessageFuzzer, message: Uint8Array): Uint8Array {
  if (message.length <= HEADER_SIZE) return fuzz.mutate(message);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const start = Math.min(message.length, HEADER_SIZE + view.getUint32(16));
  const body = mutate(fuzz, message.subarray(start));
  const out = new Uint8Array(start + body.length);
  out.set(message.subarray(0, start));
  out.set(body, start);
  // Mostly keep the data size field true to the damaged body, so that inflation is reached.
  if (fuzz.chance(0.8)) new DataView(out.buffer).setUint32(12, body.length);
  return out;
}

const serializersById = new Map([1, 2, 3, 4].map((id) => [id, createSerializer(id)]));

const messageTargets: FuzzTarget[] = [
  {
    name: "message",
    corpus: (seed) => [...goldenMessages(), ...randomMessages(seed, false)],
    input(seed, corpus) {
      const fuzz = new MessageFuzzer(seed);
      return fuzz.chance(0.05) ? fuzz.payload(fuzz.int(100)) : fuzz.mutate(fuzz.pick(corpus));
    },
    decode: (bytes) => decodeMessage(bytes),
  },
  {
    // The daemon's path for a compressed request: header, inflation (bounded), loadsCall.
    name: "message.compressed",
    corpus: (seed) => [
      ...goldenMessages().filter((m) => (m[9] & 2) !== 0),
      ...randomMessages(seed, true),
      ...compressedCalls(seed),
    ],
    input(seed, corpus) {
      const fuzz = new MessageFuzzer(seed);
      const original = fuzz.pick(corpus);
      return fuzz.chance(0.7) ? mutateBody(fuzz, original) : fuzz.mutate(original);
    },
    decode(bytes) {
      const message = decodeMessage(bytes, { maxMessageSize: 1 << 20 });
      return serializersById.get(message.serializerId)?.loadsCall(message.data) ?? message;
    },
  },
];

/** Every target, in the order the engine runs them. */
export const TARGETS: readonly FuzzTarget[] = [
  ...serpentTargets,
  ...jsonTargets,
  ...marshalTargets,
  ...msgpackTargets,
  ...messageTargets,
];

/** The target of that name; throws a TypeError naming the known ones. */
export function targetNamed(name: string): FuzzTarget {
  const target = TARGETS.find((t) => t.name === name);
  if (!target) {
    throw new TypeError(`Unknown fuzz target: ${name} (known: ${TARGETS.map((t) => t.name)})`);
  }
  return target;
}

/** The named target, from the given module of targets or the standard ones. */
export async function loadTarget(name: string, targets?: string): Promise<FuzzTarget> {
  if (!targets) return targetNamed(name);
  const module = await import(targets) as { TARGETS: readonly FuzzTarget[] };
  const target = module.TARGETS.find((t) => t.name === name);
  if (!target) throw new TypeError(`Unknown fuzz target: ${name} in ${targets}`);
  return target;
}

/**
 * An error's kind: its class and the message with the details folded (numbers, quoted text) and
 * cut after its second part, so that "... at byte 12: unexpected character 'x'" and "... at
 * byte 7: unexpected character 'y'" count as one kind.
 */
export function errorKind(error: unknown): string {
  if (!(error instanceof Error)) return `thrown ${typeof error}`;
  const message = error.message.replace(/'[^']*'|"[^"]*"/g, "'…'").replace(/0x[0-9a-f]+|\d+/gi, "N")
    .split(":").slice(0, 2).join(":").slice(0, 90);
  return `${error.constructor.name}: ${message}`;
}

/** Decodes one input and says how it ended: a value, a PyroError (rejected) or a crash. */
export function tryInput(target: FuzzTarget, input: Uint8Array): Outcome {
  const start = performance.now();
  try {
    target.decode(input);
    return { kind: "value", ms: performance.now() - start };
  } catch (error) {
    const ms = performance.now() - start;
    if (error instanceof PyroError) return { kind: "rejected", ms, error: errorKind(error) };
    return { kind: "crash", ms, error: `${errorKind(error)} (${String(error).slice(0, 300)})` };
  }
}
