/**
 * The client side: {@linkcode PyroProxy} calls a remote object as if it were local, over Pyro5's
 * wire protocol, against a Python Pyro5 daemon or ours.
 *
 * - `await proxy.method(a, b)` calls a remote method; `await proxy.attribute` reads a remote
 *   attribute; `await proxy._pyroSetAttr("attribute", value)` writes one.
 * - Keyword arguments: pass {@linkcode kwargs}`({ name: value })` as the last argument.
 * - Oneway methods (per the remote metadata) resolve as soon as the call is sent.
 * - A method returning an iterator or generator gives an `AsyncIterable` that fetches items on
 *   demand ({@linkcode StreamResult}).
 * - `proxy._pyroBatch()` collects calls and sends them in one message.
 * - Concurrent calls from many tasks share the one connection, pipelined and matched by
 *   sequence number.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyroProxy } from "./client.ts";
 * import { Daemon, exposeObject } from "./server.ts";
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(exposeObject({ add: (a: number, b: number) => a + b }), "calc");
 * await using calc = new PyroProxy(uri);
 * assert(await calc.add(1, 2) === 3);
 * ```
 *
 * @module
 */
import { defaultConfig, type PyroConfig } from "./config.ts";
import {
  CommunicationError,
  ConnectionClosedError,
  ProtocolError,
  PyroError,
  RemoteError,
  SerializeError,
  TimeoutError,
} from "./errors.ts";
import {
  type ClientTlsSettings,
  clientTlsSettings,
  connectLink,
  type Link,
  linkOver,
  type PeerCertificate,
} from "./protocol/transport.ts";
import { MessageConnection, type MessageConnectionOptions } from "./protocol/connection.ts";
import {
  type Message,
  MessageFlags,
  MessageType,
  type OutgoingMessage,
} from "./protocol/message.ts";
import {
  ClassRegistry,
  createSerializer,
  ExceptionWrapper,
  type ProxyState,
  type PyStringDict,
  type Serializer,
  type SerializerName,
  toPyroDict,
  tuple,
} from "./serializers/mod.ts";
import { resolve } from "./locate.ts";
import { PyroUri } from "./uri.ts";
import { autoProxyDict } from "./_autoproxy.ts";
import { BLOB_ANNOTATION, encodeBlobInfo, SerializedBlob } from "./_blob.ts";
import { currentContext } from "./_call_context.ts";
import { PyroLogger } from "./_log.ts";
import type { Daemon } from "./server.ts";

// Name server lookups live in locate.ts (which uses PyroProxy); they are part of the client API.
export { locateNS, type LocateOptions, resolve, type ResolveOptions } from "./locate.ts";
export { SerializedBlob } from "./_blob.ts";
export type {
  AttributeNames,
  MemberNames,
  MethodNames,
  Oneway,
  ONEWAY_MARK,
  Remote,
  RemoteFunction,
  RemoteMembers,
  RemoteMethod,
  RemoteResult,
} from "./_remote.ts";
import type { Remote } from "./_remote.ts";

const { CONNECT, CONNECT_OK, CONNECT_FAIL, INVOKE, RESULT } = MessageType;
const { EXCEPTION, ONEWAY, BATCH, ITEM_STREAM_RESULT, KEEP_SERIALIZED } = MessageFlags;
const DAEMON_NAME = "Pyro.Daemon";
const NO_KWARGS: Readonly<PyStringDict> = Object.freeze({});
const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * Keyword arguments for a remote call: pass `kwargs({...})` as the last argument.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { kwargs, Kwargs } from "./client.ts";
 * assert(kwargs({ sep: "," }) instanceof Kwargs);
 * ```
 */
export class Kwargs {
  /**
   * Wraps keyword arguments; see {@linkcode kwargs}.
   *
   * @param values the keyword arguments
   */
  constructor(readonly values: Readonly<PyStringDict>) {}
}

/**
 * Wraps keyword arguments for a remote call (Python's `f(x, key=value)` is
 * `proxy.f(x, kwargs({ key: value }))`). The receiving daemon binds them to the method's
 * parameters by name, as Python does, whether it is Python's or ours (ours reads the names from
 * the method, or from `@expose({ params })` in server.ts); an unknown or missing name
 * is a `TypeError`.
 *
 * @param values the keyword arguments
 * @returns the wrapper
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { kwargs } from "./client.ts";
 * assert(kwargs({ a: 1 }).values.a === 1);
 * ```
 */
export function kwargs(values: Readonly<PyStringDict>): Kwargs {
  return new Kwargs(values);
}

/** Options of one undecoded call ({@linkcode PyroProxy._pyroInvokeRaw}). */
export interface RawInvokeOptions {
  /**
   * Positional arguments.
   * @default {[]}
   */
  args?: readonly unknown[];
  /**
   * Keyword arguments.
   * @default {{}}
   */
  kwargs?: Readonly<PyStringDict>;
  /**
   * Send the call oneway (no reply), whatever the metadata says.
   * @default {false}
   */
  oneway?: boolean;
  /**
   * Correlation id (16 bytes) to send with this call, or null for none.
   * @default {the proxy's `_pyroCorrelationId`, else the one of the daemon call running}
   */
  correlationId?: Uint8Array | null;
}

/** Options of a {@linkcode PyroProxy}. */
export interface ProxyOptions {
  /**
   * Serializer name.
   * @default {config.SERIALIZER} ("serpent")
   */
  serializer?: SerializerName;
  /**
   * Seconds a connect or a call may take (Pyro5's COMMTIMEOUT); 0 waits forever.
   * @default {config.COMMTIMEOUT}
   */
  timeout?: number;
  /**
   * Data sent with the connect handshake.
   * @default {"hello"}
   */
  handshake?: unknown;
  /**
   * Configuration: SERIALIZER, COMMTIMEOUT, MAX_RETRIES, COMPRESSION, MAX_MESSAGE_SIZE,
   * SERPENT_BYTES_REPR, PREFER_IP_VERSION and the TLS items (SSL, SSL_CLIENTCERT, SSL_CLIENTKEY,
   * SSL_CLIENTKEYPASSWD, SSL_CACERTS) are used. With SSL, the proxy speaks only TLS: it checks the
   * daemon's certificate against SSL_CACERTS (or the system's roots) and the URI's host name.
   * @default {defaultConfig()} (the built-in defaults with `PYRO_*` applied)
   */
  config?: Readonly<PyroConfig>;
  /**
   * Retries of a method call after a lost connection or a timeout.
   * @default {config.MAX_RETRIES}
   */
  maxRetries?: number;
  /**
   * Class conversions; the proxy adds a hook that makes received proxies into PyroProxy objects.
   * @default {new ClassRegistry()}
   */
  classes?: ClassRegistry;
  /**
   * Checks the daemon's handshake response (Pyro5's `_pyroValidateHandshake`); throw to refuse.
   * Over TLS, `proxy._pyroPeerCertificate` is the daemon's certificate while it runs (to pin it).
   * @default {undefined}
   */
  validateHandshake?: (response: unknown) => void | Promise<void>;
  /**
   * Talk over this already-open connection (Pyro5's `connected_socket`, e.g. one end of a socket
   * pair); the URI may then be just the object id. The proxy cannot reconnect once it ends. With
   * TLS on, a plain connection gets the client side of a TLS session, checked against
   * `localhost` (or the URI's host).
   * @default {undefined}
   */
  connectedSocket?: Deno.Conn;
  /**
   * Annotations to send with every message (Pyro5's `current_context.annotations`). Called
   * for each message, synchronously in the caller's async context, so per-call annotations can
   * come from an `AsyncLocalStorage`.
   * @default {undefined}
   */
  annotations?: () => Map<string, Uint8Array> | undefined;
  /**
   * Told about the annotations of every response that has some (CONNECT_OK and RESULT
   * messages), with the message type, before the call's promise settles (Pyro4's
   * `_pyroResponseAnnotations`; with concurrent calls, safer than reading
   * `_pyroResponseAnnotations` afterwards).
   * @default {undefined}
   */
  onResponseAnnotations?: (annotations: Map<string, Uint8Array>, messageType: number) => void;
  /**
   * The daemon that receives calls to plain functions passed as arguments: each such function
   * is registered there (once) and travels as a proxy the other side can call. Inside a
   * daemon's method, that daemon is used when this is not set. Objects registered with any
   * daemon always travel as proxies to it.
   * @default {undefined}
   */
  callbackDaemon?: Daemon;
  /**
   * Makes the proxy callable: `await proxy(a, b)` calls the remote `__call__` method. A callable
   * proxy is a function (`typeof` is "function"); it still travels as a proxy, anywhere in a value.
   * @default {whether the known metadata (`metadata` option, received proxy) has `__call__`}
   */
  callable?: boolean;
  /**
   * Metadata already known (Pyro5's `known_metadata`): method, oneway and attribute names.
   * The connect handshake still updates it.
   * @default {undefined}
   */
  metadata?: { methods?: Iterable<string>; oneway?: Iterable<string>; attrs?: Iterable<string> };
}

interface Pending {
  resolve: (message: Message) => void;
  reject: (error: unknown) => void;
}

/** One connection of a proxy, with its pipelined calls. */
class Channel {
  readonly pending: Map<number, Pending> = new Map();
  reading = false;
  constructor(
    readonly connection: MessageConnection,
    readonly link: Link,
    /** The object id calls go to: the one of the resolved PYRO URI. */
    readonly objectId: string,
  ) {}
}

function hasKeys(dict: Readonly<PyStringDict>): boolean {
  for (const _ in dict) return true;
  return false;
}

function attributeError(message: string): RemoteError {
  return new RemoteError("builtins.AttributeError", [message]);
}

function connectLocation(uri: PyroUri): string {
  return uri.sockname ?? `('${uri.host}', ${uri.port})`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isStopIteration(error: unknown): boolean {
  return error instanceof RemoteError &&
    (error.pythonClass === "builtins.StopIteration" ||
      error.pythonClass === "builtins.GeneratorExit");
}

function toNames(value: unknown): Set<string> {
  if (value !== null && typeof value === "object" && Symbol.iterator in value) {
    return new Set([...(value as Iterable<unknown>)].map(String));
  }
  return new Set();
}

/** A remote member as the proxy's type sees it: anything (a method, an awaitable attribute). */
// deno-lint-ignore no-explicit-any
export type RemoteMember = any;

/**
 * A proxy for a remote Pyro object. The constructor returns a JavaScript `Proxy`, so any member
 * name that is not one of the proxy's own (`_pyro...`, `toString`, `then`...) is remote:
 * `await proxy.echo(1)` calls the method `echo`, `await proxy.verbose` reads the attribute
 * `verbose`. Write attributes with `await proxy._pyroSetAttr(name, value)` (a plain assignment
 * cannot be awaited, so it is refused). `then` is never remote: awaiting a proxy gives the proxy.
 *
 * The proxy connects on first use (connect handshake with metadata, as Pyro5), and reconnects on
 * the next use after a release, a lost connection or a timeout. `using` and `await using`
 * release the connection. With `maxRetries` (or the MAX_RETRIES config item), a method call
 * that fails with {@linkcode ConnectionClosedError} or {@linkcode TimeoutError} is sent again on
 * a new connection, up to that many times (off by default, as in Pyro5; only for calls that may
 * safely run twice). `_pyroReconnect()` waits for a restarted daemon.
 *
 * A proxy made `callable` (by default: a received proxy whose object exposes `__call__`, e.g. a
 * function callback) can be called itself, which calls the remote `__call__` method:
 * `await adder(1, 2)`. (Its TypeScript type is not callable, so that `apply`, `call`, `name`...
 * stay remote names: type a callable proxy with {@linkcode createProxy} and an interface with
 * `__call__`, or {@linkcode RemoteFunction}.)
 * Registered objects and plain functions in arguments travel as proxies (see
 * {@linkcode ProxyOptions.callbackDaemon}); proxies in results arrive as `PyroProxy` objects.
 *
 * Concurrency (Pyro5's proxy "ownership"): a proxy belongs to no task. Any number of concurrent
 * tasks may call through it; their calls are pipelined on its one connection and replies are
 * matched by sequence number (a Python daemon, and ours, run one connection's calls in order;
 * oneway calls run apart). Pyro5's `_pyroClaimOwnership()` is not needed and does not exist.
 * What one task does to the connection affects all: a timeout or a lost connection fails every
 * call in flight on it (each is retried when `maxRetries` allows), and `_pyroRelease()` ends
 * them. Use separate proxies for calls that must not share that fate.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyroProxy } from "./client.ts";
 * import { Daemon, expose } from "./server.ts";
 * class Account {
 *   #balance = 0;
 *   @expose
 *   accessor owner = "nobody";
 *   @expose
 *   deposit(amount: number): number {
 *     return this.#balance += amount;
 *   }
 * }
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(new Account(), "account");
 * await using account = new PyroProxy(uri, { serializer: "json" });
 * assert(await account.deposit(5) === 5);
 * await account._pyroSetAttr("owner", "me");
 * assert(await account.owner === "me");
 * ```
 */
export class PyroProxy implements AsyncDisposable, Disposable {
  /** Any other member is remote: a method to call or an attribute to await. */
  [member: string]: RemoteMember;

  #uri: PyroUri;
  #config: Readonly<PyroConfig>;
  #options: ProxyOptions;
  #serializerName: SerializerName | null;
  #serializer: Serializer | null = null;
  #classes: ClassRegistry;
  #channel: Channel | null = null;
  /** The link whose handshake is being validated. */
  #validating: Link | null = null;
  #tls: ClientTlsSettings | null | undefined;
  /** Whether the connected socket (option) has been used: it serves one connection only. */
  #usedSocket = false;
  #connecting: Promise<Channel> | null = null;
  #seq = 0;
  #timeout: number;
  #handshake: unknown;
  #maxRetries: number;
  #methods = new Set<string>();
  #attrs = new Set<string>();
  #oneway = new Set<string>();
  #memberCache = new Map<string, unknown>();
  #boundCache = new Map<PropertyKey, unknown>();
  #noAnnotations = new Map<string, Uint8Array>();
  #messageOptions: MessageConnectionOptions;
  /** Correlation id (16 bytes) sent with every message, or null. */
  _pyroCorrelationId: Uint8Array | null = null;
  /** Annotations of the last response received. */
  _pyroResponseAnnotations: Map<string, Uint8Array> = new Map();

  /**
   * Makes a proxy; it connects on first use.
   *
   * @param uri the object's URI (PYRO:, or PYRONAME:/PYROMETA: resolved through the name server)
   * @param options serializer, timeout, handshake, configuration, hooks
   * @throws {PyroError} for an invalid URI
   * @throws {RangeError} for an unknown serializer
   */
  constructor(uri: string | PyroUri, options: ProxyOptions = {}) {
    this.#uri = options.connectedSocket && typeof uri === "string" && !uri.includes(":")
      ? PyroUri.of(uri, "<<connected-socket>>:0") // Pyro5's form
      : PyroUri.from(uri);
    this.#config = options.config ?? defaultConfig();
    this.#options = options;
    const name = options.serializer ?? null;
    if (!["serpent", "marshal", "json", "msgpack"].includes(name ?? this.#config.SERIALIZER)) {
      throw new RangeError(`Unknown serializer configured: ${name ?? this.#config.SERIALIZER}`);
    }
    this.#serializerName = name;
    this.#timeout = options.timeout ?? this.#config.COMMTIMEOUT;
    this.#handshake = options.handshake ?? "hello";
    this.#maxRetries = options.maxRetries ?? this.#config.MAX_RETRIES;
    // Pyro5's LOGWIRE: every message this proxy sends and receives, at DEBUG level.
    const log = this.#config.LOGWIRE ? new PyroLogger("Pyro5.client", this.#config) : null;
    this.#messageOptions = {
      compress: this.#config.COMPRESSION,
      maxMessageSize: this.#config.MAX_MESSAGE_SIZE,
      onWire: log?.wire ? (wire) => log.wireMessage("proxy", wire) : undefined,
    };
    const config = this.#config;
    const callbackDaemon = options.callbackDaemon;
    this.#classes = (options.classes ?? new ClassRegistry()).with({
      replace: (value) => PyroProxy.#outgoing(value, callbackDaemon),
      makeProxy: (state) => PyroProxy.fromState(state, { config, callbackDaemon }),
    });
    if (options.metadata) this.#setMetadata(options.metadata);
    // A function target makes the proxy callable (a remote `__call__`); only proxies that ask
    // for it (or whose metadata has `__call__`) are functions, so `typeof` stays honest. The
    // target's prototype keeps `instanceof PyroProxy` true; every member access goes to
    // this instance.
    const callable = options.callable ?? this.#methods.has("__call__");
    const target = callable ? () => {} : {};
    Object.setPrototypeOf(target, PyroProxy.prototype);
    const proxy = new Proxy(target, PyroProxy.#handlerFor(this));
    PyroProxy.#targets.set(target, this).set(proxy, this);
    return proxy as unknown as PyroProxy;
  }

  /**
   * How objects in arguments travel: registered objects (of any daemon) as proxies to them,
   * plain functions as proxies to a registration in the callback daemon.
   */
  static #outgoing(value: object, callbackDaemon: Daemon | undefined): PyStringDict | undefined {
    const registered = autoProxyDict(value);
    if (registered !== undefined) return registered;
    if (typeof value !== "function" || value instanceof PyroProxy) return undefined;
    const daemon = callbackDaemon ?? currentContext()?.daemon;
    if (daemon === undefined) {
      throw new SerializeError(
        `cannot pass function ${value.name || "<anonymous>"}: ` +
          "give the proxy a callbackDaemon to receive the calls",
      );
    }
    return daemon.functionProxyDict(value as (...args: never[]) => unknown);
  }

  /**
   * Makes a proxy from Pyro5's serialized proxy state (URI, metadata, handshake, serializer).
   *
   * @param state the state
   * @param options further options
   * @returns the proxy, with the metadata already known
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { PyroProxy } from "./client.ts";
   * import { PyroUri } from "./uri.ts";
   * const proxy = PyroProxy.fromState({
   *   uri: new PyroUri("PYRO:x@localhost:1"), oneway: [], methods: ["m"], attrs: [],
   *   handshake: "hello", serializer: null,
   * });
   * assert(proxy._pyroMethods.has("m"));
   * ```
   */
  static fromState(state: ProxyState, options: ProxyOptions = {}): PyroProxy {
    const serializer = state.serializer as SerializerName | null;
    const proxy = new PyroProxy(state.uri, {
      ...options,
      handshake: state.handshake,
      serializer: serializer ?? options.serializer,
      metadata: { methods: state.methods, oneway: state.oneway, attrs: state.attrs },
    });
    return proxy;
  }

  /**
   * The proxy behind each JavaScript Proxy and its target: inspectors (`Deno.inspect`, node's
   * `util.inspect`) look at the target, not through the traps, and call its prototype's methods
   * with the target (or the JavaScript Proxy) as `this`.
   */
  static #targets = new WeakMap<object, PyroProxy>();

  static #handlerFor(proxy: PyroProxy): ProxyHandler<object> {
    return {
      get(_target, name) {
        if (name in proxy) {
          const value = Reflect.get(proxy, name, proxy);
          if (typeof value !== "function" || name === "constructor") return value;
          let bound = proxy.#boundCache.get(name);
          if (bound === undefined) {
            bound = (value as (...args: unknown[]) => unknown).bind(proxy);
            proxy.#boundCache.set(name, bound);
          }
          return bound;
        }
        if (typeof name === "symbol" || name === "then") return undefined;
        return proxy.#member(name);
      },
      set(_target, name, value) {
        if (name in proxy || typeof name === "symbol") {
          return Reflect.set(proxy, name, value, proxy);
        }
        throw new TypeError(
          `Cannot set remote attribute '${name}' with an assignment: ` +
            `use await proxy._pyroSetAttr("${name}", value)`,
        );
      },
      has(_target, name) {
        return name in proxy;
      },
      apply(_target, _thisArg, args) {
        const call = proxy.#member("__call__");
        if (typeof call !== "function") return Promise.reject(proxy.#noSuchMember("__call__"));
        return (call as (...args: unknown[]) => unknown)(...args);
      },
    };
  }

  /** The remote member for a name: a method function, an attribute read, or a deferred one. */
  #member(name: string): unknown {
    if (this.#attrs.has(name)) return this._pyroGetAttr(name);
    let member = this.#memberCache.get(name);
    if (member !== undefined) return member;
    if (this.#methods.has(name)) {
      member = (...args: unknown[]) => this.#callWithRetries(name, args);
      this.#memberCache.set(name, member);
      return member;
    }
    if (this.#methods.size > 0 || this.#attrs.size > 0) {
      // Known metadata without this name: Pyro5 refuses it locally.
      return () => Promise.reject(this.#noSuchMember(name));
    }
    // Metadata not known yet: a function that is also awaitable, resolved after connecting.
    const deferred = (...args: unknown[]) =>
      this.#ensureMetadata().then(() => {
        if (this.#methods.has(name)) return this.#callWithRetries(name, args);
        throw this.#noSuchMember(name);
      });
    (deferred as unknown as PromiseLike<unknown>).then = (onFulfilled, onRejected) =>
      this.#ensureMetadata().then(() => {
        if (this.#attrs.has(name)) return this._pyroGetAttr(name);
        if (this.#methods.has(name)) return this.#member(name);
        throw this.#noSuchMember(name);
      }).then(onFulfilled, onRejected);
    return deferred;
  }

  #noSuchMember(name: string): RemoteError {
    return attributeError(
      `remote object '${this.#uri}' has no exposed attribute or method '${name}'`,
    );
  }

  async #ensureMetadata(): Promise<void> {
    if (this.#methods.size === 0 && this.#attrs.size === 0) await this._pyroGetMetadata();
  }

  // ---- Pyro5's proxy members ----

  /** The URI of the remote object (after `_pyroBind()`, the resolved PYRO URI). */
  get _pyroUri(): PyroUri {
    return this.#uri;
  }

  /** Names of the remote methods (from the metadata). */
  get _pyroMethods(): Set<string> {
    return this.#methods;
  }

  /** Names of the remote attributes (from the metadata). */
  get _pyroAttrs(): Set<string> {
    return this.#attrs;
  }

  /** Names of the remote oneway methods (from the metadata). */
  get _pyroOneway(): Set<string> {
    return this.#oneway;
  }

  /** Seconds a connect or call may take; 0 waits forever. */
  get _pyroTimeout(): number {
    return this.#timeout;
  }

  set _pyroTimeout(seconds: number) {
    this.#timeout = seconds ?? 0;
  }

  /** The data sent in the connect handshake. */
  get _pyroHandshake(): unknown {
    return this.#handshake;
  }

  set _pyroHandshake(data: unknown) {
    this.#handshake = data;
  }

  /** Retries of a method call after a lost connection or a timeout. */
  get _pyroMaxRetries(): number {
    return this.#maxRetries;
  }

  set _pyroMaxRetries(retries: number) {
    this.#maxRetries = retries;
  }

  /** The serializer name set for this proxy, or null for the configured one. */
  get _pyroSerializer(): SerializerName | null {
    return this.#serializerName;
  }

  set _pyroSerializer(name: SerializerName | null) {
    this.#serializerName = name;
    this.#serializer = null;
  }

  /** The last sequence number used. */
  get _pyroSeq(): number {
    return this.#seq;
  }

  /** The local address of the connection, or null when not connected. */
  get _pyroLocalSocket(): Deno.Addr | null {
    return this.#channel?.link.localAddr ?? null;
  }

  /**
   * The daemon's TLS certificate on the current connection (also while `validateHandshake`
   * runs, to pin it), or null without TLS or a connection (Pyro5's
   * `_pyroConnection.getpeercert()`).
   */
  get _pyroPeerCertificate(): PeerCertificate | null {
    return (this.#validating ?? this.#channel?.link)?.peerCertificate ?? null;
  }

  /** Whether the proxy has an open connection. */
  get _pyroConnected(): boolean {
    return this.#channel !== null && !this.#channel.connection.closed;
  }

  /**
   * Connects now, if not connected yet, and replaces a PYRONAME/PYROMETA URI by the PYRO URI it
   * resolves to.
   *
   * @returns true when a new connection was made
   * @throws {CommunicationError} when connecting fails or is refused
   */
  async _pyroBind(): Promise<boolean> {
    if (this.#channel) return false;
    await this.#connect(true);
    return true;
  }

  /** Closes the connection (if any); the next call reconnects. */
  _pyroRelease(): void {
    const channel = this.#channel;
    this.#channel = null;
    channel?.connection.close();
  }

  /**
   * Releases the connection and connects again (Pyro5's `_pyroReconnect`), retrying after a
   * pause while connecting fails: e.g. while a restarted daemon is not listening yet on the
   * URI's port. Calls pending on the old connection fail with {@linkcode ConnectionClosedError}.
   *
   * @param tries how many attempts
   * @param delay seconds between attempts (Pyro5 waits 2)
   * @throws {ConnectionClosedError} when every attempt failed
   * @throws {PyroError} for a refusal that is not a communication problem
   */
  async _pyroReconnect(tries = 100000000, delay = 2): Promise<void> {
    this._pyroRelease();
    while (tries > 0) {
      try {
        await this.#connect(false);
        return;
      } catch (error) {
        if (!(error instanceof CommunicationError)) throw error;
        tries--;
        if (tries > 0) await new Promise((resolve) => setTimeout(resolve, delay * 1000));
      }
    }
    throw new ConnectionClosedError("failed to reconnect");
  }

  /**
   * Fetches the remote object's metadata, connecting if needed (the connect handshake carries
   * it), or takes it as given.
   *
   * @param objectId the object id; by default the proxy's
   * @param knownMetadata metadata to use instead of asking
   */
  async _pyroGetMetadata(objectId?: string, knownMetadata?: unknown): Promise<void> {
    if (!this.#channel && !knownMetadata) {
      await this.#connect(false);
      if (this.#methods.size > 0 || this.#attrs.size > 0) return;
    }
    const metadata = knownMetadata ??
      await this._pyroInvoke(
        "get_metadata",
        [objectId ?? this.#channel?.objectId ?? this.#uri.object],
        NO_KWARGS,
        0,
        DAEMON_NAME,
      );
    this.#processMetadata(metadata);
  }

  /**
   * Reads a remote attribute.
   *
   * @param name the attribute name
   * @returns its value
   */
  _pyroGetAttr(name: string): Promise<unknown> {
    return this._pyroInvoke("__getattr__", [name], NO_KWARGS);
  }

  /**
   * Writes a remote attribute (what Python does with `proxy.name = value`).
   *
   * @param name the attribute name
   * @param value the new value
   * @throws {RemoteError} `AttributeError` when the object has no such exposed attribute
   */
  async _pyroSetAttr(name: string, value: unknown): Promise<void> {
    await this.#ensureMetadata();
    if (!this.#attrs.has(name)) {
      throw attributeError(`remote object '${this.#uri}' has no exposed attribute '${name}'`);
    }
    await this._pyroInvoke("__setattr__", [name, value], NO_KWARGS);
  }

  /**
   * Starts a batch: calls on the returned object are collected, and calling it sends them in one
   * message (see {@linkcode BatchProxy}).
   *
   * @returns the batch proxy
   */
  _pyroBatch(): BatchProxy {
    return createBatchProxy(this);
  }

  /**
   * Sends collected batch calls (Pyro5's `_pyroInvokeBatch`).
   *
   * @param calls `(method, args, kwargs)` tuples
   * @param oneway do not wait for the results
   * @returns the results, with errors as ExceptionWrapper objects; undefined for oneway
   */
  _pyroInvokeBatch(calls: readonly unknown[], oneway = false): Promise<unknown> {
    return this._pyroInvoke("<batch>", calls, NO_KWARGS, BATCH | (oneway ? ONEWAY : 0));
  }

  /**
   * Performs one remote call (Pyro5's `_pyroInvoke`): connects if needed, sends, and waits for
   * the reply unless the call is oneway. Used for method names that are the proxy's own.
   *
   * @param method the method name (or `__getattr__`, `__setattr__`, `<batch>`)
   * @param args positional arguments
   * @param kwargsDict keyword arguments
   * @param flags extra message flags (ONEWAY, BATCH)
   * @param objectId another object id of the same daemon (e.g. `Pyro.Daemon`)
   * @returns the result; a {@linkcode StreamResult} for an iterator result
   * @throws the remote error, rebuilt locally, with `remoteTraceback`
   * @throws {CommunicationError} for connection problems; {@linkcode TimeoutError} on timeout
   */
  async _pyroInvoke(
    method: string,
    args: readonly unknown[],
    kwargsDict: Readonly<PyStringDict> = NO_KWARGS,
    flags = 0,
    objectId?: string,
  ): Promise<unknown> {
    // The caller's async context, read before any await: correlation id (and annotations).
    const sent = await this.#invoke(
      method,
      args,
      kwargsDict,
      flags,
      objectId,
      this.#correlationId(),
    );
    return sent && this.#decodeReply(sent.reply, sent.serializer);
  }

  /**
   * Performs one remote call and returns the daemon's reply message undecoded (Pyro5's
   * `_pyroRawWireResponse`): a remote exception is not thrown but comes back as a message with
   * the EXCEPTION flag, its data still in the serializer's bytes. The HTTP gateway passes the
   * json bytes on this way.
   *
   * @param method the method name (or `__getattr__`)
   * @param options arguments, oneway, correlation id
   * @returns the reply message; undefined for a oneway call
   * @throws {CommunicationError} for connection problems; {@linkcode TimeoutError} on timeout
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { PyroProxy } from "./client.ts";
   * import { Daemon, exposeObject } from "./server.ts";
   * await using daemon = new Daemon({ host: "127.0.0.1" });
   * const uri = daemon.register(exposeObject({ twice: (x: number) => 2 * x }), "calc");
   * await using calc = new PyroProxy(uri, { serializer: "json" });
   * const reply = await calc._pyroInvokeRaw("twice", { args: [21] });
   * assert(new TextDecoder().decode(reply?.data) === "42");
   * ```
   */
  async _pyroInvokeRaw(
    method: string,
    options: RawInvokeOptions = {},
  ): Promise<Message | undefined> {
    const correlationId = options.correlationId === undefined
      ? this.#correlationId()
      : options.correlationId;
    const flags = options.oneway ? ONEWAY : 0;
    const sent = await this.#invoke(
      method,
      options.args ?? [],
      options.kwargs ?? NO_KWARGS,
      flags,
      undefined,
      correlationId,
    );
    if (sent && sent.reply.annotations.size > 0) this.#responseAnnotations(sent.reply);
    return sent?.reply;
  }

  /** Sends one call and, unless it is oneway, receives its reply (undecoded). */
  async #invoke(
    method: string,
    args: readonly unknown[],
    kwargsDict: Readonly<PyStringDict>,
    flags: number,
    objectId: string | undefined,
    correlationId: Uint8Array | null,
  ): Promise<{ reply: Message; serializer: Serializer } | undefined> {
    // The caller's async context, read before any await.
    let annotations = this.#options.annotations?.() ?? this.#noAnnotations;
    let channel = this.#channel;
    if (channel === null || channel.connection.closed) channel = await this.#connect(false);
    let serializer = this.#serializerInUse();
    const target = objectId ?? channel.objectId;
    let data: Uint8Array | Uint8Array[];
    if (args[0] instanceof SerializedBlob) {
      // Pyro5's keep-serialized call: object and method travel in the BLBI annotation.
      if (args.length > 1 || hasKeys(kwargsDict)) {
        throw new SerializeError("if SerializedBlob is used, it must be the only argument");
      }
      const blob = args[0];
      // A received blob goes on in its own serializer, untouched (the reply comes back in it).
      if (blob.serializerId !== null) serializer = this.#serializerById(blob.serializerId);
      flags |= KEEP_SERIALIZED;
      annotations = new Map(annotations);
      annotations.set(BLOB_ANNOTATION, encodeBlobInfo(blob.info, target, method));
      data = blob.payloadFor(serializer, target, method);
    } else {
      // Python proxies send the positional arguments as a tuple (serpent shows the difference).
      // Only serpent writes tuples and lists differently: elsewhere the array goes as it is.
      const callArgs = serializer.name === "serpent" ? tuple(...args) : args;
      data = serializer.dumpsCallParts
        ? serializer.dumpsCallParts(target, method, callArgs, kwargsDict)
        : serializer.dumpsCall(target, method, callArgs, kwargsDict);
    }
    if (this.#oneway.has(method)) flags |= ONEWAY;
    const seq = (this.#seq + 1) & 0xffff;
    this.#seq = seq;
    const message: OutgoingMessage = {
      type: INVOKE,
      flags,
      seq,
      serializerId: serializer.id,
      data,
      annotations,
      correlationId,
    };
    // Encoding first: a message that is too large fails this call only, like Pyro5.
    // The connection packs small messages into its send chunks (no allocation per call).
    const bytes = channel.connection.encode(message);
    if (flags & ONEWAY) {
      try {
        await channel.connection.sendBytes(bytes);
      } catch (error) {
        this.#fail(channel, error);
        throw error;
      }
      return undefined;
    }
    if (channel.pending.has(seq)) throw new ProtocolError("too many concurrent calls on one proxy");
    if (channel.reading) {
      // Pipelined behind other calls: the channel's reader hands the reply over.
      const reply = new Promise<Message>((resolve, reject) => {
        channel.pending.set(seq, { resolve, reject });
      });
      channel.connection.sendBytes(bytes).catch((error) => this.#fail(channel, error));
      return { reply: await reply, serializer };
    }
    // The only call in flight: this call reads the replies itself until its own arrives, handing
    // over those of calls made meanwhile, then leaves further reading to a reader task.
    channel.reading = true;
    channel.connection.sendBytes(bytes).catch((error) => this.#fail(channel, error));
    let reply: Message;
    try {
      for (;;) {
        const message = await channel.connection.receive(this.#timeoutMs());
        if (message.seq === seq && message.type === RESULT) {
          reply = message;
          break;
        }
        this.#handOver(channel, message);
      }
    } catch (error) {
      throw this.#fail(channel, error);
    } finally {
      channel.reading = false;
      if (channel.pending.size > 0) this.#pump(channel);
    }
    return { reply, serializer };
  }

  #timeoutMs(): number {
    return this.#timeout > 0 ? this.#timeout * 1000 : 0;
  }

  /** Resolves the pending call a reply belongs to. */
  #handOver(channel: Channel, message: Message): void {
    const pending = channel.pending.get(message.seq);
    if (pending === undefined || message.type !== RESULT) {
      throw new ProtocolError(
        message.type !== RESULT
          ? `invalid msg type ${message.type} received (expected: 5)`
          : `invoke: reply sequence out of sync, got ${message.seq}`,
      );
    }
    channel.pending.delete(message.seq);
    pending.resolve(message);
  }

  /** The correlation id to send: the proxy's own, else the one of the daemon call running. */
  #correlationId(): Uint8Array | null {
    return this._pyroCorrelationId ?? currentContext()?.correlationId ?? null;
  }

  #callWithRetries(method: string, args: unknown[]): Promise<unknown> {
    let kwargsDict = NO_KWARGS;
    const last = args[args.length - 1];
    if (last instanceof Kwargs) {
      kwargsDict = last.values;
      args = args.slice(0, -1);
    }
    const first = this._pyroInvoke(method, args, kwargsDict);
    if (this.#maxRetries <= 0) return first;
    return first.catch(async (error) => {
      for (let attempt = 1;; attempt++) {
        if (
          !(error instanceof ConnectionClosedError || error instanceof TimeoutError) ||
          attempt > this.#maxRetries
        ) throw error;
        try {
          return await this._pyroInvoke(method, args, kwargsDict);
        } catch (next) {
          error = next;
        }
      }
    });
  }

  /** Reads replies while calls are pending on this channel; one reader per channel. */
  async #pump(channel: Channel): Promise<void> {
    channel.reading = true;
    try {
      while (channel.pending.size > 0) {
        this.#handOver(channel, await channel.connection.receive(this.#timeoutMs()));
      }
    } catch (error) {
      this.#fail(channel, error);
    } finally {
      channel.reading = false;
    }
  }

  /**
   * A connection problem: close the channel, fail all its calls, let the next call reconnect.
   * Returns the error the calls failed with.
   */
  #fail(channel: Channel, error: unknown): PyroError {
    if (this.#channel === channel) this.#channel = null;
    channel.connection.close();
    const failure = error instanceof PyroError
      ? error
      : new ConnectionClosedError(`connection lost: ${errorText(error)}`, { cause: error });
    for (const pending of channel.pending.values()) pending.reject(failure);
    channel.pending.clear();
    return failure;
  }

  #decodeReply(message: Message, serializer: Serializer): unknown {
    if (message.serializerId !== serializer.id) {
      throw new SerializeError(`invalid serializer in response: ${message.serializerId}`);
    }
    if (message.annotations.size > 0) this.#responseAnnotations(message);
    const data = serializer.loads(message.data);
    if (message.flags & ITEM_STREAM_RESULT) {
      const id = message.annotations.get("STRM");
      const streamId = id ? new TextDecoder().decode(id) : "";
      if (!streamId) {
        throw new ProtocolError(
          "result of call is an iterator, but the server is not configured to allow streaming",
        );
      }
      return new StreamResult(this, streamId);
    }
    if (message.flags & EXCEPTION) {
      throw data instanceof Error ? data : new PyroError(`remote error: ${String(data)}`);
    }
    return data;
  }

  #responseAnnotations(message: Message): void {
    this._pyroResponseAnnotations = message.annotations;
    this.#options.onResponseAnnotations?.(message.annotations, message.type);
  }

  #serializerById(id: number): Serializer {
    const own = this.#serializerInUse();
    if (own.id === id) return own;
    return createSerializer(id, {
      classes: this.#classes,
      serpentBytesRepr: this.#config.SERPENT_BYTES_REPR,
    });
  }

  #serializerInUse(): Serializer {
    return this.#serializer ??= createSerializer(
      this.#serializerName ?? this.#config.SERIALIZER as SerializerName,
      {
        classes: this.#classes,
        serpentBytesRepr: this.#config.SERPENT_BYTES_REPR,
      },
    );
  }

  #connect(replaceUri: boolean): Promise<Channel> {
    this.#connecting ??= this.#createConnection(replaceUri).finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #createConnection(replaceUri: boolean): Promise<Channel> {
    const uri = await resolve(this.#uri, { config: this.#config });
    const location = connectLocation(uri);
    const timeoutMs = this.#timeout > 0 ? this.#timeout * 1000 : 0;
    // Asked for but impossible (a missing or wrong certificate), TLS fails here, before any
    // connection: never a fall back to plain text.
    const tls = this.#tls === undefined ? this.#tls = clientTlsSettings(this.#config) : this.#tls;
    const socket = this.#options.connectedSocket;
    let link: Link;
    if (socket) {
      if (this.#usedSocket) {
        throw new ConnectionClosedError("the connected socket has been closed: cannot reconnect");
      }
      this.#usedSocket = true;
      link = await linkOver(socket, {
        side: "client",
        tls,
        host: uri.host && uri.host !== "<<connected-socket>>" ? uri.host : "localhost",
        timeoutMs,
      });
    } else {
      link = await connectLink({
        host: uri.host ?? undefined,
        port: uri.port ?? undefined,
        unixSocket: uri.sockname ?? undefined,
        tls,
        timeoutMs,
        ipVersion: this.#config.PREFER_IP_VERSION,
      });
    }
    const connection = new MessageConnection(link.stream, this.#messageOptions);
    const serializer = this.#serializerInUse();
    let reply: Message;
    try {
      await connection.send({
        type: CONNECT,
        flags: 0,
        seq: this.#seq,
        serializerId: serializer.id,
        data: serializer.dumps({ handshake: this.#handshake, object: uri.object }),
        annotations: this.#options.annotations?.() ?? this.#noAnnotations,
        correlationId: this.#correlationId(),
      });
      reply = await connection.receive(timeoutMs);
    } catch (error) {
      connection.close();
      // A TLS daemon answers a plain-text client with an alert, or hangs up: say what it may be.
      const hint = !link.secure && (error instanceof ProtocolError ||
          error instanceof ConnectionClosedError)
        ? " (if the daemon speaks TLS, set SSL)"
        : "";
      if (error instanceof CommunicationError && !hint) throw error;
      throw new CommunicationError(`cannot connect to ${location}: ${errorText(error)}${hint}`, {
        cause: error,
      });
    }
    let response: unknown = "?";
    try {
      if (reply.data.length > 0) {
        const replySerializer = reply.serializerId === serializer.id
          ? serializer
          : createSerializer(reply.serializerId, { classes: this.#classes });
        response = replySerializer.loads(reply.data);
      }
      if (reply.type === CONNECT_FAIL) {
        throw new CommunicationError(`connection to ${location} rejected: ${response}`);
      }
      if (reply.type !== CONNECT_OK) {
        throw new ProtocolError(
          `cannot connect to ${location}: invalid msg type ${reply.type} received`,
        );
      }
      const body = response as { meta?: unknown; handshake?: unknown } | null;
      this.#processMetadata(body?.meta);
      if (this.#options.validateHandshake) {
        this.#validating = link;
        try {
          await this.#options.validateHandshake(body?.handshake);
        } finally {
          this.#validating = null;
        }
      }
    } catch (error) {
      connection.close();
      throw error;
    }
    if (reply.annotations.size > 0) this.#responseAnnotations(reply);
    const channel = new Channel(connection, link, uri.object);
    this.#channel = channel;
    if (replaceUri) this.#uri = uri;
    if (this.#methods.size === 0 && this.#attrs.size === 0) {
      await this._pyroGetMetadata(uri.object);
    }
    return channel;
  }

  #processMetadata(metadata: unknown): void {
    if (!metadata || typeof metadata !== "object") return;
    const meta = metadata as { methods?: unknown; oneway?: unknown; attrs?: unknown };
    this.#setMetadata(meta);
    if (this.#methods.size === 0 && this.#attrs.size === 0) {
      throw new PyroError(
        `remote object '${this.#uri}' doesn't expose any methods or attributes. ` +
          "Did you forget setting @expose on them?",
      );
    }
  }

  #setMetadata(meta: { methods?: unknown; oneway?: unknown; attrs?: unknown }): void {
    this.#oneway = toNames(meta.oneway);
    this.#methods = toNames(meta.methods);
    this.#attrs = toNames(meta.attrs);
    this.#memberCache.clear();
  }

  /** Releases the connection (for `using`). */
  [Symbol.dispose](): void {
    this._pyroRelease();
  }

  /** Releases the connection (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this._pyroRelease();
    return Promise.resolve();
  }

  /** How the proxy travels: Pyro5's `Pyro5.client.Proxy` class dict with its state. */
  [toPyroDict](): PyStringDict {
    return {
      __class__: "Pyro5.client.Proxy",
      state: tuple<unknown>(
        this.#uri.toString(),
        tuple(...this.#oneway),
        tuple(...this.#methods),
        tuple(...this.#attrs),
        this.#handshake,
        this.#serializerName,
      ),
    };
  }

  /** A short description, like Pyro5's proxy repr. */
  toString(): string {
    return `<PyroProxy; ${this._pyroConnected ? "connected" : "not connected"}; for ${this.#uri}>`;
  }

  /** JSON form: the URI text. */
  toJSON(): string {
    return this.#uri.toString();
  }

  /** For `Deno.inspect` and `console.log`: the URI and state, serializer included. */
  [INSPECT](): string {
    const self = PyroProxy.#targets.get(this) ?? this;
    const state = self._pyroConnected ? "connected" : "not connected";
    const serializer = self.#serializerName ?? self.#config.SERIALIZER;
    return `<PyroProxy; ${state}; serializer ${serializer}; for ${self.#uri}>`;
  }

  /** For node's `util.inspect`: as for `Deno.inspect`. */
  [NODE_INSPECT](): string {
    return this[INSPECT]();
  }
}

/**
 * A typed proxy: a {@linkcode PyroProxy} typed as {@linkcode Remote}`<T>`, so calls are checked
 * against the interface `T` the server implements (a wrong method name, argument or result use
 * fails `deno check`). At run time it is an ordinary proxy.
 *
 * @param uri the object's URI
 * @param options as for {@linkcode PyroProxy}
 * @returns the proxy
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { createProxy } from "./client.ts";
 * import { Daemon, expose } from "./server.ts";
 * interface Greeter {
 *   greet(name: string): string;
 * }
 * @expose
 * class Friendly implements Greeter {
 *   greet(name: string): string {
 *     return `hi ${name}`;
 *   }
 * }
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(new Friendly());
 * await using greeter = createProxy<Greeter>(uri);
 * const text: string = await greeter.greet("you");
 * assert(text === "hi you");
 * ```
 */
export function createProxy<T>(uri: string | PyroUri, options: ProxyOptions = {}): Remote<T> {
  return new PyroProxy(uri, options) as unknown as Remote<T>;
}

/**
 * The results of a batch, in call order, as Pyro5 gives them: iterating raises the error of
 * the call that failed (which ended the batch).
 *
 * @param results the raw results
 * @returns a generator of the results
 */
function* batchResults(results: unknown[]): Generator<unknown, void, undefined> {
  for (const result of results) {
    if (result instanceof ExceptionWrapper) throw result.error;
    yield result;
  }
}

/** Options of a batch execution. */
export interface BatchCallOptions {
  /**
   * Send the batch as a oneway call: nothing comes back.
   * @default {false}
   */
  oneway?: boolean;
}

/**
 * A batch of calls (Pyro5's `BatchProxy`): calling a method on it records the call; calling the
 * batch itself sends all recorded calls in one message and returns their results as a
 * generator (an error of a call is thrown when the iteration reaches it, and ended the batch).
 * With `{ oneway: true }` nothing is returned.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyroProxy } from "./client.ts";
 * import { Daemon, exposeObject } from "./server.ts";
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(exposeObject({ double: (x: number) => 2 * x }), "math");
 * await using math = new PyroProxy(uri);
 * const batch = math._pyroBatch();
 * for (let i = 0; i < 3; i++) batch.double(i);
 * assert([...await batch()].join() === "0,2,4");
 * ```
 */
export interface BatchProxy {
  /** Sends the recorded calls and returns their results. */
  (options?: { oneway?: false }): Promise<Generator<unknown, void, undefined>>;
  /** Sends the recorded calls as a oneway batch. */
  (options: { oneway: true }): Promise<undefined>;
  /** Sends the recorded calls. */
  (options?: BatchCallOptions): Promise<Generator<unknown, void, undefined> | undefined>;
  /** The calls recorded so far, as `(method, args, kwargs)` tuples. */
  readonly _pyroCalls: readonly unknown[];
  /** Any other member records a call of that method. */
  [method: string]: RemoteMember;
}

function createBatchProxy(proxy: PyroProxy): BatchProxy {
  let calls: unknown[] = [];
  const execute = async (options: BatchCallOptions = {}) => {
    const sending = calls;
    calls = [];
    const results = await proxy._pyroInvokeBatch(sending, options.oneway ?? false);
    if (options.oneway) return undefined;
    if (!Array.isArray(results)) throw new ProtocolError("batch result is not a list");
    return batchResults(results);
  };
  return new Proxy(execute, {
    get(_target, name) {
      if (name === "_pyroCalls") return calls;
      if (typeof name === "symbol" || name === "then") return undefined;
      return (...args: unknown[]) => {
        let kwargsDict: Readonly<PyStringDict> = NO_KWARGS;
        const last = args[args.length - 1];
        if (last instanceof Kwargs) {
          kwargsDict = last.values;
          args = args.slice(0, -1);
        }
        calls.push(tuple<unknown>(name, tuple(...args), kwargsDict));
      };
    },
  }) as unknown as BatchProxy;
}

/**
 * The result of a remote call that returned an iterator (Pyro5's item streaming): an async
 * iterator that fetches each item from the daemon on demand. Stopping early (`break`, or
 * `return()`) closes the remote stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyroProxy, StreamResult } from "./client.ts";
 * import { Daemon, exposeObject } from "./server.ts";
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(exposeObject({
 *   *count(n: number) {
 *     for (let i = 0; i < n; i++) yield i;
 *   },
 * }), "counter");
 * await using counter = new PyroProxy(uri);
 * const stream = await counter.count(3);
 * assert(stream instanceof StreamResult);
 * const items: number[] = [];
 * for await (const item of stream) items.push(item as number);
 * assert(items.join() === "0,1,2");
 * ```
 */
export class StreamResult implements AsyncIterableIterator<unknown> {
  /** The daemon's id of the stream. */
  readonly streamId: string;
  #proxy: PyroProxy | null;

  /**
   * Wraps a remote stream (a proxy's call makes these).
   *
   * @param proxy the proxy whose connection carries the stream
   * @param streamId the stream id
   */
  constructor(proxy: PyroProxy, streamId: string) {
    this.#proxy = proxy;
    this.streamId = streamId;
  }

  /**
   * Fetches the next item.
   *
   * @returns the next iterator result
   * @throws {ConnectionClosedError} when the proxy's connection was closed
   */
  async next(): Promise<IteratorResult<unknown>> {
    const proxy = this.#proxy;
    if (proxy === null) return { done: true, value: undefined };
    if (!proxy._pyroConnected) {
      this.#proxy = null;
      throw new ConnectionClosedError("the proxy for this stream result has been closed");
    }
    try {
      const value = await proxy._pyroInvoke(
        "get_next_stream_item",
        [this.streamId],
        NO_KWARGS,
        0,
        DAEMON_NAME,
      );
      return { done: false, value };
    } catch (error) {
      this.#proxy = null; // the daemon ended the stream
      if (isStopIteration(error)) return { done: true, value: undefined };
      throw error;
    }
  }

  /**
   * Stops early: closes the remote stream (a oneway call).
   *
   * @returns a finished iterator result
   */
  async return(): Promise<IteratorResult<unknown>> {
    const proxy = this.#proxy;
    this.#proxy = null;
    if (proxy?._pyroConnected) {
      try {
        await proxy._pyroInvoke("close_stream", [this.streamId], NO_KWARGS, ONEWAY, DAEMON_NAME);
      } catch {
        // the connection is gone; the daemon drops the stream itself
      }
    }
    return { done: true, value: undefined };
  }

  /** Same as {@linkcode StreamResult.return} (Pyro5's `close()`). */
  async close(): Promise<void> {
    await this.return();
  }

  /** This object is its own async iterator. */
  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
}
