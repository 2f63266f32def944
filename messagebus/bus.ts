/**
 * The message bus object: the wire API of Pyro5's messagebus example (`add_topic`,
 * `remove_topic`, `topics`, `send`, `send_no_ack`, `subscribe`, `unsubscribe`) plus pattern
 * subscriptions, and the delivery engine behind it.
 *
 * Delivery, per subscriber: one queue in publish order and one call in flight. A run of queued
 * messages of one topic goes in one `incoming_messages(topic, messages)` call when the subscriber
 * has that method (Pyro5's example subscribers do), else message by message through
 * `incoming_message(topic, message)`. A failed call is retried (same messages, same order) after
 * a pause; after `maxFailures` failures in a row the subscriber is dropped. A slow subscriber
 * stalls only its own queue; when that queue is full the subscriber is dropped too (with a
 * warning): the bus never blocks a publisher and never silently skips a message.
 *
 * @module
 */
import { PyroProxy } from "../client.ts";
import { MessageTooLargeError, RemoteError } from "../errors.ts";
import { expose, oneway } from "../_expose.ts";
import { pythonRegex } from "../nameserver/python_regex.ts";
import type { PyStringDict } from "../serializers/values.ts";
import {
  type BusStorage,
  MemoryBusStorage,
  type StoredMessage,
  type StoredSubscription,
  type SubscriptionKind,
} from "./storage.ts";

/** The name the bus is registered under in the name server, as in Pyro5's example. */
export const MESSAGEBUS_NAME = "Pyro.MessageBus";

/** The class name a message travels under (the example's `Message.to_dict`). */
export const MESSAGE_CLASS = "Pyro5.utils.messagebus.message";

/** A message as it travels to subscribers: the example's `Message` class dict. */
export interface MessageDict extends PyStringDict {
  /** Always {@linkcode MESSAGE_CLASS}. */
  __class__: string;
  /** UUID text. */
  msgid: string;
  /** `YYYY-MM-DDTHH:MM:SS.ffffff`, UTC. */
  created: string;
  /** The payload. */
  data: unknown;
}

/** Options of {@linkcode MessageBus}. */
export interface MessageBusOptions {
  /**
   * Where topics, subscriptions and undelivered messages are kept.
   * @default {new MemoryBusStorage()}
   */
  storage?: BusStorage;
  /**
   * Messages queued per subscriber; a subscriber whose queue is full is dropped.
   * @default {10000}
   */
  maxQueue?: number;
  /**
   * Most messages sent in one `incoming_messages` call.
   * @default {200}
   */
  maxBatch?: number;
  /**
   * Failed deliveries in a row after which a subscriber is dropped.
   * @default {3}
   */
  maxFailures?: number;
  /**
   * Seconds one delivery call may take before it counts as failed.
   * @default {10}
   */
  deliveryTimeout?: number;
  /**
   * Milliseconds to wait before retrying after the first failure (doubling after each).
   * @default {200}
   */
  retryDelay?: number;
  /**
   * Where warnings go (dropped subscribers, failed deliveries).
   * @default {console.error}
   */
  onWarning?: (text: string) => void;
}

/** Defaults of {@linkcode MessageBusOptions}. */
export const DEFAULT_MESSAGEBUS_OPTIONS: Readonly<Required<Omit<MessageBusOptions, "storage">>> =
  Object.freeze({
    maxQueue: 10000,
    maxBatch: 200,
    maxFailures: 3,
    deliveryTimeout: 10,
    retryDelay: 200,
    onWarning: (text: string) => console.error(text),
  });

/** Counters a bus reports through `stats()`. */
export interface MessageBusStats extends PyStringDict {
  /** Topics known. */
  topics: number;
  /** Subscribers (URIs) with at least one subscription. */
  subscribers: number;
  /** Messages queued for delivery, over all subscribers. */
  pending: number;
  /** Messages accepted since the bus started. */
  sent: number;
  /** Messages delivered (per subscriber) since the bus started. */
  delivered: number;
  /** Subscribers dropped since the bus started. */
  dropped: number;
}

interface Subscriber {
  uri: string;
  proxy: PyroProxy;
  subscriptions: Set<string>;
  queue: StoredMessage[];
  failures: number;
  pumping: boolean;
  removed: boolean;
}

interface PatternSubscription {
  uri: string;
  pattern: string;
  regex: RegExp;
}

const GLOBAL_FLAGS = /^\(\?[aiLmsux]+\)/;

/** A Python pattern that must match the whole topic (Python's `re.fullmatch`). */
function fullMatchRegex(pattern: string): RegExp {
  if (typeof pattern !== "string") throw new TypeError("pattern must be str");
  const flags = GLOBAL_FLAGS.exec(pattern)?.[0] ?? "";
  try {
    return pythonRegex(`${flags}(?:${pattern.slice(flags.length)})\\Z`);
  } catch (error) {
    throw new RangeError(`Invalid pattern: ${(error as Error).message}`, { cause: error });
  }
}

/** The example's timestamp format, in UTC. */
function created(now: Date): string {
  return now.toISOString().replace("Z", "000");
}

function key(kind: SubscriptionKind, selector: string): string {
  return `${kind}:${selector}`;
}

function subscriberUri(subscriber: unknown, method: string): string {
  if (!(subscriber instanceof PyroProxy)) {
    throw new TypeError(
      `${method}: subscriber must be a Pyro object (a proxy), one with an incoming_message method`,
    );
  }
  return subscriber._pyroUri.toString();
}

/**
 * The message bus, as the remote object Pyro5's messagebus example clients talk to, and a
 * Deno object (`publish`) for the process that runs it. Remotely exposed: the example's methods,
 * `subscribe_pattern`, `unsubscribe_pattern` and `stats`; `publish`, `drained` and `close` are
 * local only.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MessageBus } from "./bus.ts";
 * await using bus = new MessageBus();
 * bus.add_topic("weather");
 * bus.publish("weather", { city: "Amsterdam", sky: "sunny" }); // nobody listens: discarded
 * assert.deepStrictEqual([...bus.topics()], ["weather"]);
 * assert.equal(bus.stats().sent, 1);
 * ```
 */
export class MessageBus implements AsyncDisposable {
  #storage: BusStorage;
  #options: Required<Omit<MessageBusOptions, "storage">>;
  #topics = new Set<string>();
  #subscribers = new Map<string, Subscriber>();
  #topicSubscribers = new Map<string, Set<string>>();
  #patterns: PatternSubscription[] = [];
  #recipients = new Map<string, string[]>();
  #seq = 0;
  #sent = 0;
  #delivered = 0;
  #dropped = 0;
  #closed = false;
  #idle = new Set<() => void>();

  /**
   * Makes a bus over a storage, taking up what the storage kept: topics, subscribers (as proxies
   * to their URIs) and their undelivered messages, which are delivered at once.
   *
   * @param options storage, queue bounds, failure handling
   */
  constructor(options: MessageBusOptions = {}) {
    this.#storage = options.storage ?? new MemoryBusStorage();
    this.#options = { ...DEFAULT_MESSAGEBUS_OPTIONS, ...options } as Required<
      Omit<MessageBusOptions, "storage">
    >;
    const state = this.#storage.load();
    this.#seq = state.lastSeq;
    for (const topic of state.topics) this.#topics.add(topic);
    for (const s of state.subscriptions) this.#attach(s.uri, null, s.kind, s.selector);
    for (const [uri, messages] of state.pending) {
      const subscriber = this.#subscribers.get(uri);
      if (!subscriber) {
        this.#storage.removeSubscriber(uri);
        continue;
      }
      subscriber.queue.push(...messages);
      this.#pump(subscriber);
    }
  }

  /**
   * Creates a topic (nothing happens if it exists).
   *
   * @param topic the topic name
   * @throws {TypeError} when the topic is not a string
   */
  @expose
  add_topic(topic: string): void {
    if (typeof topic !== "string") throw new TypeError("topic must be str");
    if (this.#topics.has(topic)) return;
    this.#storage.addTopic(topic);
    this.#topics.add(topic);
    this.#recipients.clear();
  }

  /**
   * Removes a topic that has no subscribers and no pending messages (a missing topic is fine).
   *
   * @param topic the topic name
   * @throws {RangeError} (ValueError) when the topic still has subscribers or pending messages
   */
  @expose
  remove_topic(topic: string): void {
    if (!this.#topics.has(topic)) return;
    const pending = [...this.#subscribers.values()].some((s) =>
      s.queue.some((m) => m.topic === topic)
    );
    if ((this.#topicSubscribers.get(topic)?.size ?? 0) > 0 || pending) {
      throw new RangeError("topic still has pending messages and/or subscribers");
    }
    this.#storage.removeTopic(topic);
    this.#topics.delete(topic);
    this.#topicSubscribers.delete(topic);
    this.#recipients.clear();
  }

  /**
   * The topics.
   *
   * @returns the topic names (a Python set)
   */
  @expose
  topics(): Set<string> {
    return new Set(this.#topics);
  }

  /**
   * Accepts a message for a topic: it is stored (committed, with sqlite storage) for every
   * subscriber subscribed now, and queued for delivery, before this returns.
   *
   * @param topic an existing topic
   * @param data the payload
   * @throws {RemoteError} KeyError when the topic does not exist (as in Pyro5's example)
   */
  @expose
  send(topic: string, data: unknown): void {
    this.publish(topic, data);
  }

  /**
   * `send` without an answer (oneway): the publisher does not learn of failures.
   *
   * @param topic an existing topic
   * @param data the payload
   */
  @oneway
  send_no_ack(topic: string, data: unknown): void {
    this.publish(topic, data);
  }

  /**
   * Publishes from this process: what `send` does.
   *
   * @param topic an existing topic
   * @param data the payload
   * @returns the message's id
   * @throws {RemoteError} KeyError when the topic does not exist
   */
  publish(topic: string, data: unknown): string {
    if (this.#closed) throw new RangeError("the message bus is closed");
    if (typeof topic !== "string") throw new TypeError("topic must be str");
    if (!this.#topics.has(topic)) throw new RemoteError("builtins.KeyError", [topic]);
    const message: StoredMessage = {
      seq: this.#seq + 1,
      topic,
      id: crypto.randomUUID(),
      created: created(new Date()),
      data,
    };
    const recipients = this.#recipientsOf(topic);
    if (recipients.length > 0) this.#storage.addMessage(message, recipients);
    this.#seq = message.seq;
    this.#sent++;
    for (const uri of recipients) {
      const subscriber = this.#subscribers.get(uri)!;
      if (subscriber.queue.length >= this.#options.maxQueue) {
        this.#drop(subscriber, `its queue is full (${this.#options.maxQueue} messages)`);
        continue;
      }
      subscriber.queue.push(message);
      this.#pump(subscriber);
    }
    return message.id;
  }

  /**
   * Subscribes a Pyro object to a topic (created if needed); it gets
   * `incoming_message(topic, message)` or `incoming_messages(topic, messages)` calls.
   *
   * @param topic the topic name
   * @param subscriber a proxy to the subscriber object
   * @throws {TypeError} when the subscriber is not a proxy, or lacks `incoming_message`
   */
  @expose
  subscribe(topic: string, subscriber: PyroProxy): void {
    this.add_topic(topic);
    this.#subscribe("topic", topic, subscriber);
  }

  /**
   * Subscribes a Pyro object to every topic, existing or future, whose whole name the pattern
   * (Python regex syntax) matches.
   *
   * @param pattern a Python regular expression
   * @param subscriber a proxy to the subscriber object
   * @throws {RangeError} (ValueError) for an invalid pattern
   */
  @expose
  subscribe_pattern(pattern: string, subscriber: PyroProxy): void {
    fullMatchRegex(pattern);
    this.#subscribe("pattern", pattern, subscriber);
  }

  /**
   * Ends a subscription to a topic; messages already queued are still delivered.
   *
   * @param topic the topic name
   * @param subscriber the proxy it subscribed with (same URI)
   */
  @expose
  unsubscribe(topic: string, subscriber: PyroProxy): void {
    this.#unsubscribe("topic", topic, subscriberUri(subscriber, "unsubscribe"));
  }

  /**
   * Ends a pattern subscription.
   *
   * @param pattern the pattern it subscribed with
   * @param subscriber the proxy it subscribed with (same URI)
   */
  @expose
  unsubscribe_pattern(pattern: string, subscriber: PyroProxy): void {
    this.#unsubscribe("pattern", pattern, subscriberUri(subscriber, "unsubscribe_pattern"));
  }

  /**
   * Counters: topics, subscribers, pending, sent, delivered, dropped.
   *
   * @returns the bus's counters
   */
  @expose
  stats(): MessageBusStats {
    let pending = 0;
    for (const s of this.#subscribers.values()) pending += s.queue.length;
    return {
      topics: this.#topics.size,
      subscribers: this.#subscribers.size,
      pending,
      sent: this.#sent,
      delivered: this.#delivered,
      dropped: this.#dropped,
    };
  }

  /**
   * Waits until every queue is empty (or the time is up).
   *
   * @param timeoutMs the most to wait
   * @returns whether every queue is empty
   */
  async drained(timeoutMs = 10_000): Promise<boolean> {
    const empty = () => [...this.#subscribers.values()].every((s) => s.queue.length === 0);
    if (empty()) return true;
    const { promise, resolve } = Promise.withResolvers<void>();
    const check = () => empty() && resolve();
    this.#idle.add(check);
    const timer = setTimeout(resolve, timeoutMs);
    try {
      await promise;
    } finally {
      clearTimeout(timer);
      this.#idle.delete(check);
    }
    return empty();
  }

  /** Stops delivering, releases the subscribers' connections and closes the storage. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#subscribers.values()) s.proxy._pyroRelease();
    this.#storage.close();
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #subscribe(kind: SubscriptionKind, selector: string, subscriber: PyroProxy): void {
    const uri = subscriberUri(subscriber, kind === "topic" ? "subscribe" : "subscribe_pattern");
    const methods = subscriber._pyroMethods;
    if (methods.size > 0 && !methods.has("incoming_message")) {
      throw new TypeError("subscriber must have incoming_message() method");
    }
    const existing = this.#subscribers.get(uri);
    if (existing?.subscriptions.has(key(kind, selector))) return;
    this.#storage.addSubscription({ uri, kind, selector });
    this.#attach(uri, subscriber, kind, selector);
  }

  #attach(
    uri: string,
    received: PyroProxy | null,
    kind: SubscriptionKind,
    selector: string,
  ): void {
    let subscriber = this.#subscribers.get(uri);
    if (!subscriber) {
      const proxy = new PyroProxy(uri, {
        timeout: this.#options.deliveryTimeout,
        maxRetries: 0,
        metadata: received
          ? {
            methods: received._pyroMethods,
            oneway: received._pyroOneway,
            attrs: received._pyroAttrs,
          }
          : undefined,
      });
      subscriber = {
        uri,
        proxy,
        subscriptions: new Set(),
        queue: [],
        failures: 0,
        pumping: false,
        removed: false,
      };
      this.#subscribers.set(uri, subscriber);
    }
    subscriber.subscriptions.add(key(kind, selector));
    if (kind === "topic") {
      let set = this.#topicSubscribers.get(selector);
      if (!set) this.#topicSubscribers.set(selector, set = new Set());
      set.add(uri);
    } else {
      this.#patterns.push({ uri, pattern: selector, regex: fullMatchRegex(selector) });
    }
    this.#recipients.clear();
  }

  #unsubscribe(kind: SubscriptionKind, selector: string, uri: string): void {
    const subscriber = this.#subscribers.get(uri);
    if (!subscriber?.subscriptions.delete(key(kind, selector))) return;
    const stored: StoredSubscription = { uri, kind, selector };
    this.#storage.removeSubscription(stored);
    if (kind === "topic") this.#topicSubscribers.get(selector)?.delete(uri);
    else {
      this.#patterns = this.#patterns.filter((p) => !(p.uri === uri && p.pattern === selector));
    }
    this.#recipients.clear();
    // A subscriber without subscriptions stays until its queue is delivered.
    if (subscriber.subscriptions.size === 0 && subscriber.queue.length === 0) {
      this.#forget(subscriber);
    }
  }

  #recipientsOf(topic: string): string[] {
    let recipients = this.#recipients.get(topic);
    if (!recipients) {
      const set = new Set(this.#topicSubscribers.get(topic));
      for (const p of this.#patterns) if (p.regex.test(topic)) set.add(p.uri);
      recipients = [...set];
      this.#recipients.set(topic, recipients);
    }
    return recipients;
  }

  #drop(subscriber: Subscriber, reason: string): void {
    if (subscriber.removed) return;
    this.#options.onWarning(`message bus: dropping subscriber ${subscriber.uri}: ${reason}`);
    this.#dropped++;
    this.#storage.removeSubscriber(subscriber.uri);
    subscriber.queue.length = 0;
    this.#forget(subscriber);
  }

  #forget(subscriber: Subscriber): void {
    subscriber.removed = true;
    subscriber.proxy._pyroRelease();
    this.#subscribers.delete(subscriber.uri);
    for (const set of this.#topicSubscribers.values()) set.delete(subscriber.uri);
    this.#patterns = this.#patterns.filter((p) => p.uri !== subscriber.uri);
    this.#recipients.clear();
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    for (const check of this.#idle) check();
  }

  #pump(subscriber: Subscriber): void {
    if (subscriber.pumping || this.#closed) return;
    subscriber.pumping = true;
    this.#deliverAll(subscriber).finally(() => this.#notifyIdle());
  }

  async #deliverAll(subscriber: Subscriber): Promise<void> {
    const options = this.#options;
    // `pumping` ends in the same tick as the loop's last check (no await in between): a message
    // queued after that starts a new pump.
    try {
      while (subscriber.queue.length > 0 && !subscriber.removed && !this.#closed) {
        const topic = subscriber.queue[0].topic;
        let count = 1;
        while (
          count < subscriber.queue.length && count < options.maxBatch &&
          subscriber.queue[count].topic === topic
        ) count++;
        const batch = subscriber.queue.slice(0, count);
        try {
          await this.#deliver(subscriber, topic, batch);
        } catch (error) {
          if (subscriber.removed || this.#closed) return;
          subscriber.failures++;
          subscriber.proxy._pyroRelease();
          if (subscriber.failures >= options.maxFailures) {
            this.#drop(subscriber, `${subscriber.failures} failed deliveries, last: ${error}`);
            return;
          }
          options.onWarning(
            `message bus: delivery to ${subscriber.uri} failed (${subscriber.failures}/${options.maxFailures}): ${error}`,
          );
          await new Promise((resolve) =>
            setTimeout(resolve, options.retryDelay * 2 ** (subscriber.failures - 1))
          );
          continue;
        }
        if (subscriber.removed || this.#closed) return;
        subscriber.failures = 0;
        subscriber.queue.splice(0, count);
        this.#delivered += count;
        this.#storage.delivered(subscriber.uri, batch.map((m) => m.seq));
        if (subscriber.subscriptions.size === 0 && subscriber.queue.length === 0) {
          this.#forget(subscriber);
        }
      }
    } finally {
      subscriber.pumping = false;
    }
  }

  async #deliver(subscriber: Subscriber, topic: string, batch: StoredMessage[]): Promise<void> {
    const proxy = subscriber.proxy;
    if (proxy._pyroMethods.size === 0) await proxy._pyroBind();
    const dicts = batch.map(toMessageDict);
    const stopped = () => subscriber.removed || this.#closed;
    if (stopped()) throw new RangeError("the message bus is closed");
    if (proxy._pyroMethods.has("incoming_messages")) {
      try {
        await proxy._pyroInvoke("incoming_messages", [topic, dicts]);
        return;
      } catch (error) {
        if (!(error instanceof MessageTooLargeError)) throw error;
      }
    }
    // One by one; a retry after a failure here may repeat some (at-least-once).
    for (const dict of dicts) {
      if (stopped()) throw new RangeError("the message bus is closed");
      await proxy._pyroInvoke("incoming_message", [topic, dict]);
    }
  }
}

/**
 * A stored message as the class dict subscribers receive (the example's `Message`).
 *
 * @param message the stored message
 * @returns its class dict
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { toMessageDict } from "./bus.ts";
 * const dict = toMessageDict({ seq: 1, topic: "t", id: "x", created: "2026-01-01T00:00:00.000000", data: 1 });
 * assert.equal(dict.__class__, "Pyro5.utils.messagebus.message");
 * ```
 */
export function toMessageDict(message: StoredMessage): MessageDict {
  return {
    __class__: MESSAGE_CLASS,
    msgid: message.id,
    created: message.created,
    data: message.data,
  };
}
