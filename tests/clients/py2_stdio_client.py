"""Drives `herd conformance-server --stdio` with the Python SDK 2.x client (PyPI `mcp` 2.3) over stdio.

The stdio twin of `py2_client.py`: the same client (`mcp.Client` with a
`StdioServerParameters` server, which launches herd as a child and speaks
JSON lines on its stdin/stdout) and the same exercise (list the tools, call
`test_simple_text`, call `test_input_required_result_elicitation` answering
{"name": "Alice"} through the elicitation callback).

`default` mode is the SDK default (`mode="auto"`): it sends `server/discover`
at 2026-07-28 first and adopts that revision on a modern answer, falling back
to `initialize` otherwise. `legacy` forces the `initialize` handshake.

Every JSON-RPC message crossing the pipe is recorded in both directions
(direction, kind, method, id, `_meta` protocol version, `inputResponses`
keys, error code, negotiated version of an initialize or discover answer),
so the caller can check the wire, not only what the SDK reports.

Usage:
  py2_stdio_client.py HERD_BINARY default|legacy [ARG...]
      (ARG... defaults to `conformance-server --stdio`)

Prints one JSON summary line on stdout; exits 1 if any check failed.
"""

import argparse
import json
import sys
import traceback
from contextlib import asynccontextmanager

import anyio
import mcp.types as types
from mcp import Client, Implementation, StdioServerParameters
from mcp.client.stdio import stdio_client
from py2_client import CALL_TIMEOUT_S, ELICITATION_ANSWER, PROTOCOL_VERSION_META, Checks, exercise, root_cause


def describe(message):
    """The JSON-RPC facts of one message that the tests look at."""
    body = json.loads(message.model_dump_json(by_alias=True, exclude_unset=True))
    out = {}
    if "method" in body:
        out["method"] = body["method"]
        out["kind"] = "request" if "id" in body else "notification"
    else:
        out["kind"] = "error" if "error" in body else "response"
    if "id" in body:
        out["id"] = body["id"]
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
    result = body.get("result")
    if isinstance(result, dict):
        if isinstance(result.get("protocolVersion"), str):
            out["protocolVersion"] = result["protocolVersion"]
        if isinstance(result.get("supportedVersions"), list):
            out["supportedVersions"] = result["supportedVersions"]
        if isinstance(result.get("resultType"), str):
            out["resultType"] = result["resultType"]
    error = body.get("error")
    if isinstance(error, dict):
        out["code"] = error.get("code")
        out["message"] = error.get("message")
    return out


class Wire:
    """The messages of one run, in pipe order per direction ("out": to herd, "in": from herd)."""

    def __init__(self):
        self.entries = []

    def record(self, direction, item):
        if isinstance(item, Exception):
            self.entries.append({"dir": direction, "kind": "exception", "message": repr(item)})
            return
        entry = {"dir": direction}
        try:
            entry.update(describe(item.message))
        except Exception as exc:  # never let the recorder break the run
            entry["kind"] = f"unrecordable: {exc!r}"
        self.entries.append(entry)


class RecordingRead:
    """A ReadStream that records each message the client receives."""

    def __init__(self, inner, wire):
        self._inner = inner
        self._wire = wire
        self.last_context = None

    async def receive(self):
        item = await self._inner.receive()
        self.last_context = getattr(self._inner, "last_context", None)
        self._wire.record("in", item)
        return item

    async def aclose(self):
        await self._inner.aclose()

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()
        return None


class RecordingWrite:
    """A WriteStream that records each message the client sends."""

    def __init__(self, inner, wire):
        self._inner = inner
        self._wire = wire

    async def send(self, item):
        self._wire.record("out", item)
        await self._inner.send(item)

    async def aclose(self):
        await self._inner.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()
        return None


@asynccontextmanager
async def recording_stdio(params, wire):
    """`stdio_client(params)` with both streams recorded into `wire`."""
    async with stdio_client(params) as (read, write):
        yield RecordingRead(read, wire), RecordingWrite(write, wire)


async def run(args, checks, summary, wire):
    elicitations = []

    async def on_elicit(context, params):
        elicitations.append({"message": params.message})
        return types.ElicitResult(action="accept", content=ELICITATION_ANSWER)

    params = StdioServerParameters(command=args.binary, args=args.args or ["conformance-server", "--stdio"])
    client = Client(
        recording_stdio(params, wire),
        mode="legacy" if args.mode == "legacy" else "auto",
        client_info=Implementation(name="herd-py2-stdio-test-client", version="1.0.0"),
        elicitation_callback=on_elicit,
        read_timeout_seconds=CALL_TIMEOUT_S,
    )
    with anyio.fail_after(CALL_TIMEOUT_S * 3):
        async with client:
            checks.check("connect", bool(client.protocol_version))
            await exercise(client, checks, summary, elicitations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("mode", choices=["default", "legacy"])
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args()

    checks = Checks()
    wire = Wire()
    summary = {"client": "python2", "transport": "stdio", "mode": args.mode}
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
