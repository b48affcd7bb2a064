"""Drives a herd MCP server with the official Python SDK client (PyPI `mcp`).

Proves that herd interoperates with the Python SDK over Streamable HTTP and
stdio: the handshake, tools, progress notifications, a server-to-client
sampling request, resources and prompts, all against the conformance
fixtures (`herd conformance-server`).

Usage:
  py_client.py [--token TOKEN] http URL
  py_client.py [--token TOKEN] stdio HERD_BINARY [ARG...]
      (ARG... defaults to `conformance-server --stdio`; the token is passed
      to the child as HERD_TOKEN)

Prints one JSON summary line on stdout; exits 1 if any check failed.
"""

import argparse
import json
import os
import sys
import traceback

import anyio
import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

try:  # mcp >= 1.24 names it streamable_http_client and takes an httpx client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
except ImportError:  # older 1.x
    streamable_http_client = None
    from mcp.client.streamable_http import streamablehttp_client

SAMPLING_ANSWER = "canned answer from the python client"
CALL_TIMEOUT_S = 30


class Checks:
    """Records named checks; a failed check keeps its reason."""

    def __init__(self):
        self.results = {}

    def check(self, name, ok, detail=""):
        self.results[name] = True if ok else (detail or "failed")

    def ok(self):
        return bool(self.results) and all(v is True for v in self.results.values())


def text_of(content):
    return [c.text for c in content if isinstance(c, types.TextContent)]


async def exercise(session, checks, summary):
    init = await session.initialize()
    summary["protocolVersion"] = init.protocolVersion
    summary["serverName"] = init.serverInfo.name
    summary["capabilities"] = sorted(init.capabilities.model_dump(exclude_none=True))
    checks.check("initialize", bool(init.protocolVersion and init.serverInfo.name))

    tools = (await session.list_tools()).tools
    names = sorted(t.name for t in tools)
    summary["tools"] = len(names)
    wanted = {"test_simple_text", "test_tool_with_progress", "test_sampling"}
    checks.check("list_tools", wanted <= set(names), f"missing {sorted(wanted - set(names))}")

    simple = await session.call_tool("test_simple_text", {})
    summary["simpleText"] = (text_of(simple.content) or [None])[0]
    checks.check("call_simple_text", not simple.isError and bool(summary["simpleText"]), repr(simple))

    progress = []

    async def on_progress(value, total, message):
        progress.append(value)

    prog = await session.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    summary["progress"] = progress
    checks.check(
        "call_with_progress",
        not prog.isError and len(progress) == 3 and progress == sorted(progress),
        f"progress {progress}, result {prog!r}",
    )

    sampled = await session.call_tool("test_sampling", {"prompt": "Say something"})
    summary["samplingResult"] = " ".join(text_of(sampled.content))
    checks.check(
        "call_sampling",
        not sampled.isError and SAMPLING_ANSWER in summary["samplingResult"],
        repr(sampled),
    )

    res = await session.read_resource("test://static-text")
    texts = [c.text for c in res.contents if isinstance(c, types.TextResourceContents)]
    summary["resourceText"] = texts[0] if texts else None
    checks.check("read_resource", bool(texts and texts[0]), repr(res))

    prompt = await session.get_prompt("test_simple_prompt")
    summary["promptMessages"] = len(prompt.messages)
    checks.check("get_prompt", len(prompt.messages) >= 1, repr(prompt))


async def on_sampling(context, params: types.CreateMessageRequestParams):
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=SAMPLING_ANSWER),
        model="canned-model",
        stopReason="endTurn",
    )


async def run(args, checks, summary):
    async def with_streams(read, write):
        async with ClientSession(read, write, sampling_callback=on_sampling) as session:
            with anyio.fail_after(CALL_TIMEOUT_S):
                await exercise(session, checks, summary)

    if args.transport == "http":
        headers = {"Authorization": f"Bearer {args.token}"} if args.token else None
        if streamable_http_client is not None:
            async with create_mcp_http_client(headers=headers) as http:
                async with streamable_http_client(args.url, http_client=http) as (read, write, _):
                    await with_streams(read, write)
        else:
            async with streamablehttp_client(args.url, headers=headers) as (read, write, _):
                await with_streams(read, write)
    else:
        env = {"PATH": os.environ.get("PATH", ""), "HERD_LOG": "warn"}
        if args.token:
            env["HERD_TOKEN"] = args.token
        cmd_args = args.args or ["conformance-server", "--stdio"]
        params = StdioServerParameters(command=args.binary, args=cmd_args, env=env)
        async with stdio_client(params) as (read, write):
            await with_streams(read, write)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", help="bearer token (HTTP header, or HERD_TOKEN for stdio)")
    sub = parser.add_subparsers(dest="transport", required=True)
    http = sub.add_parser("http")
    http.add_argument("url")
    stdio = sub.add_parser("stdio")
    stdio.add_argument("binary")
    stdio.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args()

    checks = Checks()
    summary = {"client": "python", "transport": args.transport}
    try:
        anyio.run(run, args, checks, summary)
    except BaseException as exc:  # report, then fail
        traceback.print_exc(file=sys.stderr)
        checks.check("completed", False, f"{type(exc).__name__}: {exc}")
    else:
        checks.check("completed", True)
    summary["checks"] = checks.results
    summary["ok"] = checks.ok()
    print(json.dumps(summary), flush=True)
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
