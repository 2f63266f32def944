/**
 * Typed proxies: `createProxy<Api>(uri)` gives a `Remote<Api>`, so a shared interface checks
 * remote calls at compile time. Small programs are written to a temporary directory and given
 * to `deno check`: the correct one must pass, each wrong one must fail with the expected error.
 * One more test runs a typed proxy against a daemon.
 */
import assert, { equal } from "node:assert";
import { createProxy, type Oneway, type Remote, StreamResult } from "../client.ts";
import { Daemon, expose, oneway } from "../server.ts";
import { repoPath } from "./_peer.ts";

const CLIENT = new URL("../client.ts", import.meta.url).href;

/** The shared interface, as a server and its clients would both import it. */
const API = `
import { createProxy, type Oneway, type Remote, type RemoteFunction } from "${CLIENT}";
export interface Calculator {
  add(a: number, b: number): number;
  greet(name: string): Promise<string>;
  log: Oneway<(line: string) => boolean>;
  reset(): void;
  count(n: number): Generator<number>;
  adder(n: number): (x: number) => number;
  total: number;
  readonly label: string;
}
export interface Callable {
  __call__(a: number, b: number): number;
}
export const calc: Remote<Calculator> = createProxy<Calculator>("PYRO:calc@127.0.0.1:9");
export const callable: Remote<Callable> = createProxy<Callable>("PYRO:c@127.0.0.1:9");
export type { RemoteFunction };
`;

const GOOD = `
import { calc, callable } from "./api.ts";
async function main(): Promise<void> {
  const sum: number = await calc.add(1, 2);
  const greeting: string = await calc.greet("you");
  const logged: void = await calc.log("line");
  const reset: void = await calc.reset();
  for await (const item of await calc.count(3)) {
    const n: number = item;
    console.log(n);
  }
  const add5 = await calc.adder(5);
  const six: number = await add5(1);
  add5._pyroRelease();
  const total: number = await calc.total;
  const label: string = await calc.label;
  await calc._pyroSetAttr("total", 3);
  const three: number = await callable(1, 2);
  await calc._pyroBind();
  calc._pyroTimeout = 5;
  calc._pyroRelease();
  console.log(sum, greeting, logged, reset, six, total, label, three);
}
export { main };
`;

/** Wrong programs and the TypeScript error each must produce. */
const BAD: [string, string, string][] = [
  ["unknown method", "await calc.subtract(1, 2);", "TS2339"],
  ["wrong argument type", 'await calc.add(1, "2");', "TS2345"],
  ["missing argument", "await calc.add(1);", "TS2554"],
  ["result used as the wrong type", "const s: string = await calc.add(1, 2);", "TS2322"],
  ["result not awaited", "const n: number = calc.add(1, 2);", "TS2322"],
  ["oneway result used", "const b: boolean = await calc.log('x');", "TS2322"],
  ["attribute written with the wrong type", 'await calc._pyroSetAttr("total", "x");', "TS2345"],
  ["unknown attribute written", 'await calc._pyroSetAttr("nothing", 1);', "TS2345"],
  ["method written as an attribute", 'await calc._pyroSetAttr("add", 1);', "TS2345"],
  ["not callable without __call__", "await calc(1, 2);", "TS2349"],
  ["callable with wrong arguments", "await callable('a', 2);", "TS2345"],
];

async function denoCheck(dir: string, file: string): Promise<{ ok: boolean; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--config", repoPath("deno.json"), `${dir}/${file}`],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: result.success,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

Deno.test("Remote<Api>: deno check accepts correct calls and refuses wrong ones", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "typed_proxy_" });
  try {
    await Deno.writeTextFile(`${dir}/api.ts`, API);
    await t.step("correct program", async () => {
      await Deno.writeTextFile(`${dir}/good.ts`, GOOD);
      const { ok, output } = await denoCheck(dir, "good.ts");
      assert(ok, output);
    });
    // All wrong lines in one file (one deno check): each must fail on its own line.
    const lines = BAD.map(([, line], i) => `async function bad${i}() {\n  ${line}\n}`);
    await Deno.writeTextFile(
      `${dir}/bad.ts`,
      `import { calc, callable } from "./api.ts";\n${lines.join("\n")}\n` +
        `export { calc, callable };\n`,
    );
    const { ok, output } = await denoCheck(dir, "bad.ts");
    assert(!ok, "deno check accepted the wrong calls");
    // Each error reads "TSxxxx [ERROR]: ...", then "at file:///.../bad.ts:LINE:COL".
    const found = new Set<string>();
    for (const match of output.matchAll(/(TS\d+) \[ERROR\][\s\S]*?bad\.ts:(\d+):\d+/g)) {
      found.add(`${match[1]}@${match[2]}`);
    }
    for (const [i, [name, line, code]] of BAD.entries()) {
      await t.step(name, () => {
        const lineNo = 3 + 3 * i; // import line, then three lines per function
        assert(
          found.has(`${code}@${lineNo}`),
          `expected ${code} at line ${lineNo} for ${line}:\n${output}`,
        );
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

interface Shop {
  price(item: string): number;
  note: Oneway<(text: string) => string>;
  items(): Generator<string>;
  discount: number;
}

@expose
class ShopImpl {
  notes: string[] = [];
  #discount = 0;
  price(item: string): number {
    return item.length * (1 - this.#discount);
  }
  @oneway
  note(text: string): string {
    this.notes.push(text);
    return text;
  }
  *items(): Generator<string> {
    yield* ["apple", "pear"];
  }
  get discount(): number {
    return this.#discount;
  }
  set discount(value: number) {
    this.#discount = value;
  }
}

Deno.test("createProxy: a typed proxy is an ordinary proxy at run time", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const shop = new ShopImpl();
  const uri = daemon.register(shop, "shop");
  await using remote: Remote<Shop> = createProxy<Shop>(uri, { serializer: "json" });
  const price: number = await remote.price("apple");
  equal(price, 5);
  const nothing: void = await remote.note("hello");
  equal(nothing, undefined);
  const items: string[] = [];
  const stream = await remote.items();
  assert(stream instanceof StreamResult);
  for await (const item of stream) items.push(item);
  equal(items.join(), "apple,pear");
  await remote._pyroSetAttr("discount", 0.5);
  equal(await remote.discount, 0.5);
  equal(await remote.price("pear"), 2);
  equal(shop.notes.join(), "hello");
});
