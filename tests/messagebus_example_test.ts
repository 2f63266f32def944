/**
 * Runs examples/messagebus as a user would: `deno task messagebus`'s command, the Deno and Python
 * subscribers, then two weather stations; each subscriber prints what it should, in order.
 *
 * Permissions: `--allow-all` (deno and python3 processes, loopback).
 */
import assert from "node:assert";
import { startNameServer } from "../nameserver.ts";
import { peerEnv, repoPath } from "./_peer.ts";
import { LineProcess, startBusCommand } from "./interop/_bus_procs.ts";

const RUN = ["run", "--quiet", "--allow-net", "--allow-env", "--allow-sys"];
const COUNT = 8;

Deno.test("examples/messagebus: a station's forecasts reach the Deno (pattern) and Python (one city) subscribers in order", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, enableBroadcast: false });
  const env = {
    PYRO_HOST: "127.0.0.1",
    PYRO_NS_HOST: "127.0.0.1",
    PYRO_NS_PORT: String(ns.uri.port),
  };
  const { bus } = await startBusCommand(["-n", "127.0.0.1", "-s", "memory"], ns.uri.port!);
  const example = (file: string) => repoPath(`examples/messagebus/${file}`);
  const processes = [bus];
  try {
    const deno = new LineProcess(Deno.execPath(), [
      ...RUN,
      example("subscriber.ts"),
      String(2 * COUNT),
    ], env);
    processes.push(deno);
    const python = new LineProcess(
      "python3",
      ["-u", example("subscriber.py"), "Amsterdam", String(COUNT)],
      { ...await peerEnv(), ...env },
    );
    processes.push(python);
    await deno.waitForLine(/^Subscribed to weather\.\*$/, 60_000);
    await python.waitForLine(/^Subscribed to weather\.amsterdam$/, 60_000);

    const stations = ["Amsterdam", "Paris"].map((city) =>
      new LineProcess(Deno.execPath(), [...RUN, example("station.ts"), city, String(COUNT)], env)
    );
    processes.push(...stations);
    for (const station of stations) assert.equal(await station.done(60_000), 0, station.stderr);
    assert.equal(await deno.done(60_000), 0, deno.stderr);
    assert.equal(await python.done(60_000), 0, python.stderr);

    const numbers = (lines: string[], topic: string) =>
      lines.filter((l) => l.startsWith(`GOT ${topic} `)).map((l) =>
        Number(/'number': ?(\d+)/.exec(l.replace(/"/g, "'"))?.[1])
      );
    const all = [...Array(COUNT).keys()];
    assert.deepStrictEqual(numbers(deno.lines, "weather.amsterdam"), all, deno.lines.join("\n"));
    assert.deepStrictEqual(numbers(deno.lines, "weather.paris"), all, deno.lines.join("\n"));
    assert.deepStrictEqual(
      numbers(python.lines, "weather.amsterdam"),
      all,
      python.lines.join("\n"),
    );
    assert.equal(numbers(python.lines, "weather.paris").length, 0);
    // The station printed what it sent; the Python subscriber got the same data.
    const sent = stations[0].lines.find((l) => l.includes('"number":0'))!;
    const sky = /"sky":"(\w+)"/.exec(sent)![1];
    assert.match(
      python.lines.find((l) => l.includes("'number': 0"))!,
      new RegExp(`'sky': '${sky}'`),
    );
  } finally {
    for (const p of processes) await p.stop();
  }
});
