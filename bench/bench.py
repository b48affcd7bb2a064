#!/usr/bin/env python3
"""Benchmark orchestration for bench/run (Python 3.11, stdlib only).

Starts the ceiling (bare axum), `herd conformance-server` and, when it
answers, `herd agent` on random loopback ports; opens one MCP session per
measurement; drives each with oha at every concurrency level for a fixed
duration; drives `herd conformance-server --stdio` directly for the stdio
floor; prints the machine and one markdown table of medians, and writes
bench/RESULTS.md. The `servers` (servers.py), `llm` (llm.py) and `replicas`
(replicas.py) targets keep their own sections of RESULTS.md: run alone, they
leave the rest as it was.

oha cannot template a body per request. Its `-Z FILE` option sends, for each
request, one line of FILE chosen uniformly at random. Every body file here
holds BENCH_ID_POOL lines with distinct JSON-RPC ids, so consecutive requests
carry different ids; two requests in flight at once share an id with
probability about (c - 1) / BENCH_ID_POOL per request (herd answers such a
request with a JSON-RPC error, which oha counts as a success). The expected
number of such collisions is printed with the table.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import platform
import select
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import fleet
import llm
import replicas
import results
import tls
import servers

ROOT = Path(__file__).resolve().parent.parent
OHA = os.environ.get("OHA", "oha")
HERD = os.environ.get("BENCH_HERD", str(ROOT / "target/release/herd"))
CEILING = os.environ.get("BENCH_CEILING", str(ROOT / "target/release/bench-ceiling"))
SSH_BENCH = os.environ.get("BENCH_SSH", str(ROOT / "target/release/examples/ssh_bench"))
DURATION = os.environ.get("BENCH_DURATION", "10s")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CONCS = [int(c) for c in os.environ.get("BENCH_CONC", "1 64").split()]
ID_POOL = int(os.environ.get("BENCH_ID_POOL", "1000000"))
AGENT_ARGS = ["agent", "--insecure-no-auth"]
AGENT_ROW = "herd agent, user token + audit (read_file 1 KB)"
AGENT_NO_AUDIT_ROW = "herd agent, no state or audit (read_file 1 KB)"
AGENT_TLS_ROW = "herd agent over TLS (read_file 1 KB)"
HUB_TLS_ROW = "herd hub -> agent, TLS on both hops (remote_read_file 1 KB)"
TARGETS = os.environ.get("BENCH_TARGETS", "ceiling herd agent hub stdio fleet ssh servers llm replicas").split()
# Targets whose results make up the main part of RESULTS.md (not a section of its own).
MAIN_TARGETS = {"ceiling", "herd", "agent", "hub", "stdio", "fleet", "ssh"}
COMMAND = os.environ.get("BENCH_COMMAND", "bench/run")
WARMUP = os.environ.get("BENCH_WARMUP", "2s")
RESULTS = Path(os.environ.get("BENCH_RESULTS", str(ROOT / "bench/RESULTS.md")))

PROTOCOL = "2025-06-18"
ACCEPT = "application/json, text/event-stream"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def duration_seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * units[suffix]
    return float(text)


# === machine ===


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    oha_version = subprocess.run([OHA, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": str(os.cpu_count() and len(os.sched_getaffinity(0))),
        "cpu": model,
        "kernel": platform.release(),
        "memory": mem,
        "oha": oha_version,
        "python": platform.python_version(),
    }


# === processes ===


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# === MCP over HTTP ===


class HttpMcp:
    def __init__(self, port: int, path: str = "/mcp", token: str | None = None, ca: Path | None = None):
        self.port = port
        self.path = path
        self.token = token
        self.ca = ca

    def connect(self) -> http.client.HTTPConnection:
        if self.ca is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        context = ssl.create_default_context(cafile=str(self.ca))
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=context)

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": ACCEPT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def post(self, body: dict, session: str | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = self.connect()
        headers = self.headers()
        if session:
            headers["Mcp-Session-Id"] = session
            headers["Mcp-Protocol-Version"] = PROTOCOL
        conn.request("POST", self.path, body=json.dumps(body), headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        conn.close()
        return resp.status, hdrs, data

    def close_session(self, session: str | None) -> None:
        """Ends a session (DELETE); a server without DELETE keeps it until it times out."""
        if not session:
            return
        conn = self.connect()
        headers = {**self.headers(), "Mcp-Session-Id": session, "Mcp-Protocol-Version": PROTOCOL}
        try:
            conn.request("DELETE", self.path, headers=headers)
            conn.getresponse().read()
        except OSError:
            pass
        finally:
            conn.close()

    def open_session(self) -> str | None:
        status, hdrs, data = self.post(initialize_msg(0))
        if status != 200:
            raise RuntimeError(f"initialize answered HTTP {status}: {data[:200]!r}")
        session = hdrs.get("mcp-session-id")
        status, _, data = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
        if status not in (200, 202):
            raise RuntimeError(f"notifications/initialized answered HTTP {status}: {data[:200]!r}")
        return session

    def probe(self, session: str | None, call: dict) -> str | None:
        """One tools/call; returns None when it succeeded, else why not."""
        status, hdrs, data = self.post(call_msg(424242, call), session)
        if status != 200:
            return f"HTTP {status}: {data[:200].decode(errors='replace')}"
        text = data.decode(errors="replace")
        if hdrs.get("content-type", "").startswith("text/event-stream"):
            lines = [l[5:].strip() for l in text.splitlines() if l.startswith("data:")]
            text = lines[-1] if lines else ""
        try:
            msg = json.loads(text)
        except ValueError:
            return f"unparseable answer: {text[:200]}"
        if "error" in msg:
            return f"JSON-RPC error: {json.dumps(msg['error'])[:200]}"
        if msg.get("result", {}).get("isError"):
            return f"tool error: {json.dumps(msg['result'])[:300]}"
        return None


def initialize_msg(rid: int) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": rid,
        "method": "initialize",
        "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
    }


def call_msg(rid: int, call: dict) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": call}


def body_file(directory: Path, name: str, call: dict, pool: int) -> Path:
    path = directory / f"{name}.jsonl"
    params = json.dumps(call, separators=(",", ":"))
    with path.open("w") as f:
        for i in range(1, pool + 1):
            f.write(f'{{"jsonrpc":"2.0","id":{i},"method":"tools/call","params":{params}}}\n')
    return path


# === measurements ===


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    rss_after: float | None
    cpu_us: float | None = None  # server CPU time per request
    timeouts: int = 0  # requests oha gave up on (only with a request timeout)
    child_cpu_us: float | None = None  # a bridged child's CPU time per request


@dataclass
class Row:
    target: str
    conc: int
    samples: list[Sample] = field(default_factory=list)
    rss_idle: float | None = None
    note: str = ""


def run_oha(
    pid: int,
    port: int,
    session: str | None,
    bodies: Path,
    conc: int,
    duration: str = DURATION,
    headers: list[str] | None = None,
    timeout: str | None = None,
    ca: Path | None = None,
) -> Sample:
    """One oha measurement; `timeout` makes a request that gets no answer
    an error; with `ca`, over https checked against that CA."""
    scheme = "https" if ca else "http"
    cmd = [
        OHA, f"{scheme}://127.0.0.1:{port}/mcp",
        "-z", duration, "-c", str(conc), "-w",
        "--no-tui", "--output-format", "json",
        "-m", "POST", "-T", "application/json", "-A", ACCEPT,
        "-Z", str(bodies),
    ]
    if session:
        cmd += ["-H", f"Mcp-Session-Id: {session}", "-H", f"Mcp-Protocol-Version: {PROTOCOL}"]
    for header in headers or []:
        cmd += ["-H", header]
    if timeout:
        cmd += ["-t", timeout]
    if ca:
        cmd += ["--cacert", str(ca)]
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(cmd, capture_output=True, text=True)
    cpu_after = cpu_seconds(pid)
    if out.returncode != 0:
        raise RuntimeError(f"oha failed ({out.returncode}): {out.stderr[-500:]}")
    r = json.loads(out.stdout)
    summary = r["summary"]
    pct = r["latencyPercentiles"]
    codes = {int(k): v for k, v in (r.get("statusCodeDistribution") or {}).items()}
    bad_status = sum(v for k, v in codes.items() if not 200 <= k < 300)
    transport_errors = r.get("errorDistribution") or {}
    transport = sum(transport_errors.values())
    requests = sum(codes.values()) + transport
    return Sample(
        rps=summary["requestsPerSec"],
        p50_ms=(pct.get("p50") or 0) * 1000,
        p99_ms=(pct.get("p99") or 0) * 1000,
        errors=bad_status + transport,
        requests=requests,
        rss_after=None,
        cpu_us=(cpu_after - cpu_before) / requests * 1e6 if requests and cpu_before is not None and cpu_after is not None else None,
        timeouts=sum(v for k, v in transport_errors.items() if "timeout" in k.lower()),
    )


class StdioDriver:
    """Drives a stdio MCP server (`herd conformance-server --stdio`, bench/echo_server.py) over its pipes."""

    def __init__(self, argv: list[str]):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0
        )
        self.out = self.proc.stdout
        self.fd_in = self.proc.stdin.fileno()
        self.buf = b""
        self.next_id = 1

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd_in, view)
            view = view[n:]

    def lines(self) -> list[bytes]:
        """Blocks for at least one complete line; returns all complete lines."""
        while b"\n" not in self.buf:
            chunk = os.read(self.out.fileno(), 1 << 16)
            if not chunk:
                raise RuntimeError("stdio server closed its stdout")
            self.buf += chunk
        *complete, self.buf = self.buf.split(b"\n")
        return complete

    def initialize(self) -> None:
        self.send(json.dumps(initialize_msg(0)).encode() + b"\n")
        answer = json.loads(self.lines()[0])
        if "result" not in answer:
            raise RuntimeError(f"stdio initialize failed: {answer}")
        self.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

    def run(self, call: dict, conc: int, seconds: float) -> Sample:
        params = json.dumps(call, separators=(",", ":")).encode()
        prefix = b'{"jsonrpc":"2.0","id":'
        suffix = b',"method":"tools/call","params":' + params + b"}\n"
        sent_at: dict[int, float] = {}
        latencies: list[float] = []
        errors = 0
        now = time.perf_counter
        cpu_before = cpu_seconds(self.proc.pid)
        start = now()
        deadline = start + seconds

        def request() -> bytes:
            rid = self.next_id
            self.next_id += 1
            sent_at[rid] = now()
            return prefix + str(rid).encode() + suffix

        self.send(b"".join(request() for _ in range(conc)))
        done = 0
        stopping = False
        while sent_at:
            batch = []
            for line in self.lines():
                t = now()
                # The id is the first member herd writes; avoid a full parse.
                head = line[: line.find(b",", 22)]
                rid = int(head[head.rfind(b":") + 1 :])
                latencies.append(t - sent_at.pop(rid))
                if b'"error"' in line[:64] or b'"isError":true' in line:
                    errors += 1
                done += 1
                if not stopping and t >= deadline:
                    stopping = True
                if not stopping:
                    batch.append(request())
            if batch:
                self.send(b"".join(batch))
        elapsed = now() - start
        cpu_after = cpu_seconds(self.proc.pid)
        latencies.sort()
        return Sample(
            rps=done / elapsed,
            p50_ms=percentile(latencies, 0.50) * 1000,
            p99_ms=percentile(latencies, 0.99) * 1000,
            errors=errors,
            requests=done,
            rss_after=rss_mb(self.proc.pid),
            cpu_us=(cpu_after - cpu_before) / done * 1e6 if done and cpu_before is not None and cpu_after is not None else None,
        )

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


# === targets ===


@dataclass
class HttpTarget:
    name: str
    proc: subprocess.Popen
    port: int
    call: dict
    mcp: bool  # whether it speaks MCP sessions
    bodies: Path | None = None
    rss_idle: float | None = None
    note: str = ""
    token: str | None = None  # a bearer token every request carries
    ca: Path | None = None  # served over https with a certificate of this CA

    def client(self) -> "HttpMcp":
        return HttpMcp(self.port, token=self.token, ca=self.ca)

    def headers(self) -> list[str]:
        return [f"Authorization: Bearer {self.token}"] if self.token else []


def user_token(home: Path, user: str = "bench", role: str = "operator") -> str:
    """Adds `user` with `role` to the store under `home` and returns a new token
    of theirs (the offline `--home` verbs, as an operator bootstraps a host)."""
    quiet = {"check": True, "capture_output": True, "text": True}
    subprocess.run([HERD, "user", "add", user, "--role", role, "--home", str(home)], **quiet)
    out = subprocess.run([HERD, "token", "create", "--user", user, "--home", str(home)], **quiet)
    return out.stdout.strip()


def start_tls_hop(work: Path, read_call: dict) -> list[HttpTarget]:
    """An agent serving https, measured directly and through a hub that
    serves https too and reaches the agent over https (HTTP/2 by ALPN),
    both checked against the run's own CA."""
    material = tls.make(work / "tls")
    tls_args = ["--tls-cert", str(material.cert), "--tls-key", str(material.key)]
    agent = start_herd([*AGENT_ARGS, *tls_args], AGENT_TLS_ROW, read_call, cwd=work, home=work / "tls-agent-home")
    agent.ca = material.ca
    config = work / "tls-hop.toml"
    fleet.write_registry(config, [("a", f"https://127.0.0.1:{agent.port}/mcp")], ca=material.ca)
    hub_port = free_port()
    hub = fleet.start_hub(HERD, hub_port, config, wait_port, extra=tls_args)
    hop_call = {"name": "remote_read_file", "arguments": {"host": "a", **read_call["arguments"]}}
    return [agent, HttpTarget(HUB_TLS_ROW, hub, hub_port, hop_call, True, ca=material.ca)]


def start_ceiling() -> HttpTarget:
    port = free_port()
    proc = subprocess.Popen([CEILING, f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return HttpTarget("ceiling (bare axum)", proc, port, {"name": "test_simple_text", "arguments": {}}, mcp=False)


def start_herd(
    args: list[str], name: str, call: dict, cwd: Path | None = None, home: Path | None = None
) -> HttpTarget:
    """Starts herd with `args` on a free port. `home` is its HERD_HOME (state,
    audit); without one, herd runs with no HOME and no HERD_HOME, so it keeps
    no state and records no audit."""
    port = free_port()
    env = dict(os.environ)
    env.setdefault("HERD_LOG", "info")
    env.pop("HERD_HOME", None)
    if home is None:
        env.pop("HOME", None)
    else:
        env["HERD_HOME"] = str(home)
    proc = subprocess.Popen(
        [HERD, *args, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    wait_port(port, proc)
    return HttpTarget(name, proc, port, call, mcp=True)


CHANNEL_ROW = "herd hub -> channel agent (remote_read_file 1 KB)"


def main() -> int:
    seconds = duration_seconds(DURATION)
    info = machine()
    log(f"machine: nproc={info['nproc']} cpu={info['cpu']!r} kernel={info['kernel']}")
    log(f"duration {DURATION}, runs {RUNS}, concurrency {CONCS}, id pool {ID_POOL}")
    work = Path(tempfile.mkdtemp(prefix="herd-bench-"))
    targets: list[HttpTarget] = []
    helpers: list[subprocess.Popen] = []
    notes: list[str] = []
    tables: list[str] = []
    sections: dict[str, str] = {}
    rows: dict[tuple[str, int], Row] = {}
    try:
        simple = {"name": "test_simple_text", "arguments": {}}
        sample_file = work / "sample.txt"
        sample_file.write_text("".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(20)))
        read_call = {"name": "read_file", "arguments": {"path": str(sample_file)}}
        if "ceiling" in TARGETS:
            targets.append(start_ceiling())
        if "herd" in TARGETS:
            targets.append(start_herd(["conformance-server", "--insecure-no-auth"], "herd conformance-server", simple))
        if "agent" in TARGETS:
            try:
                home = work / "agent-home"
                token = user_token(home)
                agent = start_herd(["agent"], AGENT_ROW, read_call, cwd=work, home=home)
                agent.token = token
                targets.append(agent)
                stateless = work / "no-state.toml"
                stateless.write_text(f"servers_dir = {json.dumps(str(work / 'servers'))}\n")
                targets.append(
                    start_herd([*AGENT_ARGS, "--config", str(stateless)], AGENT_NO_AUDIT_ROW, read_call, cwd=work)
                )
            except Exception as e:  # noqa: BLE001 - reported as a skipped row
                notes.append(f"herd agent skipped: could not start ({e}).")
        if "hub" in TARGETS:
            try:
                hop_agent = start_herd(AGENT_ARGS, "hub's agent", read_call, cwd=work, home=work / "hop-home")
                helpers.append(hop_agent.proc)
                config = work / "hop.toml"
                fleet.write_registry(config, [("a", f"http://127.0.0.1:{hop_agent.port}/mcp")])
                hub_port = free_port()
                hub_proc = fleet.start_hub(HERD, hub_port, config, wait_port)
                hop_call = {"name": "remote_read_file", "arguments": {"host": "a", **read_call["arguments"]}}
                targets.append(HttpTarget("herd hub -> agent (remote_read_file 1 KB)", hub_proc, hub_port, hop_call, True))
            except Exception as e:  # noqa: BLE001 - reported as a skipped row
                notes.append(f"herd hub skipped: could not start ({e}).")
            else:
                try:
                    channel_agent = fleet.start_channel_agent(HERD, hub_port, work)
                    helpers.append(channel_agent)
                    channel_call = {"name": "remote_read_file", "arguments": {"host": "c", **read_call["arguments"]}}
                    fleet.wait_joined(HttpMcp(hub_port), channel_call, channel_agent)
                    targets.append(
                        HttpTarget(CHANNEL_ROW, hub_proc, hub_port, channel_call, True)
                    )
                except Exception as e:  # noqa: BLE001 - reported as a skipped row
                    notes.append(f"herd hub -> channel agent skipped: could not start ({e}).")
            try:
                targets.extend(start_tls_hop(work, read_call))
            except Exception as e:  # noqa: BLE001 - reported as a skipped row
                notes.append(f"herd hub over TLS skipped: could not start ({e}).")
        # Probe each target once; an MCP target whose tool call fails is skipped.
        live: list[HttpTarget] = []
        for t in targets:
            client = t.client()
            try:
                session = client.open_session() if t.mcp else None
                why = client.probe(session, t.call)
            except Exception as e:  # noqa: BLE001
                why = str(e)
            if why:
                notes.append(f"{t.name} skipped: the probe tools/call failed ({why}).")
                stop(t.proc)
                continue
            t.bodies = body_file(work, t.name.split()[0] + str(len(live)), t.call, ID_POOL)
            live.append(t)
        time.sleep(0.5)
        for t in live:
            t.rss_idle = rss_mb(t.proc.pid)
        for t in live:
            for c in CONCS:
                rows[(t.name, c)] = Row(t.name, c, rss_idle=t.rss_idle)
        # Warm up every target (connection setup, allocator, CPU frequency)
        # so the first measured target is not penalised.
        if duration_seconds(WARMUP) > 0:
            for t in live:
                log(f"warm-up {WARMUP} {t.name} ...")
                session = t.client().open_session() if t.mcp else None
                for c in CONCS:
                    run_oha(t.proc.pid, t.port, session, t.bodies, c, WARMUP, t.headers(), ca=t.ca)
        # Interleave targets so slow drifts in machine load hit all of them.
        for run in range(1, RUNS + 1):
            for c in CONCS:
                for t in live:
                    session = t.client().open_session() if t.mcp else None
                    log(f"run {run}/{RUNS}  c={c:<3} {t.name} ...")
                    sample = run_oha(t.proc.pid, t.port, session, t.bodies, c, headers=t.headers(), ca=t.ca)
                    sample.rss_after = rss_mb(t.proc.pid)
                    if t.proc.poll() is not None:
                        raise RuntimeError(f"{t.name} exited during the run")
                    rows[(t.name, c)].samples.append(sample)
                    log(
                        f"    {sample.rps:10.0f} req/s  p50 {sample.p50_ms:.3f} ms  p99 {sample.p99_ms:.3f} ms"
                        f"  errors {sample.errors}  rss {sample.rss_after or 0:.1f} MB  cpu {sample.cpu_us or 0:.1f} us/req"
                    )
        for t in live:
            stop(t.proc)
        results.hop_note(rows, notes, lambda name: AGENT_TLS_ROW if name == HUB_TLS_ROW else AGENT_ROW, HUB_TLS_ROW)
        results.channel_note(rows, notes, CHANNEL_ROW, "herd hub -> agent (remote_read_file 1 KB)")
        results.audit_note(rows, notes, AGENT_ROW, AGENT_NO_AUDIT_ROW)
        if "fleet" in TARGETS:
            log("fleet: 1000 hosts, 990 dead ...")
            live_agent = start_herd(AGENT_ARGS, "fleet agent", read_call, cwd=work, home=work / "fleet-home")
            helpers.append(live_agent.proc)
            live_url = f"http://127.0.0.1:{live_agent.port}/mcp"
            tables.append(fleet.fleet_table(HERD, work, live_url, free_port, wait_port, HttpMcp, stop))
            log(tables[-1])
        if "ssh" in TARGETS:
            log("ssh fallback: cold and warm calls against a loopback sshd ...")
            tables.append(fleet.ssh_table(work, SSH_BENCH, free_port, stop))
            log(tables[-1])
        stdio_targets = []
        if "stdio" in TARGETS:
            stdio_targets.append(("herd conformance-server --stdio", ["conformance-server", "--stdio"], simple))
        if "agent" in TARGETS and "stdio" in TARGETS:
            stdio_targets.append(("herd agent --stdio (read_file 1 KB)", ["agent", "--stdio"], read_call))
        for name, argv, stdio_call in stdio_targets:
            for c in CONCS:
                rows[(name, c)] = Row(name, c)
            for run in range(1, RUNS + 1):
                for c in CONCS:
                    driver = StdioDriver([HERD, *argv])
                    try:
                        driver.initialize()
                        time.sleep(0.3)
                        idle = rss_mb(driver.proc.pid)
                        if rows[(name, c)].rss_idle is None:
                            rows[(name, c)].rss_idle = idle
                        log(f"run {run}/{RUNS}  c={c:<3} {name} ...")
                        sample = driver.run(stdio_call, c, seconds)
                    finally:
                        driver.close()
                    rows[(name, c)].samples.append(sample)
                    log(
                        f"    {sample.rps:10.0f} calls/s  p50 {sample.p50_ms:.3f} ms  p99 {sample.p99_ms:.3f} ms"
                        f"  errors {sample.errors}  rss {sample.rss_after or 0:.1f} MB  cpu {sample.cpu_us or 0:.1f} us/req"
                    )
        if "servers" in TARGETS:
            sections["servers"] = servers.section(sys.modules[__name__], work)
        if "llm" in TARGETS:
            sections["llm"] = llm.section(sys.modules[__name__], work)
        if "replicas" in TARGETS:
            sections["replicas"] = replicas.section(sys.modules[__name__], work)
    finally:
        for t in targets:
            stop(t.proc)
        for p in helpers:
            stop(p)
        shutil.rmtree(work, ignore_errors=True)

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print()
    print(f"Machine: {machine_line(info)}")
    print(f"Date: {stamp}")
    print(f"Command: `{COMMAND}` (duration {DURATION}, {RUNS} runs, medians)")
    main_text = None
    if MAIN_TARGETS & set(TARGETS):
        table = "\n\n".join([render(list(rows.values()), notes), *tables])
        print()
        print(table)
        main_text = (
            "# herd benchmark results\n\n"
            "Written by `bench/run`; see `bench/README.md` for what each row measures.\n\n"
            f"- Date: {stamp}\n"
            f"- Machine: {machine_line(info)}\n"
            f"- Command: `{COMMAND}` (duration {DURATION} per measurement, {RUNS} runs, medians reported)\n\n"
            f"{table}\n"
        )
    for text in sections.values():
        print()
        print(text)
    results.write(RESULTS, main_text, sections)
    log(f"wrote {RESULTS}")
    return 0


def machine_line(info: dict[str, str]) -> str:
    return (
        f"{info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, {info['memory']} RAM; "
        f"{info['oha']}, Python {info['python']}"
    )


def fmt_ratio(value: float, base: float | None) -> str:
    if not base:
        return "-"
    return f"{value / base:.2f}x"


def render(rows: list[Row], notes: list[str]) -> str:
    ceilings = {
        r.conc: statistics.median(s.rps for s in r.samples)
        for r in rows
        if r.target.startswith("ceiling") and r.samples
    }
    ceiling_cpu = {
        r.conc: statistics.median(s.cpu_us for s in r.samples if s.cpu_us is not None)
        for r in rows
        if r.target.startswith("ceiling") and any(s.cpu_us is not None for s in r.samples)
    }
    ceiling_p50 = {
        r.conc: statistics.median(s.p50_ms for s in r.samples)
        for r in rows
        if r.target.startswith("ceiling") and r.samples
    }
    out = [
        "| target | c | req/s | p50 ms | p99 ms | errors | RSS MB idle / after | server CPU µs/req "
        "| req/s vs ceiling | p50 vs ceiling | CPU/req vs ceiling |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    rows = sorted(rows, key=lambda r: (r.conc, not r.target.startswith("ceiling")))
    collisions = []
    for r in rows:
        if not r.samples:
            continue
        rps = statistics.median(s.rps for s in r.samples)
        p50 = statistics.median(s.p50_ms for s in r.samples)
        p99 = statistics.median(s.p99_ms for s in r.samples)
        errors = sum(s.errors for s in r.samples)
        cpus = [s.cpu_us for s in r.samples if s.cpu_us is not None]
        cpu = statistics.median(cpus) if cpus else None
        cpu_s = f"{cpu:.1f}" if cpu is not None else "-"
        after = max((s.rss_after for s in r.samples if s.rss_after is not None), default=None)
        idle = f"{r.rss_idle:.1f}" if r.rss_idle is not None else "-"
        after_s = f"{after:.1f}" if after is not None else "-"
        out.append(
            f"| {r.target} | {r.conc} | {rps:,.0f} | {p50:.3f} | {p99:.3f} | {errors} | {idle} / {after_s} "
            f"| {cpu_s} | {fmt_ratio(rps, ceilings.get(r.conc))} | {fmt_ratio(p50, ceiling_p50.get(r.conc))} "
            f"| {fmt_ratio(cpu, ceiling_cpu.get(r.conc)) if cpu is not None else '-'} |"
        )
        if r.conc > 1 and not r.target.endswith("--stdio"):
            reqs = statistics.median(s.requests for s in r.samples)
            collisions.append(f"{r.target} c={r.conc}: ~{reqs * (r.conc - 1) / ID_POOL:.1f} per run")
    out.append("")
    out.append(
        "Medians of the runs; errors are summed over all runs (non-2xx answers and transport errors "
        "for HTTP, JSON-RPC or tool errors for stdio); RSS is VmRSS after startup and an initialized "
        "session (idle) and the largest seen after a run (after). Server CPU is the server process's user + "
        "system time (/proc/PID/stat) during the run divided by the requests answered: the column least "
        "disturbed by other load on a shared machine. HTTP rows are measured by oha "
        "(client-side latency, keep-alive HTTP/1.1, one MCP session shared by all connections); "
        "stdio rows by a Python driver writing newline-delimited requests to the server's stdin with "
        "c requests kept in flight (its own overhead is included)."
    )
    if collisions:
        out.append("")
        out.append(
            f"Request bodies are drawn at random from {ID_POOL:,} distinct ids (oha `-Z`); expected "
            "in-flight id collisions: " + "; ".join(collisions) + "."
        )
    for n in notes:
        out.append("")
        out.append(f"Note: {n}")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
