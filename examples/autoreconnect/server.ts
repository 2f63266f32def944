/**
 * The autoreconnect server: a fixed port and a fixed object id, so a restarted server has the
 * same URI.
 *
 * ```sh
 * deno run --allow-net examples/autoreconnect/server.ts PORT
 * ```
 *
 * @module
 */
import { Daemon, expose } from "../../mod.ts";

@expose
class TestClass {
  method(arg: unknown): void {
    console.log(`Method called with ${arg}`);
  }
}

if (import.meta.main) {
  const daemon = new Daemon({ host: "127.0.0.1", port: Number(Deno.args[0] ?? 7777) });
  // Registered as a class (a session instance per client) under a fixed id.
  const uri = daemon.register(TestClass, "example.autoreconnect");
  console.log("uri:", uri.toString());
  Deno.addSignalListener("SIGTERM", () => daemon.close());
  await daemon.closed;
}
