/**
 * Name server discovery by UDP broadcast, both sides of Pyro5's tiny protocol: a client sends
 * the 9 bytes `GET_NSURI` to the broadcast port (`NS_BCPORT`, 9091), and the
 * {@linkcode BroadcastServer} next to the name server answers with the name server's URI text
 * (latin-1). {@linkcode broadcastLocate} is the client side.
 *
 * Built on `node:dgram`: Deno's own `Deno.listenDatagram` still needs `--unstable-net`, while
 * `node:dgram` is stable and has broadcast support. Needs `--allow-net`.
 *
 * @module
 */
import dgram from "node:dgram";
import type { AddressInfo } from "node:net";
import { PyroUri } from "../uri.ts";

/** The request a client broadcasts. */
export const BROADCAST_REQUEST = "GET_NSURI";

/** Default UDP port of the broadcast responder (Pyro5's NS_BCPORT). */
export const DEFAULT_BROADCAST_PORT = 9091;

/** Options for {@linkcode BroadcastServer.start}. */
export interface BroadcastServerOptions {
  /**
   * Address to bind; `""` binds every interface (`0.0.0.0`, or `::` for an IPv6 name server).
   * Binding a broadcast address such as `127.255.255.255` receives only broadcasts to it.
   * @default {""}
   */
  host?: string;
  /**
   * UDP port; 0 picks a free one.
   * @default {9091}
   */
  port?: number;
  /**
   * Set SO_REUSEADDR (Pyro5's SOCK_REUSE).
   * @default {true}
   */
  reuseAddress?: boolean;
}

function isIPv6(host: string): boolean {
  return host.includes(":");
}

function ipv4Number(address: string): number | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    const n = Number(part);
    if (!/^\d{1,3}$/.test(part) || n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

/**
 * The local address on the client's subnet (Pyro5's `get_interface`): lets a responder of a name
 * server bound to every interface answer with an address the client can reach. A loopback client
 * gets 127.0.0.1. Reading the interfaces needs `--allow-sys`; without it the URI stays as it is.
 */
function interfaceFor(client: string): string | undefined {
  const remote = ipv4Number(client);
  if (remote === undefined) return undefined;
  if (client.startsWith("127.")) return "127.0.0.1";
  let fallback: string | undefined;
  for (const iface of Deno.networkInterfaces()) {
    if (iface.family !== "IPv4") continue;
    const local = ipv4Number(iface.address);
    const mask = ipv4Number(iface.netmask);
    if (local === undefined || mask === undefined) continue;
    // >>> 0 keeps the results unsigned 32-bit numbers
    if (((local & mask) >>> 0) === ((remote & mask) >>> 0)) return iface.address;
    if (!iface.address.startsWith("127.")) fallback ??= iface.address;
  }
  return fallback;
}

/**
 * The UDP responder that tells broadcasting clients where the name server is (Pyro5's
 * `BroadcastServer`). It answers `GET_NSURI` with the URI text and ignores everything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { BroadcastServer, broadcastLocate } from "./broadcast.ts";
 * await using responder = await BroadcastServer.start("PYRO:Pyro.NameServer@localhost:9090", {
 *   host: "127.0.0.1",
 *   port: 0,
 * });
 * const found = await broadcastLocate({ port: responder.port, addresses: ["127.0.0.1"] });
 * assert(found?.toString() === "PYRO:Pyro.NameServer@localhost:9090");
 * ```
 */
export class BroadcastServer implements AsyncDisposable {
  #socket: dgram.Socket;
  #uri: PyroUri;
  #closed: Promise<void> | undefined;
  /** Where the responder listens, `host:port` (`[host]:port` for IPv6). */
  readonly locationStr: string;
  /** The UDP port it listens on. */
  readonly port: number;

  private constructor(socket: dgram.Socket, uri: PyroUri, locationStr: string) {
    this.#socket = socket;
    this.#uri = uri;
    this.locationStr = locationStr;
    this.port = (socket.address() as AddressInfo).port;
    socket.on("message", (data, remote) => this.#answer(data, remote));
    // A failed send to one client must not end the responder.
    socket.on("error", () => {});
  }

  /**
   * Starts a responder for a name server URI.
   *
   * @param nsUri the name server's URI (its internal one, when behind NAT)
   * @param options address and port to bind
   * @returns the running responder
   * @throws {Error} when the port cannot be bound
   */
  static async start(
    nsUri: PyroUri | string,
    options: BroadcastServerOptions = {},
  ): Promise<BroadcastServer> {
    const uri = PyroUri.from(nsUri);
    const ipv6 = (uri.host !== null && isIPv6(uri.host)) || isIPv6(options.host ?? "");
    const host = options.host || (ipv6 ? "::" : "0.0.0.0");
    const socket = dgram.createSocket({
      type: ipv6 ? "udp6" : "udp4",
      reuseAddr: options.reuseAddress ?? true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(options.port ?? DEFAULT_BROADCAST_PORT, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    if (!ipv6) socket.setBroadcast(true);
    const port = (socket.address() as AddressInfo).port;
    const shown = options.host || (socket.address() as AddressInfo).address;
    const locationStr = isIPv6(shown) ? `[${shown}]:${port}` : `${shown}:${port}`;
    return new BroadcastServer(socket, uri, locationStr);
  }

  #answer(data: Uint8Array, remote: dgram.RemoteInfo): void {
    if (data.length !== BROADCAST_REQUEST.length) return;
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== BROADCAST_REQUEST.charCodeAt(i)) return;
    }
    let text = this.#uri.toString();
    if (this.#uri.host === "0.0.0.0") {
      // Bound to every interface: answer with the address the client can reach us on.
      let local: string | undefined;
      try {
        local = interfaceFor(remote.address);
      } catch { /* no --allow-sys: keep the URI as it is */ }
      if (local !== undefined) {
        text = PyroUri.of(this.#uri.object, `${local}:${this.#uri.port}`).toString();
      }
    }
    if (this.#closed) return;
    try {
      this.#socket.send(latin1(text), remote.port, remote.address);
    } catch { /* the client is gone: nothing to do */ }
  }

  /** Stops the responder; idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.#closed;
  }

  /** Same as {@linkcode BroadcastServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function latin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    bytes[i] = code < 256 ? code : 0x3f;
  }
  return bytes;
}

/** Options for {@linkcode broadcastLocate}. */
export interface BroadcastLocateOptions {
  /**
   * UDP port the responders listen on.
   * @default {9091}
   */
  port?: number;
  /**
   * Where to send the request (Pyro5's BROADCAST_ADDRS); `<broadcast>` means
   * `255.255.255.255`.
   * @default {["<broadcast>", "0.0.0.0"]}
   */
  addresses?: readonly string[];
  /**
   * Seconds to wait for an answer in each round.
   * @default {0.7}
   */
  timeout?: number;
  /**
   * Number of rounds.
   * @default {3}
   */
  tries?: number;
  /**
   * Aborts the search.
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Asks for a name server by broadcast, as Pyro5's `locate_ns` does: up to `tries` rounds, each
 * sending `GET_NSURI` to every address and waiting `timeout` seconds for the first answer.
 *
 * @param options port, addresses, timing
 * @returns the URI of the first name server that answered, or null when none did
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { broadcastLocate } from "./broadcast.ts";
 * // Nobody listens on this port: the search gives up after one short round.
 * const found = await broadcastLocate({ port: 9, addresses: ["127.0.0.1"], timeout: 0.05, tries: 1 });
 * assert(found === null);
 * ```
 */
export async function broadcastLocate(
  options: BroadcastLocateOptions = {},
): Promise<PyroUri | null> {
  const port = options.port ?? DEFAULT_BROADCAST_PORT;
  const addresses = (options.addresses ?? ["<broadcast>", "0.0.0.0"])
    .map((a) => a === "<broadcast>" ? "255.255.255.255" : a);
  const timeoutMs = (options.timeout ?? 0.7) * 1000;
  const tries = options.tries ?? 3;
  const loopbackOnly = addresses.every((a) => a.startsWith("127."));
  const socket = dgram.createSocket("udp4");
  const { promise: stopped, resolve: stop } = Promise.withResolvers<null>();
  const onAbort = () => stop(null);
  options.signal?.addEventListener("abort", onAbort);
  socket.on("error", () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, loopbackOnly ? "127.0.0.1" : undefined, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    socket.setBroadcast(true);
    const request = latin1(BROADCAST_REQUEST);
    let answer: ((uri: PyroUri) => void) | undefined;
    socket.on("message", (data: Uint8Array) => {
      if (data.length > 1024) return;
      try {
        answer?.(new PyroUri(String.fromCharCode(...data)));
      } catch { /* not a URI: keep waiting */ }
    });
    for (let round = 0; round < tries && !options.signal?.aborted; round++) {
      const { promise, resolve } = Promise.withResolvers<PyroUri | null>();
      answer = resolve;
      for (const address of addresses) {
        // Unreachable addresses are skipped, like Pyro5 skips EADDRNOTAVAIL.
        try {
          socket.send(request, port, address, () => {});
        } catch { /* skipped */ }
      }
      const timer = setTimeout(() => resolve(null), timeoutMs);
      try {
        const found = await Promise.race([promise, stopped]);
        if (found) return found;
      } finally {
        clearTimeout(timer);
      }
    }
    return null;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
