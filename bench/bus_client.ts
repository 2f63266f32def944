/**
 * The client of the benchmark's bus row (started by bench/main.ts, one JSON argument
 * `{"uri", "subscribers", "durationMs", "warmupMs"}`), the same against the Deno and the Python
 * bus: hosts N subscriber objects in one daemon (each its own connection from the bus), subscribes
 * them to one topic, then publishes small messages with acknowledged `send` calls, one after the
 * other, for the duration, and waits until every subscriber has them all. Prints one JSON line
 * `{"published": msgs/s, "delivered": deliveries/s}` (deliveries = messages x subscribers, over
 * the time from the first send to the last delivery), or `{"error"}`.
 *
 * Permissions: `--allow-net=127.0.0.1`.
 *
 * @module
 */
import { PyroProxy } from "../client.ts";
import { Daemon, expose } from "../server.ts";
import { ClassRegistry } from "../serializers/classes.ts";
import { MESSAGE_CLASS } from "../messagebus.ts";
import { emit, SMALL_VALUE } from "./_common.ts";

const TOPIC = "bench";
const LIMIT_MS = 60_000;

class Counter {
  received = 0;
  @expose
  incoming_message(_topic: string, _message: unknown): void {
    this.received++;
  }
  @expose
  incoming_messages(_topic: string, messages: unknown[]): void {
    this.received += messages.length;
  }
}

async function publishFor(bus: PyroProxy, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let sent = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) await bus.send(TOPIC, SMALL_VALUE);
    sent += 16;
  }
  return sent;
}

async function allReceived(counters: Counter[], count: number): Promise<boolean> {
  const end = Date.now() + LIMIT_MS;
  while (counters.some((c) => c.received < count)) {
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

if (import.meta.main) {
  const config = JSON.parse(Deno.args[0]) as {
    uri: string;
    subscribers: number;
    durationMs: number;
    warmupMs: number;
  };
  await using daemon = new Daemon({
    host: "127.0.0.1",
    classes: new ClassRegistry().registerDictToClass(MESSAGE_CLASS, () => null),
  });
  const counters = Array.from({ length: config.subscribers }, () => new Counter());
  await using bus = new PyroProxy(config.uri, { callbackDaemon: daemon });
  await bus.add_topic(TOPIC);
  for (const counter of counters) {
    daemon.register(counter);
    await bus.subscribe(TOPIC, counter);
  }
  try {
    const warm = await publishFor(bus, config.warmupMs);
    if (!await allReceived(counters, warm)) throw new Error("warm-up messages not delivered");
    for (const c of counters) c.received = 0;
    const start = performance.now();
    const sent = await publishFor(bus, config.durationMs);
    const published = sent / ((performance.now() - start) / 1000);
    if (!await allReceived(counters, sent)) {
      throw new Error(`not all delivered within ${LIMIT_MS / 1000} s`);
    }
    const delivered = sent * counters.length / ((performance.now() - start) / 1000);
    emit({ published, delivered });
  } catch (error) {
    emit({ error: (error as Error).message });
  }
  for (const counter of counters) await bus.unsubscribe(TOPIC, counter).catch(() => {});
}
