/**
 * The user session server: a singleton database object sharing one connection, and a
 * session-bound one with a connection per client, for the user in the `USER` annotation.
 *
 * ```sh
 * deno run --allow-net examples/usersession/server.ts [PORT]
 * ```
 *
 * @module
 */
import { behavior, currentContext, Daemon, expose } from "../../mod.ts";
import { type Connection, DummyDatabase } from "./database.ts";

const database = new DummyDatabase();

function user(): string {
  const annotation = currentContext()!.annotations.get("USER");
  return annotation ? new TextDecoder().decode(annotation) : "";
}

/** Shares one connection between all clients: concurrent clients clash. */
@behavior({ instanceMode: "single" })
@expose
class SingletonDatabase {
  #conn: Connection;

  constructor() {
    console.log("[SingletonDatabase] new instance and connection");
    this.#conn = database.connect(null); // the user is per call
  }

  async store(key: string, value: unknown): Promise<void> {
    await this.#conn.store(key, value, user());
  }

  async retrieve(key: string): Promise<unknown> {
    return await this.#conn.retrieve(key, user());
  }
}

/** One instance, and one connection, per client connection. */
@behavior({ instanceMode: "session" })
@expose
class SessionboundDatabase {
  #connection: Connection;

  constructor() {
    // Instances are made inside the first call of the session: its annotations are here.
    const name = user();
    this.#connection = database.connect(name);
    console.log(`[SessionboundDatabase] new instance and connection for user: ${name}`);
  }

  async store(key: string, value: unknown): Promise<void> {
    await this.#connection.store(key, value);
  }

  async retrieve(key: string): Promise<unknown> {
    return await this.#connection.retrieve(key);
  }
}

if (import.meta.main) {
  const daemon = new Daemon({ host: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
  daemon.register(SingletonDatabase, "example.usersession.singletondb");
  daemon.register(SessionboundDatabase, "example.usersession.sessiondb");
  console.log("location:", daemon.locationStr);
  Deno.addSignalListener("SIGTERM", () => daemon.close());
  await daemon.closed;
}
