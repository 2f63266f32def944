/**
 * The daemon side of the network fault test, run inside the server namespace: a name server and
 * a daemon with a non-idempotent counter, both on the address given. Prints one JSON line
 * `{"ns": uri, "counter": uri}` and runs until its stdin closes.
 *
 *   deno run -A tests/netfault/_server.ts 198.18.1.1
 *
 * @module
 */
import { Daemon, expose } from "../../server.ts";
import { startNameServer } from "../../nameserver.ts";

/** Counts calls: running `increment` twice for one call would show. */
@expose
export class Counter {
  #count = 0;

  /** Adds one and returns the new count. */
  increment(): number {
    return ++this.#count;
  }

  /** Waits, then adds one: a call a partition can cut in the middle. */
  async slowIncrement(ms: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ++this.#count;
  }

  /** The count. */
  count(): number {
    return this.#count;
  }

  /** The argument. */
  echo(value: unknown): unknown {
    return value;
  }
}

if (import.meta.main) {
  const host = Deno.args[0];
  await using ns = await startNameServer({ host, port: 0, enableBroadcast: false });
  await using daemon = new Daemon({ host, port: 0 });
  const counter = daemon.register(new Counter(), "netfault.counter");
  ns.nameserver.register("netfault.counter", counter);
  console.log(JSON.stringify({ ns: ns.uri.toString(), counter: counter.toString() }));
  // Until the test closes our stdin.
  for await (const _ of Deno.stdin.readable) { /* nothing to read */ }
}
