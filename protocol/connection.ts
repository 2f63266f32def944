/**
 * A message-framed connection: whole Pyro messages in and out of a byte stream such as a
 * `Deno.Conn`. One reusable read buffer serves many small messages per socket read; large bodies
 * grow as their bytes really arrive; sends are serialized so their bytes never interleave.
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
import {
  decodeBody,
  decodeHeader,
  DEFAULT_MAX_MESSAGE_SIZE,
  encodeMessage,
  HEADER_SIZE,
  type Message,
  type MessageHeader,
  type MessageOptions,
  validateHeaderPrefix,
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

/** Options of a {@linkcode MessageConnection}. */
export interface MessageConnectionOptions extends MessageOptions {
  /**
   * Size in bytes of the reusable read buffer; bodies up to this size are read through it,
   * larger ones into their own growing buffer.
   * @default {DEFAULT_READ_BUFFER_SIZE} (64 KiB)
   */
  readBufferSize?: number;
}

/** Default size of a connection's reusable read buffer: 64 KiB. */
export const DEFAULT_READ_BUFFER_SIZE = 64 * 1024;
/** A large body's buffer starts at most this big and doubles as bytes arrive. */
const INITIAL_LARGE_BODY = 1024 * 1024;

function ignore(): void {}

/**
 * Sends and receives whole Pyro messages over a {@linkcode ByteStream}.
 *
 * Messages returned by {@linkcode MessageConnection.receive} own their bytes: their `data` and
 * annotation views point into a buffer made for that message alone, so they stay valid after
 * later receives. Any receive failure (end of stream, timeout, protocol error) closes the
 * connection, since a half-read stream cannot be resynchronised (Pyro5 does the same).
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
  #maxSize: number;
  #buffer: Uint8Array;
  #start = 0; // first unconsumed byte in #buffer
  #end = 0; // end of the bytes read into #buffer
  #closed = false;
  #receiving = false;
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
    this.#buffer = new Uint8Array(bufferSize);
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
      if (this.#end - this.#start >= HEADER_SIZE) {
        header = decodeHeader(this.#buffer.subarray(this.#start, this.#end), this.#options);
        const size = HEADER_SIZE + header.annotationsSize + header.dataSize;
        if (this.#end - this.#start >= size) {
          const body = this.#buffer.slice(this.#start + HEADER_SIZE, this.#start + size);
          this.#consume(size);
          return Promise.resolve(decodeBody(header, body, this.#options));
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
      header = known ?? await this.#readHeader();
      body = await this.#readBody(header.annotationsSize + header.dataSize);
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
    try {
      return decodeBody(header, body, this.#options);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  async #readHeader(): Promise<MessageHeader> {
    while (this.#end - this.#start < HEADER_SIZE) {
      await this.#fill(HEADER_SIZE, HEADER_SIZE);
      // Reject a foreign peer early, before a whole header arrived (Pyro5 checks after 6 bytes).
      validateHeaderPrefix(this.#buffer.subarray(this.#start, this.#end));
    }
    return decodeHeader(this.#buffer.subarray(this.#start, this.#end), this.#options);
  }

  /** Reads the body after the buffered header into a fresh buffer of its own. */
  async #readBody(size: number): Promise<Uint8Array> {
    this.#consume(HEADER_SIZE);
    if (size <= this.#buffer.length) {
      while (this.#end - this.#start < size) await this.#fill(size, HEADER_SIZE + size);
      const body = this.#buffer.slice(this.#start, this.#start + size);
      this.#consume(size);
      return body;
    }
    // Large body: grow as bytes really arrive, never allocate what the header merely declares.
    const buffered = this.#end - this.#start; // < size, since size > the buffer's length
    let body = new Uint8Array(Math.min(size, Math.max(INITIAL_LARGE_BODY, buffered)));
    body.set(this.#buffer.subarray(this.#start, this.#end));
    this.#consume(buffered);
    let filled = buffered;
    while (filled < size) {
      if (filled === body.length) {
        const grown = new Uint8Array(Math.min(size, body.length * 2));
        grown.set(body);
        body = grown;
      }
      const n = await this.#stream.read(body.subarray(filled));
      if (n === null) throw this.#eof(HEADER_SIZE + filled, HEADER_SIZE + size);
      filled += n;
    }
    return body;
  }

  /**
   * Reads once more into the shared buffer, making room for `need` unconsumed bytes first.
   * `total` is only for the end-of-stream message.
   */
  async #fill(need: number, total: number): Promise<void> {
    const buffer = this.#buffer;
    if (this.#start + need > buffer.length) {
      buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#stream.read(buffer.subarray(this.#end));
    if (n === null) {
      const got = this.#end - this.#start + (total > need ? HEADER_SIZE : 0);
      throw this.#eof(got, total);
    }
    this.#end += n;
  }

  #consume(count: number): void {
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
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
   * @param message the message
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
  send(message: Message): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ConnectionClosedError("sending: connection closed"));
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(message, this.#options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.sendBytes(bytes);
  }

  /**
   * Sends one already encoded message (from `encodeMessage`), queued like
   * {@linkcode MessageConnection.send}. The bytes are not copied: do not change them until the
   * returned promise settles.
   *
   * @param bytes the encoded message
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
  sendBytes(bytes: Uint8Array): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ConnectionClosedError("sending: connection closed"));
    }
    const done = this.#writeTail.then(() => this.#writeAll(bytes));
    this.#writeTail = done.then(ignore, ignore);
    return done;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new ConnectionClosedError("sending: connection closed");
    let offset = 0;
    try {
      while (offset < bytes.length) {
        const n = await this.#stream.write(offset === 0 ? bytes : bytes.subarray(offset));
        if (!(n > 0)) throw new Error("write made no progress");
        offset += n;
      }
    } catch (error) {
      const wasClosed = this.#closed;
      this.close();
      throw new ConnectionClosedError(
        wasClosed ? "sending: connection closed" : `sending: connection lost: ${errorText(error)}`,
        { cause: error },
      );
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

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
