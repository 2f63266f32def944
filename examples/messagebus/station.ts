/**
 * A weather station: publishes forecasts for its city on the message bus, topic
 * `weather.<city>`, as Pyro5's messagebus example publisher does (there on `weather-forecast`).
 *
 * ```sh
 * deno run --allow-net --allow-env --allow-sys examples/messagebus/station.ts [CITY] [COUNT]
 * ```
 *
 * The bus is found through the name server as `Pyro.MessageBus` (`PYRO_NS_HOST`,
 * `PYRO_NS_PORT`). Without COUNT it publishes until stopped.
 *
 * @module
 */
import { MessageBusClient } from "../../mod.ts";

const SKIES = ["sunny", "cloudy", "storm", "rainy", "hail", "thunder", "calm", "mist", "cold"];

if (import.meta.main) {
  const city = Deno.args[0] ?? "Amsterdam";
  const count = Deno.args[1] ? Number(Deno.args[1]) : Infinity;
  const topic = `weather.${city.toLowerCase()}`;
  await using bus = new MessageBusClient(); // PYRONAME:Pyro.MessageBus
  for (let i = 0; i < count; i++) {
    const forecast = {
      city,
      sky: SKIES[Math.floor(Math.random() * SKIES.length)],
      celsius: Math.round(Math.random() * 300) / 10,
      number: i,
    };
    await bus.publish(topic, forecast); // acknowledged: the bus has it
    console.log(`Forecast on ${topic}: ${JSON.stringify(forecast)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
