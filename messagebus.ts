/**
 * A message bus: publish/subscribe over Pyro (the original Pyro's Event Service), with the wire
 * API of Pyro5's messagebus example, so its Python publishers and subscribers work against it
 * unchanged, and a Deno API of its own.
 *
 * - {@linkcode startMessageBus}: a bus in its own daemon, registered as `Pyro.MessageBus`;
 *   `deno task messagebus` runs one.
 * - {@linkcode MessageBus}: the remote object (`add_topic`, `remove_topic`, `topics`, `send`,
 *   `send_no_ack`, `subscribe`, `unsubscribe`, plus `subscribe_pattern`, `unsubscribe_pattern`
 *   and `stats`); subscribers are Pyro objects with `incoming_message(topic, message)` (and,
 *   optionally, `incoming_messages(topic, messages)` for batches); a message is the example's
 *   `Message` class dict (`Pyro5.utils.messagebus.message`: msgid, created, data).
 * - {@linkcode MessageBusClient}: `await bus.publish(topic, data)` and
 *   `for await (const msg of bus.subscribe("weather.*"))`, with back-pressure.
 * - Storage: {@linkcode MemoryBusStorage} or {@linkcode SqliteBusStorage} (`node:sqlite`).
 *
 * Delivery: per topic in publish order, at least once, to every subscriber subscribed when the
 * message was sent. Each subscriber has its own bounded queue (`maxQueue`) and one call in
 * flight, so a slow one stalls nobody else. A subscriber is dropped (with a warning) when its
 * queue is full, or after `maxFailures` failed deliveries in a row. With sqlite storage a
 * message is committed before `send` returns; a bus killed and restarted on the same file
 * delivers every message not yet delivered, to the subscribers it remembers.
 *
 * | file                     | job                                                   |
 * | ------------------------ | ----------------------------------------------------- |
 * | `messagebus/bus.ts`      | the remote object and the delivery engine             |
 * | `messagebus/storage.ts`  | memory and sqlite storage                             |
 * | `messagebus/client.ts`   | the Deno publisher/subscriber API                     |
 * | `messagebus/daemon.ts`   | startMessageBus                                       |
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MessageBusClient, startMessageBus } from "./messagebus.ts";
 * await using running = await startMessageBus({ host: "127.0.0.1", port: 0, nameServer: false });
 * await using bus = new MessageBusClient(running.uri, { host: "127.0.0.1" });
 * await using forecasts = bus.subscribe("weather-forecast", { exact: true });
 * await forecasts.ready;
 * await bus.publish("weather-forecast", ["Amsterdam", "sunny"]);
 * for await (const msg of forecasts) {
 *   assert.deepStrictEqual(msg.data, ["Amsterdam", "sunny"]);
 *   break;
 * }
 * ```
 *
 * @module
 */
export {
  DEFAULT_MESSAGEBUS_OPTIONS,
  MESSAGE_CLASS,
  MessageBus,
  MESSAGEBUS_NAME,
  type MessageBusOptions,
  type MessageBusStats,
  type MessageDict,
  toMessageDict,
} from "./messagebus/bus.ts";
export {
  type BusStorage,
  MemoryBusStorage,
  SqliteBusStorage,
  type SqliteBusStorageOptions,
  type StoredMessage,
  type StoredState,
  type StoredSubscription,
  type SubscriptionKind,
} from "./messagebus/storage.ts";
export {
  type BusMessage,
  MessageBusClient,
  type MessageBusClientOptions,
  type SubscribeOptions,
  Subscription,
} from "./messagebus/client.ts";
export {
  openBusStorage,
  RunningMessageBus,
  startMessageBus,
  type StartMessageBusOptions,
} from "./messagebus/daemon.ts";
