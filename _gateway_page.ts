/**
 * The HTTP gateway's index page (`/pyro/`): the exposed names of the name server with their
 * methods and attributes, each a link that calls it through the gateway, and the small
 * `pyro_call(name, method, params)` JavaScript function a page uses to do the same (the one
 * Pyro5's page shows: a `fetch` of `name/method?params`, the call shown in `#pyro_call`, the
 * JSON answer or the error in `#pyro_response`).
 *
 * @module
 */

/** One exposed name on the index page. */
export interface IndexEntry {
  /** The name in the name server. */
  name: string;
  /** Its remote methods, or the error met while asking for them. */
  methods: string[] | Error;
  /** Its remote attributes. */
  attributes: string[];
}

/** What the index page shows. */
export interface IndexPageData {
  /** Where the name server is (`host:port`). */
  nameServer: string;
  /** The regex of exposed names ("" exposes all). */
  expose: string;
  /** The exposed names (at most {@linkcode INDEX_LIMIT}). */
  entries: IndexEntry[];
}

/** How many names the index page lists, as Pyro5's. */
export const INDEX_LIMIT = 10;

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** A link that calls `name/method` through the page's `pyro_call`. */
function callLink(name: string, method: string, label: string, params?: object): string {
  const args = [name, method, ...(params ? [params] : [])].map((a) => JSON.stringify(a));
  const onclick = `pyro_call(${args.join(", ")}); return false;`;
  return `<a href="#" onclick="${escapeHtml(onclick)}">${escapeHtml(label)}</a>`;
}

function entryRow(entry: IndexEntry): string {
  const methods = entry.methods instanceof Error
    ? `??error: ${escapeHtml(entry.methods.message)}??`
    : entry.methods.map(escapeHtml).join(" &nbsp; ") || "-";
  const attributes = entry.attributes.map((a) => callLink(entry.name, a, a)).join(" &nbsp; ") ||
    "-";
  return `<tr><td>${
    callLink(entry.name, "$meta", entry.name)
  }</td><td>${methods}</td><td>${attributes}</td></tr>`;
}

const SCRIPT = `
"use strict";
// Calls name/method through this gateway, with params (an object) as the query string.
// Headers the gateway reads: X-Pyro-Gateway-Key (the api key), X-Pyro-Correlation-Id
// (a UUID sent along with the Pyro call) and X-Pyro-Options ("oneway").
async function pyro_call(name, method, params) {
  let url = name + "/" + method;
  if (params) url += "?" + new URLSearchParams(params).toString();
  document.getElementById("pyro_call").innerText = "GET " + url;
  const response = await fetch(url, { headers: { "Accept": "application/json" } });
  const text = await response.text();
  const shown = document.getElementById("pyro_response");
  if (response.status >= 400) {
    shown.innerText = "SERVER ERROR " + response.status + "\\n" + text;
    throw new Error(shown.innerText);
  }
  shown.innerText = text === "" ? "(no response: oneway)" : JSON.stringify(JSON.parse(text), null, 4);
}
`;

/**
 * Renders the index page.
 *
 * @param data the name server's location, the expose regex and the exposed names
 * @returns the HTML document
 */
export function indexPage(data: IndexPageData): string {
  const table = data.entries.length === 0
    ? "<p>(no exposed names registered)</p>"
    : `<table><tr><th>Name</th><th>methods</th><th>attributes</th></tr>${
      data.entries.map(entryRow).join("")
    }</table>`;
  const examples = [
    ["Pyro.NameServer", "$meta", undefined, "the name server's methods"],
    ["Pyro.NameServer", "list", undefined, "every registered name"],
    ["Pyro.NameServer", "list", { prefix: "test." }, "the names starting with 'test.'"],
    ["Pyro.NameServer", "lookup", { name: "test.echoserver" }, "the echo server's URI"],
    ["test.echoserver", "echo", { message: "Hello from the browser" }, "echoes the message"],
    ["test.echoserver", "error", undefined, "a remote error (status 500)"],
  ] as const;
  const exampleItems = examples.map(([name, method, params, what]) => {
    const query = params ? `?${new URLSearchParams(params)}` : "";
    return `<li>${callLink(name, method, `${name}/${method}${query}`, params)} &mdash; ${
      escapeHtml(what)
    }</li>`;
  }).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Pyro HTTP gateway</title>
<style>
body { margin: 1em; color: #202020; background: white; font-family: sans-serif; }
table, th, td { border: 1px solid #bbf; padding: 4px; }
table { border-collapse: collapse; }
pre { border: 1px solid #bbf; padding: 1ex; margin: 1ex; white-space: pre-wrap; }
</style>
<script>${SCRIPT}</script>
</head>
<body>
<h1>Pyro HTTP gateway</h1>
<p>Call Pyro objects with HTTP and JSON: <code>GET /pyro/&lt;name&gt;/&lt;method&gt;?arg=value</code>.
Connections to the objects are pooled and reused between requests.</p>
<h2>Exposed names in the name server at ${escapeHtml(data.nameServer)}</h2>
<p>(at most ${INDEX_LIMIT} names; expose pattern: <code id="expose">${
    escapeHtml(data.expose)
  }</code>)</p>
${table}
<h2>Examples</h2>
<p>These work when the name server and the echo server (<code>test.echoserver</code>) are exposed.</p>
<ul>
${exampleItems}
</ul>
<h2>Last call</h2>
Call: <pre id="pyro_call"> </pre>
Response: <pre id="pyro_response"> </pre>
<p>pyro-deno, speaking Pyro5's protocol.</p>
</body>
</html>
`;
}
