/**
 * TLS for Pyro connections: the settings taken from Pyro5's `SSL_*` configuration items (read
 * and checked up front, so a daemon or proxy that asked for TLS fails closed, naming the item),
 * and a `node:tls` session layered over an already-open `Deno.Conn`.
 *
 * Why `node:tls` over a `Deno.Conn`, and not only `Deno.listenTls`/`Deno.connectTls`: Deno's own
 * TLS neither asks a client for its certificate (denoland/deno#26825) nor shows the peer's
 * certificate to the program, and Pyro5's two-way TLS and its certificate checks in
 * `validateHandshake` need both. Layering over an open connection also brings TLS to Unix
 * sockets and to connections handed to a daemon or proxy. One-way TLS on the daemon side, where
 * neither is needed, uses `Deno.listenTls` (see transport.ts), which is faster.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { clientTlsSettings } from "./_tls.ts";
 * import { DEFAULT_CONFIG } from "../config.ts";
 * assert(clientTlsSettings(DEFAULT_CONFIG) === null); // SSL is off by default
 * ```
 *
 * @module
 */
import * as nodeTls from "node:tls";
import { Duplex } from "node:stream";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { CommunicationError, ConnectionClosedError, SecurityError } from "../errors.ts";
import type { PyroConfig } from "../config.ts";
import type { ByteStream } from "./connection.ts";

/**
 * The certificate a TLS peer presented (Pyro5 gives Python's `getpeercert()` dict).
 *
 * @example
 * ```ts
 * import type { PeerCertificate } from "./_tls.ts";
 * function organisation(cert: PeerCertificate): string | undefined {
 *   return cert.subject.O;
 * }
 * ```
 */
export interface PeerCertificate {
  /** Subject fields by their short names: `CN`, `O`, `C`, `OU`, ... */
  readonly subject: Readonly<Record<string, string>>;
  /** Issuer fields by their short names. */
  readonly issuer: Readonly<Record<string, string>>;
  /** Serial number, upper-case hexadecimal (as Python's `getpeercert()["serialNumber"]`). */
  readonly serialNumber: string;
  /** Start of validity, e.g. `Jan  3 15:13:18 2026 GMT` (Python's `notBefore`). */
  readonly notBefore: string;
  /** End of validity (Python's `notAfter`). */
  readonly notAfter: string;
  /** Subject alternative names, e.g. `["DNS:localhost", "IP Address:127.0.0.1"]`. */
  readonly subjectAltName: readonly string[];
  /** SHA-256 fingerprint, colon-separated hexadecimal pairs: for pinning. */
  readonly fingerprint256: string;
  /** The certificate in DER. */
  readonly raw: Uint8Array;
}

/**
 * What a daemon needs to speak TLS: its certificate and key (PEM, the key decrypted), and, for
 * two-way TLS, the CAs that sign acceptable client certificates.
 *
 * @example
 * ```ts
 * import type { ServerTlsSettings } from "./_tls.ts";
 * const twoWay = (s: ServerTlsSettings) => s.requireClientCert;
 * ```
 */
export interface ServerTlsSettings {
  /** Certificate chain, PEM. */
  readonly cert: string;
  /** Private key, PEM, not encrypted. */
  readonly key: string;
  /** CA certificates (PEM, one each); undefined: the system's roots. */
  readonly ca?: readonly string[];
  /** Two-way TLS: refuse clients without a certificate signed by one of the CAs. */
  readonly requireClientCert: boolean;
}

/**
 * What a proxy needs to speak TLS: the CAs it trusts, and its own certificate for two-way TLS.
 *
 * @example
 * ```ts
 * import type { ClientTlsSettings } from "./_tls.ts";
 * const hasCert = (s: ClientTlsSettings) => s.cert !== undefined;
 * ```
 */
export interface ClientTlsSettings {
  /** CA certificates (PEM, one each); undefined: the system's roots. */
  readonly ca?: readonly string[];
  /** Client certificate chain, PEM. */
  readonly cert?: string;
  /** Client private key, PEM, not encrypted. */
  readonly key?: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

function pemBlocks(text: string, kind: (label: string) => boolean): string[] {
  return [...text.matchAll(PEM_BLOCK)].filter((m) => kind(m[1])).map((m) => m[0] + "\n");
}

function readItem(item: string, path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ? "no read permission"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new SecurityError(`TLS is on (SSL) but ${item} cannot be read: ${path}: ${reason}`, {
      cause: error,
    });
  }
}

/** A certificate chain from a PEM file; refuses files without one, and v1 certificates. */
function certificateChain(item: string, path: string, text: string): string {
  const certs = pemBlocks(text, (label) => label === "CERTIFICATE");
  if (certs.length === 0) {
    throw new SecurityError(`${item}: no PEM certificate in ${path}`);
  }
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(certs[0]);
  } catch (error) {
    throw new SecurityError(`${item}: unreadable certificate in ${path}`, { cause: error });
  }
  // The TLS library (rustls) accepts only X.509 version 3; say so now rather than at a handshake.
  // A v3 certificate's TBSCertificate starts with the explicit [0] version tag.
  const der = new Uint8Array(parsed.raw);
  if (tbsFirstTag(der) !== 0xa0) {
    throw new SecurityError(
      `${item}: ${path} is an X.509 version 1 certificate; TLS here needs version 3 ` +
        "(sign it with an extension file, e.g. openssl x509 -req -extfile)",
    );
  }
  return certs.join("");
}

/** The first tag inside the TBSCertificate of a DER certificate (0xa0: the v2/v3 version field). */
function tbsFirstTag(der: Uint8Array): number {
  let at = 0;
  const skipHeader = () => {
    at++; // tag
    const first = der[at++];
    if (first & 0x80) at += first & 0x7f;
  };
  skipHeader(); // Certificate SEQUENCE
  skipHeader(); // TBSCertificate SEQUENCE
  return der[at];
}

/** An unencrypted PEM private key, decrypted with the password item when needed. */
function privateKey(
  keyItem: string,
  passwordItem: string,
  path: string,
  text: string,
  password: string,
): string {
  const keys = pemBlocks(text, (label) => label.endsWith("PRIVATE KEY"));
  if (keys.length === 0) throw new SecurityError(`${keyItem}: no PEM private key in ${path}`);
  try {
    const key = createPrivateKey({ key: keys[0], passphrase: password || undefined });
    return key.export({ type: "pkcs8", format: "pem" }) as string;
  } catch (error) {
    const encrypted = keys[0].includes("ENCRYPTED");
    const reason = encrypted && !password
      ? `the key in ${path} is encrypted: set ${passwordItem}`
      : encrypted
      ? `${passwordItem} does not decrypt the key in ${path}`
      : `unreadable private key in ${path}`;
    throw new SecurityError(`${keyItem}: ${reason}`, { cause: error });
  }
}

function checkPair(certItem: string, cert: string, key: string): void {
  if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    throw new SecurityError(`${certItem}: the certificate does not match its private key`);
  }
}

/** PEM CA certificates from a file or from every file of a directory (Pyro5's SSL_CACERTS). */
function caCertificates(path: string): string[] {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    readItem("SSL_CACERTS", path); // throws the clear error
    throw error;
  }
  const texts = info.isDirectory
    ? [...Deno.readDirSync(path)].filter((e) => e.isFile || e.isSymlink)
      .map((e) => readItem("SSL_CACERTS", `${path}/${e.name}`))
    : [readItem("SSL_CACERTS", path)];
  const certs = texts.flatMap((t) => pemBlocks(t, (label) => label === "CERTIFICATE"));
  if (certs.length === 0) throw new SecurityError(`SSL_CACERTS: no PEM certificate in ${path}`);
  return certs;
}

/**
 * The daemon-side TLS settings from Pyro5's items (`SSL`, `SSL_SERVERCERT`, `SSL_SERVERKEY`,
 * `SSL_SERVERKEYPASSWD`, `SSL_REQUIRECLIENTCERT`, `SSL_CACERTS`): null when `SSL` is off. Files
 * are read and checked now (needs `--allow-read` for them), so nothing starts half-configured.
 *
 * @param config the configuration
 * @returns the settings, or null without TLS
 * @throws {SecurityError} naming the item that is missing, unreadable or wrong
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { serverTlsSettings } from "./_tls.ts";
 * import { DEFAULT_CONFIG } from "../config.ts";
 * assert.throws(() => serverTlsSettings({ ...DEFAULT_CONFIG, SSL: true }), /SSL_SERVERCERT/);
 * ```
 */
export function serverTlsSettings(config: Readonly<PyroConfig>): ServerTlsSettings | null {
  if (!config.SSL) return null;
  const certPath = config.SSL_SERVERCERT;
  if (!certPath) throw new SecurityError("TLS is on (SSL) but SSL_SERVERCERT is not set");
  const certText = readItem("SSL_SERVERCERT", certPath);
  const cert = certificateChain("SSL_SERVERCERT", certPath, certText);
  const keyPath = config.SSL_SERVERKEY || certPath; // Pyro5: the key may sit in the cert file
  const keyText = config.SSL_SERVERKEY ? readItem("SSL_SERVERKEY", keyPath) : certText;
  const key = privateKey(
    "SSL_SERVERKEY",
    "SSL_SERVERKEYPASSWD",
    keyPath,
    keyText,
    config.SSL_SERVERKEYPASSWD,
  );
  checkPair("SSL_SERVERCERT", cert, key);
  const ca = config.SSL_CACERTS ? caCertificates(config.SSL_CACERTS) : undefined;
  return { cert, key, ca, requireClientCert: config.SSL_REQUIRECLIENTCERT };
}

/**
 * The proxy-side TLS settings from Pyro5's items (`SSL`, `SSL_CLIENTCERT`, `SSL_CLIENTKEY`,
 * `SSL_CLIENTKEYPASSWD`, `SSL_CACERTS`): null when `SSL` is off. Files are read and checked now.
 *
 * @param config the configuration
 * @returns the settings, or null without TLS
 * @throws {SecurityError} naming the item that is unreadable or wrong
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { clientTlsSettings } from "./_tls.ts";
 * import { DEFAULT_CONFIG } from "../config.ts";
 * assert.deepStrictEqual(clientTlsSettings({ ...DEFAULT_CONFIG, SSL: true }), { ca: undefined });
 * ```
 */
export function clientTlsSettings(config: Readonly<PyroConfig>): ClientTlsSettings | null {
  if (!config.SSL) return null;
  const ca = config.SSL_CACERTS ? caCertificates(config.SSL_CACERTS) : undefined;
  if (!config.SSL_CLIENTCERT) {
    if (config.SSL_CLIENTKEY) {
      throw new SecurityError("SSL_CLIENTKEY is set but SSL_CLIENTCERT is not");
    }
    return { ca };
  }
  const certPath = config.SSL_CLIENTCERT;
  const certText = readItem("SSL_CLIENTCERT", certPath);
  const cert = certificateChain("SSL_CLIENTCERT", certPath, certText);
  const keyPath = config.SSL_CLIENTKEY || certPath;
  const keyText = config.SSL_CLIENTKEY ? readItem("SSL_CLIENTKEY", keyPath) : certText;
  const key = privateKey(
    "SSL_CLIENTKEY",
    "SSL_CLIENTKEYPASSWD",
    keyPath,
    keyText,
    config.SSL_CLIENTKEYPASSWD,
  );
  checkPair("SSL_CLIENTCERT", cert, key);
  return { ca, cert, key };
}

function fields(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out[k] = Array.isArray(v) ? v.join(", ") : String(v);
    }
  }
  return out;
}

/** Our view of node's detailed peer certificate, or null when the peer sent none. */
function peerCertificateOf(socket: nodeTls.TLSSocket): PeerCertificate | null {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.raw || Object.keys(cert).length === 0) return null;
  return Object.freeze({
    subject: Object.freeze(fields(cert.subject)),
    issuer: Object.freeze(fields(cert.issuer)),
    serialNumber: String(cert.serialNumber ?? "").toUpperCase(),
    notBefore: cert.valid_from,
    notAfter: cert.valid_to,
    subjectAltName: Object.freeze(
      cert.subjectaltname ? cert.subjectaltname.split(/,\s*/).filter(Boolean) : [],
    ),
    fingerprint256: cert.fingerprint256,
    raw: new Uint8Array(cert.raw),
  });
}

/** The most certificates a client's chain may have. */
const MAX_CHAIN = 8;

/**
 * Why a client's certificate chain is not acceptable, or null when it is: every certificate on
 * the way is within its validity, each is signed by the next, and the last is signed by a
 * trusted CA (one of `trusted`, or of the system's roots when that is empty).
 */
function clientCertificateRefusal(
  socket: nodeTls.TLSSocket,
  trusted: readonly string[],
): string | null {
  const leaf = socket.getPeerCertificate(true);
  if (!leaf || !leaf.raw) return "none sent";
  const sent: X509Certificate[] = [];
  const visited = new Set<unknown>();
  for (
    let c: nodeTls.DetailedPeerCertificate | undefined = leaf;
    c?.raw && !visited.has(c) && sent.length < MAX_CHAIN;
    c = c.issuerCertificate
  ) {
    visited.add(c);
    sent.push(new X509Certificate(c.raw));
  }
  const anchors = (trusted.length > 0 ? trusted : nodeTls.rootCertificates)
    .map((pem) => new X509Certificate(pem));
  const signs = (issuer: X509Certificate, cert: X509Certificate) =>
    cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  const now = new Date();
  let current = sent[0];
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (now < current.validFromDate) return `not valid before ${current.validFrom}`;
    if (now > current.validToDate) return `expired on ${current.validTo}`;
    const anchor = anchors.find((ca) => signs(ca, current));
    if (anchor) {
      return now < anchor.validFromDate || now > anchor.validToDate
        ? "its CA certificate is out of its validity"
        : null;
    }
    const next = sent.find((c) => c !== current && c.ca && signs(c, current));
    if (!next) return "not signed by a trusted CA (SSL_CACERTS)";
    current = next;
  }
  return "certificate chain too long";
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await conn.write(bytes.subarray(done));
}

/** The ciphertext side: a node Duplex over the raw connection. */
function duplexOver(conn: Deno.Conn): Duplex {
  const room = new Uint8Array(64 * 1024);
  return new Duplex({
    read() {
      conn.read(room).then(
        (n) => this.push(n === null ? null : room.slice(0, n)),
        (error) => this.destroy(error),
      );
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writeAll(conn, chunk).then(() => callback(), callback);
    },
    final(callback) {
      callback();
    },
    destroy(error, callback) {
      try {
        conn.close();
      } catch {
        // already closed
      }
      callback(error);
    },
  });
}

/** Buffered bytes at which reading from the TLS session pauses until the reader catches up. */
const PAUSE_AT = 1024 * 1024;

/**
 * The plaintext side of a TLS session as a {@linkcode ByteStream}, with the peer's certificate.
 *
 * @example
 * ```ts
 * import { TlsStream } from "./_tls.ts";
 * const peer = (s: TlsStream) => s.peerCertificate?.subject.CN;
 * ```
 */
export class TlsStream implements ByteStream {
  #socket: nodeTls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #closed = false;

  /**
   * @param socket the TLS session; the stream owns it
   * @param trusted when given, the session ends unless the peer's certificate chains to one of
   * these CAs (PEM; empty: the system's roots)
   */
  constructor(socket: nodeTls.TLSSocket, trusted?: readonly string[]) {
    this.#socket = socket;
    if (trusted !== undefined) {
      // node:tls layered over a stream asks for the client's certificate but does not verify
      // it (`authorized` stays false, and an unknown CA goes through): verify the chain here,
      // as soon as the handshake ends and before any plaintext is read.
      socket.once("secure", () => {
        const refusal = clientCertificateRefusal(socket, trusted);
        if (refusal === null) return;
        this.#error = new SecurityError(`client certificate refused: ${refusal}`);
        socket.destroy();
        this.#notify();
      });
    }
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= PAUSE_AT) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#notify();
    });
  }

  /** Our end's address, when the session runs on node's own socket (else undefined). */
  get localAddr(): Deno.NetAddr | undefined {
    const s = this.#socket;
    return s.localAddress
      ? { transport: "tcp", hostname: s.localAddress, port: s.localPort ?? 0 }
      : undefined;
  }

  /** The other end's address, when the session runs on node's own socket (else undefined). */
  get remoteAddr(): Deno.NetAddr | undefined {
    const s = this.#socket;
    return s.remoteAddress
      ? { transport: "tcp", hostname: s.remoteAddress, port: s.remotePort ?? 0 }
      : undefined;
  }

  /** The certificate the peer presented, or null (none asked for, or none sent). */
  get peerCertificate(): PeerCertificate | null {
    return peerCertificateOf(this.#socket);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * Reads decrypted bytes into `p`.
   *
   * @param p where to put them
   * @returns how many, or null at the end of the stream
   */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#error) throw this.#error;
    while (this.#chunks.length === 0) {
      if (this.#closed) return null;
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const chunk = this.#chunks[0];
    const n = Math.min(chunk.length, p.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#buffered -= n;
    if (this.#buffered < PAUSE_AT && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  /**
   * Encrypts and sends all of `p`; resolves once the bytes have been taken, so `p` may be reused.
   *
   * @param p the bytes
   * @returns `p.length`
   */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError("connection closed"));
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#socket.write(p, (error) => error ? reject(error) : resolve(p.length));
    });
  }

  /** Ends the session and the connection under it; a pending read resolves null. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#notify();
  }
}

/**
 * Starts the server side of TLS over an accepted connection. The handshake runs as bytes flow;
 * a failed one (no or a wrong client certificate, a plain-text client) makes the first read fail.
 *
 * @param conn the accepted connection
 * @param settings the daemon's TLS settings
 * @returns the plaintext stream
 *
 * @example
 * ```ts
 * import { secureServerSide, type ServerTlsSettings } from "./_tls.ts";
 * const wrap = (conn: Deno.Conn, s: ServerTlsSettings) => secureServerSide(conn, s);
 * ```
 */
export function secureServerSide(conn: Deno.Conn, settings: ServerTlsSettings): TlsStream {
  const socket = new nodeTls.TLSSocket(duplexOver(conn) as unknown as import("node:net").Socket, {
    isServer: true,
    secureContext: nodeTls.createSecureContext({
      cert: settings.cert,
      key: settings.key,
      ca: settings.ca as string[] | undefined,
    }),
    requestCert: settings.requireClientCert,
    rejectUnauthorized: settings.requireClientCert,
  });
  return new TlsStream(socket, settings.requireClientCert ? settings.ca ?? [] : undefined);
}

/**
 * Starts the client side of TLS and waits for the handshake: over an open connection, or over a
 * new TCP connection to an address (node's own socket, the faster path). The server's
 * certificate is checked against the CAs and the host name.
 *
 * @param target the open connection, or the address to connect to
 * @param settings the proxy's TLS settings
 * @param host the name the server's certificate must carry (the URI's host)
 * @param timeoutMs give up after this long; 0 waits as long as it takes
 * @returns the plaintext stream, handshake done
 * @throws {CommunicationError} when connecting or the handshake fails or times out (the reason
 * included)
 *
 * @example
 * ```ts
 * import { secureClientSide, type ClientTlsSettings } from "./_tls.ts";
 * const wrap = (conn: Deno.Conn, s: ClientTlsSettings) => secureClientSide(conn, s, "localhost", 5000);
 * ```
 */
export async function secureClientSide(
  target: Deno.Conn | { hostname: string; port: number },
  settings: ClientTlsSettings,
  host: string,
  timeoutMs: number,
): Promise<TlsStream> {
  const isIp = /^[\d.]+$/.test(host) || host.includes(":");
  const common = {
    servername: isIp ? undefined : host,
    ca: settings.ca as string[] | undefined,
    cert: settings.cert,
    key: settings.key,
    rejectUnauthorized: true,
  };
  const open = "hostname" in target && !("read" in target);
  const socket = open
    ? nodeTls.connect({ ...common, host: target.hostname, port: target.port })
    : nodeTls.connect({
      ...common,
      socket: duplexOver(target as Deno.Conn) as unknown as import("node:net").Socket,
      host,
    });
  if (open) socket.setNoDelay(true);
  let connected = !open;
  socket.once("connect", () => connected = true);
  const stream = new TlsStream(socket);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
      socket.once("close", () => reject(new Error("connection closed during the TLS handshake")));
      if (timeoutMs > 0) {
        timer = setTimeout(
          () => reject(new Error(connected ? "TLS handshake timed out" : "timed out")),
          timeoutMs,
        );
      }
    });
  } catch (error) {
    stream.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new CommunicationError(connected ? `TLS handshake failed: ${reason}` : reason, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
  return stream;
}
