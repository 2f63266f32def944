/**
 * The daemon under soak: a name server and a daemon with one service object, on 127.0.0.1.
 * Counts its live timers (setTimeout/setInterval wrapped before anything starts). Prints one
 * JSON line `{"ns", "service"}`, then answers every stdin line with a JSON line `{"timers"}`,
 * and ends when its stdin closes.
 *
 * @module
 */

/** Live timers of this process: ids of pending timeouts and uncleared intervals. */
const live = new Set<unknown>();
type TimerFunction = (...args: unknown[]) => unknown;
const timers = globalThis as unknown as Record<
  "setTimeout" | "setInterval" | "clearTimeout" | "clearInterval",
  TimerFunction
>;
const original = { ...timers };
timers.setTimeout = (fn, ...rest) => {
  const id = original.setTimeout.call(globalThis, (...args: unknown[]) => {
    live.delete(id);
    (fn as TimerFunction)(...args);
  }, ...rest);
  live.add(id);
  return id;
};
timers.setInterval = (...args) => {
  const id = original.setInterval.call(globalThis, ...args);
  live.add(id);
  return id;
};
for (const name of ["clearTimeout", "clearInterval"] as const) {
  timers[name] = (id) => {
    live.delete(id);
    return original[name].call(globalThis, id);
  };
}

const { Daemon, expose } = await import("../../server.ts");
const { startNameServer } = await import("../../nameserver.ts");
type Callback = { ping(i: number): Promise<number>; _pyroRelease(): void };

/** What the soak's clients call: plain calls, item streams, callbacks. */
@expose
class SoakService {
  /** The argument back. */
  echo(value: unknown): unknown {
    return value;
  }

  /** An item stream of `n` numbers. */
  *numbers(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield i;
  }

  /** Calls the client's `ping(i)` `n` times; returns the sum of the answers. */
  async notify(callback: Callback, n: number): Promise<number> {
    let sum = 0;
    try {
      for (let i = 0; i < n; i++) sum += await callback.ping(i);
    } finally {
      callback._pyroRelease();
    }
    return sum;
  }
}

if (import.meta.main) {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, enableBroadcast: false });
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const service = daemon.register(new SoakService(), "soak.service");
  ns.nameserver.register("soak.service", service);
  const out = Deno.stdout.writable.getWriter();
  const print = (value: unknown) =>
    out.write(new TextEncoder().encode(JSON.stringify(value) + "\n"));
  await print({ ns: ns.uri.toString(), service: service.toString() });
  for await (const _ of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    await print({ timers: live.size });
  }
}
