/**
 * The instance mode server: one class per instance mode, registered as classes.
 *
 * ```sh
 * deno run --allow-net examples/instancemode/server.ts [PORT]
 * ```
 *
 * @module
 */
import { behavior, currentContext, Daemon, expose } from "../../mod.ts";

let created = 0;

@expose
class Base {
  readonly id = ++created;

  constructor() {
    console.log(`created ${this.constructor.name} instance with id ${this.id}`);
  }

  msg(message: string): number {
    console.log(`[${this.id}] ${this.constructor.name}.msg: ${message}`);
    return this.id;
  }

  [Symbol.dispose](): void {
    console.log(`disposed ${this.constructor.name} instance with id ${this.id}`);
  }
}

@behavior({ instanceMode: "single" })
class SingleInstance extends Base {}

@behavior({
  instanceMode: "session",
  instanceCreator: (cls) => {
    const instance = new cls() as SessionInstance;
    instance.correlationId = currentContext()!.correlationId.slice();
    return instance;
  },
})
class SessionInstance extends Base {
  correlationId = new Uint8Array(16);

  @expose
  override msg(message: string): number {
    const id = Array.from(this.correlationId, (b) => b.toString(16).padStart(2, "0")).join("");
    console.log(`[${this.id}] session made for correlation id ${id}`);
    return super.msg(message);
  }
}

@behavior({ instanceMode: "percall" })
class PercallInstance extends Base {}

if (import.meta.main) {
  const daemon = new Daemon({ host: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
  daemon.register(SingleInstance, "instance.single");
  daemon.register(SessionInstance, "instance.session");
  daemon.register(PercallInstance, "instance.percall");
  console.log("location:", daemon.locationStr);
  Deno.addSignalListener("SIGTERM", () => daemon.close());
  await daemon.closed;
}
