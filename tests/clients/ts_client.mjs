// Drives a herd MCP server with the official TypeScript SDK client
// (@modelcontextprotocol/sdk), over Streamable HTTP or stdio.
//
// Proves that herd interoperates with the TypeScript SDK: the handshake,
// tools, progress notifications, a server-to-client sampling request,
// resources and prompts, all against the conformance fixtures
// (`herd conformance-server`).
//
// Usage (the SDK is loaded from $HERD_TS_SDK_DIR/node_modules):
//   node ts_client.mjs [--token TOKEN] http URL
//   node ts_client.mjs [--token TOKEN] stdio HERD_BINARY [ARG...]
//       (ARG... defaults to `conformance-server --stdio`; the token is passed
//       to the child as HERD_TOKEN)
//
// Prints one JSON summary line on stdout; exits 1 if any check failed.

import { pathToFileURL } from "node:url";
import path from "node:path";

const SAMPLING_ANSWER = "canned answer from the typescript client";
const CALL_TIMEOUT_MS = 30_000;

function usage(msg) {
  console.error(`ts_client: ${msg}\nusage: ts_client.mjs [--token T] http URL | stdio HERD_BINARY [ARG...]`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { token: undefined };
  if (argv[0] === "--token") {
    args.token = argv[1];
    argv = argv.slice(2);
  }
  args.transport = argv[0];
  if (args.transport === "http" && argv.length === 2) {
    args.url = argv[1];
  } else if (args.transport === "stdio" && argv.length >= 2) {
    args.binary = argv[1];
    args.args = argv.length > 2 ? argv.slice(2) : ["conformance-server", "--stdio"];
  } else {
    usage("bad arguments");
  }
  return args;
}

async function loadSdk() {
  const dir = process.env.HERD_TS_SDK_DIR;
  if (!dir) usage("HERD_TS_SDK_DIR is not set (run scripts/test-deps, then source .cache/test-deps.env)");
  const esm = path.join(dir, "node_modules/@modelcontextprotocol/sdk/dist/esm");
  const load = (rel) => import(pathToFileURL(path.join(esm, rel)).href);
  const [client, http, stdio, types] = await Promise.all([
    load("client/index.js"),
    load("client/streamableHttp.js"),
    load("client/stdio.js"),
    load("types.js"),
  ]);
  return { ...client, ...http, ...stdio, ...types };
}

// Records, in arrival order, the progress notifications and responses the
// transport delivers, and the ids of outgoing tools/call requests by tool name.
function tapWire(transport) {
  const wire = { events: [], callIds: new Map() };
  const onmessage = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (message.method === "notifications/progress") {
      wire.events.push({ token: message.params.progressToken, progress: message.params.progress });
    } else if (message.id !== undefined && message.method === undefined) {
      wire.events.push({ response: message.id });
    }
    onmessage?.(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    if (message.method === "tools/call") wire.callIds.set(message.params?.name, message.id);
    return send(message, options);
  };
  return wire;
}

const textOf = (content) => content.filter((c) => c.type === "text").map((c) => c.text);

async function exercise(client, wire, check, summary) {
  const version = client.getServerVersion();
  summary.serverName = version?.name ?? null;
  summary.capabilities = Object.keys(client.getServerCapabilities() ?? {}).sort();
  check("initialize", Boolean(version?.name), "no serverInfo");

  const { tools } = await client.listTools();
  const names = new Set(tools.map((t) => t.name));
  summary.tools = names.size;
  const missing = ["test_simple_text", "test_tool_with_progress", "test_sampling"].filter((n) => !names.has(n));
  check("list_tools", missing.length === 0, `missing ${missing}`);

  const opts = { timeout: CALL_TIMEOUT_MS };
  const simple = await client.callTool({ name: "test_simple_text", arguments: {} }, undefined, opts);
  summary.simpleText = textOf(simple.content)[0] ?? null;
  check("call_simple_text", !simple.isError && Boolean(summary.simpleText), JSON.stringify(simple));

  // The SDK (1.x) hands a progress notification to the callback a microtask
  // later, but retires the callback as soon as the response is read; when the
  // last notification and the response arrive in one read, the callback never
  // sees it (typescript-sdk issue #2580). So the wire is checked through the
  // tap (all 3 notifications, before the response) and the callback must see
  // a non-empty prefix of them.
  const callback = [];
  wire.events.length = 0;
  const prog = await client.callTool({ name: "test_tool_with_progress", arguments: {} }, undefined, {
    ...opts,
    onprogress: (p) => callback.push(p.progress),
  });
  const id = wire.callIds.get("test_tool_with_progress");
  const answeredAt = wire.events.findIndex((e) => e.response === id);
  const progress = wire.events.slice(0, answeredAt).filter((e) => e.token === id).map((e) => e.progress);
  summary.progress = progress;
  summary.progressCallback = callback;
  const rising = progress.every((v, i) => i === 0 || progress[i - 1] <= v);
  const prefix = callback.length > 0 && callback.every((v, i) => v === progress[i]);
  check(
    "call_with_progress",
    !prog.isError && answeredAt >= 0 && progress.length === 3 && rising && prefix,
    `progress before the result ${progress}, callback ${callback}, events ${JSON.stringify(wire.events)}`,
  );

  const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "Say something" } }, undefined, opts);
  summary.samplingResult = textOf(sampled.content).join(" ");
  check("call_sampling", !sampled.isError && summary.samplingResult.includes(SAMPLING_ANSWER), JSON.stringify(sampled));

  const res = await client.readResource({ uri: "test://static-text" }, opts);
  summary.resourceText = res.contents[0]?.text ?? null;
  check("read_resource", Boolean(summary.resourceText), JSON.stringify(res));

  const prompt = await client.getPrompt({ name: "test_simple_prompt" }, opts);
  summary.promptMessages = prompt.messages.length;
  check("get_prompt", prompt.messages.length >= 1, JSON.stringify(prompt));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const summary = { client: "typescript", transport: args.transport };
  const checks = {};
  const check = (name, ok, detail) => {
    checks[name] = ok ? true : detail || "failed";
  };

  let client;
  try {
    const sdk = await loadSdk();
    client = new sdk.Client({ name: "herd-ts-test-client", version: "1.0.0" }, { capabilities: { sampling: {} } });
    client.setRequestHandler(sdk.CreateMessageRequestSchema, async () => ({
      role: "assistant",
      content: { type: "text", text: SAMPLING_ANSWER },
      model: "canned-model",
      stopReason: "endTurn",
    }));
    let transport;
    if (args.transport === "http") {
      const headers = args.token ? { Authorization: `Bearer ${args.token}` } : undefined;
      transport = new sdk.StreamableHTTPClientTransport(new URL(args.url), { requestInit: { headers } });
    } else {
      const env = { PATH: process.env.PATH ?? "", HERD_LOG: "warn" };
      if (args.token) env.HERD_TOKEN = args.token;
      transport = new sdk.StdioClientTransport({ command: args.binary, args: args.args, env, stderr: "inherit" });
    }
    await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
    await exercise(client, tapWire(transport), check, summary);
    check("completed", true);
  } catch (err) {
    console.error(err?.stack ?? String(err));
    check("completed", false, String(err?.message ?? err));
  } finally {
    await client?.close().catch((e) => console.error(`close: ${e}`));
  }
  summary.checks = checks;
  summary.ok = Object.keys(checks).length > 0 && Object.values(checks).every((v) => v === true);
  console.log(JSON.stringify(summary));
  process.exit(summary.ok ? 0 : 1);
}

await main();
