/**
 * A silly key-value database whose connections refuse to be used by two calls at once.
 *
 * @module
 */

const delay = () => new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));

/** The key-value store. */
export class DummyDatabase {
  readonly storage = new Map<string, unknown>();
  readonly allowedUsers = ["user123", "admin"];

  connect(user: string | null): Connection {
    return new Connection(this, user);
  }
}

/** A connection that only one call at a time may use. */
export class Connection {
  #busy = false;

  constructor(readonly db: DummyDatabase, readonly user: string | null) {}

  async store(key: string, value: unknown, user?: string): Promise<void> {
    await this.#exclusive(user, "write", async () => {
      console.log(`DB: user ${user ?? this.user} stores: ${key} = ${value}`);
      await delay();
      this.db.storage.set(key, value);
    });
  }

  async retrieve(key: string, user?: string): Promise<unknown> {
    return await this.#exclusive(user, "read", async () => {
      console.log(`DB: user ${user ?? this.user} retrieve: ${key}`);
      await delay();
      return this.db.storage.get(key);
    });
  }

  async #exclusive<T>(user: string | undefined, kind: string, work: () => Promise<T>) {
    if (!this.db.allowedUsers.includes(user ?? this.user ?? "")) throw new Error("access denied");
    if (this.#busy) {
      throw new Error(`ERROR: concurrent connection access (${kind}) by multiple different calls`);
    }
    this.#busy = true;
    try {
      return await work();
    } finally {
      this.#busy = false;
    }
  }
}
