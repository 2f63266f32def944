/**
 * Pyro URIs: `PYRO:objectid@host:port`, `PYRO:objectid@./u:/socket/path`,
 * `PYRONAME:name[@host[:port]]` and `PYROMETA:tag,tag[@host[:port]]`, parsed and formatted exactly
 * as Python Pyro5's `URI` does (IPv6 hosts in brackets, lowercase protocol accepted).
 *
 * @module
 */
import { PyroError } from "./errors.ts";
import { toPyroDict, tuple } from "./serializers/values.ts";

/** The protocols a Pyro URI can have. */
export type UriProtocol = "PYRO" | "PYRONAME" | "PYROMETA";

/** Default name server port, used for PYRONAME/PYROMETA URIs without a port (Pyro5's NS_PORT). */
export const DEFAULT_NS_PORT = 9090;

const URI_PATTERN = /^([Pp][Yy][Rr][Oo][a-zA-Z]*):(\S+?)(?:@(.+))?$/;
const IPV6_LOCATION = /^\[([0-9a-fA-F:%]+)\](?::(\d+))?/;

/** Options for parsing a URI. */
export interface PyroUriOptions {
  /**
   * Port for PYRONAME and PYROMETA URIs that name a host without a port.
   * @default {9090}
   */
  nsPort?: number;
}

/**
 * A parsed Pyro URI. `toString()` gives the same text as Python's `str(uri)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyroUri } from "./uri.ts";
 * const uri = new PyroUri("pyro:thing@[::1]:9999");
 * assert(uri.host === "::1" && uri.port === 9999);
 * assert(uri.toString() === "PYRO:thing@[::1]:9999");
 * ```
 */
export class PyroUri {
  /** PYRO, PYRONAME or PYROMETA. */
  readonly protocol: UriProtocol;
  /** Object id (PYRO), name (PYRONAME); for PYROMETA the tags joined by commas. */
  readonly object: string;
  /** The metadata tags of a PYROMETA URI; empty otherwise. */
  readonly metadata: ReadonlySet<string>;
  /** Host name or address (IPv6 without brackets), or null. */
  readonly host: string | null;
  /** TCP port, or null. */
  readonly port: number | null;
  /** Unix domain socket path, or null. */
  readonly sockname: string | null;
  #pyroDict: Record<string, unknown> | null = null;

  /**
   * Parses a URI text.
   *
   * @param text the URI text
   * @param options parsing options
   * @throws {PyroError} when the text is not a valid Pyro URI (as Python Pyro5 raises)
   */
  constructor(text: string, options: PyroUriOptions = {}) {
    if (typeof text !== "string") throw new TypeError("URI must be a string");
    const match = URI_PATTERN.exec(text);
    if (!match) throw new PyroError(`invalid uri: ${text}`);
    const protocol = match[1].toUpperCase();
    const location = match[3];
    const nsPort = options.nsPort ?? DEFAULT_NS_PORT;
    let host: string | null = null;
    let port: number | null = null;
    let sockname: string | null = null;
    if (protocol !== "PYRO" && protocol !== "PYRONAME" && protocol !== "PYROMETA") {
      throw new PyroError(`invalid uri (protocol): ${text}`);
    }
    if (protocol === "PYRO" && !location) throw new PyroError(`invalid uri: ${text}`);
    if (location) {
      if (location.startsWith("./u:")) {
        sockname = location.slice(4);
        if (!sockname || sockname.includes(":")) {
          throw new PyroError(`invalid uri (location): ${text}`);
        }
      } else {
        let portText: string | undefined;
        if (location.startsWith("[")) {
          if (location.startsWith("[[")) {
            throw new PyroError("invalid ipv6 address: enclosed in too many brackets");
          }
          const v6 = IPV6_LOCATION.exec(location);
          if (!v6) {
            throw new PyroError(
              "invalid ipv6 address: the part between brackets must be a numeric ipv6 address",
            );
          }
          host = v6[1];
          portText = v6[2];
        } else {
          const colon = location.indexOf(":");
          host = colon < 0 ? location : location.slice(0, colon);
          portText = colon < 0 ? undefined : location.slice(colon + 1);
        }
        if (portText) {
          if (!/^\s*[+-]?\d+\s*$/.test(portText)) {
            throw new PyroError(`invalid port in uri, port=${portText}`);
          }
          port = Number.parseInt(portText, 10);
        } else if (protocol === "PYRO") {
          throw new PyroError(`invalid port in uri, port=None`);
        } else {
          port = nsPort;
        }
      }
    }
    this.protocol = protocol;
    this.host = host;
    this.port = port;
    this.sockname = sockname;
    if (protocol === "PYROMETA") {
      this.metadata = new Set(match[2].split(",").map((tag) => tag.trim()));
      this.object = [...this.metadata].join(",");
    } else {
      this.metadata = new Set();
      this.object = match[2];
    }
  }

  /**
   * Makes a PYRO URI from its parts.
   *
   * @param objectId the object id
   * @param location `host:port`, `[ipv6]:port` or `./u:path`
   * @returns the URI
   *
   * @example
   * ```ts
   * import assert from "node:assert";
import { PyroUri } from "./uri.ts";
   * assert(PyroUri.of("obj", "localhost:9090").port === 9090);
   * ```
   */
  static of(objectId: string, location: string): PyroUri {
    return new PyroUri(`PYRO:${objectId}@${location}`);
  }

  /**
   * Parses a URI given as text, or returns a PyroUri as it is.
   *
   * @param uri text or URI
   * @returns the URI
   *
   * @example
   * ```ts
   * import assert from "node:assert";
import { PyroUri } from "./uri.ts";
   * const uri = PyroUri.from("PYRONAME:example.greeting");
   * assert(PyroUri.from(uri) === uri && uri.host === null);
   * ```
   */
  static from(uri: string | PyroUri): PyroUri {
    return uri instanceof PyroUri ? uri : new PyroUri(uri);
  }

  /**
   * The location part: `host:port`, `[ipv6]:port`, `./u:path`, or null.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
import { PyroUri } from "./uri.ts";
   * assert(new PyroUri("PYRO:x@./u:/tmp/s").location === "./u:/tmp/s");
   * ```
   */
  get location(): string | null {
    if (this.host) {
      return this.host.includes(":") ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
    }
    if (this.sockname) return `./u:${this.sockname}`;
    return null;
  }

  /** The URI text, identical to Python's `str(uri)`. */
  toString(): string {
    const location = this.location;
    const head = `${this.protocol}:${this.object}`;
    return location ? `${head}@${location}` : head;
  }

  /** JSON form: the URI text. */
  toJSON(): string {
    return this.toString();
  }

  /**
   * Whether two URIs are the same (same protocol, object and location).
   *
   * @param other another URI
   * @returns true when equal
   */
  equals(other: PyroUri): boolean {
    return this.protocol === other.protocol && this.object === other.object &&
      this.host === other.host && this.port === other.port && this.sockname === other.sockname;
  }

  /**
   * How the URI travels: Pyro5's `Pyro5.core.URI` class dict with its state tuple (made once:
   * the URI is immutable and serializers only read it).
   */
  [toPyroDict](): Record<string, unknown> {
    if (this.#pyroDict === null) {
      const object = this.protocol === "PYROMETA" ? new Set(this.metadata) : this.object;
      this.#pyroDict = {
        __class__: "Pyro5.core.URI",
        state: tuple<unknown>(this.protocol, object, this.sockname, this.host, this.port),
      };
    }
    return this.#pyroDict;
  }

  /**
   * Rebuilds a URI from Pyro5's state tuple `(protocol, object, sockname, host, port)`.
   *
   * @param state the state as decoded
   * @returns the URI
   * @throws {PyroError} when the state is malformed
   */
  static fromState(state: unknown): PyroUri {
    return new PyroUri(PyroUri.stateText(state));
  }

  /**
   * The text of the URI a Pyro5 state tuple `(protocol, object, sockname, host, port)` stands
   * for (what {@linkcode PyroUri.fromState} parses).
   *
   * @param state the state as decoded
   * @returns the URI text
   * @throws {PyroError} when the state is not a 5-tuple
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { PyroUri } from "./uri.ts";
   * assert(PyroUri.stateText(["PYRO", "obj", null, "::1", 9]) === "PYRO:obj@[::1]:9");
   * ```
   */
  static stateText(state: unknown): string {
    if (!Array.isArray(state) || state.length !== 5) {
      throw new PyroError("invalid URI state");
    }
    const [protocol, object, sockname, host, port] = state;
    const objectText = object instanceof Set || Array.isArray(object)
      ? [...object].join(",")
      : String(object);
    let location = "";
    if (typeof sockname === "string" && sockname) location = `@./u:${sockname}`;
    else if (typeof host === "string" && host) {
      location = host.includes(":") ? `@[${host}]:${port}` : `@${host}:${port}`;
    }
    return `${protocol}:${objectText}${location}`;
  }
}
