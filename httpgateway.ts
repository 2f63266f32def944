/**
 * The HTTP gateway: Pyro objects registered in a name server, called with HTTP and JSON from
 * browsers, `curl` and any HTTP client, as Pyro5's `pyro5-httpgateway` does, on `Deno.serve`.
 *
 * Pyro5's URL scheme and answers:
 *
 * | Request                                   | Answer                                                |
 * | ----------------------------------------- | ----------------------------------------------------- |
 * | `GET /`                                   | 302 to `/pyro/`                                       |
 * | `GET /pyro/`                              | the index page: exposed names, methods, attributes    |
 * | `GET or POST /pyro/<name>/<method>?k=v`   | 200, the result as JSON (the daemon's json bytes)     |
 * | `GET /pyro/<name>/<attribute>`            | 200, the attribute's value                            |
 * | `GET /pyro/<name>/$meta`                  | 200, `{"methods": [...], "attributes": [...]}`        |
 * | a remote or gateway error                 | 500, Pyro5's exception dict (`__class__`, `args`, ...) |
 * | wrong or missing gateway key              | 403 `403 Forbidden - incorrect gateway api key`       |
 * | a name outside the expose regex           | 403 `403 Forbidden - access to the requested ...`     |
 * | `OPTIONS /pyro/...` (CORS preflight)      | 200 `200 OK`                                          |
 * | other methods on `/pyro/...`              | 405; other paths 404                                  |
 *
 * Query parameters are the method's keyword arguments (strings; a repeated one becomes a
 * list; blank ones are left out, as Python's `parse_qs`). Beyond Pyro5's gateway, a `POST` with
 * `Content-Type: application/json` may carry the keyword arguments as a JSON object (any JSON
 * values), merged over the query's. Request headers: `X-Pyro-Gateway-Key` (or the `$key`
 * parameter), `X-Pyro-Correlation-Id` (a UUID, sent with the Pyro call and returned),
 * `X-Pyro-Options: oneway` (answer 200 with no body at once).
 *
 * Unlike Pyro5's gateway (a name lookup, a new proxy and a metadata fetch per request, one
 * request at a time), proxies are pooled per object name and requests are served concurrently.
 * The Pyro side speaks the json serializer, with Deno and Python daemons and name servers alike.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startHttpGateway } from "./httpgateway.ts";
 * import { startNameServer } from "./nameserver.ts";
 * import { Daemon, exposeObject } from "./server.ts";
 * import { locateNS } from "./client.ts";
 *
 * await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * // Query parameters are keyword arguments, bound to the method's parameters by name.
 * const calc = exposeObject({ add: (a: string, b: string) => Number(a) + Number(b) });
 * const uri = daemon.register(calc, "http.calc");
 * await using nsProxy = await locateNS("127.0.0.1", ns.uri.port!);
 * await nsProxy.register("http.calc", uri.toString());
 *
 * await using gateway = await startHttpGateway({
 *   host: "127.0.0.1", port: 0, nsHost: "127.0.0.1", nsPort: ns.uri.port!,
 * });
 * const response = await fetch(`${gateway.url}http.calc/add?a=1&b=2`);
 * assert.equal(response.status, 200);
 * assert.equal(await response.json(), 3);
 * ```
 *
 * @module
 */
import { defaultConfig, type PyroConfig } from "./config.ts";
import { CommunicationError, PyroError, RemoteError } from "./errors.ts";
import { MessageFlags } from "./protocol/message.ts";
import { errorToDict, JsonSerializer, type PyStringDict } from "./serializers/mod.ts";
import { ProxyPools } from "./_gateway_pool.ts";
import { INDEX_LIMIT, type IndexEntry, indexPage } from "./_gateway_page.ts";

/** Options of {@linkcode startHttpGateway}. */
export interface HttpGatewayOptions {
  /**
   * Host name or address to listen on.
   * @default {"localhost"}
   */
  host?: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default {8080}
   */
  port?: number;
  /**
   * Regex (Python syntax, matched at the start of the name as `re.match`) of the object names
   * that may be called; "" exposes every name.
   * @default {"http\\."}
   */
  expose?: string;
  /**
   * `Access-Control-Allow-Origin` sent with every answer; "" sends no CORS headers.
   * @default {"*"}
   */
  cors?: string;
  /**
   * The key a request must carry (`X-Pyro-Gateway-Key` header or `$key` parameter); "" for none.
   * @default {""}
   */
  gatewayKey?: string;
  /**
   * Seconds a Pyro connect or call may take (COMMTIMEOUT); 0 waits forever.
   * @default {config.COMMTIMEOUT}
   */
  timeout?: number;
  /**
   * The name server's host; "" locates it as Pyro5 does (NS_HOST, broadcast).
   * @default {""}
   */
  nsHost?: string;
  /**
   * The name server's port; 0 for NS_PORT.
   * @default {0}
   */
  nsPort?: number;
  /**
   * Most proxies (connections) per object name; more concurrent calls are pipelined on them.
   * @default {16}
   */
  poolSize?: number;
  /**
   * Seconds a name's lookup is reused before the name server is asked again.
   * @default {10}
   */
  lookupTtl?: number;
  /**
   * Largest JSON request body, in bytes (413 beyond).
   * @default {1048576}
   */
  maxBodySize?: number;
  /**
   * Configuration: NS_HOST, NS_PORT, NS_BCPORT, COMMTIMEOUT and the proxies' items.
   * @default {defaultConfig()}
   */
  config?: Readonly<PyroConfig>;
  /**
   * Where the gateway reports request errors (Pyro5 prints them to stderr).
   * @default {console.error}
   */
  log?: (line: string) => void;
  /**
   * Stops the gateway when aborted.
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** The defaults of {@linkcode HttpGatewayOptions}, as `pyro5-httpgateway`'s. */
export const HTTP_GATEWAY_DEFAULTS: Readonly<{
  host: string;
  port: number;
  expose: string;
  cors: string;
  poolSize: number;
  lookupTtl: number;
  maxBodySize: number;
}> = Object.freeze({
  host: "localhost",
  port: 8080,
  expose: "http\\.",
  cors: "*",
  poolSize: 16,
  lookupTtl: 10,
  maxBodySize: 1_048_576,
});

const JSON_TYPE = "application/json; charset=utf-8";
const { EXCEPTION, ITEM_STREAM_RESULT } = MessageFlags;
const JSON_SERIALIZER_ID = 3;

/** Query parameters, as Python's `parse_qs` then Pyro5's `singlyfy_parameters` leave them. */
type Parameters = Record<string, unknown>;

/**
 * A running HTTP gateway; `await using` or `close()` stops it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startHttpGateway } from "./httpgateway.ts";
 * await using gateway = await startHttpGateway({ host: "127.0.0.1", port: 0, nsHost: "127.0.0.1", nsPort: 1 });
 * const response = await fetch(gateway.url.replace("/pyro/", "/"), { redirect: "manual" });
 * await response.body?.cancel();
 * assert.equal(response.headers.get("location"), "/pyro/");
 * ```
 */
export class HttpGateway implements AsyncDisposable {
  #server: Deno.HttpServer<Deno.NetAddr>;
  #handler: GatewayHandler;

  /** @internal Made by {@linkcode startHttpGateway}. */
  constructor(server: Deno.HttpServer<Deno.NetAddr>, handler: GatewayHandler) {
    this.#server = server;
    this.#handler = handler;
  }

  /** The address the gateway listens on. */
  get addr(): Deno.NetAddr {
    return this.#server.addr;
  }

  /** The gateway's base URL, `http://host:port/pyro/`. */
  get url(): string {
    const { hostname, port } = this.addr;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    return `http://${host}:${port}/pyro/`;
  }

  /** Resolves when the gateway has stopped. */
  get finished(): Promise<void> {
    return this.#server.finished;
  }

  /**
   * Answers one request (to embed the gateway in another `Deno.serve` handler).
   *
   * @param request the HTTP request
   * @returns the answer
   */
  handle(request: Request): Promise<Response> {
    return this.#handler.handle(request);
  }

  /** Stops listening, ends the connections, closes the pooled proxies. Idempotent. */
  async close(): Promise<void> {
    this.#handler.close();
    try {
      await this.#server.shutdown();
    } catch { /* already stopped */ }
  }

  /** Same as {@linkcode HttpGateway.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts an HTTP gateway on `Deno.serve`. Needs `--allow-net`.
 *
 * @param options address, expose regex, CORS, gateway key, timeout, name server, pool sizes
 * @returns the running gateway
 * @throws {SyntaxError} for an expose regex JavaScript cannot read
 * @throws {Deno.errors.AddrInUse} when the port is taken
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startHttpGateway } from "./httpgateway.ts";
 * await using gateway = await startHttpGateway({ host: "127.0.0.1", port: 0, nsHost: "127.0.0.1", nsPort: 1 });
 * const response = await fetch(`${gateway.url}http.thing`);
 * assert.equal(response.status, 404);
 * assert.equal(await response.text(), "Error 404: Not Found");
 * ```
 */
export async function startHttpGateway(options: HttpGatewayOptions = {}): Promise<HttpGateway> {
  const handler = new GatewayHandler(options);
  const { promise: listening, resolve } = Promise.withResolvers<void>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.host ?? HTTP_GATEWAY_DEFAULTS.host,
      port: options.port ?? HTTP_GATEWAY_DEFAULTS.port,
      signal: options.signal,
      onListen: () => resolve(),
      onError: (error) => {
        handler.log(`ERROR: ${error instanceof Error ? error.stack : error}`);
        return textResponse(500, "Error 500: Internal Server Error", handler.cors);
      },
    }, (request) => handler.handle(request));
  } catch (error) {
    handler.close();
    throw error;
  }
  server.finished.then(() => handler.close());
  await listening;
  return new HttpGateway(server, handler);
}

/** Pyro5's `re.match` of a Python regex: anchored at the start only. */
function exposeMatcher(expose: string): RegExp | null {
  if (expose === "") return null;
  const source = expose.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>");
  return new RegExp(`^(?:${source})`);
}

/** Decodes a path as `urllib.parse.unquote` (bad escapes stay as they are). */
function unquote(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/(%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/** Python's `parse_qs` (blank values left out) then Pyro5's `singlyfy_parameters`. */
function parseQuery(query: string): Parameters {
  const lists = new Map<string, string[]>();
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const value = unquote(pair.slice(eq + 1).replaceAll("+", " "));
    if (value === "") continue;
    const key = unquote(pair.slice(0, eq).replaceAll("+", " "));
    const values = lists.get(key);
    if (values) values.push(value);
    else lists.set(key, [value]);
  }
  const parameters: Parameters = {};
  for (const [key, values] of lists) parameters[key] = values.length === 1 ? values[0] : values;
  return parameters;
}

/** Reads a UUID as Python's `uuid.UUID(text)`; returns its 16 bytes. */
function parseUuid(text: string): Uint8Array {
  const hex = text.replace(/^urn:uuid:/, "").replace(/^\{|\}$/g, "").replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    throw new RemoteError("builtins.ValueError", ["badly formed hexadecimal UUID string"]);
  }
  return Uint8Array.from(hex.match(/../g)!, (byte) => Number.parseInt(byte, 16));
}

/** A UUID's text form, as Python's `str(uuid)`. */
function uuidText(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

function randomUuid(): Uint8Array {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return bytes;
}

function corsHeaders(cors: string): Record<string, string> {
  if (cors === "") return {};
  return {
    "Access-Control-Allow-Origin": cors,
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
  };
}

function textResponse(status: number, text: string, cors: string): Response {
  return new Response(text, {
    status,
    headers: { "Content-Type": "text/plain", ...corsHeaders(cors) },
  });
}

/** Whether two keys are equal, in time that does not depend on where they differ. */
function sameKey(given: string, expected: Uint8Array): boolean {
  const bytes = new TextEncoder().encode(given);
  let diff = bytes.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= expected[i] ^ (bytes[i] ?? 0);
  return diff === 0;
}

/** Python's `json.dumps` (default `ensure_ascii=True`) of a value. */
function pythonJson(json: JsonSerializer, value: unknown): string {
  return new TextDecoder().decode(json.dumps(value)).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A request whose answer is decided before any Pyro call (status and text). */
class Refusal extends Error {
  constructor(readonly status: number, readonly text: string) {
    super(text);
  }
}

/** The gateway's request handling, apart from the HTTP server (so it can be embedded). */
class GatewayHandler {
  readonly cors: string;
  #expose: string;
  #exposeRegex: RegExp | null;
  #key: Uint8Array | null;
  #pools: ProxyPools;
  #json = new JsonSerializer({});
  #maxBodySize: number;
  #log: (line: string) => void;

  constructor(options: HttpGatewayOptions) {
    const config = options.config ?? defaultConfig();
    this.cors = options.cors ?? HTTP_GATEWAY_DEFAULTS.cors;
    this.#expose = options.expose ?? HTTP_GATEWAY_DEFAULTS.expose;
    this.#exposeRegex = exposeMatcher(this.#expose);
    this.#key = options.gatewayKey ? new TextEncoder().encode(options.gatewayKey) : null;
    this.#maxBodySize = options.maxBodySize ?? HTTP_GATEWAY_DEFAULTS.maxBodySize;
    this.#log = options.log ?? ((line) => console.error(line));
    this.#pools = new ProxyPools({
      config,
      timeout: options.timeout ?? config.COMMTIMEOUT,
      poolSize: Math.max(1, options.poolSize ?? HTTP_GATEWAY_DEFAULTS.poolSize),
      lookupTtl: options.lookupTtl ?? HTTP_GATEWAY_DEFAULTS.lookupTtl,
      nsHost: options.nsHost ?? "",
      nsPort: options.nsPort ?? 0,
    });
  }

  log(line: string): void {
    this.#log(line);
  }

  close(): void {
    this.#pools.close();
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = unquote(url.pathname).replace(/^\/+/, "");
    if (path === "") return new Response(null, { status: 302, headers: { Location: "/pyro/" } });
    if (!path.startsWith("pyro/")) return textResponse(404, "Error 404: Not Found", this.cors);
    if (request.method === "OPTIONS") return textResponse(200, "200 OK", this.cors);
    if (request.method !== "GET" && request.method !== "POST") {
      return textResponse(405, "Error 405: Method Not Allowed", this.cors);
    }
    try {
      const parameters = parseQuery(url.search.slice(1));
      if (request.method === "POST") Object.assign(parameters, await this.#bodyParameters(request));
      const rest = path.slice("pyro/".length);
      if (rest === "") return await this.#indexPage();
      const match = /^(.+)\/(.+)/.exec(rest);
      if (!match) return textResponse(404, "Error 404: Not Found", this.cors);
      return await this.#call(request, match[1], match[2], parameters);
    } catch (error) {
      if (error instanceof Refusal) return textResponse(error.status, error.text, this.cors);
      throw error;
    }
  }

  /** A POST's JSON object body as keyword arguments (none for other content types). */
  async #bodyParameters(request: Request): Promise<Parameters> {
    const type = request.headers.get("content-type") ?? "";
    if (!/^application\/json\b/i.test(type) || request.body === null) {
      await request.body?.cancel();
      return {};
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > this.#maxBodySize) {
      await request.body.cancel();
      throw new Refusal(413, "Error 413: Request body too large");
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of request.body) {
      size += chunk.length;
      if (size > this.#maxBodySize) throw new Refusal(413, "Error 413: Request body too large");
      chunks.push(chunk);
    }
    const text = new TextDecoder().decode(concat(chunks, size)).trim();
    if (text === "") return {};
    let body: unknown;
    try {
      body = this.#json.loads(new TextEncoder().encode(text));
    } catch (error) {
      throw new Refusal(400, `Error 400: Bad Request: invalid JSON body: ${errorText(error)}`);
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new Refusal(400, "Error 400: Bad Request: the JSON body must be an object");
    }
    return body as Parameters;
  }

  async #call(
    request: Request,
    name: string,
    method: string,
    parameters: Parameters,
  ): Promise<Response> {
    if (this.#key) {
      const given = request.headers.get("x-pyro-gateway-key") || parameters.$key;
      if (typeof given !== "string" || !sameKey(given, this.#key)) {
        return textResponse(403, "403 Forbidden - incorrect gateway api key", this.cors);
      }
      delete parameters.$key;
    }
    if (this.#exposeRegex && !this.#exposeRegex.test(name)) {
      return textResponse(
        403,
        "403 Forbidden - access to the requested object has been denied",
        this.cors,
      );
    }
    const options = (request.headers.get("x-pyro-options") ?? "").split(",");
    const oneway = options.includes("oneway");
    try {
      const lent = await this.#pools.acquire(name);
      let failed = false;
      try {
        const header = request.headers.get("x-pyro-correlation-id");
        const correlationId = header ? parseUuid(header) : randomUuid();
        const ok = (body: BodyInit | null) =>
          new Response(body, {
            status: 200,
            headers: {
              "Content-Type": JSON_TYPE,
              "X-Pyro-Correlation-Id": uuidText(correlationId),
              ...corsHeaders(this.cors),
            },
          });
        const proxy = lent.proxy;
        if (method === "$meta") {
          return ok(pythonJson(this.#json, {
            methods: [...proxy._pyroMethods],
            attributes: [...proxy._pyroAttrs],
          }));
        }
        let reply;
        if (proxy._pyroAttrs.has(method)) {
          if (Object.keys(parameters).length > 0) {
            throw new RemoteError("builtins.AssertionError", [
              "attribute lookup can't have query parameters",
            ]);
          }
          reply = await proxy._pyroInvokeRaw("__getattr__", { args: [method], correlationId });
        } else if (proxy._pyroMethods.has(method)) {
          reply = await proxy._pyroInvokeRaw(method, {
            kwargs: parameters as PyStringDict,
            oneway: oneway || proxy._pyroOneway.has(method),
            correlationId,
          });
        } else {
          throw new RemoteError("builtins.AttributeError", [
            `remote object '${proxy._pyroUri}' has no exposed attribute or method '${method}'`,
          ]);
        }
        if (reply === undefined || oneway) return ok(null);
        if (reply.serializerId !== JSON_SERIALIZER_ID) {
          throw new PyroError(`invalid serializer in response: ${reply.serializerId}`);
        }
        if (reply.flags & ITEM_STREAM_RESULT) {
          const stream = reply.annotations.get("STRM");
          if (stream) {
            await proxy._pyroInvoke(
              "close_stream",
              [new TextDecoder().decode(stream)],
              {},
              MessageFlags.ONEWAY,
              "Pyro.Daemon",
            ).catch(() => {});
          }
          throw new PyroError(
            `${method} returned an iterator: the HTTP gateway cannot stream its items`,
          );
        }
        if (reply.flags & EXCEPTION) {
          return new Response(reply.data as Uint8Array<ArrayBuffer>, {
            status: 500,
            headers: { "Content-Type": JSON_TYPE, ...corsHeaders(this.cors) },
          });
        }
        return ok(reply.data as Uint8Array<ArrayBuffer>);
      } catch (error) {
        failed = error instanceof CommunicationError;
        throw error;
      } finally {
        lent.release(failed);
      }
    } catch (error) {
      this.#log(`ERROR handling ${name}/${method}: ${errorText(error)}`);
      return this.#errorResponse(error);
    }
  }

  /** Pyro5's answer to an error in the gateway: 500 and the exception's class dict. */
  #errorResponse(error: unknown): Response {
    const failure = error instanceof Error ? error : new Error(String(error));
    const traceback = (failure as { remoteTraceback?: string[] }).remoteTraceback;
    const dict = errorToDict(failure, traceback?.length ? traceback : undefined);
    return new Response(pythonJson(this.#json, dict), {
      status: 500,
      headers: { "Content-Type": JSON_TYPE, ...corsHeaders(this.cors) },
    });
  }

  async #indexPage(): Promise<Response> {
    let nameServer: string;
    let names: string[];
    try {
      const ns = await this.#pools.nameServer();
      nameServer = ns._pyroUri.location ?? String(ns._pyroUri);
      const listed = await this.#pools.withNameServer((ns) => ns.list(null, this.#expose || null));
      names = Object.keys(listed as object).slice(0, INDEX_LIMIT).sort();
    } catch (error) {
      this.#log(`Name server error: ${errorText(error)}`);
      return textResponse(
        500,
        "Cannot connect to the Pyro name server. Is it running? Refresh page to retry.",
        this.cors,
      );
    }
    const entries = await Promise.all(names.map(async (name): Promise<IndexEntry> => {
      try {
        const lent = await this.#pools.acquire(name);
        lent.release();
        return {
          name,
          methods: [...lent.proxy._pyroMethods],
          attributes: [...lent.proxy._pyroAttrs],
        };
      } catch (error) {
        this.#log(`ERROR getting metadata for ${name}: ${errorText(error)}`);
        return {
          name,
          methods: error instanceof Error ? error : new Error(String(error)),
          attributes: [],
        };
      }
    }));
    return new Response(indexPage({ nameServer, expose: this.#expose, entries }), {
      status: 200,
      headers: { "Content-Type": "text/html", ...corsHeaders(this.cors) },
    });
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
