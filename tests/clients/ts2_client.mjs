// Drives a herd MCP server with the TypeScript SDK v2 client
// (@modelcontextprotocol/client 2.x) over Streamable HTTP.
//
// The v2 client still defaults to the 2025 `initialize` handshake; `auto`
// mode sets `versionNegotiation: { mode: 'auto' }`, so the client probes
// `server/discover` and speaks protocol revision 2026-07-28 when the server
// answers it (falling back to `initialize` when it gives no modern evidence).
// `legacy` mode leaves the SDK default.
//
// Against the conformance fixtures (`herd conformance-server`) it lists the
// tools, calls `test_simple_text`, and calls
// `test_input_required_result_elicitation`, answering the elicitation through
// the client's `elicitation/create` handler with {"name": "Alice"}. On the
// 2026 wire the SDK gets an `input_required` result and retries the call
// itself with `inputResponses`; on the 2025 wire the server sends
// `elicitation/create` as a request of its own.
//
// Every HTTP request the client makes is recorded (method, MCP headers, body
// method and `_meta` version, `inputResponses` keys, answer status), so the
// caller can check the wire, not only what the SDK reports.
//
// Usage (the SDK is loaded from $HERD_TS_SDK_V2_DIR/node_modules):
//   node ts2_client.mjs [--token TOKEN] URL auto|legacy
//
// Prints one JSON summary line on stdout; exits 1 if any check failed.

import { pathToFileURL } from "node:url";
import path from "node:path";

const ELICITATION_TOOL = "test_input_required_result_elicitation";
const ELICITATION_ANSWER = { name: "Alice" };
const PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion";
const CALL_TIMEOUT_MS = 30_000;
const WIRE_HEADERS = ["mcp-protocol-version", "mcp-method", "mcp-name", "mcp-session-id"];

function usage(msg) {
  console.error(`ts2_client: ${msg}\nusage: ts2_client.mjs [--token T] URL auto|legacy`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { token: undefined };
  if (argv[0] === "--token") {
    args.token = argv[1];
    argv = argv.slice(2);
  }
  if (argv.length !== 2 || !["auto", "legacy"].includes(argv[1])) usage("bad arguments");
  [args.url, args.mode] = argv;
  return args;
}

async function loadSdk() {
  const dir = process.env.HERD_TS_SDK_V2_DIR;
  if (!dir) usage("HERD_TS_SDK_V2_DIR is not set (run scripts/test-deps, then source .cache/test-deps.env)");
  const entry = path.join(dir, "node_modules/@modelcontextprotocol/client/dist/index.mjs");
  return import(pathToFileURL(entry).href);
}

// The JSON-RPC facts of a POST body that the tests look at.
function describeBody(raw) {
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    return { body: "unparsable" };
  }
  if (Array.isArray(body)) return { body: "batch" };
  if (body === null || typeof body !== "object") return { body: "other" };
  const out = {};
  if (typeof body.method === "string") {
    out.method = body.method;
    out.kind = body.id !== undefined ? "request" : "notification";
  } else {
    out.kind = body.error !== undefined ? "error" : "response";
  }
  const params = body.params;
  if (params && typeof params === "object") {
    const meta = params._meta;
    if (meta && typeof meta === "object" && PROTOCOL_VERSION_META in meta) out.metaProtocolVersion = meta[PROTOCOL_VERSION_META];
    if (typeof params.name === "string") out.name = params.name;
    if (params.inputResponses && typeof params.inputResponses === "object") out.inputResponses = Object.keys(params.inputResponses).sort();
    if ("requestState" in params) out.requestState = true;
  }
  return out;
}

// A fetch that records every exchange in `wire`, in the order the requests
// were sent; `inflight` holds the exchanges not settled yet (a reply POST may
// still be on its way when the call it answered has returned).
function recordingFetch(wire, inflight) {
  const record = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    const entry = { http: init.method ?? "GET" };
    for (const name of WIRE_HEADERS) if (headers.has(name)) entry[name] = headers.get(name);
    if (entry.http === "POST" && typeof init.body === "string") Object.assign(entry, describeBody(init.body));
    wire.push(entry);
    const response = await fetch(url, init);
    entry.status = response.status;
    entry.contentType = (response.headers.get("content-type") ?? "").split(";")[0].trim();
    return response;
  };
  return (url, init) => {
    const exchange = record(url, init);
    inflight.add(exchange);
    exchange.finally(() => inflight.delete(exchange)).catch(() => {});
    return exchange;
  };
}

const textOf = (content) => content.filter((c) => c.type === "text").map((c) => c.text);

async function exercise(client, check, summary, elicitations) {
  summary.protocolVersion = client.getNegotiatedProtocolVersion() ?? null;
  summary.serverName = client.getServerVersion()?.name ?? null;
  check("connect", Boolean(summary.protocolVersion), "no negotiated protocol version");

  const opts = { timeout: CALL_TIMEOUT_MS };
  const { tools } = await client.listTools(undefined, opts);
  const names = new Set(tools.map((t) => t.name));
  summary.tools = names.size;
  const missing = ["test_simple_text", ELICITATION_TOOL].filter((n) => !names.has(n));
  check("list_tools", missing.length === 0, `missing ${missing}`);

  const simple = await client.callTool({ name: "test_simple_text", arguments: {} }, opts);
  summary.simpleText = textOf(simple.content)[0] ?? null;
  check("call_simple_text", !simple.isError && Boolean(summary.simpleText), JSON.stringify(simple));

  const elicited = await client.callTool({ name: ELICITATION_TOOL, arguments: {} }, opts);
  summary.elicitationText = textOf(elicited.content).join(" ");
  summary.elicitations = elicitations;
  check(
    "call_elicitation",
    !elicited.isError && elicitations.length === 1 && summary.elicitationText.includes("Alice"),
    `elicitations ${JSON.stringify(elicitations)}, result ${JSON.stringify(elicited)}`,
  );
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const summary = { client: "typescript2", mode: args.mode };
  const checks = {};
  const check = (name, ok, detail) => {
    checks[name] = ok ? true : detail || "failed";
  };
  const wire = [];
  const inflight = new Set();
  const elicitations = [];

  let client;
  try {
    const sdk = await loadSdk();
    const options = { capabilities: { elicitation: { form: {} } } };
    if (args.mode === "auto") options.versionNegotiation = { mode: "auto" };
    client = new sdk.Client({ name: "herd-ts2-test-client", version: "1.0.0" }, options);
    client.setRequestHandler("elicitation/create", async (request) => {
      elicitations.push({ message: request.params?.message ?? null });
      return { action: "accept", content: ELICITATION_ANSWER };
    });
    const headers = args.token ? { Authorization: `Bearer ${args.token}` } : undefined;
    const transport = new sdk.StreamableHTTPClientTransport(new URL(args.url), {
      requestInit: { headers },
      fetch: recordingFetch(wire, inflight),
    });
    await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
    await exercise(client, check, summary, elicitations);
    check("completed", true);
  } catch (err) {
    console.error(err?.stack ?? String(err));
    check("completed", false, String(err?.message ?? err));
  } finally {
    await Promise.allSettled([...inflight]);
    await client?.close().catch((e) => console.error(`close: ${e}`));
  }
  summary.wire = wire;
  summary.checks = checks;
  summary.ok = Object.keys(checks).length > 0 && Object.values(checks).every((v) => v === true);
  console.log(JSON.stringify(summary));
  process.exit(summary.ok ? 0 : 1);
}

await main();
