/**
 * The autoretry server: drops connections idle for 0.5 seconds.
 *
 * ```sh
 * deno run --allow-net examples/autoretry/server.ts [PORT]
 * ```
 *
 * @module
 */
import { Daemon, expose, makeConfig } from "../../mod.ts";

@expose
class CalcServer {
  add(num1: number, num2: number): number {
    console.log(`calling add: ${num1}, ${num2}`);
    return num1 + num2;
  }
}

if (import.meta.main) {
  const daemon = new Daemon({
    host: "127.0.0.1",
    port: Number(Deno.args[0] ?? 0),
    config: makeConfig({ COMMTIMEOUT: 0.5 }), // the server times out idle connections quickly
  });
  console.log("uri:", daemon.register(new CalcServer(), "example.autoretry").toString());
  Deno.addSignalListener("SIGTERM", () => daemon.close());
  await daemon.closed;
}
