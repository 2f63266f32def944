/**
 * Headless Chromium for browser tests, driven over the Chrome DevTools protocol on a WebSocket
 * (no npm package). Debian's `chromium` is installed on first use and cached by
 * `scripts/install_chromium.sh`.
 *
 * Permissions: `--allow-run --allow-read --allow-write --allow-net=127.0.0.1 --allow-env`.
 *
 * @module
 */
import { repoPath } from "./_peer.ts";

const STARTUP_MS = 60_000;
const COMMAND_MS = 30_000;

let installed: Promise<string> | undefined;

/** The command that runs Chromium (installing it once, cached; a failed install is retried). */
export function chromiumCommand(): Promise<string> {
  if (!installed) {
    installed = (async () => {
      const output = await new Deno.Command("bash", {
        args: [repoPath("scripts/install_chromium.sh")],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(output.stdout).trim();
      if (!output.success) {
        const stderr = new TextDecoder().decode(output.stderr);
        throw new Error(`scripts/install_chromium.sh failed (${output.code}): ${stderr}`);
      }
      const command = text.split("\n").at(-1)?.trim();
      if (!command) throw new Error("scripts/install_chromium.sh printed no command");
      return command;
    })();
    installed.catch(() => (installed = undefined));
  }
  return installed;
}

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** One DevTools protocol connection (the browser's), with flat sessions for pages. */
class DevTools {
  #socket: WebSocket;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Set<
    (method: string, params: Record<string, unknown>, session?: string) => void
  >();

  constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data));
      if (typeof message.id === "number") {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) pending?.reject(new Error(`DevTools: ${message.error.message}`));
        else pending?.resolve(message.result ?? {});
      } else if (typeof message.method === "string") {
        for (const listener of this.#listeners) {
          listener(message.method, message.params ?? {}, message.sessionId);
        }
      }
    };
    socket.onclose = () => {
      for (const pending of this.#pending.values()) pending.reject(new Error("DevTools closed"));
      this.#pending.clear();
    };
  }

  static async connect(url: string): Promise<DevTools> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot open the DevTools WebSocket ${url}`));
    });
    return new DevTools(socket);
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      reject(new Error(`DevTools: ${method} got no answer in ${COMMAND_MS} ms`));
    }, COMMAND_MS);
    this.#pending.set(id, {
      resolve: (r) => (clearTimeout(timer), resolve(r)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    });
    this.#socket.send(JSON.stringify({ id, method, params, sessionId }));
    return promise;
  }

  /** Resolves with the next event `method` of a session (bounded). */
  event(method: string, sessionId: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const listener = (m: string, params: Record<string, unknown>, session?: string) => {
        if (m !== method || session !== sessionId) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(params);
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(new Error(`DevTools: no ${method} in ${COMMAND_MS} ms`));
      }, COMMAND_MS);
      this.#listeners.add(listener);
    });
  }

  on(listener: (method: string, params: Record<string, unknown>, session?: string) => void) {
    this.#listeners.add(listener);
  }

  close(): void {
    this.#socket.close();
  }
}

/** A browser tab. */
export class Page {
  #tools: DevTools;
  #session: string;
  /** Uncaught exceptions and console errors the page reported. */
  readonly errors: string[] = [];

  constructor(tools: DevTools, session: string) {
    this.#tools = tools;
    this.#session = session;
    tools.on((method, params, session) => {
      if (session !== this.#session) return;
      if (method === "Runtime.exceptionThrown") {
        const details = params.exceptionDetails as {
          text?: string;
          exception?: { description?: string };
        };
        this.errors.push(details.exception?.description ?? details.text ?? "exception");
      } else if (method === "Runtime.consoleAPICalled" && params.type === "error") {
        const args = params.args as { value?: unknown; description?: string }[];
        this.errors.push(args.map((a) => a.description ?? String(a.value)).join(" "));
      }
    });
  }

  /** Loads a URL and waits for its load event. */
  async goto(url: string): Promise<void> {
    const loaded = this.#tools.event("Page.loadEventFired", this.#session);
    const result = await this.#tools.send("Page.navigate", { url }, this.#session);
    if (result.errorText) throw new Error(`cannot load ${url}: ${result.errorText}`);
    await loaded;
  }

  /** Evaluates an expression in the page (awaiting a promise), returning its JSON value. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const result = await this.#tools.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    }, this.#session);
    const details = result.exceptionDetails as {
      text?: string;
      exception?: { description?: string };
    } | undefined;
    if (details) throw new Error(`in the page: ${details.exception?.description ?? details.text}`);
    return (result.result as { value: T }).value;
  }

  /** Polls an expression until it is truthy (bounded), returning its value. */
  async waitFor<T = unknown>(expression: string, limitMs = COMMAND_MS): Promise<T> {
    const end = Date.now() + limitMs;
    for (;;) {
      const value = await this.evaluate<T>(expression);
      if (value) return value;
      if (Date.now() > end) {
        throw new Error(
          `timed out waiting for ${expression}; page errors: ${this.errors.join("; ")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A PNG screenshot of the page. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.#tools.send(
      "Page.captureScreenshot",
      { format: "png" },
      this.#session,
    );
    return Uint8Array.from(atob(String(data)), (c) => c.charCodeAt(0));
  }
}

/** A running headless Chromium; `await using` ends it (by its PID) and removes its profile. */
export class Browser implements AsyncDisposable {
  #process: Deno.ChildProcess;
  #tools: DevTools;
  #profile: string;

  private constructor(process: Deno.ChildProcess, tools: DevTools, profile: string) {
    this.#process = process;
    this.#tools = tools;
    this.#profile = profile;
  }

  /** The browser process's id. */
  get pid(): number {
    return this.#process.pid;
  }

  /** Starts headless Chromium with a fresh profile and connects to its DevTools endpoint. */
  static async launch(): Promise<Browser> {
    const command = await chromiumCommand();
    const profile = await Deno.makeTempDir({ prefix: "pyro-chromium-" });
    const process = new Deno.Command(command, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const url = await devToolsUrl(process);
      return new Browser(process, await DevTools.connect(url), profile);
    } catch (error) {
      await kill(process);
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** Opens a new tab. */
  async newPage(): Promise<Page> {
    const { targetId } = await this.#tools.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.#tools.send("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = new Page(this.#tools, String(sessionId));
    await this.#tools.send("Page.enable", {}, String(sessionId));
    await this.#tools.send("Runtime.enable", {}, String(sessionId));
    return page;
  }

  /** Closes the browser (politely, then SIGKILL by PID) and removes its profile. */
  async close(): Promise<void> {
    await within(this.#tools.send("Browser.close").then(() => {}, () => {}), 3000, undefined);
    this.#tools.close();
    await kill(this.#process);
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Reads Chromium's stderr until it prints its DevTools WebSocket URL (bounded). */
async function devToolsUrl(process: Deno.ChildProcess): Promise<string> {
  const decoded = process.stderr.pipeThrough(new TextDecoderStream());
  const reader = decoded.getReader();
  const timer = setTimeout(() => reader.cancel().catch(() => {}), STARTUP_MS);
  let text = "";
  try {
    for (;;) {
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (match) return match[1];
      const { value, done } = await reader.read();
      if (done) throw new Error(`chromium did not start:\n${text}`);
      text += value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
    // Keep draining its log so Chromium never blocks on a full pipe.
    decoded.pipeTo(new WritableStream()).catch(() => {});
  }
}

/** Resolves with the promise's value, or with `fallback` after `ms` (its timer cleared). */
async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ends the process: waits a little for it to exit, then SIGKILL by its PID. */
async function kill(process: Deno.ChildProcess): Promise<void> {
  const exited = await within(process.status.then(() => true), 3000, false);
  if (!exited) {
    try {
      Deno.kill(process.pid, "SIGKILL");
    } catch { /* gone meanwhile */ }
    await process.status;
  }
}
