/**
 * The autoproxy client: asks the factory for three things and makes them speak. Each thing is
 * a proxy to an object living in the server.
 *
 * ```sh
 * deno run --allow-net examples/autoproxy/client.ts PYRO:example.autoproxy@127.0.0.1:PORT
 * ```
 *
 * @module
 */
import { PyroProxy, type SerializerName } from "../../mod.ts";

if (import.meta.main) {
  const [uri, serializer = "serpent"] = Deno.args;
  await using factory = new PyroProxy(uri, { serializer: serializer as SerializerName });
  console.log("Creating things.");
  await using thing1: PyroProxy = await factory.createSomething(1);
  await using thing2: PyroProxy = await factory.createSomething(2);
  await using thing3: PyroProxy = await factory.createSomething(3);
  console.log(String(thing1));
  console.log("Speaking stuff (see output on server).");
  await thing1.speak("I am the first");
  await thing2.speak("I am second");
  await thing3.speak("I am last then...");
}
