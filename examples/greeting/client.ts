/**
 * The greeting client: asks the greeting server for a fortune. Give it the URI the server
 * printed, or `PYRONAME:example.greeting` to find the server through the name server.
 *
 * ```sh
 * deno run --allow-net --allow-env --allow-sys examples/greeting/client.ts PYRONAME:example.greeting Ada
 * ```
 *
 * It works just as well with Python Pyro5's greeting server.
 *
 * @module
 */
import { PyroProxy } from "../../mod.ts";

if (import.meta.main) {
  const [uri, name = "stranger"] = Deno.args;
  if (!uri) {
    console.error("usage: client.ts URI [NAME]");
    Deno.exit(2);
  }
  await using greeting = new PyroProxy(uri);
  console.log(await greeting.get_fortune(name));
}
