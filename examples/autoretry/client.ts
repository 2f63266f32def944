/**
 * The autoretry client: the same calls without and with automatic retries.
 *
 * ```sh
 * deno run --allow-net examples/autoretry/client.ts PYRO:example.autoretry@127.0.0.1:PORT
 * ```
 *
 * @module
 */
import { makeConfig, PyroProxy } from "../../mod.ts";

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

if (import.meta.main) {
  const uri = Deno.args[0];
  // No timeout on the client side; no retries (the default).
  await using obj = new PyroProxy(uri, { config: makeConfig({ COMMTIMEOUT: 0, MAX_RETRIES: 0 }) });
  console.log("Calling remote function 1st time (create connection)");
  await obj.add(1, 1);
  console.log("Calling remote function 2nd time (not timed out yet)");
  await obj.add(2, 2);
  console.log("Sleeping 1 second...");
  await sleep(1);
  console.log("Calling remote function 3rd time (will raise an exception)");
  try {
    await obj.add(3, 3);
  } catch (error) {
    console.log(`Got exception ${(error as Error).name}: ${(error as Error).message} as expected.`);
  }

  console.log("\nNow, let's enable the auto retry on the proxy");
  obj._pyroRelease();
  obj._pyroMaxRetries = 2;
  console.log("Calling remote function 1st time (create connection)");
  await obj.add(1, 1);
  console.log("Calling remote function 2nd time (not timed out yet)");
  await obj.add(2, 2);
  console.log("Sleeping 1 second...");
  await sleep(1);
  console.log("Calling remote function 3rd time (will not raise any exceptions)");
  console.log("result:", await obj.add(3, 3));
}
