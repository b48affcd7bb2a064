"""Exercises `herd agent`'s host tools with the official Python SDK (PyPI `mcp`).

Every tool is called for real, over Streamable HTTP (bearer token) or stdio,
inside a temporary directory this script creates and removes: `shell`,
`shell_bg`, `read_file`, `write_file`, `edit_file`, `list_dir` and
`search_files`, each in its success and failure cases. What the tools claim
is checked against the machine itself: files on disk, permission bits, and
processes in /proc.

Usage:
  py_agent.py --token TOKEN http URL
  py_agent.py [--token TOKEN] stdio HERD_BINARY [ARG...]
      (ARG... defaults to `agent --stdio`)

The agent's environment must contain AGENT_TEST_MARKER=present (the stdio
child gets it from this script; an HTTP agent from whoever started it), so
that unsetting a variable in `shell` is observable. (Not a HERD_* name: the
agent passes none of those to its commands.)

Prints one JSON summary line on stdout, with one named check per behaviour;
exits 1 if any check failed.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

import anyio
import httpx
import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

try:  # mcp >= 1.24 names it streamable_http_client and takes an httpx client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
except ImportError:  # older 1.x
    streamable_http_client = None
    from mcp.client.streamable_http import streamablehttp_client

TOOLS = {"shell", "shell_bg", "read_file", "write_file", "edit_file", "list_dir", "search_files"}
# The agent also manages its supervised stdio servers (none loaded here).
SERVER_TOOLS = {"servers_list", "servers_load", "servers_unload", "servers_logs"}
SESSION_TIMEOUT_S = 120
# How long a process may take to disappear after its group was killed.
GONE_WITHIN_S = 10
# The shell tool's default per-stream output cap (HostConfig::output_cap).
OUTPUT_CAP = 32 * 1024


class Checks:
    """Records named checks; a failed check keeps its reason."""

    def __init__(self):
        self.results = {}

    def check(self, name, ok, detail=""):
        self.results[name] = True if ok else (detail or "failed")

    def ok(self):
        return bool(self.results) and all(v is True for v in self.results.values())


class CheckFailed(Exception):
    pass


def expect(cond, detail):
    if not cond:
        raise CheckFailed(detail)


def text_of(result):
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


def brief(result):
    return {"isError": result.isError, "text": text_of(result)[:2000], "structured": result.structuredContent}


def proc_state(pid):
    """The /proc state letter of `pid`, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def proc_session(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[3])


def alive(pid):
    state = proc_state(pid)
    return state is not None and state != "Z"


async def wait_until(cond, within_s=GONE_WITHIN_S):
    """Polls `cond` (bounded); returns whether it became true in time."""
    deadline = time.monotonic() + within_s
    while True:
        if cond():
            return True
        if time.monotonic() > deadline:
            return False
        await anyio.sleep(0.05)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


class Agent:
    """The session plus the scratch directory the checks work in."""

    def __init__(self, session, tmp):
        self.session = session
        self.tmp = tmp

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    async def call(self, name, args):
        return await self.session.call_tool(name, args)

    async def ok(self, name, args):
        """Calls a tool that must succeed; returns (result, structuredContent)."""
        result = await self.call(name, args)
        expect(not result.isError, f"{name} {args}: unexpected error: {brief(result)}")
        expect(isinstance(result.structuredContent, dict), f"{name}: no structuredContent: {brief(result)}")
        return result, result.structuredContent

    async def fails(self, name, args):
        """Calls a tool that must fail with an isError result; returns its text."""
        result = await self.call(name, args)
        expect(result.isError, f"{name} {args}: expected isError: {brief(result)}")
        return text_of(result)


# --- tools/list -------------------------------------------------------------


async def check_list_tools(agent, checks):
    tools = (await agent.session.list_tools()).tools
    names = {t.name for t in tools}
    checks.check("list_tools", names == TOOLS | SERVER_TOOLS, f"tools {sorted(names)}")
    bad = []
    for t in tools:
        if t.annotations is None:
            bad.append(f"{t.name}: no annotations")
        if not (isinstance(t.inputSchema, dict) and t.inputSchema.get("type") == "object"):
            bad.append(f"{t.name}: inputSchema {t.inputSchema!r}")
        if not (isinstance(t.outputSchema, dict) and t.outputSchema.get("type") == "object"):
            bad.append(f"{t.name}: outputSchema {t.outputSchema!r}")
    checks.check("tools_have_schemas_and_annotations", bool(tools) and not bad, "; ".join(bad))


# --- shell ------------------------------------------------------------------


async def check_shell_echo(agent, checks):
    result, sc = await agent.ok("shell", {"command": "echo to-stdout; echo to-stderr >&2"})
    expect(sc["stdout"] == "to-stdout\n" and sc["stderr"] == "to-stderr\n", f"streams: {sc}")
    expect(sc["exit_code"] == 0 and sc["timed_out"] is False, f"status: {sc}")
    text = text_of(result)
    expect("to-stdout" in text and "to-stderr" in text, f"text: {text!r}")
    expect(text.rstrip().endswith("exit code: 0"), f"text does not end with the exit code: {text!r}")
    checks.check("shell_echo", True)


async def check_shell_nonzero(agent, checks):
    result, sc = await agent.ok("shell", {"command": "echo failing >&2; exit 7"})
    expect(sc["exit_code"] == 7 and sc["stderr"] == "failing\n", f"{sc}")
    expect(text_of(result).rstrip().endswith("exit code: 7"), f"text: {text_of(result)!r}")
    checks.check("shell_nonzero_exit", True)


async def check_shell_timeout(agent, checks):
    pidfile = agent.path("timeout.pid")
    started = time.monotonic()
    result = await agent.call("shell", {"command": f"sleep 30 & echo $! > '{pidfile}'; wait", "timeout": 1})
    elapsed = time.monotonic() - started
    sc = result.structuredContent or {}
    expect(result.isError, f"a timeout must be an error: {brief(result)}")
    expect(sc.get("timed_out") is True, f"timed_out: {brief(result)}")
    expect("timed out" in text_of(result), f"text: {text_of(result)!r}")
    expect(elapsed < 15, f"the call took {elapsed:.1f} s for a 1 s timeout")
    pid = int(read_bytes(pidfile).decode().strip())
    gone = await wait_until(lambda: not alive(pid))
    expect(gone, f"grandchild sleep {pid} still alive (state {proc_state(pid)}) {GONE_WITHIN_S} s after the timeout")
    checks.check("shell_timeout_kills_group", True)


async def check_shell_cwd_env(agent, checks):
    command = 'pwd -P; echo "$HERD_PY_VAR"; echo "${AGENT_TEST_MARKER-unset}"'
    # The marker must really be in the agent's environment, or unsetting it proves nothing.
    _, before = await agent.ok("shell", {"command": command, "cwd": agent.tmp})
    expect(before["stdout"].splitlines()[2:] == ["present"], f"AGENT_TEST_MARKER not in the agent's env: {before}")
    env = {"HERD_PY_VAR": "value with spaces", "AGENT_TEST_MARKER": None}
    _, sc = await agent.ok("shell", {"command": command, "cwd": agent.tmp, "env": env})
    want = f"{os.path.realpath(agent.tmp)}\nvalue with spaces\nunset\n"
    expect(sc["stdout"] == want, f"stdout {sc['stdout']!r}, want {want!r}")
    text = await agent.fails("shell", {"command": "true", "cwd": agent.path("no-such-dir")})
    expect("no-such-dir" in text, f"missing cwd error: {text!r}")
    checks.check("shell_cwd_env", True)


async def check_shell_cap(agent, checks):
    total = 100_000
    command = f"head -c {total} /dev/zero | tr '\\0' x; echo; echo END"
    _, sc = await agent.ok("shell", {"command": command})
    out = sc["stdout"]
    expect(sc["truncated"] is True, f"truncated flag not set: {dict(sc, stdout=out[:100])}")
    expect(sc.get("stdout_bytes") == total + len("\nEND\n"), f"stdout_bytes {sc.get('stdout_bytes')}")
    expect(len(out.encode()) <= OUTPUT_CAP + 200, f"kept {len(out)} bytes of stdout")
    expect(out.startswith("xxxx") and out.endswith("END\n"), f"head/tail: {out[:20]!r}...{out[-20:]!r}")
    expect("bytes omitted" in out, "no elision marker")
    expect(sc["exit_code"] == 0, f"exit {sc['exit_code']}")
    checks.check("shell_output_cap", True)


# --- shell_bg ---------------------------------------------------------------


async def check_shell_bg(agent, checks):
    log = agent.path("bg.log")
    childfile = agent.path("bg-child.pid")
    command = f"sleep 30 & echo $! > '{childfile}'; echo bg-out; echo bg-err >&2; wait"
    pid = None
    cleaned = False
    try:
        started = time.monotonic()
        result, sc = await agent.ok("shell_bg", {"command": command, "cwd": agent.tmp, "log": log})
        elapsed = time.monotonic() - started
        pid = sc["pid"]
        # Checked first, while the call's return is fresh.
        expect(alive(pid), f"pid {pid} not alive right after shell_bg returned (state {proc_state(pid)})")
        expect(elapsed < 10, f"shell_bg took {elapsed:.1f} s to return")
        expect(sc["log"] == log, f"log {sc['log']!r}, want {log!r}")
        expect(str(pid) in text_of(result), f"text: {text_of(result)!r}")
        if sc["session"]:
            # setsid(1) has been exec'd when the call returns, but may not
            # have called setsid() yet.
            leads = await wait_until(lambda: alive(pid) and proc_session(pid) == pid)
            expect(leads, f"{pid} does not lead its session (state {proc_state(pid)})")
        logged = await wait_until(lambda: b"bg-out" in read_bytes(log) and b"bg-err" in read_bytes(log))
        expect(logged, f"log content: {read_bytes(log)!r}")
        written = await wait_until(lambda: os.path.exists(childfile) and read_bytes(childfile).strip() != b"")
        expect(written, "no child pid file")
        child = int(read_bytes(childfile).decode().strip())
        expect(alive(pid) and alive(child), f"not running any more: {pid} {proc_state(pid)}, {child} {proc_state(child)}")
        checks.check("shell_bg_detached", True)

        _, killed = await agent.ok("shell", {"command": f"kill -- -{pid}"})
        expect(killed["exit_code"] == 0, f"kill: {killed}")
        # The agent reaps its own child, so the leader must vanish entirely.
        leader_gone = await wait_until(lambda: proc_state(pid) is None)
        child_gone = await wait_until(lambda: not alive(child))
        cleaned = leader_gone and child_gone
        expect(leader_gone, f"leader {pid} still there (state {proc_state(pid)})")
        expect(child_gone, f"child {child} still alive (state {proc_state(child)})")
        checks.check("shell_bg_kill_group", True)
    finally:
        if pid is not None and not cleaned:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


# --- read_file / write_file -------------------------------------------------


async def check_binary_roundtrip(agent, checks):
    data = b"\x00\xff\xfe" + os.urandom(4093) + b"\x00"
    path = agent.path("blob.bin")
    encoded = base64.b64encode(data).decode()
    _, w = await agent.ok("write_file", {"path": path, "content": encoded, "encoding": "base64"})
    expect(w["bytes_written"] == len(data) and w["created"] is True, f"write: {w}")
    expect(read_bytes(path) == data, "bytes on disk differ from what was sent")
    _, r = await agent.ok("read_file", {"path": path, "encoding": "base64"})
    expect(base64.b64decode(r["content"]) == data, "bytes read back differ")
    expect(r["size"] == len(data) and r["bytes"] == len(data) and r["truncated"] is False, f"read: {r}")
    checks.check("binary_roundtrip_base64", True)

    text = await agent.fails("read_file", {"path": path})
    expect("base64" in text and path in text, f"utf8 read of binary: {text!r}")
    checks.check("read_binary_as_utf8_fails", True)

    _, part = await agent.ok("read_file", {"path": path, "encoding": "base64", "offset": 100, "limit": 50})
    expect(base64.b64decode(part["content"]) == data[100:150], "byte window differs")
    expect(part["truncated"] is True and part["next_offset"] == 150, f"byte window: {part}")
    checks.check("read_offset_limit_bytes", True)


async def check_read_lines(agent, checks):
    path = agent.path("lines.txt")
    write_bytes(path, "".join(f"line{i}\n" for i in range(1, 11)).encode())
    _, r = await agent.ok("read_file", {"path": path, "offset": 3, "limit": 2})
    expect(r["content"] == "line3\nline4\n", f"content {r['content']!r}")
    expect(r["lines"] == 2 and r["truncated"] is True and r["next_offset"] == 5, f"{r}")
    _, end = await agent.ok("read_file", {"path": path, "offset": 9})
    expect(end["content"] == "line9\nline10\n" and end["truncated"] is False, f"{end}")
    checks.check("read_offset_limit_lines", True)


async def check_read_missing(agent, checks):
    path = agent.path("does-not-exist.txt")
    text = await agent.fails("read_file", {"path": path})
    expect(path in text and "No such file" in text, f"{text!r}")
    checks.check("read_missing_file", True)


async def check_write_keeps_mode(agent, checks):
    path = agent.path("script.sh")
    write_bytes(path, b"old\n")
    os.chmod(path, 0o750)
    _, w = await agent.ok("write_file", {"path": path, "content": "new content\n"})
    expect(w["created"] is False and w["mode"] == "0750", f"{w}")
    expect(os.stat(path).st_mode & 0o7777 == 0o750, f"mode on disk {oct(os.stat(path).st_mode & 0o7777)}")
    expect(read_bytes(path) == b"new content\n", f"content {read_bytes(path)!r}")
    checks.check("write_keeps_mode", True)


async def check_write_create_dirs(agent, checks):
    path = agent.path("deep", "er", "file.txt")
    text = await agent.fails("write_file", {"path": path, "content": "x"})
    expect("create_dirs" in text, f"missing parent: {text!r}")
    expect(not os.path.exists(agent.path("deep")), "a failed write created directories")
    _, w = await agent.ok("write_file", {"path": path, "content": "hello", "create_dirs": True})
    expect(w["created"] is True and w["bytes_written"] == 5, f"{w}")
    expect(read_bytes(path) == b"hello", "content on disk")
    checks.check("write_create_dirs", True)


# --- edit_file --------------------------------------------------------------


async def check_edit(agent, checks):
    path = agent.path("edit.txt")
    original = b"alpha beta\nalpha gamma\n"
    write_bytes(path, original)

    text = await agent.fails("edit_file", {"path": path, "old_string": "delta", "new_string": "x"})
    expect("not found" in text and read_bytes(path) == original, f"{text!r}")
    checks.check("edit_no_match", True)

    text = await agent.fails("edit_file", {"path": path, "old_string": "alpha", "new_string": "x"})
    expect("occurs 2 times" in text, f"{text!r}")
    expect(read_bytes(path) == original, "an ambiguous edit changed the file")
    checks.check("edit_ambiguous", True)

    _, one = await agent.ok("edit_file", {"path": path, "old_string": "gamma", "new_string": "GAMMA"})
    expect(one["replacements"] == 1 and one["first_line"] == 2, f"{one}")
    expect(read_bytes(path) == b"alpha beta\nalpha GAMMA\n", f"{read_bytes(path)!r}")
    checks.check("edit_single", True)

    args = {"path": path, "old_string": "alpha", "new_string": "omega", "replace_all": True}
    result, every = await agent.ok("edit_file", args)
    expect(every["replacements"] == 2 and "2 occurrences" in text_of(result), f"{brief(result)}")
    expect(read_bytes(path) == b"omega beta\nomega GAMMA\n", f"{read_bytes(path)!r}")
    checks.check("edit_replace_all", True)


# --- list_dir ---------------------------------------------------------------


async def check_list_dir(agent, checks):
    root = agent.path("listing")
    os.mkdir(root)
    write_bytes(os.path.join(root, "a.txt"), b"hello")
    os.mkdir(os.path.join(root, "sub"))
    os.symlink("a.txt", os.path.join(root, "ln"))
    _, sc = await agent.ok("list_dir", {"path": root})
    entries = {e["name"]: e for e in sc["entries"]}
    expect([e["name"] for e in sc["entries"]] == ["a.txt", "ln", "sub"], f"names {sc['entries']}")
    expect(entries["a.txt"]["kind"] == "file" and entries["a.txt"]["size"] == 5, f"{entries['a.txt']}")
    expect(entries["sub"]["kind"] == "dir", f"{entries['sub']}")
    expect(entries["ln"]["kind"] == "symlink" and entries["ln"].get("target") == "a.txt", f"{entries['ln']}")
    expect(sc["truncated"] is False, f"{sc}")
    text = await agent.fails("list_dir", {"path": os.path.join(root, "a.txt")})
    expect("Not a directory" in text, f"{text!r}")
    checks.check("list_dir_entries", True)


# --- search_files -----------------------------------------------------------


async def check_search(agent, checks):
    real = agent.path("real")
    os.makedirs(os.path.join(real, "nested"))
    write_bytes(os.path.join(real, "x.txt"), b"x")
    write_bytes(os.path.join(real, "nested", "y.txt"), b"y")
    write_bytes(os.path.join(real, "nested", "z.md"), b"z")
    linkroot = agent.path("linkroot")
    os.symlink(real, linkroot)
    _, sc = await agent.ok("search_files", {"pattern": "*.txt", "path": linkroot})
    want = {os.path.join(linkroot, "x.txt"), os.path.join(linkroot, "nested", "y.txt")}
    expect(set(sc["matches"]) == want and len(sc["matches"]) == 2, f"matches {sc['matches']}")
    checks.check("search_symlinked_root", True)

    cyc = agent.path("cyc")
    os.makedirs(os.path.join(cyc, "a"))
    write_bytes(os.path.join(cyc, "a", "f.txt"), b"f")
    os.symlink("..", os.path.join(cyc, "a", "loop"))
    os.symlink("self", os.path.join(cyc, "self"))
    with anyio.fail_after(30):
        _, one = await agent.ok("search_files", {"pattern": "f.txt", "path": cyc})
        _, every = await agent.ok("search_files", {"pattern": "*", "path": cyc})
    expect(one["matches"] == [os.path.join(cyc, "a", "f.txt")], f"f.txt: {one['matches']}")
    want = [os.path.join(cyc, *p) for p in (("a",), ("self",), ("a", "f.txt"), ("a", "loop"))]
    expect(every["matches"] == want and every["truncated"] is False, f"*: {every}")
    checks.check("search_symlink_cycle", True)

    many = agent.path("many")
    os.mkdir(many)
    for i in range(5):
        write_bytes(os.path.join(many, f"m{i}.dat"), b"")
    result, three = await agent.ok("search_files", {"pattern": "*.dat", "path": many, "max_results": 3})
    expect(len(three["matches"]) == 3 and three["truncated"] is True, f"max 3: {three}")
    expect("stopped after 3" in text_of(result), f"text: {text_of(result)!r}")
    _, five = await agent.ok("search_files", {"pattern": "*.dat", "path": many, "max_results": 5})
    expect(len(five["matches"]) == 5 and five["truncated"] is False, f"max 5: {five}")
    checks.check("search_max_results", True)


CHECKS = [
    (check_list_tools, ["list_tools", "tools_have_schemas_and_annotations"]),
    (check_shell_echo, ["shell_echo"]),
    (check_shell_nonzero, ["shell_nonzero_exit"]),
    (check_shell_timeout, ["shell_timeout_kills_group"]),
    (check_shell_cwd_env, ["shell_cwd_env"]),
    (check_shell_cap, ["shell_output_cap"]),
    (check_shell_bg, ["shell_bg_detached", "shell_bg_kill_group"]),
    (check_binary_roundtrip, ["binary_roundtrip_base64", "read_binary_as_utf8_fails", "read_offset_limit_bytes"]),
    (check_read_lines, ["read_offset_limit_lines"]),
    (check_read_missing, ["read_missing_file"]),
    (check_write_keeps_mode, ["write_keeps_mode"]),
    (check_write_create_dirs, ["write_create_dirs"]),
    (check_edit, ["edit_no_match", "edit_ambiguous", "edit_single", "edit_replace_all"]),
    (check_list_dir, ["list_dir_entries"]),
    (check_search, ["search_symlinked_root", "search_symlink_cycle", "search_max_results"]),
]


async def exercise(session, checks, summary):
    init = await session.initialize()
    summary["protocolVersion"] = init.protocolVersion
    summary["serverName"] = init.serverInfo.name
    checks.check("initialize", init.serverInfo.name == "herd-agent", f"server {init.serverInfo.name!r}")
    tmp = tempfile.mkdtemp(prefix="herd-py-agent-")
    try:
        agent = Agent(session, tmp)
        for fn, names in CHECKS:
            try:
                await fn(agent, checks)
            except Exception as exc:  # one broken check must not hide the others
                detail = f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, CheckFailed):
                    traceback.print_exc(file=sys.stderr)
                for name in names:
                    if name not in checks.results:
                        checks.check(name, False, detail)
                        detail = f"not reached: {detail}"
            for name in names:
                if name not in checks.results:
                    checks.check(name, False, "not recorded")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def check_http_auth(url, token, checks):
    """The endpoint turns away requests without the right bearer token."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    statuses = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for label, auth in [("none", None), ("wrong", f"Bearer {token}x")]:
            h = dict(headers, **({"Authorization": auth} if auth else {}))
            statuses[label] = (await http.post(url, json=body, headers=h)).status_code
    checks.check("http_requires_token", statuses == {"none": 401, "wrong": 401}, f"statuses {statuses}")


async def run(args, checks, summary):
    async def with_streams(read, write):
        async with ClientSession(read, write) as session:
            with anyio.fail_after(SESSION_TIMEOUT_S):
                await exercise(session, checks, summary)

    if args.transport == "http":
        await check_http_auth(args.url, args.token, checks)
        headers = {"Authorization": f"Bearer {args.token}"}
        if streamable_http_client is not None:
            async with create_mcp_http_client(headers=headers) as http:
                async with streamable_http_client(args.url, http_client=http) as (read, write, _):
                    await with_streams(read, write)
        else:
            async with streamablehttp_client(args.url, headers=headers) as (read, write, _):
                await with_streams(read, write)
    else:
        env = {"PATH": os.environ.get("PATH", ""), "HERD_LOG": "warn", "AGENT_TEST_MARKER": "present"}
        if args.token:
            env["HERD_TOKEN"] = args.token
        cmd_args = args.args or ["agent", "--stdio"]
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
    if args.transport == "http" and not args.token:
        parser.error("http needs --token")

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
