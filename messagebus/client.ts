/**
 * The Deno side of a message bus (ours or Pyro5's example bus): publish with `await
 * bus.publish(topic, data)`, consume with `for await (const msg of bus.subscribe("weather.*"))`.
 *
 * A subscription is a Pyro object in a daemon the client runs; the bus calls it. Back-pressure:
 * a subscription buffers at most `highWaterMark` messages; while it is full, the bus's delivery
 * call waits, so the bus queues for this subscriber (and drops it when its queue is full, as any
 * slow subscriber). Messages the bus delivers twice (a retried call) are passed on once.
 *
 * @module
 */
import { PyroProxy } from "../client.ts";
import { defaultConfig, type PyroConfig } from "../config.ts";
import { Daemon, expose } from "../server.ts";
import { ClassRegistry } from "../serializers/classes.ts";
import type { PyStringDict } from "../serializers/values.ts";
import type { PyroUri } from "../uri.ts";
import { MESSAGE_CLASS, MESSAGEBUS_NAME } from "./bus.ts";

/** A message as a Deno subscriber gets it. */
export interface BusMessage {
  /** The topic it was sent on. */
  topic: string;
  /** Its id (UUID text). */
  id: string;
  /** When the bus accepted it (read as UTC). */
  created: Date;
  /** The payload. */
  data: unknown;
}

/** Options of {@linkcode MessageBusClient}. */
export interface MessageBusClientOptions {
  /**
   * Host the subscribers' daemon listens on; the bus must reach it there.
   * @default {config.HOST}
   */
  host?: string;
  /**
   * Configuration for the proxy and the daemon (name server location, serializer...).
   * @default {defaultConfig()}
   */
  config?: Readonly<PyroConfig>;
}

/** Options of {@linkcode MessageBusClient.subscribe}. */
export interface SubscribeOptions {
  /**
   * Subscribe to this one topic by name (created if needed) instead of by pattern.
   * @default {false}
   */
  exact?: boolean;
  /**
   * Messages buffered before the bus is made to wait.
   * @default {1000}
   */
  highWaterMark?: number;
}

const SEEN_LIMIT = 10_000;

function toBusMessage(topic: string, message: unknown): BusMessage {
  const dict = message as PyStringDict;
  if (dict === null || typeof dict !== "object" || typeof dict.msgid !== "string") {
    throw new TypeError(`not a message bus message: ${Deno.inspect(message)}`);
  }
  const created = typeof dict.created === "string"
    ? new Date(`${dict.created.slice(0, 23)}Z`)
    : new Date(NaN);
  return { topic, id: dict.msgid, created, data: dict.data };
}

/** The object the bus calls; kept apart so that only these two methods are remote. */
class Inbox {
  #subscription: Subscription;
  constructor(subscription: Subscription) {
    this.#subscription = subscription;
  }

  @expose
  incoming_message(topic: string, message: unknown): Promise<void> {
    return this.#subscription._accept(topic, [message]);
  }

  @expose
  incoming_messages(topic: string, messages: unknown[]): Promise<void> {
    return this.#subscription._accept(topic, messages);
  }
}

/**
 * One subscription: an async iterator of {@linkcode BusMessage}s. Ending the iteration (or
 * `close()`) unsubscribes.
 *
 * @example
 * ```ts ignore
 * await using sub = bus.subscribe("weather\\..*");
 * for await (const msg of sub) console.log(msg.topic, msg.data);
 * ```
 */
export class Subscription implements AsyncIterableIterator<BusMessage>, AsyncDisposable {
  #buffer: BusMessage[] = [];
  #seen = new Set<string>();
  #highWaterMark: number;
  #waiting: ((r: IteratorResult<BusMessage>) => void) | null = null;
  #failWaiting: ((error: unknown) => void) | null = null;
  #room: (() => void)[] = [];
  #closed = false;
  #error: unknown = null;
  #close: () => Promise<void>;
  /** The object registered in the client's daemon (the bus holds a proxy to it). */
  readonly inbox: object;
  /** Settles when the bus has the subscription (rejects when it refused it). */
  readonly ready: Promise<void>;

  /**
   * Used by {@linkcode MessageBusClient.subscribe}.
   *
   * @param highWaterMark messages buffered before the bus is made to wait
   * @param start subscribes the inbox at the bus
   * @param close unsubscribes it
   */
  constructor(
    highWaterMark: number,
    start: (inbox: object) => Promise<void>,
    close: () => Promise<void>,
  ) {
    this.#highWaterMark = highWaterMark;
    this.inbox = new Inbox(this);
    this.#close = close;
    this.ready = start(this.inbox);
    this.ready.catch((error) => this.#fail(error));
  }

  /** How many messages wait in the buffer. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /**
   * Takes messages from the bus (called through the inbox); resolves when there is room.
   *
   * @param topic the topic
   * @param messages the example's message dicts
   */
  async _accept(topic: string, messages: unknown[]): Promise<void> {
    if (!Array.isArray(messages)) throw new TypeError("messages must be a list");
    for (const raw of messages) {
      const message = toBusMessage(topic, raw);
      if (this.#seen.has(message.id)) continue;
      this.#seen.add(message.id);
      if (this.#seen.size > SEEN_LIMIT) {
        this.#seen.delete(this.#seen.values().next().value!);
      }
      if (this.#closed) continue;
      if (this.#waiting) {
        const deliver = this.#waiting;
        this.#waiting = this.#failWaiting = null;
        deliver({ value: message, done: false });
      } else {
        this.#buffer.push(message);
      }
    }
    while (this.#buffer.length >= this.#highWaterMark && !this.#closed) {
      await new Promise<void>((resolve) => this.#room.push(resolve));
    }
  }

  /**
   * The next message, waiting for one.
   *
   * @returns the next message
   */
  async next(): Promise<IteratorResult<BusMessage>> {
    if (this.#buffer.length > 0) {
      const value = this.#buffer.shift()!;
      if (this.#buffer.length < this.#highWaterMark) this.#wake();
      return { value, done: false };
    }
    if (this.#error) throw this.#error;
    if (this.#closed) return { value: undefined, done: true };
    await this.ready;
    if (this.#buffer.length > 0) return this.next();
    return await new Promise<IteratorResult<BusMessage>>((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
    });
  }

  /** Ends the iteration and the subscription. */
  async return(): Promise<IteratorResult<BusMessage>> {
    await this.close();
    return { value: undefined, done: true };
  }

  /**
   * The subscription is its own iterator.
   *
   * @returns this
   */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Unsubscribes; buffered messages are discarded. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer.length = 0;
    this.#wake();
    this.#waiting?.({ value: undefined, done: true });
    this.#waiting = this.#failWaiting = null;
    await this.#close();
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #wake(): void {
    for (const resolve of this.#room.splice(0)) resolve();
  }

  #fail(error: unknown): void {
    this.#error = error;
    this.#failWaiting?.(error);
    this.#waiting = this.#failWaiting = null;
  }
}

/**
 * A client of a message bus: publishes, and subscribes by topic name or pattern.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MessageBusClient, startMessageBus } from "../messagebus.ts";
 * await using running = await startMessageBus({ host: "127.0.0.1", port: 0, nameServer: false });
 * await using bus = new MessageBusClient(running.uri, { host: "127.0.0.1" });
 * await using weather = bus.subscribe("weather\\..*");
 * await weather.ready;
 * await bus.publish("weather.amsterdam", { sky: "sunny" });
 * const { value } = await weather.next();
 * assert.equal(value.topic, "weather.amsterdam");
 * assert.deepStrictEqual(value.data, { sky: "sunny" });
 * ```
 */
export class MessageBusClient implements AsyncDisposable {
  #bus: PyroProxy;
  #options: MessageBusClientOptions;
  #config: Readonly<PyroConfig>;
  #daemon: Daemon | null = null;
  #knownTopics = new Set<string>();
  #subscriptions = new Set<Subscription>();

  /**
   * Makes a client; nothing connects until it is used.
   *
   * @param uri the bus's URI
   * @param options subscriber daemon host, configuration
   */
  constructor(
    uri: string | PyroUri = `PYRONAME:${MESSAGEBUS_NAME}`,
    options: MessageBusClientOptions = {},
  ) {
    this.#options = options;
    this.#config = options.config ?? defaultConfig();
    this.#bus = new PyroProxy(uri, { config: this.#config });
  }

  /** The proxy to the bus, for the rest of its API (`stats`, `remove_topic`...). */
  get proxy(): PyroProxy {
    return this.#bus;
  }

  /**
   * Sends a message and waits for the bus's acknowledgement (with sqlite storage: it is stored).
   * Creates the topic first if this client has not used it yet.
   *
   * @param topic the topic
   * @param data the payload
   */
  async publish(topic: string, data: unknown): Promise<void> {
    await this.#ensureTopic(topic);
    await this.#bus.send(topic, data);
  }

  /**
   * Sends a message without waiting (oneway `send_no_ack`).
   *
   * @param topic the topic
   * @param data the payload
   */
  async publishNoAck(topic: string, data: unknown): Promise<void> {
    await this.#ensureTopic(topic);
    await this.#bus.send_no_ack(topic, data);
  }

  /**
   * The bus's topics.
   *
   * @returns the topic names
   */
  async topics(): Promise<Set<string>> {
    return new Set(await this.#bus.topics() as Iterable<string>);
  }

  /**
   * Subscribes by pattern (a Python regular expression matching whole topic names), or to one
   * topic with `exact`. Iterate the result; it subscribes at once (`ready`).
   *
   * @param selector the pattern, or the topic name
   * @param options exact topic, buffer size
   * @returns the subscription
   */
  subscribe(selector: string, options: SubscribeOptions = {}): Subscription {
    const method = options.exact ? "subscribe" : "subscribe_pattern";
    const undo = options.exact ? "unsubscribe" : "unsubscribe_pattern";
    const subscription: Subscription = new Subscription(
      options.highWaterMark ?? 1000,
      async (inbox) => {
        const daemon = this.#ensureDaemon();
        daemon.register(inbox);
        await this.#bus[method](selector, inbox);
      },
      async () => {
        this.#subscriptions.delete(subscription);
        try {
          await this.#bus[undo](selector, subscription.inbox);
        } catch {
          // The bus is gone or never had it: nothing left to undo.
        }
        try {
          this.#daemon?.unregister(subscription.inbox);
        } catch {
          // never registered
        }
      },
    );
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** Ends every subscription and closes the connection and the subscribers' daemon. */
  async close(): Promise<void> {
    for (const s of [...this.#subscriptions]) await s.close();
    this.#bus._pyroRelease();
    await this.#daemon?.close();
    this.#daemon = null;
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #ensureTopic(topic: string): Promise<void> {
    if (this.#knownTopics.has(topic)) return;
    await this.#bus.add_topic(topic);
    this.#knownTopics.add(topic);
  }

  #ensureDaemon(): Daemon {
    if (!this.#daemon) {
      this.#daemon = new Daemon({
        host: this.#options.host ?? this.#config.HOST,
        config: this.#config,
        classes: new ClassRegistry().registerDictToClass(MESSAGE_CLASS, (_name, dict) => dict),
      });
    }
    return this.#daemon;
  }
}
