/**
 * Test support for the protocol tests: an in-memory {@linkcode ByteStream} pair with adjustable
 * chunking, a seeded random generator, and a runner for Python scripts against the real Pyro5.
 *
 * @module
 */
import type { ByteStream } from "../protocol/connection.ts";
import { peerEnv } from "./_peer.ts";

/** Options of {@linkcode memoryStreamPair}. */
export interface MemoryStreamOptions {
  /** Most bytes one read hands out. @default Infinity */
  maxReadChunk?: number;
  /** Most bytes one write accepts (so writers must loop). @default Infinity */
  maxWriteChunk?: number;
}

/**
 * One end of an in-memory duplex stream. Writes copy their bytes into the peer's inbox and yield
 * a microtask (so concurrent writers could interleave if nothing serialized them).
 */
export class MemoryStream implements ByteStream {
  #peer: MemoryStream | null = null;
  #inbox: Uint8Array[] = [];
  #head = 0; // read offset into #inbox[0]
  #peerClosed = false;
  #closed = false;
  #waiter: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #maxRead: number;
  #maxWrite: number;
  /** Number of read() calls made so far. */
  reads = 0;

  /** @param options chunking */
  constructor(options: MemoryStreamOptions = {}) {
    this.#maxRead = options.maxReadChunk ?? Infinity;
    this.#maxWrite = options.maxWriteChunk ?? Infinity;
  }

  /** Links two ends. */
  static link(a: MemoryStream, b: MemoryStream): void {
    a.#peer = b;
    b.#peer = a;
  }

  /** Reads what is queued, waits when nothing is, null once the peer closed and all is read. */
  async read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    while (true) {
      if (this.#closed) throw new Deno.errors.BadResource("memory stream closed");
      if (this.#inbox.length > 0) {
        const chunk = this.#inbox[0];
        const n = Math.min(p.length, this.#maxRead, chunk.length - this.#head);
        p.set(chunk.subarray(this.#head, this.#head + n));
        this.#head += n;
        if (this.#head === chunk.length) {
          this.#inbox.shift();
          this.#head = 0;
        }
        return n;
      }
      if (this.#peerClosed) return null;
      await new Promise<void>((resolve, reject) => this.#waiter = { resolve, reject });
    }
  }

  /** Queues (a copy of) up to maxWriteChunk bytes of `p` at the peer. */
  async write(p: Uint8Array): Promise<number> {
    await Promise.resolve();
    if (this.#closed) throw new Deno.errors.BadResource("memory stream closed");
    const peer = this.#peer;
    if (peer === null || peer.#closed) throw new Deno.errors.BrokenPipe("peer closed");
    const n = Math.min(p.length, this.#maxWrite);
    if (n > 0) peer.#deliver(p.slice(0, n));
    return n;
  }

  /** Closes this end: a pending read rejects, the peer sees end of stream. */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("memory stream closed");
    this.#closed = true;
    this.#wake(new Deno.errors.Interrupted("operation canceled"));
    if (this.#peer !== null) this.#peer.#endOfStream();
  }

  /** Ends the peer's writing side only: reads here see end of stream after the queued bytes. */
  endInput(): void {
    this.#endOfStream();
  }

  #deliver(chunk: Uint8Array): void {
    this.#inbox.push(chunk);
    this.#wake(null);
  }

  #endOfStream(): void {
    this.#peerClosed = true;
    this.#wake(null);
  }

  #wake(error: Error | null): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter === null) return;
    if (error) waiter.reject(error);
    else waiter.resolve();
  }
}

/**
 * Makes two linked in-memory stream ends.
 *
 * @param options chunking of both ends
 * @returns the two ends
 */
export function memoryStreamPair(options: MemoryStreamOptions = {}): [MemoryStream, MemoryStream] {
  const a = new MemoryStream(options);
  const b = new MemoryStream(options);
  MemoryStream.link(a, b);
  return [a, b];
}

/**
 * A seeded pseudo random generator (mulberry32), so fuzz runs repeat exactly.
 *
 * @param seed the seed
 * @returns a function giving floats in [0, 1)
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Bytes of hex. */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The PYTHONPATH holding the real Pyro5 5.15 peer (installed and cached by scripts/install_peer.sh). */
export async function peerPythonPath(): Promise<string> {
  return (await peerEnv()).PYTHONPATH;
}

/**
 * Runs a Python script with the Pyro5 peer on its path, feeding `input` on stdin.
 *
 * @param script Python source
 * @param input bytes for stdin
 * @param args arguments after the script
 * @returns stdout bytes (throws with stderr when the script fails)
 */
export async function runPython(
  script: string,
  input: Uint8Array = new Uint8Array(0),
  args: string[] = [],
): Promise<Uint8Array> {
  const child = new Deno.Command("python3", {
    args: ["-c", script, ...args],
    env: { PYTHONPATH: await peerPythonPath() },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`python3 failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}
