#!/usr/bin/env python3
"""A minimal stdio MCP server for the `servers` benchmark (stdlib only).

Reads newline-delimited JSON-RPC from stdin and writes one answer per line to
stdout. It knows initialize, notifications/initialized, ping, tools/list
(one tool, `echo` {text: string}) and tools/call of `echo`, which answers
{"content": [{"type": "text", "text": TEXT}]}. Anything else with an id gets
a JSON-RPC "method not found" error; notifications are ignored. It does as
little as a Python server can, so that what the benchmark adds on top of it
is the bridge in front.
"""

import json
import sys

SUPPORTED = ("2025-06-18", "2025-11-25", "2025-03-26")
DEFAULT_PROTOCOL = "2025-06-18"

ECHO_TOOL = {
    "name": "echo",
    "description": "Answers with the text it is given.",
    "inputSchema": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    },
}


def initialize(params: dict) -> dict:
    asked = params.get("protocolVersion")
    return {
        "protocolVersion": asked if asked in SUPPORTED else DEFAULT_PROTOCOL,
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "bench-echo", "version": "1"},
    }


def call_tool(params: dict) -> dict:
    if params.get("name") != "echo":
        return {"content": [{"type": "text", "text": f"unknown tool {params.get('name')!r}"}], "isError": True}
    text = (params.get("arguments") or {}).get("text", "")
    return {"content": [{"type": "text", "text": str(text)}]}


HANDLERS = {
    "initialize": initialize,
    "ping": lambda params: {},
    "tools/list": lambda params: {"tools": [ECHO_TOOL]},
    "tools/call": call_tool,
}


def answer(msg: dict) -> dict | None:
    """The response to one message, or None for a notification or a response."""
    if "id" not in msg or "method" not in msg:
        return None
    handler = HANDLERS.get(msg["method"])
    if handler is None:
        error = {"code": -32601, "message": f"method not found: {msg['method']}"}
        return {"jsonrpc": "2.0", "id": msg["id"], "error": error}
    return {"jsonrpc": "2.0", "id": msg["id"], "result": handler(msg.get("params") or {})}


def main() -> None:
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            reply = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
        else:
            reply = answer(msg) if isinstance(msg, dict) else None
        if reply is not None:
            out.write(json.dumps(reply, separators=(",", ":")) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
