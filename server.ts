/**
 * The Pyro daemon: it listens on a TCP or Unix domain socket, accepts Pyro5 clients (Python's or
 * ours), and runs their calls on the objects registered with it, exactly as Python Pyro5 5.15's
 * `Daemon` does on the wire: the connect handshake with metadata, method calls, remote
 * attributes, oneway calls, batches, item streaming and the built-in `Pyro.Daemon` object.
 *
 * The daemon serves from construction; `await daemon.closed` waits until it is closed. Each
 * connection has one read loop and runs its calls in order (oneway calls run detached), many
 * connections run concurrently, and a failing connection never disturbs the others. Methods may
 * be sync or async; a sync method that blocks the event loop blocks every connection.
 *
 * What remote callers may use is declared with {@linkcode expose} (class, method, getter/setter,
 * `accessor`), {@linkcode oneway}, or {@linkcode exposeObject} for plain objects; names starting
 * with `_` stay private (dunder names like `__len__` excepted). Remote attributes are exposed
 * accessors; Pyro5's `__getattr__`/`__setattr__` calls read and write them. A caller's keyword
 * arguments bind to the method's parameters by name, as in Python: the names come from
 * `@expose({ params })` or the method's own source; `@expose({ kwargs: true })` hands the
 * unmatched ones to the last parameter as one object (Python's `**kwargs`); a keyword matching
 * no parameter, a value given twice or a missing argument is a `TypeError` worded as Python's.
 * A method returning an iterator or generator (sync or async) is streamed item by item (Pyro5's
 * ITER_STREAMING).
 *
 * The calling model, as Pyro5's:
 * - Auto proxies: a registered object (or class) in a result or argument travels as a proxy to
 *   it, with every serializer. A plain function returned by a method is registered for as long
 *   as that client's connection lasts and travels as a callable proxy (`__call__`).
 * - Callbacks: proxies in arguments arrive as {@linkcode PyroProxy} objects the method can call,
 *   also while the caller's call is still running; {@linkcode callback} marks methods whose
 *   errors are also reported on this side (`onError`, else `console.error`).
 * - Instance modes: a registered class is instantiated per {@linkcode behavior} (`single`,
 *   `session`, `percall`), inside the call's context; instances with `[Symbol.dispose]` or
 *   `[Symbol.asyncDispose]` are disposed when their scope ends.
 * - Call context: inside a method (and an instance creator, and `validateHandshake`),
 *   {@linkcode currentContext} gives the daemon, the client connection (address, handshake data,
 *   tracked resources), annotations, correlation id (the request's, or a new one, sent back and
 *   on by proxies used during the call) and response annotations.
 * - Connections: `onConnect` and `onDisconnect` hooks; resources tracked on a connection are
 *   closed when it ends.
 * - `SerializedBlob`: a call whose single argument is a blob (KEEP_SERIALIZED flag and `BLBI`
 *   annotation) hands the method a blob still serialized, to forward or decode on demand.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Daemon, expose } from "./server.ts";
 * import { PyroProxy } from "./client.ts";
 *
 * @expose
 * class Greeter {
 *   greet(name: string): string {
 *     return `Hello, ${name}`;
 *   }
 * }
 *
 * await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
 * const uri = daemon.register(new Greeter(), "example.greeter");
 * await using greeter = new PyroProxy(uri, { serializer: "msgpack" });
 * assert(await greeter.greet("you") === "Hello, you");
 * ```
 *
 * @module
 */
import {
  expose,
  type ExposedInfo,
  type ExposedMembers,
  exposeObject,
  getExposedMembers,
  getInstancing,
  type Instancing,
  isCallback,
  isPrivateAttribute,
} from "./_expose.ts";
import { autoProxyDict, markRegistered, registrationOf, unmarkRegistered } from "./_autoproxy.ts";
import { blobData, decodeBlobCall } from "./_blob.ts";
import {
  CallContext,
  ClientConnection,
  CorrelationIds,
  currentContext,
  disposeInstance,
  isThenable,
  runInContext,
} from "./_call_context.ts";
import { isItemIterator, type ItemIterator, ItemStreams } from "./_item_streams.ts";
import { bindArguments, needsBinding, takeSignatureOf } from "./_params.ts";
import { formatTraceback } from "./_traceback.ts";
import { PyroLogger } from "./_log.ts";
import { PyroProxy } from "./client.ts";
import { defaultConfig, type Limits, makeLimits, type PyroConfig } from "./config.ts";
import {
  CommunicationError,
  ConnectionClosedError,
  DaemonError,
  ProtocolError,
  PyroError,
  RemoteError,
  SecurityError,
  SerializeError,
} from "./errors.ts";
import {
  MessageConnection,
  type MessageConnectionOptions,
  ReceiveBudget,
} from "./protocol/connection.ts";
import {
  type Link,
  type LinkListener,
  linkOver,
  listenLinks,
  serverTlsSettings,
} from "./protocol/transport.ts";
import { type Message, MessageFlags, MessageType } from "./protocol/message.ts";
import {
  ClassRegistry,
  createSerializer,
  type DecodedCall,
  errorToDict,
  isPlainObject,
  type PyStringDict,
  type Serializer,
  tuple,
} from "./serializers/mod.ts";
import { PyroUri } from "./uri.ts";

export {
  behavior,
  type BehaviorOptions,
  callback,
  type ClassDecorator,
  expose,
  type ExposedInfo,
  type ExposedMembers,
  exposeObject,
  type ExposeObjectOptions,
  type ExposeOptions,
  getExposedMembers,
  type InstanceMode,
  isPrivateAttribute,
  type MethodDecorator,
  oneway,
} from "./_expose.ts";
export { formatTraceback, type TracebackOptions } from "./_traceback.ts";
export { serve, type ServeOptions } from "./_serve.ts";
export { CallContext, ClientConnection, currentContext, type Resource } from "./_call_context.ts";

/** Object id of the daemon's own built-in object (Pyro5's `core.DAEMON_NAME`). */
export const DAEMON_NAME = "Pyro.Daemon";

const { CONNECT, CONNECT_OK, CONNECT_FAIL, INVOKE, RESULT, PING } = MessageType;
const { EXCEPTION, ONEWAY, BATCH, ITEM_STREAM_RESULT, KEEP_SERIALIZED } = MessageFlags;
const MARSHAL_ID = 2;
const CLOSE_WAIT_MS = 5000;
const NO_FREE_WORKERS = "no free workers, increase server threadpool size";
const PONG = new TextEncoder().encode("pong");
const TRACEBACK_OPTIONS = Object.freeze({ skipFiles: Object.freeze([import.meta.url]) });

/** What a daemon tells its `onError` hook about a failed call. */
export interface CallErrorInfo {
  /** The object id the call was for. */
  objectId: string;
  /** The method name. */
  method: string;
  /** The client connection. */
  client: ClientConnection;
  /** True when the method is a `@callback` (the daemon then also closes the connection). */
  callback: boolean;
}

/** Options of a {@linkcode Daemon}. */
export interface DaemonOptions {
  /**
   * Host name or address to bind to (an IPv6 address without brackets).
   * @default {config.HOST} ("localhost")
   */
  host?: string;
  /**
   * TCP port; 0 picks a free one.
   * @default {0}
   */
  port?: number;
  /**
   * Path of a Unix domain socket to listen on instead of TCP (removed again on close).
   * @default {undefined}
   */
  unixSocket?: string;
  /**
   * Serve just this already-open connection instead of listening (Pyro5's `connected_socket`,
   * e.g. one end of a socket pair): the daemon closes when it ends. With TLS on (config `SSL`),
   * a plain connection gets the daemon side of a TLS session; a `Deno.TlsConn` is used as it is.
   * @default {undefined}
   */
  connectedSocket?: Deno.Conn;
  /**
   * Makes the built-in `Pyro.Daemon` object (Pyro5's `interface` argument): a subclass of
   * {@linkcode DaemonObject} can add or restrict what clients may ask the daemon.
   * @default {DaemonObject}
   */
  interface?: new (daemon: Daemon) => DaemonObject;
  /**
   * Public host name behind NAT, used in the URIs the daemon hands out.
   * @default {config.NATHOST}
   */
  natHost?: string | null;
  /**
   * Public port behind NAT; 0 for the port the daemon listens on.
   * @default {config.NATPORT}
   */
  natPort?: number;
  /**
   * Configuration: COMMTIMEOUT, MAX_MESSAGE_SIZE, COMPRESSION, THREADPOOL_SIZE, ITER_*,
   * HOST, NATHOST/NATPORT, SERPENT_BYTES_REPR, POLLTIMEOUT, PREFER_IP_VERSION and the TLS items
   * (SSL, SSL_SERVERCERT, SSL_SERVERKEY, SSL_SERVERKEYPASSWD, SSL_REQUIRECLIENTCERT, SSL_CACERTS)
   * are used.
   * @default {defaultConfig()} (the built-in defaults with `PYRO_*` applied)
   */
  config?: Readonly<PyroConfig>;
  /**
   * Most handshaken connections served at once; a client past it is refused at its handshake
   * with an error saying so (ending in Pyro5's "no free workers" text). Connections still
   * waiting for their handshake are limited by `limits.maxPendingHandshakes` instead.
   * @default {config.THREADPOOL_SIZE} (80)
   */
  maxConnections?: number;
  /**
   * Defences against hostile clients: handshake time, connections waiting for their handshake,
   * bytes buffered in incomplete messages, item streams (see {@linkcode Limits}).
   * @default {DEFAULT_LIMITS}
   */
  limits?: Partial<Limits>;
  /**
   * Class conversions for the serializers. The daemon adds its own hooks: registered objects go
   * out as proxies, received proxies become {@linkcode PyroProxy} objects.
   * @default {new ClassRegistry()}
   */
  classes?: ClassRegistry;
  /**
   * Checks a new connection's handshake data (Pyro5's `validateHandshake`): returns the response
   * data (or a promise of it), or throws to refuse the connection (the error message goes to the
   * client). {@linkcode currentContext} describes the connect message while it runs.
   * @default {() => "hello"}
   */
  validateHandshake?: (client: ClientConnection, data: unknown) => unknown;
  /**
   * Annotations to add to every response (Pyro5's `Daemon.annotations()`).
   * @default {undefined}
   */
  annotations?: () => Map<string, Uint8Array> | undefined;
  /**
   * Told about every error a remote method throws (Pyro5's `methodcall_error_handler`).
   * @default {undefined} (errors of `@callback` methods go to `console.error`)
   */
  onError?: (error: unknown, info: CallErrorInfo) => void;
  /**
   * Told when a client connection has passed the handshake (after `validateHandshake`).
   * @default {undefined}
   */
  onConnect?: (client: ClientConnection) => void;
  /**
   * Told when a client connection ends (Pyro5's `clientDisconnect`), before its session
   * instances and tracked resources are closed, so it can still look at them.
   * @default {undefined}
   */
  onDisconnect?: (client: ClientConnection) => void;
  /**
   * Closes the daemon when aborted.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Periodic housekeeping (Pyro5's `Daemon.housekeeping`): called every few seconds while the
   * daemon runs, at Pyro5's housekeeper interval (POLLTIMEOUT, at most max(COMMTIMEOUT, 5)
   * seconds; 2 when POLLTIMEOUT is 0). An async hook is not called again before it settles; an
   * error it throws is reported with `console.error` and the daemon goes on.
   * @default {undefined}
   */
  housekeeping?: (daemon: Daemon) => void | Promise<void>;
}

/** Options of {@linkcode Daemon.register}. */
export interface RegisterOptions {
  /**
   * Replace a registration with the same id.
   * @default {false}
   */
  force?: boolean;
  /**
   * Keep only a weak reference (Pyro5's `weak=True`; objects only, not classes): when the
   * program drops the object and the garbage collector takes it, it is unregistered.
   * @default {false}
   */
  weak?: boolean;
}

interface Registration {
  id: string;
  /** The object or class (for a weak registration: while it lives; see `Daemon.#live`). */
  readonly target: object;
  /** Registered weakly (Pyro5's `weak=True`): the daemon does not keep it alive. */
  weak: boolean;
  info: ExposedInfo;
  /** For a registered class: how to instantiate it. */
  instancing: Instancing | null;
}

/** A plain function the daemon registered to receive calls (sent out as a callable proxy). */
interface FunctionEntry {
  /** The registered object: it exposes `__call__`. */
  object: object;
  /** Client connections it was returned to; empty and `pinned` false means unregister it. */
  holders: Set<ClientConnection>;
  /** Registered for a proxy's argument: stays until unregistered or the daemon closes. */
  pinned: boolean;
}

/** Any function (what the daemon can register as a callable object). */
type AnyFunction = (...args: never[]) => unknown;

/** The object a plain function is registered as: its one exposed method is `__call__`. */
function functionObject(fn: AnyFunction): object {
  const call = (...args: unknown[]) => (fn as (...args: unknown[]) => unknown)(...args);
  takeSignatureOf(call, fn); // keyword arguments bind to the function's own parameters
  return exposeObject({ __call__: call }, { methods: ["__call__"], attributes: [] });
}

/** A problem that ends the connection at once, without any reply. */
class FatalForConnection extends Error {}

/** `host:port`, `[ipv6]:port` or `./u:path` (Pyro5's locationStr); `host` replaces the address. */
function locationOf(addr: Deno.Addr, host?: string): string {
  if (addr.transport === "unix" || addr.transport === "unixpacket") return `./u:${addr.path}`;
  const net = addr as Deno.NetAddr;
  const shown = host || net.hostname;
  return shown.includes(":") ? `[${shown}]:${net.port}` : `${shown}:${net.port}`;
}

function attributeError(message: string): RemoteError {
  return new RemoteError("builtins.AttributeError", [message]);
}

/**
 * The arguments of a call with its keyword arguments bound by name (see `_params.ts`); errors
 * name the method as Python does (`Thermostat.setTarget()`, `add()` for a plain object's).
 */
function bindCall(
  target: object,
  name: string,
  method: unknown,
  args: unknown[],
  keywords: Readonly<PyStringDict>,
): unknown[] {
  if (!needsBinding(method, keywords)) return args;
  const proto = Object.getPrototypeOf(target);
  const className = proto !== null && proto !== Object.prototype
    ? (target as { constructor?: { name?: unknown } }).constructor?.name
    : undefined;
  const ofClass = typeof className === "string" && className !== "";
  const label = ofClass ? `${className}.${name}` : name;
  return bindArguments(label, method, args, keywords, ofClass);
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * The daemon's built-in object, registered as `Pyro.Daemon` (Pyro5's `DaemonObject`).
 * Its methods are what Pyro5 exposes: `registered`, `ping`, `info`, `get_metadata`,
 * `get_next_stream_item`, `close_stream`.
 */
@expose
export class DaemonObject {
  #daemon: Daemon;

  /**
   * Makes the built-in object of a daemon (the daemon does this itself).
   *
   * @param daemon the daemon it belongs to
   */
  constructor(daemon: Daemon) {
    this.#daemon = daemon;
  }

  /**
   * The ids of all registered objects.
   *
   * @returns the object ids
   */
  registered(): string[] {
    return this.#daemon.registeredIds();
  }

  /** Does nothing; for testing a connection. */
  ping(): null {
    return null;
  }

  /**
   * A line describing the daemon.
   *
   * @returns the description
   */
  info(): string {
    return this.#daemon.info();
  }

  /**
   * The metadata of a registered object: `{ methods, oneway, attrs }`, as sets.
   *
   * @param objectId the object id
   * @returns the metadata
   * @throws {DaemonError} for an unknown object
   */
  get_metadata(objectId: string): ExposedMembers {
    return this.#daemon.metadataOf(objectId);
  }

  /**
   * The next item of an item stream.
   *
   * @param streamId the stream id
   * @returns the item
   * @throws {PyroError} when the stream is unknown ("item stream terminated")
   * @throws {RemoteError} `builtins.StopIteration` at the end of the stream
   */
  get_next_stream_item(streamId: string): unknown {
    return this.#daemon.nextStreamItem(streamId);
  }

  /**
   * Closes an item stream.
   *
   * @param streamId the stream id
   */
  close_stream(streamId: string): null {
    this.#daemon.closeStream(streamId);
    return null;
  }
}

/**
 * A Pyro daemon: listens at once, serves in the background until {@linkcode Daemon.close}.
 *
 * Large bytes in a result (a `Uint8Array` of 256 KiB or more, with msgpack) are sent from their
 * own memory rather than copied: a method must not change a buffer it returned until the reply
 * has gone out (the client's next call on that connection).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Daemon, exposeObject } from "./server.ts";
 * const daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(exposeObject({ add: (a: number, b: number) => a + b }), "calc");
 * assert(uri.toString() === `PYRO:calc@${daemon.locationStr}`);
 * await daemon.close();
 * ```
 */
export class Daemon implements AsyncDisposable {
  /** Where the daemon listens: `host:port`, `[ipv6]:port` or `./u:path`. */
  readonly locationStr: string;
  /** The public `nathost:natport`, or null. */
  readonly natLocationStr: string | null;
  /** The configuration in use. */
  readonly config: Readonly<PyroConfig>;
  /** Resolves once the daemon is closed and all its connections have ended. */
  readonly closed: Promise<void>;

  #listener: LinkListener | null;
  #unixSocket: string | null;
  #addr: Deno.Addr;
  #options: DaemonOptions;
  #maxConnections: number;
  #timeoutMs: number;
  #connectionOptions: MessageConnectionOptions;
  #log: PyroLogger;
  #limits: Readonly<Limits>;
  /** Connections waiting for their handshake, oldest first. */
  #pending = new Set<ClientConnection>();
  /** How many connections passed their handshake and are still open. */
  #handshaken = 0;
  #classes: ClassRegistry;
  #serializers: (Serializer | undefined)[] = [];
  #objects = new Map<string, Registration>();
  #ids = new WeakMap<object, string>();
  /** Unregisters weakly registered objects once they are collected. */
  #collected = new FinalizationRegistry<Registration>((registration) => {
    if (this.#objects.get(registration.id) === registration) this.#forget(registration);
  });
  #singletons = new Map<object, object>();
  #functions = new WeakMap<AnyFunction, FunctionEntry>();
  /** The connection whose reply is being serialized (results may hold functions to register). */
  #encodingFor: ClientConnection | null = null;
  #clients = new Set<ClientConnection>();
  #tasks = new Set<Promise<void>>();
  #streams: ItemStreams;
  #closing = false;
  #resolveClosed: () => void;
  #acceptLoop: Promise<void>;
  #noAnnotations = new Map<string, Uint8Array>();
  /** Correlation ids for requests that bring none. */
  #correlationIds = new CorrelationIds();
  #abortListener: (() => void) | null = null;
  #housekeeper: ReturnType<typeof setInterval> | undefined;
  #housekeepingRuns = false;

  /**
   * Creates the daemon and starts listening and serving.
   *
   * @param options where to listen, configuration, hooks
   * @throws {RangeError} for inconsistent NAT options
   * @throws {Deno.errors.AddrInUse} when the address is taken (and other listen errors)
   */
  constructor(options: DaemonOptions = {}) {
    const config = options.config ?? defaultConfig();
    this.config = config;
    this.#options = options;
    const natHost = options.natHost !== undefined ? options.natHost : config.NATHOST;
    let natPort = options.natPort;
    if (natPort === undefined && natHost) natPort = config.NATPORT;
    if (natHost && options.unixSocket) {
      throw new RangeError("Cannot use natHost together with unixSocket");
    }
    if (!natHost && options.natPort !== undefined) {
      throw new RangeError("Must provide natHost with natPort");
    }
    this.#maxConnections = options.maxConnections ?? config.THREADPOOL_SIZE;
    if (!(this.#maxConnections >= 1)) throw new RangeError("maxConnections must be at least 1");
    this.#timeoutMs = config.COMMTIMEOUT > 0 ? config.COMMTIMEOUT * 1000 : 0;
    const limits = this.#limits = makeLimits(options.limits);
    // Pyro5's housekeeper interval
    const housekeeping = Math.min(config.POLLTIMEOUT || 0, Math.max(config.COMMTIMEOUT || 0, 5)) ||
      2;
    this.#streams = new ItemStreams({
      lifetime: config.ITER_STREAM_LIFETIME,
      linger: config.ITER_STREAM_LINGER,
      maxPerClient: limits.maxStreamsPerConnection,
      max: limits.maxStreams,
      interval: housekeeping,
    });
    if (options.housekeeping) {
      const hook = options.housekeeping;
      this.#housekeeper = setInterval(() => this.#runHousekeeping(hook), housekeeping * 1000);
    }
    this.#log = new PyroLogger("Pyro5.server", config);
    const log = this.#log;
    this.#connectionOptions = {
      compress: config.COMPRESSION,
      maxMessageSize: config.MAX_MESSAGE_SIZE,
      onWire: log.wire ? (wire) => log.wireMessage("daemon", wire) : undefined,
      budget: new ReceiveBudget(limits.maxBufferedBytes),
    };
    this.#classes = (options.classes ?? new ClassRegistry()).with({
      replace: (value) => this.#autoProxy(value),
      makeProxy: (state) => PyroProxy.fromState(state, { config, callbackDaemon: this }),
    });

    // TLS is set up first: asked for but impossible, the daemon does not start at all.
    const tls = serverTlsSettings(config);
    if (options.connectedSocket) {
      const conn = options.connectedSocket;
      this.#listener = null;
      this.#unixSocket = null;
      this.#addr = conn.localAddr;
      this.locationStr = locationOf(conn.localAddr);
      this.#acceptLoop = linkOver(conn, { side: "server", tls }).then(
        (link) =>
          this.#serve(link).finally(() => {
            this.close();
          }),
        () => void this.close(),
      );
    } else {
      this.#unixSocket = options.unixSocket ?? null;
      const host = options.host ?? config.HOST;
      this.#listener = listenLinks({
        host,
        port: options.port,
        unixSocket: options.unixSocket,
        tls,
        ipVersion: config.PREFER_IP_VERSION,
      });
      this.#addr = this.#listener.addr;
      this.locationStr = options.unixSocket
        ? `./u:${options.unixSocket}`
        : locationOf(this.#addr, host);
      this.#acceptLoop = this.#accept(this.#listener);
    }
    if (natHost) {
      const port = natPort || Number(this.locationStr.slice(this.locationStr.lastIndexOf(":") + 1));
      this.natLocationStr = natHost.includes(":") ? `[${natHost}]:${port}` : `${natHost}:${port}`;
    } else {
      this.natLocationStr = null;
    }

    this.#log.debug(`daemon created on ${this.locationStr} (pid ${Deno.pid})`);

    const daemonObject = new (options.interface ?? DaemonObject)(this);
    this.#objects.set(DAEMON_NAME, {
      id: DAEMON_NAME,
      target: daemonObject,
      weak: false,
      info: getExposedMembers(daemonObject),
      instancing: null,
    });
    this.#ids.set(daemonObject, DAEMON_NAME);

    const { promise, resolve } = Promise.withResolvers<void>();
    this.closed = promise;
    this.#resolveClosed = resolve;
    if (options.signal) {
      const signal = options.signal;
      if (signal.aborted) this.close();
      else {
        this.#abortListener = () => this.close();
        signal.addEventListener("abort", this.#abortListener, { once: true });
      }
    }
  }

  /** The URI of the daemon's built-in `Pyro.Daemon` object. */
  get uri(): PyroUri {
    return this.uriFor(DAEMON_NAME);
  }

  /** The address the daemon listens on. */
  get addr(): Deno.Addr {
    return this.#addr;
  }

  /** How many client connections are open. */
  get connectionCount(): number {
    return this.#clients.size;
  }

  /**
   * How many instances of registered classes exist: `single` ones plus every connection's
   * `session` ones (`percall` instances live only during their call).
   */
  get instanceCount(): number {
    let count = this.#singletons.size;
    for (const client of this.#clients) count += client.pyroInstances.size;
    return count;
  }

  /**
   * Registers an object (or a class, instantiated per its {@linkcode behavior}) for remote use.
   *
   * @param target the object or class
   * @param objectId its id; by default `obj_` and 32 hex digits, like Pyro5
   * @param options `force` replaces a registration with the same id; `weak` (Pyro5's
   * `weak=True`, objects only) keeps no strong reference: once the program drops the object and
   * the garbage collector takes it, it is unregistered, and calls get "unknown object"
   * @returns the object's URI
   * @throws {TypeError} for a class registered weakly
   * @throws {DaemonError} when the object or the id is already registered here (unlike
   * Pyro5, an object may be registered with several daemons; outside its daemons' own replies it
   * travels as a proxy of the first one)
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { Daemon, exposeObject } from "./server.ts";
   * await using daemon = new Daemon({ host: "127.0.0.1" });
   * const uri = daemon.register(exposeObject({ hi: () => "hi" }));
   * assert(/^obj_[0-9a-f]{32}$/.test(uri.object));
   * ```
   */
  register(target: object, objectId?: string, options: RegisterOptions = {}): PyroUri {
    if (target === null || (typeof target !== "object" && typeof target !== "function")) {
      throw new TypeError("Can only register an object or a class");
    }
    const isClass = typeof target === "function";
    const weak = options.weak === true;
    if (weak && isClass) throw new TypeError("Classes cannot be registered with weak=True");
    if (objectId !== undefined && typeof objectId !== "string") {
      throw new TypeError("objectId must be a string or undefined");
    }
    const id = objectId || `obj_${crypto.randomUUID().replaceAll("-", "")}`;
    if (!options.force) {
      if (this.#ids.has(target)) throw new DaemonError("object or class already has a Pyro id");
      if (this.#objects.has(id)) {
        throw new DaemonError("an object or class is already registered with that id");
      }
    } else {
      const old = this.#objects.get(id);
      if (old) this.#forget(old);
    }
    const info = getExposedMembers(target);
    const instancing = isClass ? getInstancing(target) : null;
    let registration: Registration;
    if (weak) {
      const ref = new WeakRef(target);
      registration = {
        id,
        get target() {
          return ref.deref()!; // only read through #live, which checks it is there
        },
        weak,
        info,
        instancing,
      };
      this.#collected.register(target, registration, registration);
    } else {
      registration = { id, target, weak, info, instancing };
    }
    this.#objects.set(id, registration);
    this.#ids.set(target, id);
    if (registrationOf(target) === undefined) {
      markRegistered(target, { owner: this, proxyDict: () => this.#proxyDict(registration) });
    }
    return this.uriFor(id);
  }

  /**
   * Removes a registered object or class; unknown ids and `Pyro.Daemon` are ignored.
   *
   * @param objectOrId the object, class or its id
   * @throws {DaemonError} for an object that is not registered
   */
  unregister(objectOrId: object | string): void {
    let id: string | undefined;
    if (typeof objectOrId === "string") id = objectOrId;
    else {
      const fn = typeof objectOrId === "function"
        ? this.#functions.get(objectOrId as AnyFunction)
        : undefined;
      id = this.#ids.get(fn?.object ?? objectOrId);
      if (id === undefined) throw new DaemonError("object isn't registered");
    }
    if (id === DAEMON_NAME) return;
    const registration = this.#objects.get(id);
    if (registration) this.#forget(registration);
  }

  #forget(registration: Registration): void {
    if (this.#objects.get(registration.id) === registration) this.#objects.delete(registration.id);
    if (registration.weak) this.#collected.unregister(registration);
    const target = registration.target as object | undefined; // undefined once collected
    if (target === undefined) return;
    this.#ids.delete(target);
    unmarkRegistered(target, this);
    const single = this.#singletons.get(target);
    if (single !== undefined) {
      this.#singletons.delete(target);
      disposeInstance(single);
    }
  }

  /** A registration whose object is still there (a weakly registered one may be collected). */
  #live(id: string): Registration | undefined {
    const registration = this.#objects.get(id);
    if (registration?.weak && (registration.target as object | undefined) === undefined) {
      this.#forget(registration);
      return undefined;
    }
    return registration;
  }

  /**
   * The object a plain function is registered as, registering it on first use (one
   * registration per function). `holder` ties it to a client connection: it is unregistered
   * when every connection it was returned to has ended; without a holder it stays until
   * {@linkcode Daemon.unregister} or close.
   */
  #functionEntry(fn: AnyFunction, holder: ClientConnection | null): FunctionEntry {
    let entry = this.#functions.get(fn);
    if (entry === undefined || !this.#ids.has(entry.object)) {
      entry = { object: functionObject(fn), holders: new Set(), pinned: false };
      this.#functions.set(fn, entry);
      this.register(entry.object);
    }
    if (holder === null) entry.pinned = true;
    else if (!entry.holders.has(holder)) {
      entry.holders.add(holder);
      const held = entry;
      holder.trackResource({
        close: () => {
          held.holders.delete(holder);
          if (held.holders.size === 0 && !held.pinned && this.#ids.has(held.object)) {
            this.unregister(held.object);
          }
        },
      });
    }
    return entry;
  }

  /**
   * The URI of a registered object, or of any object id.
   *
   * @param objectOrId the object or an id
   * @param nat use the NAT location when there is one
   * @returns the URI
   * @throws {DaemonError} for an object that is not registered
   */
  uriFor(objectOrId: object | string, nat = true): PyroUri {
    let id: string | undefined;
    if (typeof objectOrId === "string") id = objectOrId;
    else {
      id = this.#ids.get(objectOrId);
      if (id === undefined) throw new DaemonError("object isn't registered in this daemon");
    }
    const location = nat ? this.natLocationStr ?? this.locationStr : this.locationStr;
    return new PyroUri(`PYRO:${id}@${location}`);
  }

  /**
   * A proxy for a registered object, with its metadata already known. A plain function that is
   * not registered yet is registered now, as for {@linkcode Daemon.functionProxyDict}.
   *
   * @param objectOrId the object or its id, or a plain function
   * @param nat use the NAT location when there is one
   * @returns the proxy (connects on first use; callable when the object exposes `__call__`)
   * @throws {DaemonError} for an object that is not registered
   */
  proxyFor(objectOrId: object | string, nat = true): PyroProxy {
    if (typeof objectOrId === "function" && !this.#ids.has(objectOrId)) {
      objectOrId = this.#functionEntry(objectOrId as AnyFunction, null).object;
    }
    const uri = this.uriFor(objectOrId, nat);
    const registration = this.#live(uri.object);
    if (!registration) throw new DaemonError("object isn't registered in this daemon");
    return PyroProxy.fromState({
      uri,
      methods: [...registration.info.methods],
      oneway: [...registration.info.oneway],
      attrs: [...registration.info.attrs],
      handshake: "hello",
      serializer: null,
    }, { config: this.config, callbackDaemon: this });
  }

  /**
   * How a plain function travels when it is passed to a remote call (by a proxy whose
   * `callbackDaemon` is this daemon): registered here once (an object exposing `__call__`),
   * it goes out as a proxy the receiver calls (`await cb(...)` in Deno, `cb.__call__(...)` in
   * Python). It stays registered until {@linkcode Daemon.unregister}`(fn)` or close.
   *
   * @param fn the function
   * @returns Pyro5's proxy class dict for it
   */
  functionProxyDict(fn: (...args: never[]) => unknown): PyStringDict {
    const entry = this.#functionEntry(fn, null);
    return this.#proxyDict(this.#objects.get(this.#ids.get(entry.object)!)!);
  }

  /**
   * The ids of all registered objects, `Pyro.Daemon` first.
   *
   * @returns the ids
   */
  registeredIds(): string[] {
    return [...this.#objects.keys()].filter((id) => this.#live(id) !== undefined);
  }

  /**
   * The text of `Pyro.Daemon.info()`.
   *
   * @returns the description
   */
  info(): string {
    return `${DAEMON_NAME} bound on ${this.locationStr}, NAT ${this.natLocationStr ?? "None"}, ` +
      `${this.#objects.size} objects registered. Servertype: <pyro-deno Daemon on ` +
      `${this.locationStr}; ${this.#clients.size} connections>`;
  }

  /**
   * The metadata of a registered object (`Pyro.Daemon.get_metadata`).
   *
   * @param objectId the object id
   * @returns methods, oneway methods and attributes, as sets
   * @throws {DaemonError} for an unknown object
   */
  metadataOf(objectId: string): ExposedMembers {
    const registration = this.#live(objectId);
    if (!registration) throw new DaemonError("unknown object");
    const { methods, oneway, attrs } = registration.info;
    return { methods, oneway, attrs };
  }

  /**
   * Closes the daemon: stops listening, ends every connection and stream. Idempotent.
   * Methods still running get up to 5 seconds to finish before the promise settles anyway.
   *
   * @returns a promise settled when everything has ended
   */
  close(): Promise<void> {
    if (this.#closing) return this.closed;
    this.#closing = true;
    this.#log.debug("daemon closing");
    clearInterval(this.#housekeeper);
    if (this.#abortListener) {
      this.#options.signal?.removeEventListener("abort", this.#abortListener);
      this.#abortListener = null;
    }
    this.#listener?.close();
    for (const client of this.#clients) client.close();
    this.#streams.closeAll();
    // Registered objects may be registered with another daemon now; instances end.
    for (const registration of this.#objects.values()) {
      const target = registration.target as object | undefined; // a weak one may be gone
      if (target !== undefined) unmarkRegistered(target, this);
      if (registration.weak) this.#collected.unregister(registration);
    }
    for (const single of this.#singletons.values()) disposeInstance(single);
    this.#singletons.clear();
    (async () => {
      await this.#acceptLoop;
      // Connections end at once; a method still running gets up to 5 s (like Pyro5's shutdown).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const limit = new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_WAIT_MS));
      await Promise.race([Promise.allSettled([...this.#tasks]), limit]);
      clearTimeout(timer);
      if (this.#unixSocket) {
        try {
          await Deno.remove(this.#unixSocket);
        } catch {
          // already gone
        }
      }
      this.#resolveClosed();
    })();
    return this.closed;
  }

  async #runHousekeeping(hook: (daemon: Daemon) => void | Promise<void>): Promise<void> {
    if (this.#housekeepingRuns || this.#closing) return;
    this.#housekeepingRuns = true;
    try {
      await hook(this);
    } catch (error) {
      console.error("Error in daemon housekeeping:", error);
    } finally {
      this.#housekeepingRuns = false;
    }
  }

  /**
   * Works out again what a registered object exposes (Pyro5's `resetMetadataCache`), for an
   * object whose exposed members changed after it was registered. Proxies made from then on see
   * the change; existing proxies keep the metadata they got. Unknown ids are ignored.
   *
   * @param objectOrId the registered object, class or its id
   * @param nat unused; as in Pyro5's signature
   * @throws {DaemonError} for an object that is not registered
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { Daemon, exposeObject } from "./server.ts";
   * await using daemon = new Daemon({ host: "127.0.0.1" });
   * const calc = exposeObject({ add: (a: number, b: number) => a + b }, { methods: ["add"] });
   * daemon.register(calc, "calc");
   * exposeObject(calc, { methods: ["add", "sub"] });
   * Object.assign(calc, { sub: (a: number, b: number) => a - b });
   * daemon.resetMetadataCache("calc");
   * assert(daemon.metadataOf("calc").methods.has("sub"));
   * ```
   */
  resetMetadataCache(objectOrId: object | string, nat = true): void {
    const registration = this.#live(this.uriFor(objectOrId, nat).object);
    if (registration === undefined) return;
    registration.info = getExposedMembers(registration.target);
  }

  /** Pyro5's name for {@linkcode Daemon.close}. */
  shutdown(): Promise<void> {
    return this.close();
  }

  /** Closes the daemon (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- item streams ----

  /**
   * The next item of a stream (`Pyro.Daemon.get_next_stream_item`).
   *
   * @param streamId the stream id
   * @returns the item, or a promise of it for async iterators
   */
  nextStreamItem(streamId: string): unknown {
    return this.#streams.next(streamId, currentContext()?.client ?? null);
  }

  /**
   * Ends a stream (`Pyro.Daemon.close_stream`), letting its generator run its `finally` blocks.
   *
   * @param streamId the stream id
   */
  closeStream(streamId: string): void {
    this.#streams.close(streamId);
  }

  /** How many item streams are open. */
  get streamCount(): number {
    return this.#streams.size;
  }

  // ---- connections ----

  async #accept(listener: LinkListener): Promise<void> {
    while (!this.#closing) {
      let conn: Link;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#closing || error instanceof Deno.errors.BadResource) break;
        await new Promise((resolve) => setTimeout(resolve, 10)); // e.g. out of file handles
        continue;
      }
      if (this.#closing) {
        conn.close();
        break;
      }
      const task = this.#serve(conn);
      this.#tasks.add(task);
      task.finally(() => this.#tasks.delete(task));
    }
  }

  async #serve(link: Link): Promise<void> {
    const connection = new MessageConnection(link.stream, this.#connectionOptions);
    const client = new ClientConnection(link, connection);
    this.#clients.add(client);
    const peer = locationOf(link.remoteAddr);
    this.#log.debug(`connected ${peer} - ${link.secure ? "SSL" : "unencrypted"}`);
    this.#addPending(client);
    let connected = false;
    let counted = false;
    try {
      let hello: Message;
      try {
        hello = await connection.receive(this.#handshakeTimeoutMs());
      } catch (error) {
        if (error instanceof ConnectionClosedError) {
          this.#log.debug(`handshake failed, connection closed early (${peer})`);
        } else {
          this.#log.warning(`error during connect/handshake: ${asError(error).message} (${peer})`);
        }
        return;
      } finally {
        this.#pending.delete(client);
      }
      // Only handshaken connections count against the limit: idle ones lock no one out.
      const full = this.#handshaken >= this.#maxConnections;
      if (!full) {
        this.#handshaken++;
        counted = true;
      }
      const refusal = full
        ? `${NO_FREE_WORKERS} (all ${this.#maxConnections} connections this daemon serves at ` +
          "once are in use: THREADPOOL_SIZE / maxConnections)"
        : null;
      if (!await this.#handshake(client, hello, refusal) || full) return;
      connected = true;
      this.#callHook(this.#options.onConnect, client);
      const timeoutMs = this.#timeoutMs;
      while (!connection.closed) {
        const message = await connection.receive(timeoutMs);
        if (message.type !== INVOKE && message.type !== PING) {
          throw new ProtocolError(`invalid msg type ${message.type} received (expected: 4,6)`);
        }
        await this.#handleRequest(client, message);
      }
    } catch (error) {
      // the connection failed (closed, timeout, bad message): Pyro5 ends just this connection
      if (!(error instanceof ConnectionClosedError)) {
        this.#log.warning(`error during handleRequest: ${asError(error).message} (client ${peer})`);
      }
    } finally {
      if (connected) this.#log.debug(`disconnected ${peer}`);
      this.#pending.delete(client);
      if (counted) this.#handshaken--;
      this.#clients.delete(client);
      this.#streams.clientGone(client);
      // Like Pyro5, only connections that passed the handshake are reported as disconnected.
      if (connected) this.#callHook(this.#options.onDisconnect, client);
      client.close();
    }
  }

  /**
   * Counts a new connection as waiting for its handshake; at the limit, the one waiting longest
   * is closed to make room (a client that handshakes at once is never the oldest for long).
   */
  #addPending(client: ClientConnection): void {
    if (this.#pending.size >= this.#limits.maxPendingHandshakes) {
      const oldest: ClientConnection = this.#pending.values().next().value!;
      this.#pending.delete(oldest);
      oldest.connection.close();
    }
    this.#pending.add(client);
  }

  /** How long a connection may take for its handshake: the limit, or COMMTIMEOUT if shorter. */
  #handshakeTimeoutMs(): number {
    const limit = this.#limits.handshakeTimeout * 1000;
    const comm = this.#timeoutMs;
    if (limit > 0 && comm > 0) return Math.min(limit, comm);
    return limit > 0 ? limit : comm;
  }

  #callHook(hook: ((client: ClientConnection) => void) | undefined, client: ClientConnection) {
    try {
      hook?.(client);
    } catch {
      // a failing hook must not break the daemon
    }
  }

  #serializerFor(id: number): Serializer {
    let serializer = this.#serializers[id];
    if (serializer === undefined) {
      serializer = createSerializer(id, {
        classes: this.#classes,
        serpentBytesRepr: this.config.SERPENT_BYTES_REPR,
      });
      this.#serializers[id] = serializer;
    }
    return serializer;
  }

  #responseAnnotations(context: CallContext | null): Map<string, Uint8Array> {
    const own = this.#options.annotations?.();
    const fromCall = context?.responseAnnotationsIfAny;
    if (!own?.size && !fromCall?.size) return this.#noAnnotations;
    return new Map([...(fromCall ?? []), ...(own ?? [])]);
  }

  /** Answers the connect message; returns whether the connection may go on. */
  async #handshake(
    client: ClientConnection,
    message: Message,
    deniedReason: string | null,
  ): Promise<boolean> {
    const connection = client.connection;
    let serializerId = MARSHAL_ID;
    let seq = 0;
    let correlationId: Uint8Array | null = null;
    let context: CallContext | null = null;
    let type: number = CONNECT_OK;
    let data: Uint8Array;
    try {
      if (message.type !== CONNECT) {
        throw new ProtocolError(`invalid msg type ${message.type} received (expected: 1)`);
      }
      seq = message.seq;
      correlationId = message.correlationId;
      if (deniedReason) throw new Error(deniedReason);
      serializerId = message.serializerId;
      const serializer = this.#serializerFor(serializerId);
      const request = serializer.loads(message.data);
      if (!isPlainObject(request)) throw new TypeError("handshake data must be a dict");
      if (!("handshake" in request)) throw new TypeError("'handshake'");
      if (!("object" in request)) throw new TypeError("'object'");
      client.handshake = request.handshake;
      context = new CallContext(this, client, message, this.#correlationIds);
      correlationId = context.correlationId;
      const validate = this.#options.validateHandshake;
      let response = validate
        ? runInContext(context, validate, undefined, [client, request.handshake])
        : "hello";
      if (isThenable(response)) response = await response;
      data = serializer.dumps({
        handshake: response,
        meta: this.metadataOf(String(request.object)),
      });
    } catch (error) {
      const where = locationOf(client.remoteAddr);
      if (connection.closed) {
        if (error instanceof ConnectionClosedError) {
          this.#log.debug(`handshake failed, connection closed early (${where})`);
        } else {
          this.#log.warning(`error during connect/handshake: ${asError(error).message} (${where})`);
        }
        return false;
      }
      this.#log.warning(`client connection was denied: ${asError(error).message} (${where})`);
      type = CONNECT_FAIL;
      try {
        data = this.#serializerFor(serializerId).dumps(asError(error).message);
      } catch {
        return false; // unknown serializer: nothing can be said to this client
      }
    }
    try {
      await connection.send({
        type,
        flags: 0,
        seq,
        serializerId,
        data,
        annotations: this.#responseAnnotations(context),
        correlationId,
      });
    } catch {
      return false;
    }
    return type === CONNECT_OK;
  }

  // ---- requests ----

  async #handleRequest(client: ClientConnection, message: Message): Promise<void> {
    const flags = message.flags;
    const connection = client.connection;
    if (message.type === PING) {
      // Same seq and serializer id; the payload is ignored, not deserialized (as Pyro5).
      await connection.send({
        type: PING,
        flags: 0,
        seq: message.seq,
        serializerId: message.serializerId,
        data: PONG,
        annotations: this.#responseAnnotations(null),
        correlationId: message.correlationId,
      });
      return;
    }
    let serializer: Serializer;
    try {
      serializer = this.#serializerFor(message.serializerId);
    } catch (error) {
      throw new FatalForConnection("unknown serializer", { cause: error }); // no reply possible
    }
    const context = new CallContext(this, client, message, this.#correlationIds);
    let call: DecodedCall | null = null;
    let isCallbackMethod = false;
    try {
      call = flags & KEEP_SERIALIZED
        ? decodeBlobCall(message, this.#blobDecoder)
        : serializer.loadsCall(message.data);
      const registration = this.#live(call.objectId);
      if (registration === undefined) throw new DaemonError("unknown object");
      const percall = registration.instancing?.instanceMode === "percall";
      const target = registration.instancing
        ? this.#instanceFor(registration, client, context)
        : registration.target;
      let result: unknown;
      let responseFlags = 0;
      if (flags & BATCH) {
        try {
          result = await this.#runBatch(registration, target, call, context);
        } finally {
          if (percall) disposeInstance(target);
        }
        responseFlags = BATCH;
      } else if (call.method === "__getattr__" || call.method === "__setattr__") {
        try {
          result = call.method === "__getattr__"
            ? this.#getAttribute(registration, target, call.args)
            : this.#setAttribute(registration, target, call.args);
        } finally {
          if (percall) disposeInstance(target);
        }
      } else {
        const method = this.#method(registration, target, call.method);
        let args: unknown[];
        try {
          args = bindCall(target, call.method, method, call.args, call.kwargs);
        } catch (error) {
          if (flags & ONEWAY) this.#reportError(error, call, client, false); // no one else hears
          if (percall) disposeInstance(target);
          throw error;
        }
        if (flags & ONEWAY) {
          this.#runDetached(method, target, args, context, call, percall);
          return;
        }
        isCallbackMethod = isCallback(method);
        try {
          result = runInContext(context, method, target, args);
          if (isThenable(result)) result = await result;
        } catch (error) {
          this.#reportError(error, call, client, isCallbackMethod);
          if (percall) disposeInstance(target);
          throw error;
        }
        if (isItemIterator(result)) {
          // A percall instance stays alive for its stream (its generator may use it).
          await this.#sendStreamResponse(client, message, serializer, result, context);
          return;
        }
        if (percall) disposeInstance(target);
      }
      if (flags & ONEWAY) return;
      const data = this.#encodeResult(serializer, result, client);
      await connection.send({
        type: RESULT,
        flags: responseFlags,
        seq: message.seq,
        serializerId: serializer.id,
        data,
        annotations: this.#responseAnnotations(context),
        correlationId: context.correlationId,
      });
    } catch (error) {
      const communication = error instanceof CommunicationError;
      if (!(flags & ONEWAY) && (error instanceof SerializeError || !communication)) {
        if (connection.closed) throw error;
        await this.#sendException(client, message, serializer, error, context);
      }
      // Like Pyro5: communication and security errors, and errors of callbacks, end the connection.
      if (isCallbackMethod || communication || error instanceof SecurityError) throw error;
    }
  }

  /** Decodes a kept-serialized payload for `SerializedBlob.deserialized()`, with our classes. */
  #blobDecoder = (message: Message): unknown =>
    blobData(this.#serializerFor(message.serializerId), message.data);

  /**
   * Serializes a result for a client. A plain function in it travels as a proxy, registered for
   * as long as this client's connection lasts.
   */
  #encodeResult(
    serializer: Serializer,
    result: unknown,
    client: ClientConnection,
  ): Uint8Array | Uint8Array[] {
    this.#encodingFor = client;
    try {
      return serializer.dumpsParts ? serializer.dumpsParts(result) : serializer.dumps(result);
    } catch (error) {
      if (error instanceof SerializeError) throw error;
      throw new SerializeError(`cannot serialize the result: ${asError(error).message}`, {
        cause: error,
      });
    } finally {
      this.#encodingFor = null;
    }
  }

  #method(
    registration: Registration,
    target: object,
    name: string,
  ): (...args: unknown[]) => unknown {
    if (registration.info.methods.has(name)) {
      const method = (target as Record<string, unknown>)[name];
      if (typeof method === "function") return method as (...args: unknown[]) => unknown;
    }
    if (isPrivateAttribute(name)) {
      throw attributeError(`attempt to access private attribute '${name}'`);
    }
    if (!(name in target)) {
      const className = (target as { constructor?: { name?: string } }).constructor?.name ??
        "object";
      throw attributeError(`'${className}' object has no attribute '${name}'`);
    }
    throw attributeError(`attempt to access unexposed attribute '${name}'`);
  }

  #getAttribute(registration: Registration, target: object, args: unknown[]): unknown {
    const name = args[0];
    if (typeof name !== "string" || !registration.info.readable.has(name)) {
      throw attributeError(`attempt to access unexposed or unknown remote attribute '${name}'`);
    }
    return (target as Record<string, unknown>)[name];
  }

  #setAttribute(registration: Registration, target: object, args: unknown[]): null {
    const name = args[0];
    if (typeof name !== "string" || !registration.info.writable.has(name) || args.length < 2) {
      throw attributeError(`attempt to access unexposed or unknown remote attribute '${name}'`);
    }
    (target as Record<string, unknown>)[name] = args[1];
    return null;
  }

  async #runBatch(
    registration: Registration,
    target: object,
    call: DecodedCall,
    context: CallContext,
  ): Promise<unknown[]> {
    const results: unknown[] = [];
    for (const entry of call.args) {
      if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[0] !== "string") {
        throw new TypeError("invalid batch call: expected (method, args, kwargs)");
      }
      const [name, args, kwargs] = entry as [string, unknown, unknown];
      if (!Array.isArray(args) || !(kwargs === null || isPlainObject(kwargs))) {
        throw new TypeError("invalid batch call: expected (method, args, kwargs)");
      }
      const method = this.#method(registration, target, name);
      try {
        const allArgs = bindCall(target, name, method, args, kwargs ?? {});
        let result = runInContext(context, method, target, allArgs);
        if (isThenable(result)) result = await result;
        results.push(result);
      } catch (thrown) {
        const error = asError(thrown);
        this.#reportError(error, { ...call, method: name }, context.client, false);
        results.push({
          __class__: "Pyro5.core._ExceptionWrapper",
          exception: errorToDict(error, formatTraceback(error, TRACEBACK_OPTIONS)),
        });
        break; // an error ends the batch
      }
    }
    return results;
  }

  #runDetached(
    method: (...args: unknown[]) => unknown,
    target: object,
    args: unknown[],
    context: CallContext,
    call: DecodedCall,
    percall: boolean,
  ): void {
    // Oneway calls run on their own, so they never delay later calls of this connection.
    const report = (error: unknown) => this.#reportError(error, call, context.client, false);
    const done = () => {
      if (percall) disposeInstance(target);
    };
    queueMicrotask(() => {
      try {
        const result = runInContext(context, method, target, args);
        if (isThenable(result)) Promise.resolve(result).catch(report).finally(done);
        else done();
      } catch (error) {
        report(error);
        done();
      }
    });
  }

  #reportError(error: unknown, call: DecodedCall, client: ClientConnection, callback: boolean) {
    const info: CallErrorInfo = { objectId: call.objectId, method: call.method, client, callback };
    this.#log.debug(
      `exception occurred in method call user code: client=${locationOf(client.remoteAddr)} ` +
        `method=${call.method} exception=${asError(error).name}: ${asError(error).message}`,
    );
    try {
      if (this.#options.onError) this.#options.onError(error, info);
      else if (callback) console.error(`Error in callback ${call.method}:`, error);
    } catch {
      // a failing hook must not break the daemon
    }
  }

  /**
   * The instance of a registered class that serves a call (Pyro5's `_getInstance`): one per
   * daemon (`single`), per connection (`session`) or per call (`percall`), made on first use
   * inside the call's context, so constructors and creators see {@linkcode currentContext}.
   */
  #instanceFor(
    registration: Registration,
    client: ClientConnection,
    context: CallContext,
  ): object {
    const cls = registration.target as new () => object;
    const { instanceMode, instanceCreator } = registration.instancing!;
    const make = (): object => {
      if (!instanceCreator) return new cls();
      const instance = instanceCreator(cls);
      if (!(instance instanceof cls)) {
        throw new TypeError("instance creator returned object of different type");
      }
      return instance;
    };
    const create = () => runInContext(context, make, undefined, []) as object;
    if (instanceMode === "percall") return create();
    const cache = instanceMode === "single" ? this.#singletons : client.pyroInstances;
    let instance = cache.get(cls);
    if (instance === undefined) {
      instance = create();
      cache.set(cls, instance);
    }
    return instance;
  }

  async #sendStreamResponse(
    client: ClientConnection,
    message: Message,
    serializer: Serializer,
    iterator: ItemIterator,
    context: CallContext,
  ): Promise<void> {
    // Pyro5 answers with an exception (for old clients) plus the item-stream flag and the id.
    const annotations = new Map(this.#responseAnnotations(context));
    if (this.config.ITER_STREAMING) {
      const id = this.#streams.register(iterator, client);
      annotations.set("STRM", new TextEncoder().encode(id));
    } else {
      const done = iterator.return?.();
      if (isThenable(done)) Promise.resolve(done).catch(() => {});
    }
    const error = new ProtocolError("result of call is an iterator");
    const dict = errorToDict(error);
    dict.attributes = { _pyroTraceback: null };
    await client.connection.send({
      type: RESULT,
      flags: EXCEPTION | ITEM_STREAM_RESULT,
      seq: message.seq,
      serializerId: serializer.id,
      data: serializer.dumps(dict),
      annotations,
      correlationId: context.correlationId,
    });
  }

  async #sendException(
    client: ClientConnection,
    message: Message,
    serializer: Serializer,
    thrown: unknown,
    context: CallContext | null,
  ): Promise<void> {
    const error = asError(thrown);
    const traceback = formatTraceback(error, TRACEBACK_OPTIONS);
    let data: Uint8Array;
    try {
      data = serializer.dumps(errorToDict(error, traceback));
    } catch (problem) {
      const fallback = new PyroError(
        `Error serializing exception: ${asError(problem).message}. ` +
          `Original exception: ${error.name}: ${error.message}`,
      );
      data = serializer.dumps(errorToDict(fallback, traceback));
    }
    await client.connection.send({
      type: RESULT,
      flags: EXCEPTION,
      seq: message.seq,
      serializerId: serializer.id,
      data,
      annotations: this.#responseAnnotations(context),
      correlationId: context?.correlationId ?? message.correlationId,
    });
  }

  /**
   * What an object in a reply or argument travels as: a proxy when it is registered (here or
   * with another daemon), or when it is a plain function in a reply (registered here for the
   * connection it goes to). Proxies and other objects are left to the registry.
   */
  #autoProxy(value: object): PyStringDict | undefined {
    const id = this.#ids.get(value);
    if (id !== undefined) return this.#proxyDict(this.#objects.get(id)!);
    const marked = autoProxyDict(value);
    if (marked !== undefined) return marked;
    if (typeof value === "function" && !(value instanceof PyroProxy) && this.#encodingFor) {
      const entry = this.#functionEntry(value as AnyFunction, this.#encodingFor);
      return this.#proxyDict(this.#objects.get(this.#ids.get(entry.object)!)!);
    }
    return undefined;
  }

  /** Pyro5's `Pyro5.client.Proxy` class dict for a registration (as `proxyFor(...)` travels). */
  #proxyDict(registration: Registration): PyStringDict {
    const { info } = registration;
    return {
      __class__: "Pyro5.client.Proxy",
      state: tuple<unknown>(
        this.uriFor(registration.id).toString(),
        tuple(...info.oneway),
        tuple(...info.methods),
        tuple(...info.attrs),
        "hello",
        null,
      ),
    };
  }
}
