/**
 * The one place where Pyro listens and connects: TCP over IPv4 and IPv6, Unix domain sockets,
 * TLS (one- and two-way) over either, and connections that are already open. The daemon, the
 * proxy, the name server's probe and the commands all come through here; what they get is a
 * {@linkcode Link}: a byte stream for {@linkcode MessageConnection}, the addresses, and the
 * peer's certificate when TLS is on.
 *
 * Host names resolve as Pyro5's `PREFER_IP_VERSION` says: 4 or 6 pick that family (so
 * `localhost` is `::1` with 6), 0 lets the system choose.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { connectLink, listenLinks } from "./transport.ts";
 * using listener = listenLinks({ host: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const client = await connectLink({ host: "127.0.0.1", port: listener.port });
 * const server = await accepted;
 * await client.stream.write(new TextEncoder().encode("hi"));
 * const buffer = new Uint8Array(2);
 * assert((await server.stream.read(buffer)) === 2 && !client.secure);
 * client.close();
 * server.close();
 * ```
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { CommunicationError, SecurityError } from "../errors.ts";
import type { ByteStream } from "./connection.ts";
import {
  type ClientTlsSettings,
  type PeerCertificate,
  secureClientSide,
  secureServerSide,
  type ServerTlsSettings,
  TlsStream,
} from "./_tls.ts";

export {
  type ClientTlsSettings,
  clientTlsSettings,
  type PeerCertificate,
  type ServerTlsSettings,
  serverTlsSettings,
} from "./_tls.ts";

/**
 * One open connection, ready for {@linkcode MessageConnection}.
 *
 * @example
 * ```ts
 * import type { Link } from "./transport.ts";
 * const describe = (link: Link) => `${link.secure ? "TLS" : "plain"} ${link.remoteAddr.transport}`;
 * ```
 */
export interface Link {
  /** The bytes: the connection itself, or the plaintext side of its TLS session. */
  readonly stream: ByteStream;
  /** Our end's address. */
  readonly localAddr: Deno.Addr;
  /** The other end's address. */
  readonly remoteAddr: Deno.Addr;
  /** Whether the bytes travel encrypted. */
  readonly secure: boolean;
  /**
   * The certificate the peer presented over TLS: the server's for a proxy, the client's for a
   * daemon with two-way TLS; null otherwise.
   */
  readonly peerCertificate: PeerCertificate | null;
  /** Closes the connection. Idempotent. */
  close(): void;
}

function linkOf(
  localAddr: Deno.Addr,
  remoteAddr: Deno.Addr,
  stream: ByteStream,
  secure: boolean,
): Link {
  let closed = false;
  return {
    stream,
    localAddr,
    remoteAddr,
    secure,
    get peerCertificate() {
      return stream instanceof TlsStream ? stream.peerCertificate : null;
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        stream.close();
      } catch {
        // already closed
      }
    },
  };
}

function noDelay(conn: Deno.Conn): void {
  // Pipelined calls and their replies must not wait for Nagle's algorithm.
  if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
}

/** Where to listen, and how. */
export interface ListenOptions {
  /**
   * Host name or address to bind to; `""` binds every interface.
   * @default {""}
   */
  host?: string;
  /**
   * TCP port; 0 picks a free one.
   * @default {0}
   */
  port?: number;
  /**
   * Path of a Unix domain socket to listen on instead of TCP.
   * @default {undefined}
   */
  unixSocket?: string;
  /**
   * TLS settings ({@linkcode serverTlsSettings}); undefined or null: plain connections.
   * @default {undefined}
   */
  tls?: ServerTlsSettings | null;
  /**
   * Pyro5's PREFER_IP_VERSION: 4, 6, or 0 (the system chooses).
   * @default {0}
   */
  ipVersion?: number;
}

/**
 * The address to bind for a host as PREFER_IP_VERSION wants it. Synchronous, so a daemon knows
 * its address when it is made: literal addresses and `localhost` are decided here; other names
 * go to the system and the family is checked after binding.
 */
function bindAddress(host: string, ipVersion: number): string {
  if (host === "") return ipVersion === 6 ? "::" : "0.0.0.0";
  if (host === "localhost" && ipVersion === 6) return "::1";
  if (host === "localhost" && ipVersion === 4) return "127.0.0.1";
  if (ipVersion === 6 && isIP(host) === 4) {
    throw new CommunicationError(
      `IPv4 address ${host} cannot be used with PREFER_IP_VERSION 6`,
    );
  }
  return host;
}

/**
 * A listening socket that hands out {@linkcode Link}s.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { listenLinks } from "./transport.ts";
 * using listener = listenLinks({ host: "localhost", ipVersion: 6 });
 * assert((listener.addr as Deno.NetAddr).hostname === "::1");
 * ```
 */
export class LinkListener implements Disposable {
  #listener: Deno.Listener;
  #tls: ServerTlsSettings | null;
  #twoWay: boolean;

  /**
   * Use {@linkcode listenLinks}.
   *
   * @param listener the listening socket
   * @param tls the TLS settings, or null
   */
  constructor(listener: Deno.Listener, tls: ServerTlsSettings | null) {
    this.#listener = listener;
    this.#tls = tls;
    this.#twoWay = tls !== null && (tls.requireClientCert || listener.addr.transport === "unix");
  }

  /** The address listened on. */
  get addr(): Deno.Addr {
    return this.#listener.addr;
  }

  /** The TCP port listened on (0 for a Unix socket). */
  get port(): number {
    return this.#listener.addr.transport === "unix"
      ? 0
      : (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Whether accepted connections speak TLS. */
  get secure(): boolean {
    return this.#tls !== null;
  }

  /**
   * Waits for the next connection. Its TLS handshake, if any, runs as its first bytes flow, so a
   * stalled client holds up nobody else.
   *
   * @returns the new link
   * @throws {Deno.errors.BadResource} once the listener is closed
   */
  async accept(): Promise<Link> {
    const conn = await this.#listener.accept();
    noDelay(conn);
    if (this.#tls === null) return linkOf(conn.localAddr, conn.remoteAddr, conn, false);
    // Deno's listenTls cannot ask for client certificates: two-way TLS (and TLS over a Unix
    // socket) is layered on the plain connection with node:tls.
    if (this.#twoWay) {
      return linkOf(conn.localAddr, conn.remoteAddr, secureServerSide(conn, this.#tls), true);
    }
    return linkOf(conn.localAddr, conn.remoteAddr, conn, true);
  }

  /** Stops listening. Idempotent. */
  close(): void {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
  }

  /** Stops listening. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Starts listening: TCP (IPv4 or IPv6) or a Unix socket, TLS when settings are given.
 *
 * @param options where and how
 * @returns the listener
 * @throws {Deno.errors.AddrInUse} when the address is taken (and other listen errors)
 * @throws {CommunicationError} when the host does not fit PREFER_IP_VERSION
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { listenLinks } from "./transport.ts";
 * using listener = listenLinks({ host: "127.0.0.1" });
 * assert(listener.port > 0 && !listener.secure);
 * ```
 */
export function listenLinks(options: ListenOptions = {}): LinkListener {
  const tls = options.tls ?? null;
  if (options.unixSocket) {
    return new LinkListener(Deno.listen({ transport: "unix", path: options.unixSocket }), tls);
  }
  const ipVersion = options.ipVersion ?? 0;
  const hostname = bindAddress(options.host ?? "", ipVersion);
  const port = options.port ?? 0;
  const listener = tls && !tls.requireClientCert
    ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key })
    : Deno.listen({ hostname, port });
  const family = isIP((listener.addr as Deno.NetAddr).hostname);
  if ((ipVersion === 6 && family !== 6) || (ipVersion === 4 && family !== 4)) {
    listener.close();
    throw new CommunicationError(
      `${options.host} has no IPv${ipVersion} address (PREFER_IP_VERSION ${ipVersion})`,
    );
  }
  return new LinkListener(listener, tls);
}

/** Where to connect, and how. */
export interface ConnectOptions {
  /** Host name or address (TCP). */
  host?: string;
  /** TCP port. */
  port?: number;
  /** Path of a Unix domain socket, instead of host and port. */
  unixSocket?: string;
  /**
   * TLS settings ({@linkcode clientTlsSettings}); undefined or null: plain. The server's
   * certificate must carry `host` (for a Unix socket: `tlsHost`).
   * @default {undefined}
   */
  tls?: ClientTlsSettings | null;
  /**
   * The name the server's certificate must carry over a Unix socket.
   * @default {"localhost"}
   */
  tlsHost?: string;
  /**
   * Give up connecting (and the TLS handshake) after this many milliseconds; 0 waits.
   * @default {0}
   */
  timeoutMs?: number;
  /**
   * Pyro5's PREFER_IP_VERSION: 4, 6, or 0 (the system chooses).
   * @default {0}
   */
  ipVersion?: number;
}

function describe(options: ConnectOptions): string {
  return options.unixSocket ?? `('${options.host}', ${options.port})`;
}

/** The address to connect to for a host name as PREFER_IP_VERSION wants it. */
async function connectAddress(host: string, ipVersion: number): Promise<string> {
  if (isIP(host) !== 0) {
    if (ipVersion === 6 && isIP(host) === 4) {
      throw new Error(`IPv4 address cannot be used with PREFER_IP_VERSION 6`);
    }
    return host;
  }
  if (ipVersion !== 4 && ipVersion !== 6) return host;
  if (host === "localhost") return ipVersion === 6 ? "::1" : "127.0.0.1";
  return (await lookup(host, { family: ipVersion })).address;
}

/**
 * Connects: TCP or a Unix socket, then TLS when settings are given (handshake done, server
 * certificate checked).
 *
 * @param options where and how
 * @returns the link
 * @throws {CommunicationError} when the connection or the TLS handshake fails or times out
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { connectLink, listenLinks } from "./transport.ts";
 * using listener = listenLinks({ host: "127.0.0.1" });
 * const link = await connectLink({ host: "127.0.0.1", port: listener.port, timeoutMs: 2000 });
 * assert(link.peerCertificate === null);
 * link.close();
 * ```
 */
export async function connectLink(options: ConnectOptions): Promise<Link> {
  const timeoutMs = options.timeoutMs ?? 0;
  const fail = (error: unknown, reason: string) =>
    new CommunicationError(`cannot connect to ${describe(options)}: ${reason}`, { cause: error });
  let hostname: string | undefined;
  if (!options.unixSocket) {
    try {
      hostname = await connectAddress(options.host!, options.ipVersion ?? 0);
    } catch (error) {
      throw fail(error, (error as Error).message);
    }
  }
  if (options.tls && hostname !== undefined) {
    // TLS over TCP: node's socket carries the session itself (no stream adapter in between).
    try {
      const stream = await secureClientSide(
        { hostname, port: options.port! },
        options.tls,
        options.host!,
        timeoutMs,
      );
      return linkOf(stream.localAddr!, stream.remoteAddr!, stream, true);
    } catch (error) {
      throw fail(error, (error as Error).message);
    }
  }
  const abort = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => abort.abort(), timeoutMs) : undefined;
  let conn: Deno.Conn;
  try {
    conn = hostname === undefined
      ? await Deno.connect({ transport: "unix", path: options.unixSocket! })
      : await Deno.connect({ hostname, port: options.port!, signal: abort.signal });
  } catch (error) {
    const reason = abort.signal.aborted
      ? "timed out"
      : error instanceof Error
      ? error.message
      : String(error);
    throw fail(error, reason);
  } finally {
    clearTimeout(timer);
  }
  noDelay(conn);
  if (!options.tls) return linkOf(conn.localAddr, conn.remoteAddr, conn, false);
  try {
    const stream = await secureClientSide(
      conn,
      options.tls,
      options.tlsHost ?? "localhost",
      timeoutMs,
    );
    return linkOf(conn.localAddr, conn.remoteAddr, stream, true);
  } catch (error) {
    throw fail(error, (error as Error).message);
  }
}

/**
 * Wraps a connection that is already open (Pyro5's `connected_socket`) as a link. With TLS
 * settings, a plain connection gets a TLS session (the daemon side when `side` is "server"); a
 * `Deno.TlsConn` is used as it is.
 *
 * @param conn the open connection
 * @param options the side, TLS settings and, for a client, the host name to check
 * @returns the link
 * @throws {SecurityError} when TLS is asked for on the client side of a plain connection
 * without a host to check the server's certificate against
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { linkOver, listenLinks } from "./transport.ts";
 * using listener = listenLinks({ host: "127.0.0.1" });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
 * const link = await linkOver(conn, { side: "client" });
 * assert(!link.secure);
 * link.close();
 * ```
 */
export async function linkOver(
  conn: Deno.Conn,
  options: {
    side: "server" | "client";
    tls?: ServerTlsSettings | ClientTlsSettings | null;
    host?: string;
    timeoutMs?: number;
  },
): Promise<Link> {
  noDelay(conn);
  if (!options.tls) return linkOf(conn.localAddr, conn.remoteAddr, conn, false);
  if ("handshake" in conn) return linkOf(conn.localAddr, conn.remoteAddr, conn, true); // already a Deno.TlsConn
  if (options.side === "server") {
    const stream = secureServerSide(conn, options.tls as ServerTlsSettings);
    return linkOf(conn.localAddr, conn.remoteAddr, stream, true);
  }
  if (!options.host) throw new SecurityError("TLS over a connected socket needs a host name");
  const stream = await secureClientSide(
    conn,
    options.tls as ClientTlsSettings,
    options.host,
    options.timeoutMs ?? 0,
  );
  return linkOf(conn.localAddr, conn.remoteAddr, stream, true);
}
