/**
 * The greeting server: serves one object, `example.greeting`, and prints its URI. With `--ns` it
 * also registers the object in a running name server (start one with `deno task ns`), so clients
 * find it as `PYRONAME:example.greeting`.
 *
 * ```sh
 * deno run --allow-net --allow-env --allow-sys examples/greeting/server.ts [--ns] [--host 127.0.0.1]
 * ```
 *
 * Python's Pyro5 client works with it as well:
 * `python3 -c "import Pyro5.api; print(Pyro5.api.Proxy('PYRO:...').get_fortune('Ada'))"`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Daemon, expose, locateNS } from "../../mod.ts";

/** The object the server offers: one method, as in Pyro5's greeting example. */
@expose
export class GreetingMaker {
  /**
   * @param name who asks
   * @returns a fortune for them
   */
  get_fortune(name: string): string {
    return `Hello, ${name}. Here is your fortune message:\n` +
      "Tomorrow's lucky number is 12345678.";
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { ns: { type: "boolean", default: false }, host: { type: "string" } },
  });
  // PYRO_HOST, PYRO_NS_HOST, ... apply as in Pyro5: the defaults come from the environment.
  await using daemon = new Daemon({ host: values.host });
  const uri = daemon.register(new GreetingMaker(), "example.greeting");
  if (values.ns) {
    await using ns = await locateNS();
    await ns.register("example.greeting", uri.toString());
    console.log("registered as PYRONAME:example.greeting");
  }
  console.log(`Ready. Object uri = ${uri}`);
  const stop = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", stop.resolve);
  Deno.addSignalListener("SIGTERM", stop.resolve);
  await stop.promise;
}
