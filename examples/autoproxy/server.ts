/**
 * The autoproxy server: `Factory.createSomething` makes a `Thingy`, registers it with the daemon
 * running the call, and returns it; the client receives a proxy to it.
 *
 * ```sh
 * deno run --allow-net examples/autoproxy/server.ts [PORT]
 * ```
 *
 * @module
 */
import { currentContext, Daemon, expose } from "../../mod.ts";

@expose
class Thingy {
  constructor(readonly number: number) {}

  speak(message: string): void {
    console.log(`Thingy ${this.number} says: ${message}`);
  }
}

@expose
class Factory {
  createSomething(number: number): Thingy {
    const thing = new Thingy(number);
    // Registered objects travel as proxies: the client gets one, not a copy.
    currentContext()!.daemon.register(thing);
    return thing;
  }
}

if (import.meta.main) {
  const daemon = new Daemon({ host: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
  console.log("uri:", daemon.register(new Factory(), "example.autoproxy").toString());
  Deno.addSignalListener("SIGTERM", () => daemon.close());
  await daemon.closed;
}
