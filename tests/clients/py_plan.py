"""Runs a plan of MCP requests with the official Python SDK client (PyPI
`mcp`) over Streamable HTTP, as the holder of one bearer token.

Usage:
  py_plan.py URL TOKEN < PLAN

PLAN is a JSON array of steps, each one of
  {"list": "tools"}                          -> {"names": [...]}
  {"call": NAME, "arguments": {...}}         -> {"result": CallToolResult}
                                                or {"error": {code, message, data}}

Prints one JSON array of the answers, in order, on stdout. A step that
fails with a JSON-RPC error records it and the plan goes on; anything else
exits 1.
"""

import json
import sys
import anyio
from mcp import ClientSession
from mcp.shared.exceptions import McpError

try:  # mcp >= 1.24 names it streamable_http_client and takes an httpx client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
except ImportError:  # older 1.x
    streamable_http_client = None
    from mcp.client.streamable_http import streamablehttp_client

# The whole plan, handshake included.
PLAN_TIMEOUT_S = 120


async def step(session, spec):
    if "list" in spec:
        assert spec["list"] == "tools", spec
        listed = await session.list_tools()
        return {"names": [t.name for t in listed.tools]}
    try:
        result = await session.call_tool(spec["call"], spec.get("arguments", {}))
    except McpError as e:
        return {"error": {"code": e.error.code, "message": e.error.message, "data": e.error.data}}
    return {"result": result.model_dump(mode="json", by_alias=True, exclude_none=True)}


async def run(url, token, plan):
    answers = []

    async def with_streams(read, write):
        async with ClientSession(read, write) as session:
            with anyio.fail_after(PLAN_TIMEOUT_S):
                await session.initialize()
                for spec in plan:
                    answers.append(await step(session, spec))

    headers = {"Authorization": f"Bearer {token}"}
    if streamable_http_client is not None:
        async with create_mcp_http_client(headers=headers) as http:
            async with streamable_http_client(url, http_client=http) as (read, write, _):
                await with_streams(read, write)
    else:
        async with streamablehttp_client(url, headers=headers) as (read, write, _):
            await with_streams(read, write)
    return answers


def main():
    url, token = sys.argv[1], sys.argv[2]
    plan = json.load(sys.stdin)
    answers = anyio.run(run, url, token, plan)
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
