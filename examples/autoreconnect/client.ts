/**
 * The autoreconnect client: calls every so often; when the connection is lost it reconnects,
 * waiting for the server to come back.
 *
 * ```sh
 * deno run --allow-net examples/autoreconnect/client.ts PYRO:example.autoreconnect@127.0.0.1:7777 [CALLS]
 * ```
 *
 * @module
 */
import { CommunicationError, PyroProxy } from "../../mod.ts";

if (import.meta.main) {
  const [uri, calls = "Infinity", pause = "1"] = Deno.args;
  await using obj = new PyroProxy(uri);
  for (let done = 0; done < Number(calls);) {
    console.log("call...");
    try {
      await obj.method(42);
      done++;
      await new Promise((resolve) => setTimeout(resolve, Number(pause) * 1000));
    } catch (error) {
      // ConnectionClosedError, or CommunicationError when the server is not back yet
      if (!(error instanceof CommunicationError)) throw error;
      console.log("Connection lost. REBINDING...");
      console.log("(restart the server now)");
      await obj._pyroReconnect(100000000, 0.2);
    }
  }
  console.log("done");
}
