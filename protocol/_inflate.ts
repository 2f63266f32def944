/**
 * Inflating a compressed payload in slices: zlib works through it in chunks between which the
 * event loop runs, the output grows as it really arrives, and inflation stops as soon as the
 * output passes the size limit. Internal to `connection.ts`.
 *
 * @module
 */
import { createInflate } from "node:zlib";
import { MessageTooLargeError, ProtocolError } from "../errors.ts";

/** zlib's output chunk: the event loop gets a turn between two of them. */
const INFLATE_CHUNK = 256 * 1024;
/** The output's chunks are joined this many bytes at a time, with a turn of the event loop between. */
const JOIN_SLICE = 1024 * 1024;

/** Told how many more bytes the output takes; returns false to stop inflating. */
export type GrowthCheck = (moreBytes: number) => boolean;

/**
 * Inflates zlib data without holding the event loop, never past `maxSize` output bytes: zlib
 * works in chunks between which other work runs, and the chunks are joined in slices.
 *
 * @param data the compressed bytes
 * @param maxSize the largest output allowed
 * @param grow asked before the output takes more memory; false aborts with `stopped()`'s error
 * @param stopped the error to throw when `grow` said no
 * @returns the inflated bytes
 * @throws {MessageTooLargeError} as soon as the output passes `maxSize`
 * @throws {ProtocolError} for data zlib cannot inflate
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { deflateSync } from "node:zlib";
 * import { inflateInSlices } from "./_inflate.ts";
 * const out = await inflateInSlices(deflateSync(new Uint8Array(1000)), 2000, () => true, () => new Error());
 * assert(out.length === 1000);
 * ```
 */
export async function inflateInSlices(
  data: Uint8Array,
  maxSize: number,
  grow: GrowthCheck,
  stopped: () => Error,
): Promise<Uint8Array> {
  const chunks = await inflateChunks(data, maxSize, grow, stopped);
  if (chunks.length === 1) return chunks[0];
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  if (!grow(size)) throw stopped();
  const out = new Uint8Array(size);
  let at = 0;
  let sliceEnd = JOIN_SLICE;
  for (let i = 0; i < chunks.length; i++) {
    out.set(chunks[i], at);
    at += chunks[i].length;
    chunks[i] = EMPTY; // its memory can go
    if (at >= sliceEnd && i + 1 < chunks.length) {
      sliceEnd = at + JOIN_SLICE;
      await nextTurn();
      if (!grow(0)) throw stopped();
    }
  }
  return out;
}

const EMPTY = new Uint8Array(0);

/** Compressed input is fed to zlib this many bytes at a time (a bomb's slice makes ~1 MiB). */
const INPUT_SLICE = 1024;
/** After this many milliseconds of inflating, the event loop gets a turn. */
const TURN_MS = 5;

/** A turn of the event loop: timers and I/O of other connections run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Inflates into zlib's output chunks (plain Uint8Array views), checking size and budget. The
 * input goes in by slices, with a turn of the event loop every few milliseconds (node:zlib's
 * stream alone would inflate everything in one go).
 */
async function inflateChunks(
  data: Uint8Array,
  maxSize: number,
  grow: GrowthCheck,
  stopped: () => Error,
): Promise<Uint8Array[]> {
  const inflater = createInflate({ chunkSize: INFLATE_CHUNK });
  const chunks: Uint8Array[] = [];
  let size = 0;
  let failure: Error | null = null;
  const fail = (error: Error) => {
    if (failure !== null) return;
    failure = error;
    inflater.destroy();
  };
  inflater.on("data", (chunk: Uint8Array) => {
    if (failure !== null) return;
    size += chunk.length;
    if (size > maxSize) {
      fail(
        new MessageTooLargeError(`message too large (decompressed payload exceeds max=${maxSize})`),
      );
    } else if (!grow(chunk.length)) {
      fail(stopped());
    } else {
      chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  });
  const ended = new Promise<void>((resolve) => {
    inflater.on("end", resolve);
    inflater.on("close", resolve);
  });
  inflater.on("error", (error: Error) => {
    fail(new ProtocolError(`invalid compressed data: ${error.message}`, { cause: error }));
  });
  let turn = performance.now();
  for (let at = 0; at < data.length && failure === null; at += INPUT_SLICE) {
    await new Promise<void>((resolve) => {
      inflater.write(data.subarray(at, at + INPUT_SLICE), () => resolve());
    });
    if (performance.now() - turn >= TURN_MS) {
      await nextTurn();
      turn = performance.now();
    }
  }
  if (failure === null) inflater.end();
  await ended;
  if (failure !== null) throw failure;
  return chunks.length > 0 ? chunks : [EMPTY];
}
