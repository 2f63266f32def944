/**
 * A message-framed connection: whole Pyro messages in and out of a byte stream such as a
 * `Deno.Conn`. Small messages are read into chunks that serve many messages per socket read and
 * are handed out as views, without copying; large bodies grow as their bytes really arrive;
 * sends are serialized so their bytes never interleave, and a large payload is written as it is,
 * after its header, without being copied.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MessageConnection } from "./connection.ts";
 * import { MessageType } from "./message.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const server = new MessageConnection(await listener.accept());
 * await client.send({
 *   type: MessageType.PING, flags: 0, seq: 0, serializerId: 42,
 *   data: new TextEncoder().encode("ping"), annotations: new Map(), correlationId: null,
 * });
 * const ping = await server.receive(5000);
 * assert(ping.type === MessageType.PING);
 * client.close();
 * server.close();
 * listener.close();
 * ```
 *
 * @module
 */
import { ConnectionClosedError, PyroError, TimeoutError } from "../errors.ts";
import { inflateInSlices } from "./_inflate.ts";
import {
  decodeBody,
  decodeHeader,
  DEFAULT_MAX_MESSAGE_SIZE,
  HEADER_SIZE,
  INLINE_PAYLOAD_LIMIT,
  type Message,
  MessageFlags,
  type MessageHeader,
  type MessageOptions,
  type OutgoingMessage,
  type PreparedMessage,
  prepareMessage,
  validateHeaderPrefix,
  writeMessageHead,
} from "./message.ts";

/**
 * The byte stream a {@linkcode MessageConnection} runs over; `Deno.Conn` (TCP, Unix, TLS)
 * satisfies it.
 *
 * Contract: `read` fills a prefix of `p` and resolves to the byte count (0 is allowed and means
 * "nothing yet"), or null at end of stream; `write` resolves to how many bytes of `p` it wrote;
 * `close()` makes a pending `read` or `write` settle (reject or resolve null), as `Deno.Conn` does.
 */
export interface ByteStream {
  /** Reads some bytes into `p`; resolves to their count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves to how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream; pending reads and writes settle. */
  close(): void;
}

/** A message on the wire: one received, decoded, or the bytes of one being sent. */
export type WireEvent =
  | { direction: "received"; message: Message }
  | { direction: "sending"; bytes: Uint8Array };

/** Options of a {@linkcode MessageConnection}. */
export interface MessageConnectionOptions extends MessageOptions {
  /**
   * Largest read chunk in bytes: messages up to this size (header included) are read through
   * the connection's chunks, larger ones into a buffer of their own. A connection starts with
   * a small chunk and grows it up to this size while reads keep filling it.
   * @default {DEFAULT_READ_BUFFER_SIZE} (64 KiB)
   */
  readBufferSize?: number;
  /**
   * Told of every message received (decoded) and sent (its bytes, header included), for wire
   * logging (Pyro5's `LOGWIRE`). It must not throw.
   * @default {undefined} (none)
   */
  onWire?: (wire: WireEvent) => void;
  /**
   * Shared account of the bytes buffered in incomplete large messages (see
   * {@linkcode ReceiveBudget}); a daemon gives all its connections one.
   * @default {undefined} (no limit beyond the message size)
   */
  budget?: ReceiveBudget;
}

/**
 * What holds bytes in a {@linkcode ReceiveBudget}: closing it gives them back.
 */
export interface BudgetHolder {
  /** Closes the holder; it then releases what it holds. */
  close(): void;
}

/**
 * A budget of bytes buffered in incomplete messages, shared by many connections (a daemon's).
 * Connections take from it before a large body's or an inflated payload's buffer grows and give
 * everything back when the message is complete or the connection closes. When a request takes
 * the total past the limit, the holders with most bytes are closed, until the total fits: memory
 * stays bounded whatever sizes peers declare, and the greediest pay for it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ReceiveBudget } from "./connection.ts";
 * const budget = new ReceiveBudget(100);
 * const closed: string[] = [];
 * const a = { close: () => closed.push("a") }, b = { close: () => closed.push("b") };
 * assert(budget.take(a, 70) && budget.take(b, 20));
 * assert(budget.take(b, 20)); // 110 bytes: a, holding most, is closed
 * assert.deepStrictEqual(closed, ["a"]);
 * assert(budget.used === 40);
 * ```
 */
export class ReceiveBudget {
  /** The most bytes all holders may hold together. */
  readonly limit: number;
  #held = new Map<BudgetHolder, number>();
  #used = 0;

  /**
   * Makes an empty budget.
   *
   * @param limit the most bytes held at once
   * @throws {RangeError} for a limit below 1
   */
  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError(`Invalid buffered bytes limit: ${limit}`);
    this.limit = limit;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Takes bytes for a holder. Past the limit, the holders with most bytes (this one too, if it
   * is among them) are closed and released until the total fits.
   *
   * @param holder who takes
   * @param bytes how many more bytes
   * @returns whether the holder may go on (false when it was closed itself)
   */
  take(holder: BudgetHolder, bytes: number): boolean {
    this.#held.set(holder, (this.#held.get(holder) ?? 0) + bytes);
    this.#used += bytes;
    if (this.#used <= this.limit) return true;
    const greediest = [...this.#held].sort((x, y) => y[1] - x[1]);
    for (const [victim] of greediest) {
      if (this.#used <= this.limit) break;
      this.release(victim);
      try {
        victim.close();
      } catch {
        // closing is best effort; its bytes are released either way
      }
    }
    return this.#held.has(holder);
  }

  /**
   * Gives back everything a holder took; idempotent.
   *
   * @param holder the holder
   */
  release(holder: BudgetHolder): void {
    const bytes = this.#held.get(holder);
    if (bytes === undefined) return;
    this.#held.delete(holder);
    this.#used -= bytes;
  }
}

/** Default largest read chunk of a connection: 64 KiB. */
export const DEFAULT_READ_BUFFER_SIZE = 64 * 1024;
/** The first read chunk of a connection (or the largest, if that is smaller): idle ones stay small. */
const INITIAL_READ_CHUNK = 4 * 1024;
/** With less free room than this at the end of a chunk, the next read goes to a fresh chunk. */
const MIN_READ_ROOM = 512;
/** A large body's first buffer is at most this big (or what is already buffered). */
const INITIAL_LARGE_BODY = 1024 * 1024;
/**
 * Compressed payloads up to this size are inflated at once (at most about 1 MB comes out);
 * larger ones in slices, between which other connections are served.
 */
const SYNC_INFLATE_MAX = 1024;
/** Messages up to this size are encoded into the connection's send chunks. */
const POOLED_MESSAGE_MAX = 4 * 1024;
/** Leading payload parts up to this size are copied next to the header: one write less. */
const MERGED_PART_MAX = 4 * 1024;
/** The first send chunk; each next one is twice as big, up to {@linkcode MAX_SEND_CHUNK}. */
const INITIAL_SEND_CHUNK = 2 * 1024;
const MAX_SEND_CHUNK = 32 * 1024;
/** A read buffer with no room: the first read replaces it by a chunk. */
const NO_BYTES = new Uint8Array(0);

/**
 * Sends and receives whole Pyro messages over a {@linkcode ByteStream}.
 *
 * Messages returned by {@linkcode MessageConnection.receive} own their bytes: their `data` and
 * annotation views point into memory that no later receive writes again, so they stay valid.
 * Small messages are views into a shared read chunk of at most `readBufferSize` bytes (a kept
 * message keeps that chunk alive); large ones have a buffer of their own. Any receive failure
 * (end of stream, timeout, protocol error) closes the connection, since a half-read stream
 * cannot be resynchronised (Pyro5 does the same).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MessageConnection } from "./connection.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const peer = await listener.accept();
 * await using connection = new MessageConnection(conn, { compress: true });
 * await connection.send({
 *   type: 4, flags: 0, seq: 1, serializerId: 1, data: new Uint8Array(1000),
 *   annotations: new Map(), correlationId: null,
 * });
 * const raw = new Uint8Array(100);
 * assert((await peer.read(raw))! < 1040); // 1000 zero bytes compress well
 * peer.close();
 * listener.close();
 * ```
 */
export class MessageConnection implements AsyncDisposable {
  #stream: ByteStream;
  #options: MessageOptions;
  #onWire: MessageConnectionOptions["onWire"];
  #budget: ReceiveBudget | null;
  #maxSize: number;
  #maxChunk: number;
  #chunkSize: number;
  // Bytes before #start were handed out in messages: they are never written again.
  #buffer: Uint8Array;
  #start = 0; // first unconsumed byte in #buffer
  #end = 0; // end of the bytes read into #buffer
  #closed = false;
  #receiving = false;
  #sendChunk: Uint8Array | null = null;
  #sendPos = 0;
  #sendChunkSize = INITIAL_SEND_CHUNK;
  #writesPending = 0;
  #writeTail: Promise<void> = Promise.resolve();

  /**
   * Wraps a byte stream; the connection then owns it and closes it.
   *
   * @param stream the byte stream, e.g. a `Deno.Conn`
   * @param options compression, size limit, read buffer size
   * @throws {RangeError} for a read buffer smaller than a header
   */
  constructor(stream: ByteStream, options: MessageConnectionOptions = {}) {
    const bufferSize = options.readBufferSize ?? DEFAULT_READ_BUFFER_SIZE;
    if (!Number.isInteger(bufferSize) || bufferSize < HEADER_SIZE) {
      throw new RangeError(`Invalid read buffer size: ${bufferSize} (at least ${HEADER_SIZE})`);
    }
    this.#stream = stream;
    this.#maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#options = { compress: options.compress ?? false, maxMessageSize: this.#maxSize };
    this.#onWire = options.onWire;
    this.#maxChunk = bufferSize;
    this.#chunkSize = Math.min(INITIAL_READ_CHUNK, bufferSize);
    this.#buffer = NO_BYTES; // the first read allocates a chunk
    this.#budget = options.budget ?? null;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Receives the next message. One receive at a time.
   *
   * @param timeoutMs give up after this many milliseconds; 0 or less waits forever
   * @returns the message, owning its bytes
   * @throws {ConnectionClosedError} at end of stream (between messages or in the middle of one;
   * the message says which), or when the connection is or gets closed
   * @throws {TimeoutError} when the timeout elapses; the connection is then closed
   * @throws {ProtocolError} for a malformed message (also closes the connection)
   * @throws {MessageTooLargeError} for a message above the size limit (also closes it)
   * @throws {TypeError} when another receive is still pending
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MessageConnection } from "./connection.ts";
   * import { ConnectionClosedError } from "../errors.ts";
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const conn = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * (await listener.accept()).close();
   * let closed = false;
   * try { await conn.receive(5000); } catch (e) { closed = e instanceof ConnectionClosedError; }
   * assert(closed && conn.closed);
   * listener.close();
   * ```
   */
  receive(timeoutMs = 0): Promise<Message> {
    if (this.#closed) {
      return Promise.reject(new ConnectionClosedError("receiving: connection closed"));
    }
    if (this.#receiving) {
      return Promise.reject(new TypeError("Cannot receive: another receive() is pending"));
    }
    // Fast path: a whole message already sits in the buffer.
    let header: MessageHeader | null = null;
    try {
      const start = this.#start;
      const available = this.#end - start;
      if (available >= HEADER_SIZE) {
        header = decodeHeader(this.#buffer.subarray(start, this.#end), this.#options);
        const size = HEADER_SIZE + header.annotationsSize + header.dataSize;
        if (available >= size) {
          const body = this.#buffer.subarray(start + HEADER_SIZE, start + size);
          this.#start = start + size;
          if (!needsSlicedInflate(header)) {
            const message = decodeBody(header, body, this.#options);
            this.#onWire?.({ direction: "received", message });
            return Promise.resolve(message);
          }
          return this.#decodeInSlices(header, body);
        }
      }
    } catch (error) {
      this.close();
      return Promise.reject(error);
    }
    return this.#receiveSlow(header, timeoutMs);
  }

  async #receiveSlow(known: MessageHeader | null, timeoutMs: number): Promise<Message> {
    this.#receiving = true;
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        this.close(); // makes the pending read settle
      }, timeoutMs);
    }
    let header: MessageHeader;
    let body: Uint8Array;
    try {
      if (known !== null) {
        header = known;
      } else {
        while (this.#end - this.#start < HEADER_SIZE) {
          this.#filled(await this.#stream.read(this.#readRoom(HEADER_SIZE)), HEADER_SIZE);
          // Reject a foreign peer early, before a whole header arrived (Pyro5 checks after 6 bytes).
          validateHeaderPrefix(this.#buffer.subarray(this.#start, this.#end));
        }
        header = decodeHeader(this.#buffer.subarray(this.#start, this.#end), this.#options);
      }
      const size = HEADER_SIZE + header.annotationsSize + header.dataSize;
      if (size <= this.#maxChunk) {
        while (this.#end - this.#start < size) {
          this.#filled(await this.#stream.read(this.#readRoom(size)), size);
        }
        const start = this.#start;
        body = this.#buffer.subarray(start + HEADER_SIZE, start + size);
        this.#start = start + size;
      } else {
        body = await this.#readLargeBody(size - HEADER_SIZE);
      }
    } catch (error) {
      const wasClosed = this.#closed;
      this.close();
      if (timedOut) throw new TimeoutError("receiving: timeout", { cause: error });
      if (error instanceof PyroError) throw error;
      throw new ConnectionClosedError(
        wasClosed
          ? "receiving: connection closed"
          : `receiving: connection lost: ${errorText(error)}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
      this.#receiving = false;
    }
    if (needsSlicedInflate(header)) return this.#decodeInSlices(header, body);
    try {
      const message = decodeBody(header, body, this.#options);
      this.#onWire?.({ direction: "received", message });
      return message;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Decodes a message whose large compressed payload is inflated in slices (other connections
   * are served meanwhile), its output taken from the budget and bounded by the size limit.
   */
  async #decodeInSlices(header: MessageHeader, body: Uint8Array): Promise<Message> {
    this.#receiving = true;
    try {
      const flags = header.flags;
      const raw = decodeBody({ ...header, flags: flags & ~MessageFlags.COMPRESSED }, body);
      const budget = this.#budget;
      const data = await inflateInSlices(
        raw.data,
        this.#maxSize,
        (bytes) => !this.#closed && (budget === null || budget.take(this, bytes)),
        () => new ConnectionClosedError("receiving: connection closed while inflating"),
      );
      const message = { ...raw, data };
      this.#onWire?.({ direction: "received", message });
      return message;
    } catch (error) {
      this.close();
      throw error;
    } finally {
      this.#budget?.release(this);
      this.#receiving = false;
    }
  }

  /**
   * Where the next read goes: the free end of the current chunk, after moving the unconsumed
   * bytes to a fresh chunk when `need` bytes from `#start` would not fit, or when little room is
   * left. Bytes of earlier messages are never overwritten: they may be in use. (The read itself
   * is awaited by the caller: one async step less per message.)
   */
  #readRoom(need: number): Uint8Array {
    let buffer = this.#buffer;
    if (this.#start + need > buffer.length || buffer.length - this.#end < MIN_READ_ROOM) {
      let size = this.#chunkSize;
      while (size < need) size *= 2;
      const fresh = new Uint8Array(Math.min(size, this.#maxChunk));
      fresh.set(buffer.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buffer = buffer = fresh;
    }
    return buffer.subarray(this.#end);
  }

  /** Takes the result of a read into {@linkcode #readRoom}'s room. */
  #filled(n: number | null, need: number): void {
    if (n === null) throw this.#eof(this.#end - this.#start, need);
    const room = this.#buffer.length - this.#end;
    this.#end += n;
    // A full read suggests more is waiting: read bigger chunks from now on.
    if (n === room && this.#chunkSize < this.#maxChunk) {
      this.#chunkSize = Math.min(this.#chunkSize * 2, this.#maxChunk);
    }
  }

  /**
   * Reads a body larger than a chunk (its header is buffered at `#start`): memory follows the
   * bytes that really arrive, never the size the header declares. Until half the body has
   * arrived it goes into parts, each as big as all before it (so at most twice what arrived is
   * allocated, and nothing is copied while a peer trickles or lies); then the whole body is
   * allocated once, the parts are copied in and the rest is read straight into it. Each read
   * asks for all the room left, so the kernel copies straight into place.
   */
  async #readLargeBody(size: number): Promise<Uint8Array> {
    const buffered = this.#end - this.#start - HEADER_SIZE; // < size, since size > a chunk
    const firstSize = Math.min(size, Math.max(INITIAL_LARGE_BODY, buffered));
    this.#takeBudget(firstSize);
    try {
      let part = new Uint8Array(firstSize);
      part.set(this.#buffer.subarray(this.#start + HEADER_SIZE, this.#end));
      this.#start = this.#end;
      const parts: Uint8Array[] = [];
      let before = 0; // bytes in the full parts before `part`
      let filled = buffered; // bytes in `part`
      while (before + filled < size) {
        if (filled === part.length) {
          parts.push(part);
          before += filled;
          filled = 0;
          if (before * 2 >= size) {
            this.#takeBudget(size - before); // the parts are garbage once copied
            part = new Uint8Array(size);
            for (const done of parts) {
              part.set(done, filled);
              filled += done.length;
            }
            parts.length = before = 0;
          } else {
            const next = Math.min(before, size - before);
            this.#takeBudget(next);
            part = new Uint8Array(next);
          }
        }
        const n = await this.#stream.read(part.subarray(filled));
        if (n === null) throw this.#eof(HEADER_SIZE + before + filled, HEADER_SIZE + size);
        filled += n;
      }
      // Parts never reach the end: a part is at most as big as all before it, so the whole
      // body was allocated before the last one would have been needed.
      return part;
    } finally {
      this.#budget?.release(this);
    }
  }

  /** Takes bytes from the budget for a growing buffer; throws when that closed us. */
  #takeBudget(bytes: number): void {
    if (this.#budget === null || this.#budget.take(this, bytes)) return;
    throw new ConnectionClosedError(
      "receiving: connection closed: the daemon's buffer budget for incomplete messages is used up",
    );
  }

  #eof(got: number, total: number): ConnectionClosedError {
    if (got === 0) return new ConnectionClosedError("receiving: connection closed");
    return new ConnectionClosedError(
      `receiving: not enough data: connection closed after ${got} of ${total} message bytes`,
    );
  }

  /**
   * Encodes and sends one message, writing all its bytes. Concurrent sends are queued: each
   * message's bytes go out whole, in call order.
   *
   * @param message the message; a payload may be given in parts (see `encode`)
   * @throws {MessageTooLargeError} when the message exceeds the size limit (nothing is sent)
   * @throws {ProtocolError} for an invalid annotation id
   * @throws {ConnectionClosedError} when the connection is closed or the write fails (which
   * closes the connection)
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MessageConnection } from "./connection.ts";
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const a = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const b = new MessageConnection(await listener.accept());
   * const ping = (seq: number) => a.send({
   *   type: 6, flags: 0, seq, serializerId: 42, data: new Uint8Array(4),
   *   annotations: new Map(), correlationId: null,
   * });
   * await Promise.all([ping(1), ping(2)]);
   * assert((await b.receive()).seq === 1 && (await b.receive()).seq === 2);
   * a.close();
   * b.close();
   * listener.close();
   * ```
   */
  send(message: OutgoingMessage): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ConnectionClosedError("sending: connection closed"));
    }
    let bytes: Uint8Array | Uint8Array[];
    try {
      bytes = this.encode(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.sendBytes(bytes);
  }

  /**
   * Encodes a message for {@linkcode MessageConnection.sendBytes}, with this connection's
   * compression and size limit: the bytes of `encodeMessage`, as one array or, for a large
   * payload, as parts (header with annotations, then the payload itself, or its parts, not
   * copied). Small messages are placed in the connection's send chunks, so encoding them
   * allocates nothing. Encoding first lets a caller fail one message (too large, bad
   * annotations) without touching the connection.
   *
   * @param message the message, its payload whole or in parts (a large payload given in parts
   * is sent as those parts, so a big `bin` from `MsgpackSerializer.dumpsParts` is never
   * copied); a large payload must not change until it is sent
   * @returns the bytes to send
   * @throws {MessageTooLargeError} when the message exceeds the size limit
   * @throws {ProtocolError} for an invalid annotation id or non-bytes data
   * @throws {RangeError} for header fields out of range or a correlation id not of 16 bytes
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MessageConnection } from "./connection.ts";
   * import { encodeMessage } from "./message.ts";
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const a = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const b = new MessageConnection(await listener.accept());
   * const message = {
   *   type: 5, flags: 0, seq: 3, serializerId: 4, data: new Uint8Array([1, 2]),
   *   annotations: new Map(), correlationId: null,
   * };
   * const bytes = a.encode(message);
   * assert.deepStrictEqual(bytes, encodeMessage(message));
   * await a.sendBytes(bytes);
   * assert((await b.receive()).seq === 3);
   * a.close();
   * b.close();
   * listener.close();
   * ```
   */
  encode(message: OutgoingMessage): Uint8Array | Uint8Array[] {
    const bytes = this.#encode(message);
    if (this.#onWire) {
      const whole = bytes instanceof Uint8Array ? bytes.slice() : concatParts(bytes);
      this.#onWire({ direction: "sending", bytes: whole });
    }
    return bytes;
  }

  #encode(message: OutgoingMessage): Uint8Array | Uint8Array[] {
    const prepared = prepareMessage(message, this.#options);
    const data = prepared.data;
    const parts = prepared.parts;
    if (parts !== undefined) return this.#headAndParts(message, prepared, parts);
    const size = HEADER_SIZE + prepared.annotationsSize + data.length;
    if (size <= POOLED_MESSAGE_MAX) {
      let chunk = this.#sendChunk;
      if (chunk === null || this.#sendPos + size > chunk.length) {
        if (chunk !== null && this.#sendChunkSize < MAX_SEND_CHUNK) this.#sendChunkSize *= 2;
        chunk = this.#sendChunk = new Uint8Array(Math.max(this.#sendChunkSize, size));
        this.#sendPos = 0;
      }
      // Regions of a send chunk are never reused: bytes still being written stay intact.
      const start = this.#sendPos;
      chunk.set(data, writeMessageHead(message, prepared, chunk, start));
      this.#sendPos = start + size;
      return chunk.subarray(start, start + size);
    }
    if (data.length < INLINE_PAYLOAD_LIMIT) {
      const out = new Uint8Array(size);
      out.set(data, writeMessageHead(message, prepared, out, 0));
      return out;
    }
    const head = new Uint8Array(HEADER_SIZE + prepared.annotationsSize);
    writeMessageHead(message, prepared, head, 0);
    return [head, data];
  }

  /**
   * The bytes of a large payload given in parts: the header with the annotations and any small
   * leading parts in one array (one write instead of several), then the other parts as they are.
   */
  #headAndParts(
    message: OutgoingMessage,
    prepared: PreparedMessage,
    parts: readonly Uint8Array[],
  ): Uint8Array[] {
    let lead = 0;
    let leadSize = 0;
    while (lead < parts.length && parts[lead].length <= MERGED_PART_MAX) {
      leadSize += parts[lead].length;
      lead++;
    }
    const head = new Uint8Array(HEADER_SIZE + prepared.annotationsSize + leadSize);
    let at = writeMessageHead(message, prepared, head, 0);
    const out: Uint8Array[] = [head];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i < lead) {
        head.set(part, at);
        at += part.length;
      } else if (part.length > 0) {
        out.push(part);
      }
    }
    return out;
  }

  /**
   * Sends one already encoded message (from `encodeMessage`, `encodeMessageParts` or
   * {@linkcode MessageConnection.encode}), queued like {@linkcode MessageConnection.send}; the
   * parts of an array go out in order, together. The bytes are not copied: do not change them
   * until the returned promise settles.
   *
   * @param bytes the encoded message, whole or in parts
   * @throws {ConnectionClosedError} when the connection is closed or the write fails
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MessageConnection } from "./connection.ts";
   * import { encodeMessage } from "./message.ts";
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const a = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const b = new MessageConnection(await listener.accept());
   * const bytes = encodeMessage({
   *   type: 5, flags: 0, seq: 9, serializerId: 1, data: new Uint8Array(2),
   *   annotations: new Map(), correlationId: null,
   * });
   * await a.sendBytes(bytes);
   * assert((await b.receive()).seq === 9);
   * a.close();
   * b.close();
   * listener.close();
   * ```
   */
  sendBytes(bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ConnectionClosedError("sending: connection closed"));
    }
    let done: Promise<void>;
    // Start at once when nothing is being written; otherwise queue behind the last send.
    if (this.#writesPending++ === 0) {
      done = this.#writeAll(bytes);
    } else {
      const write = () => this.#writeAll(bytes);
      done = this.#writeTail.then(write, write);
    }
    this.#writeTail = done;
    return done;
  }

  async #writeAll(bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    try {
      if (this.#closed) throw new ConnectionClosedError("sending: connection closed");
      const single = bytes instanceof Uint8Array;
      const count = single ? 1 : bytes.length;
      for (let i = 0; i < count; i++) {
        const part = single ? bytes : bytes[i];
        let offset = 0;
        while (offset < part.length) {
          const n = await this.#stream.write(offset === 0 ? part : part.subarray(offset));
          if (!(n > 0)) throw new Error("write made no progress");
          offset += n;
        }
      }
    } catch (error) {
      const wasClosed = this.#closed;
      this.close();
      throw new ConnectionClosedError(
        wasClosed ? "sending: connection closed" : `sending: connection lost: ${errorText(error)}`,
        { cause: error },
      );
    } finally {
      this.#writesPending--;
    }
  }

  /**
   * Closes the connection and its stream; idempotent. A pending receive rejects with
   * {@linkcode ConnectionClosedError}; later sends and receives too.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { MessageConnection } from "./connection.ts";
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const conn = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * conn.close();
   * conn.close();
   * assert(conn.closed);
   * listener.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#budget?.release(this);
    try {
      this.#stream.close();
    } catch {
      // already closed by its other owner: nothing left to release
    }
  }

  /** Closes the connection (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Whether a message's payload is compressed and too big to inflate in one go. */
function needsSlicedInflate(header: MessageHeader): boolean {
  return (header.flags & MessageFlags.COMPRESSED) !== 0 && header.dataSize > SYNC_INFLATE_MAX;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}
