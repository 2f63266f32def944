/**
 * A Deno subscriber: every forecast of every city (the pattern `weather\..*`), one line each.
 *
 * ```sh
 * deno run --allow-net --allow-env --allow-sys examples/messagebus/subscriber.ts [COUNT]
 * ```
 *
 * It runs a daemon of its own that the bus calls (on `PYRO_HOST`, default localhost). Without
 * COUNT it runs until stopped.
 *
 * @module
 */
import { MessageBusClient } from "../../mod.ts";

if (import.meta.main) {
  const count = Deno.args[0] ? Number(Deno.args[0]) : Infinity;
  await using bus = new MessageBusClient(); // PYRONAME:Pyro.MessageBus
  await using forecasts = bus.subscribe("weather\\..*"); // a Python regex
  await forecasts.ready;
  console.log("Subscribed to weather.*");
  let received = 0;
  for await (const msg of forecasts) {
    console.log(`GOT ${msg.topic} ${msg.created.toISOString()} ${JSON.stringify(msg.data)}`);
    if (++received >= count) break; // ends the subscription
  }
}
