// Sends JSON-RPC batches to a herd server with the official TypeScript SDK's
// Streamable HTTP client transport (@modelcontextprotocol/sdk 1.x), on a
// session of protocol revision 2025-03-26, the one revision that has them.
//
// The transport sends an array as one POST and hands each message of the
// answer (a JSON array, or an SSE stream) to `onmessage`; this script matches
// the answers to the requests by id. It checks: a batch of notifications
// only, a batch of requests (tools/list and ping, then a tool call, a ping
// and a list), and that a batch of more than 100 messages is refused.
//
// Usage (the SDK is loaded from $HERD_TS_SDK_DIR/node_modules):
//   node ts_batch_client.mjs URL
//
// Prints one JSON summary line on stdout; exits 1 if any check failed.

import { pathToFileURL } from "node:url";
import path from "node:path";

const ANSWER_TIMEOUT_MS = 30_000;

const url = process.argv[2];
const dir = process.env.HERD_TS_SDK_DIR;
if (!url || !dir) {
  console.error("usage: HERD_TS_SDK_DIR=... node ts_batch_client.mjs URL");
  process.exit(2);
}
const esm = path.join(dir, "node_modules/@modelcontextprotocol/sdk/dist/esm");
const { StreamableHTTPClientTransport } = await import(pathToFileURL(path.join(esm, "client/streamableHttp.js")).href);

const transport = new StreamableHTTPClientTransport(new URL(url));
const waiting = new Map();
const answers = [];
transport.onmessage = (message) => {
  if (message.id === undefined || message.method !== undefined) return;
  answers.push(message.id);
  const resolve = waiting.get(message.id);
  waiting.delete(message.id);
  resolve?.(message);
};
transport.onerror = (err) => console.error(`transport error: ${err}`);

function answerTo(id) {
  return new Promise((resolve, reject) => {
    waiting.set(id, resolve);
    setTimeout(() => reject(new Error(`no answer to request ${id}`)), ANSWER_TIMEOUT_MS).unref();
  });
}

const request = (id, method, params) => ({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) });
const checks = {};
const summary = { client: "typescript", checks };
try {
  await transport.start();
  const initialized = answerTo(0);
  await transport.send(
    request(0, "initialize", {
      protocolVersion: "2025-03-26",
      capabilities: {},
      clientInfo: { name: "herd-batch-test", version: "1.0.0" },
    }),
  );
  const init = await initialized;
  summary.protocolVersion = init.result?.protocolVersion;
  checks.initialize = summary.protocolVersion === "2025-03-26";
  transport.setProtocolVersion?.(summary.protocolVersion);

  // Notifications only: 202, nothing comes back.
  await transport.send([
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { jsonrpc: "2.0", method: "notifications/roots/list_changed" },
  ]);
  checks.notifications = true;

  const first = [answerTo(1), answerTo(2)];
  await transport.send([request(1, "tools/list"), request(2, "ping")]);
  const [list, ping] = await Promise.all(first);
  const names = (list.result?.tools ?? []).map((t) => t.name);
  summary.tools = names.length;
  checks.list_and_ping = names.length > 0 && ping.result !== undefined;

  const simple = names.find((n) => n.endsWith("test_simple_text"));
  const second = [answerTo("call"), answerTo(4), answerTo(5)];
  await transport.send([
    request("call", "tools/call", { name: simple, arguments: {} }),
    request(4, "ping"),
    request(5, "prompts/list"),
  ]);
  const [call, ping2, prompts] = await Promise.all(second);
  summary.simpleText = call.result?.content?.[0]?.text;
  summary.prompts = prompts.result?.prompts?.length ?? 0;
  checks.three_requests = summary.simpleText !== undefined && ping2.result !== undefined && summary.prompts > 0;

  const pings = Array.from({ length: 101 }, (_, i) => request(100 + i, "ping"));
  try {
    await transport.send(pings);
    checks.oversize_refused = false;
  } catch (err) {
    summary.oversizeError = String(err);
    checks.oversize_refused = String(err).includes("400") || String(err).includes("100");
  }
  summary.answeredIds = answers;
  await transport.close();
} catch (err) {
  summary.error = String(err?.stack ?? err);
}
summary.ok = summary.error === undefined && Object.values(checks).every(Boolean) && Object.keys(checks).length === 5;
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
