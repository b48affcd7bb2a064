"""Holds one session of a herd hub open with the official Python SDK client
(PyPI `mcp`) and a bearer token, and lists the tools whenever told to.

Proves that a herd token works from a real client, and shows what that
client sees once the token stops working.

Usage:
  py_auth_client.py URL TOKEN

Prints one JSON line per step on stdout:
  {"step": "open", "session": ID, "tools": [...]}       after the handshake
  {"step": "list", "tools": [...]}                      for each stdin line "list"
  {"step": "list", "error": TEXT}                       when the listing failed
Ends (closing the session) at end of input or after a failed listing.
"""

import json
import sys

import anyio
from mcp import ClientSession

try:  # mcp >= 1.24 names it streamable_http_client and takes an httpx client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
except ImportError:  # older 1.x
    streamable_http_client = None
    from mcp.client.streamable_http import streamablehttp_client

CALL_TIMEOUT_S = 10


def say(line):
    print(json.dumps(line), flush=True)


async def read_line():
    return await anyio.to_thread.run_sync(sys.stdin.readline)


async def drive(read, write, session_id):
    async with ClientSession(read, write) as session:
        with anyio.fail_after(CALL_TIMEOUT_S):
            await session.initialize()
            tools = await session.list_tools()
        say({"step": "open", "session": session_id(), "tools": sorted(t.name for t in tools.tools)})
        while (command := (await read_line()).strip()) == "list":
            try:
                with anyio.fail_after(CALL_TIMEOUT_S):
                    tools = await session.list_tools()
                say({"step": "list", "tools": sorted(t.name for t in tools.tools)})
            except BaseException as error:  # the SDK reports a refusal in several shapes
                say({"step": "list", "error": f"{type(error).__name__}: {error}"})
                return


async def main(url, token):
    headers = {"Authorization": f"Bearer {token}"}
    try:
        if streamable_http_client is not None:
            async with create_mcp_http_client(headers=headers) as http:
                async with streamable_http_client(url, http_client=http) as (read, write, session_id):
                    await drive(read, write, session_id)
        else:
            async with streamablehttp_client(url, headers=headers) as (read, write, session_id):
                await drive(read, write, session_id)
    except BaseException as error:  # a refused token ends the transport too
        say({"step": "end", "error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
