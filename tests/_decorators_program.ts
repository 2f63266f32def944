/**
 * A user's program with decorators, valid under standard (TC39) decorators and under TypeScript's
 * `experimentalDecorators`: tests/expose_test.ts type-checks and runs it with each. It serves a
 * decorated class and object, calls them through proxies and a name server, and prints one JSON
 * line of what it saw. Permissions: `--allow-net=127.0.0.1`.
 */
import {
  behavior,
  callback,
  Daemon,
  expose,
  getExposedMembers,
  kwargs,
  oneway,
  PyroProxy,
  startNameServer,
} from "../mod.ts";

@behavior({ instanceMode: "single" })
@expose
class Counter {
  static made = 0;
  count = 0;
  constructor() {
    Counter.made++;
  }
  increment(by = 1): number {
    return this.count += by;
  }
}

class Thermostat {
  #celsius = 20;
  logged: string[] = [];

  @expose
  get celsius(): number {
    return this.#celsius;
  }
  set celsius(value: number) {
    this.#celsius = value;
  }

  @expose
  setTarget(celsius: number, unit = "C"): string {
    this.#celsius = celsius;
    return `target set to ${celsius} ${unit}`;
  }

  @expose({ params: ["celsius"] })
  declared(c: number): number {
    return c;
  }

  @oneway
  log(line: string): void {
    this.logged.push(line);
  }

  @expose
  @callback
  done(): void {}

  notExposed(): void {}
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

await using daemon = new Daemon({ host: "127.0.0.1" });
const thermostat = new Thermostat();
const uri = daemon.register(thermostat, "thermostat");
const counterUri = daemon.register(Counter, "counter");
const meta = getExposedMembers(thermostat);
const seen: Record<string, unknown> = {
  methods: [...meta.methods].sort(),
  oneway: [...meta.oneway],
  attrs: [...meta.attrs],
};
await using proxy = new PyroProxy(uri);
seen.setTarget = await proxy.setTarget(kwargs({ celsius: 21 }));
seen.declared = await proxy.declared(kwargs({ celsius: 7 }));
await proxy._pyroSetAttr("celsius", 25);
seen.celsius = await proxy.celsius;
await proxy.log("hello");
for (let i = 0; i < 500 && thermostat.logged.length === 0; i++) await sleep(10);
seen.logged = thermostat.logged;
await using counter = new PyroProxy(counterUri);
seen.counter = [
  await counter.increment(),
  await counter.increment(kwargs({ by: 5 })),
  Counter.made,
];
await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
await using nsProxy = new PyroProxy(ns.uri);
await nsProxy.register(kwargs({ name: "thermostat", uri: uri.toString(), safe: true }));
seen.ns = await nsProxy.list(kwargs({ prefix: "thermo" }));
console.log(JSON.stringify(seen));
