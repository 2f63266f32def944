/**
 * Exposed classes for the calling-model tests (tests/calling_model_test.ts and
 * tests/interop/calling_interop_test.ts): factories, callbacks, instance modes, call context,
 * resources, blobs.
 *
 * @module
 */
import { PyroProxy, type RemoteFunction, type SerializedBlob } from "../client.ts";
import { behavior, callback, currentContext, expose, oneway } from "../server.ts";
import { sleep } from "./_support_rpc.ts";

const text = new TextDecoder();

/** Annotations as strings, for comparing. */
export function annotationText(annotations: Map<string, Uint8Array>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of annotations) out[key] = text.decode(value);
  return out;
}

/** A correlation id as 32 hex digits. */
export function hex(bytes: Uint8Array | null | undefined): string {
  return bytes ? Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("") : "";
}

/** Made by {@linkcode Factory}; registered with the daemon, so it travels as a proxy. */
@expose
export class Thingy {
  /** Its number. */
  readonly number: number;
  /** What it was told. */
  readonly said: string[] = [];

  constructor(number: number) {
    this.number = number;
  }

  speak(message: string): string {
    this.said.push(message);
    return `Thingy ${this.number} says: ${message}`;
  }

  getNumber(): number {
    return this.number;
  }
}

/** Pyro5's autoproxy example: returns registered objects, alone or inside containers. */
@expose
export class Factory {
  /** Everything it made. */
  readonly made: Thingy[] = [];

  createSomething(number: number): Thingy {
    const thing = new Thingy(number);
    currentContext()!.daemon.register(thing);
    this.made.push(thing);
    return thing;
  }

  createMany(count: number): Record<string, Thingy[]> {
    return { things: Array.from({ length: count }, (_, i) => this.createSomething(i + 1)) };
  }

  /** Calls what it is given (a proxy of an object registered on the caller's side). */
  async useThing(thing: PyroProxy, message: string): Promise<string> {
    try {
      return await thing.speak(message);
    } finally {
      thing._pyroRelease();
    }
  }

  /** Same, for a list of them. */
  async useThings(things: PyroProxy[]): Promise<number[]> {
    const numbers: number[] = [];
    for (const thing of things) {
      numbers.push(await thing.getNumber());
      thing._pyroRelease();
    }
    return numbers;
  }
}

/** Calls back into what clients give it, also while the client's call is still running. */
@expose
export class Worker {
  /** Proxies it keeps for later calls. */
  readonly kept: PyroProxy[] = [];

  /** Reports progress to the callback during the call, then returns. */
  async work(listener: PyroProxy, steps: number): Promise<string> {
    try {
      for (let i = 1; i <= steps; i++) await listener.progress(i);
      return `worked ${steps} steps`;
    } finally {
      listener._pyroRelease();
    }
  }

  /** Calls a plain-function callback (it arrives as a callable proxy). */
  async apply(fn: RemoteFunction<(...args: unknown[]) => unknown>, ...args: unknown[]) {
    try {
      return await fn(...args);
    } finally {
      fn._pyroRelease();
    }
  }

  /** Calls the callback's failing method; reports what came back. */
  async provoke(listener: PyroProxy): Promise<string> {
    try {
      await listener.explode();
      return "no error";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    } finally {
      listener._pyroRelease();
    }
  }

  /** Keeps a callback for later. */
  keep(listener: PyroProxy): number {
    this.kept.push(listener);
    return this.kept.length;
  }

  /** Calls every kept callback; reports each outcome. */
  async notifyKept(message: string): Promise<string[]> {
    const outcomes: string[] = [];
    for (const listener of this.kept) {
      try {
        outcomes.push(String(await listener.progress(message)));
      } catch (error) {
        outcomes.push(`${(error as Error).name}: ${(error as Error).message}`);
      }
    }
    return outcomes;
  }

  /** Returns a plain function: the client gets a callable proxy for this connection. */
  adder(n: number): (x: number) => number {
    return (x: number) => x + n;
  }

  /** Oneway: calls the callback later, after the client's call has returned. */
  @oneway
  async later(listener: PyroProxy, message: string): Promise<void> {
    await sleep(20);
    try {
      await listener.progress(message);
    } finally {
      listener._pyroRelease();
    }
  }
}

/** A client-side callback object. */
export class Listener {
  /** What it was told. */
  readonly seen: unknown[] = [];

  @expose
  progress(step: unknown): string {
    this.seen.push(step);
    return `got ${step}`;
  }

  @expose
  @callback
  explode(): never {
    throw new RangeError("callback exploded");
  }
}

/** Callable remotely: `await proxy(a, b)`. */
@expose
export class Adder {
  __call__(a: number, b: number): number {
    return a + b;
  }

  twice(a: number): number {
    return 2 * a;
  }
}

/** Counts instances made and ended, per class name. */
export class InstanceLog {
  /** Instances made. */
  created = 0;
  /** Instances disposed. */
  disposed = 0;
  /** The USER annotation each instance saw when it was made. */
  users: string[] = [];
}

/** Classes with instance modes whose instances log into `log`. */
export function instanceClasses(log: InstanceLog) {
  @expose
  class Base {
    readonly id: number;
    readonly user: string;
    constructor() {
      this.id = ++log.created;
      // The constructor runs inside the call's context (as in Pyro5's usersession example).
      const user = currentContext()?.annotations.get("USER");
      this.user = user ? text.decode(user) : "";
      log.users.push(this.user);
    }
    msg(): [number, string] {
      return [this.id, this.user];
    }
    [Symbol.dispose](): void {
      log.disposed++;
    }
  }
  @behavior({ instanceMode: "single" })
  @expose
  class Single extends Base {}
  @behavior({ instanceMode: "session" })
  @expose
  class Session extends Base {}
  @behavior({ instanceMode: "percall" })
  @expose
  class PerCall extends Base {}
  @behavior({
    instanceMode: "session",
    instanceCreator: (cls) => {
      const instance = new cls() as Created;
      instance.correlation = currentContext()!.correlationId;
      return instance;
    },
  })
  @expose
  class Created extends Base {
    correlation: Uint8Array | null = null;
    corr(): string {
      return hex(this.correlation);
    }
  }
  return { Single, Session, PerCall, Created };
}

/** Reports its call context; forwards calls to another object keeping the correlation id. */
@expose
export class ContextProbe {
  describe(): Record<string, unknown> {
    const context = currentContext()!;
    context.responseAnnotations.set("XRES", new TextEncoder().encode("from method"));
    const addr = context.clientAddr as Deno.NetAddr;
    return {
      correlation: hex(context.correlationId),
      annotations: annotationText(context.annotations),
      port: addr.port,
      handshake: context.client.handshake,
      seq: context.seq,
    };
  }

  /** Calls `describe` on another object; the correlation id travels on. */
  async forward(uri: string): Promise<unknown> {
    await using next = new PyroProxy(uri);
    return await next.describe();
  }
}

/** Pyro5's resourcetracking example: resources closed when the client goes. */
@behavior({ instanceMode: "single" })
@expose
export class ResourceService {
  /** Names of the resources that are allocated. */
  static allocated = new Set<string>();

  allocate(name: string): void {
    const resource = {
      name,
      close: () => ResourceService.allocated.delete(name),
    };
    ResourceService.allocated.add(name);
    currentContext()!.trackResource(resource);
  }

  free(name: string): void {
    const context = currentContext()!;
    for (const resource of context.client.trackedResources) {
      if ((resource as { name?: string }).name === name) {
        context.untrackResource(resource);
        resource.close();
      }
    }
  }

  list(): string[] {
    return [...ResourceService.allocated].sort();
  }
}

/** Forwards blobs to listeners without decoding them (Pyro5's blob-dispatch example). */
@expose
export class Dispatcher {
  #listeners = new Map<string, PyroProxy[]>();
  /** Whether the last blob was still serialized when forwarded. */
  forwardedSerialized: boolean[] = [];

  register(topic: string, listener: PyroProxy): void {
    const list = this.#listeners.get(topic) ?? [];
    list.push(listener);
    this.#listeners.set(topic, list);
  }

  async process_blob(blob: SerializedBlob): Promise<number> {
    const listeners = this.#listeners.get(String(blob.info)) ?? [];
    for (const listener of listeners) {
      this.forwardedSerialized.push(blob.containsBlob);
      await listener.process_blob(blob);
    }
    return listeners.length;
  }

  release(): void {
    for (const list of this.#listeners.values()) for (const p of list) p._pyroRelease();
    this.#listeners.clear();
  }
}

/** Receives blobs and decodes them. */
@expose
export class BlobListener {
  /** The decoded payloads. */
  readonly received: unknown[] = [];

  process_blob(blob: SerializedBlob): string {
    this.received.push(blob.deserialized());
    return "ok";
  }
}
