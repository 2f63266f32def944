/**
 * The user session client: sequential access through two proxies, then two concurrent
 * accessors on each database.
 *
 * ```sh
 * deno run --allow-net examples/usersession/client.ts 127.0.0.1:PORT
 * ```
 *
 * @module
 */
import { PyroProxy } from "../../mod.ts";

const userToken = () => new Map([["USER", new TextEncoder().encode("user123")]]);

async function accessor(uri: string, name: string): Promise<void> {
  await using proxy = new PyroProxy(uri, { annotations: userToken });
  for (let i = 0; i < 3; i++) {
    try {
      await proxy.store("number", 100 + i);
      console.log(`[${name}] num=${await proxy.retrieve("number")}`);
    } catch (error) {
      console.log(`[${name}] ${(error as Error).message}`);
    }
  }
}

if (import.meta.main) {
  const location = Deno.args[0];
  const session = `PYRO:example.usersession.sessiondb@${location}`;
  const singleton = `PYRO:example.usersession.singletondb@${location}`;
  for (const [title, uri] of [["Session-Bound", session], ["Singleton", singleton]]) {
    console.log(`\n***** Sequential access using multiple proxies on the ${title} Database...`);
    await using p1 = new PyroProxy(uri, { annotations: userToken });
    await using p2 = new PyroProxy(uri, { annotations: userToken });
    await p1.store("number", 42);
    await p1.retrieve("number");
    await p2.store("number", 43);
    await p2.retrieve("number");
  }
  console.log("\n***** Multiple concurrent proxies on the Session-Bound Database... (no issues)");
  await Promise.all([accessor(session, "A"), accessor(session, "B")]);
  console.log(
    "\n***** Multiple concurrent proxies on the Singleton Database... (concurrency errors will occur!)",
  );
  await Promise.all([accessor(singleton, "A"), accessor(singleton, "B")]);
}
