"""Drives a herd MCP server with the Python SDK 2.x client (PyPI `mcp` 2.3).

The 2.x client speaks protocol revision 2026-07-28 by default: it probes
`server/discover` and falls back to the `initialize` handshake only when the
server gives no modern evidence. `legacy` mode forces the handshake
(`Client(mode="legacy")`), the 2025 wire byte for byte.

Against the conformance fixtures (`herd conformance-server`) it lists the
tools, calls `test_simple_text`, and calls
`test_input_required_result_elicitation`, answering the elicitation through
the SDK's elicitation callback with {"name": "Alice"}. On the 2026 wire the
SDK gets an `input_required` result and retries the call itself with
`inputResponses`; on the 2025 wire the server sends `elicitation/create` as a
request of its own.

Every HTTP request the client makes is recorded (method, MCP headers, body
method and `_meta` version, `inputResponses` keys, answer status), so the
caller can check the wire, not only what the SDK reports.

Usage:
  py2_client.py [--token TOKEN] URL default|legacy

Prints one JSON summary line on stdout; exits 1 if any check failed.
"""

import argparse
import json
import sys
import traceback

import anyio
import httpx2
import mcp.types as types
from mcp import Client, Implementation
from mcp.client.streamable_http import streamable_http_client

ELICITATION_TOOL = "test_input_required_result_elicitation"
ELICITATION_ANSWER = {"name": "Alice"}
PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"
CALL_TIMEOUT_S = 30
WIRE_HEADERS = ("mcp-protocol-version", "mcp-method", "mcp-name", "mcp-session-id")


class Checks:
    """Records named checks; a failed check keeps its reason."""

    def __init__(self):
        self.results = {}

    def check(self, name, ok, detail=""):
        self.results[name] = True if ok else (detail or "failed")

    def ok(self):
        return bool(self.results) and all(v is True for v in self.results.values())


class Wire:
    """The HTTP exchanges of one run, in the order the requests were sent."""

    def __init__(self):
        self.entries = []
        self._by_request = {}

    async def on_request(self, request):
        entry = {"http": request.method}
        for name in WIRE_HEADERS:
            if name in request.headers:
                entry[name] = request.headers[name]
        if request.method == "POST":
            entry.update(describe_body(request.content))
        self._by_request[id(request)] = entry
        self.entries.append(entry)

    async def on_response(self, response):
        entry = self._by_request.pop(id(response.request), None)
        if entry is not None:
            entry["status"] = response.status_code
            entry["contentType"] = response.headers.get("content-type", "").split(";")[0].strip()


def describe_body(raw):
    """The JSON-RPC facts of a POST body that the tests look at."""
    try:
        body = json.loads(raw)
    except ValueError:
        return {"body": "unparsable"}
    if not isinstance(body, dict):
        return {"body": "batch" if isinstance(body, list) else "other"}
    out = {}
    if "method" in body:
        out["method"] = body["method"]
        out["kind"] = "request" if "id" in body else "notification"
    else:
        out["kind"] = "error" if "error" in body else "response"
    params = body.get("params")
    if isinstance(params, dict):
        meta = params.get("_meta")
        if isinstance(meta, dict) and PROTOCOL_VERSION_META in meta:
            out["metaProtocolVersion"] = meta[PROTOCOL_VERSION_META]
        if isinstance(params.get("name"), str):
            out["name"] = params["name"]
        if isinstance(params.get("inputResponses"), dict):
            out["inputResponses"] = sorted(params["inputResponses"])
        if "requestState" in params:
            out["requestState"] = True
    return out


def root_cause(exc):
    """The first leaf of an exception group (anyio wraps task failures)."""
    while getattr(exc, "exceptions", None):
        exc = exc.exceptions[0]
    return exc


def texts(content):
    return [c.text for c in content if isinstance(c, types.TextContent)]


async def exercise(client, checks, summary, elicitations):
    summary["protocolVersion"] = client.protocol_version
    info = client.server_info
    summary["serverName"] = info.name if info else None

    tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    summary["tools"] = len(names)
    wanted = {"test_simple_text", ELICITATION_TOOL}
    checks.check("list_tools", wanted <= names, f"missing {sorted(wanted - names)}")

    simple = await client.call_tool("test_simple_text", {})
    summary["simpleText"] = (texts(simple.content) or [None])[0]
    checks.check("call_simple_text", not simple.is_error and bool(summary["simpleText"]), repr(simple))

    elicited = await client.call_tool(ELICITATION_TOOL, {})
    summary["elicitationText"] = " ".join(texts(elicited.content))
    summary["elicitations"] = elicitations
    checks.check(
        "call_elicitation",
        not elicited.is_error and len(elicitations) == 1 and "Alice" in summary["elicitationText"],
        f"elicitations {elicitations}, result {elicited!r}",
    )


async def run(args, checks, summary, wire):
    elicitations = []

    async def on_elicit(context, params):
        elicitations.append({"message": params.message})
        return types.ElicitResult(action="accept", content=ELICITATION_ANSWER)

    headers = {"Authorization": f"Bearer {args.token}"} if args.token else None
    http = httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(CALL_TIMEOUT_S),
        event_hooks={"request": [wire.on_request], "response": [wire.on_response]},
    )
    async with http:
        client = Client(
            streamable_http_client(args.url, http_client=http),
            mode="legacy" if args.mode == "legacy" else "auto",
            client_info=Implementation(name="herd-py2-test-client", version="1.0.0"),
            elicitation_callback=on_elicit,
            read_timeout_seconds=CALL_TIMEOUT_S,
        )
        with anyio.fail_after(CALL_TIMEOUT_S * 3):
            async with client:
                checks.check("connect", bool(client.protocol_version))
                await exercise(client, checks, summary, elicitations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", help="bearer token for the Authorization header")
    parser.add_argument("url")
    parser.add_argument("mode", choices=["default", "legacy"])
    args = parser.parse_args()

    checks = Checks()
    wire = Wire()
    summary = {"client": "python2", "mode": args.mode}
    try:
        anyio.run(run, args, checks, summary, wire)
    except BaseException as exc:  # report, then fail
        traceback.print_exc(file=sys.stderr)
        cause = root_cause(exc)
        checks.check("completed", False, f"{type(cause).__name__}: {cause}")
    else:
        checks.check("completed", True)
    summary["wire"] = wire.entries
    summary["checks"] = checks.results
    summary["ok"] = checks.ok()
    print(json.dumps(summary), flush=True)
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
