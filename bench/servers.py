"""The `servers` target: a stdio MCP server bridged to HTTP, by herd and by peers.

Imported by bench.py, whose helpers (HttpMcp, run_oha, StdioDriver, ...) it
is handed as a module. One child, bench/echo_server.py, is measured four
ways in one run, at c = 1, 8 and 64 whatever BENCH_CONC says:

- alone: driven over its pipes by bench.py's stdio driver (c requests kept in
  flight on the pipe): the child's direct stdio rate;
- behind `herd agent` (`[[servers]]` in its config, tool `echo__echo`);
- behind the peers: npm `mcp-proxy`, `supergateway --stateful` (Streamable
  HTTP output) and PyPI `mcp-proxy`, installed by scripts/bench-deps.

HTTP rows are driven by oha like the other herd rows, with a request
timeout: a bridge that passes JSON-RPC ids through unchanged can leave a
request unanswered when two requests in flight carry the same id, and
without the timeout oha would wait for it forever. RSS is measured over the
bridge's whole process tree (bridge plus child), idle, after load, and with
SESSIONS extra idle sessions open.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

CONCS = (1, 8, 64)
ECHO = Path(__file__).resolve().with_name("echo_server.py")
PYTHON = sys.executable
SESSIONS = int(os.environ.get("BENCH_SESSIONS", "100"))
REQUEST_TIMEOUT = os.environ.get("BENCH_REQUEST_TIMEOUT", "3s")
TOKEN = "bench-token"
TEXT = "hello"
CHILD_ROW = "echo child alone (stdio, Python driver)"
HERD_ROW = "herd agent"
CEILING_ROW = "ceiling (bare axum, no child)"

# Each peer: row name, environment variable naming its executable (written
# by scripts/bench-deps), and its argv given (executable, port).
PEERS = {
    "mcp-proxy (npm)": (
        "BENCH_NPM_MCP_PROXY",
        lambda exe, port: [exe, "--port", str(port), "--host", "127.0.0.1", "--server", "stream", "--", PYTHON, str(ECHO)],
    ),
    "supergateway --stateful": (
        "BENCH_SUPERGATEWAY",
        lambda exe, port: [
            exe, "--stdio", shlex.join([PYTHON, str(ECHO)]), "--port", str(port),
            "--stateful", "--outputTransport", "streamableHttp", "--logLevel", "none",
        ],
    ),
    "mcp-proxy (PyPI)": (
        "BENCH_PYPI_MCP_PROXY",
        lambda exe, port: [exe, "--port", str(port), "--host", "127.0.0.1", "--log-level", "WARNING", PYTHON, str(ECHO)],
    ),
}


def echo_call(tool: str, text: str = TEXT) -> dict:
    return {"name": tool, "arguments": {"text": text}}


# === process trees ===


def parents() -> dict[int, int]:
    """pid -> parent pid for every process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        out[int(entry.name)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    return out


def descendants(pid: int) -> list[int]:
    table = parents()
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in table.items() if pp in frontier]
        found += kids
        frontier = kids
    return found


def is_echo_child(pid: int) -> bool:
    """Whether pid runs echo_server.py itself (not a shell that starts it)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return str(ECHO) in argv[1:]


@dataclass
class TreeRss:
    bridge: float
    children: float
    echo_children: int

    @property
    def total(self) -> float:
        return self.bridge + self.children


def tree_rss(h: ModuleType, pid: int) -> TreeRss:
    kids = descendants(pid)
    return TreeRss(
        bridge=h.rss_mb(pid) or 0.0,
        children=sum(h.rss_mb(k) or 0.0 for k in kids),
        echo_children=sum(1 for k in kids if is_echo_child(k)),
    )


def children_cpu(h: ModuleType, pid: int) -> dict[int, float]:
    """CPU seconds so far of each process under pid."""
    return {k: h.cpu_seconds(k) or 0.0 for k in descendants(pid)}


def cpu_times() -> list[int]:
    """The machine's CPU time counters (/proc/stat `cpu` line: user ... steal)."""
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def steal_share(before: list[int], after: list[int]) -> float:
    """How much of the CPU time between two readings the hypervisor gave to
    others (steal): a sign of load this machine cannot see."""
    delta = [a - b for a, b in zip(after, before)]
    return delta[7] / sum(delta) if sum(delta) else 0.0


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(k, 0.0) for k, t in after.items())


# === bridges ===


@dataclass
class Bridge:
    name: str
    proc: subprocess.Popen | None
    port: int = 0
    tool: str = "echo"
    token: str | None = None
    mcp: bool = True  # False for the ceiling: no sessions, no child
    bodies: Path | None = None
    why_not: str = ""  # set when the bridge could not be measured
    rss_idle: TreeRss | None = None
    rss_after: float | None = None
    rss_before_sessions: TreeRss | None = None
    rss_sessions: dict[int, TreeRss] = field(default_factory=dict)  # by sessions open

    def client(self, h: ModuleType):
        return h.HttpMcp(self.port, token=self.token)

    def headers(self) -> list[str]:
        return [f"Authorization: Bearer {self.token}"] if self.token else []


def start_herd(h: ModuleType, work: Path) -> Bridge:
    home = work / "servers-home"
    home.mkdir(exist_ok=True)
    config = work / "servers-agent.toml"
    config.write_text(
        "[[servers]]\n"
        'name = "echo"\n'
        f"command = {json.dumps(PYTHON)}\n"
        f"args = [{json.dumps(str(ECHO))}]\n"
    )
    port = h.free_port()
    env = {**os.environ, "HERD_HOME": str(home)}
    env.setdefault("HERD_LOG", "info")
    proc = subprocess.Popen(
        [h.HERD, "agent", "--config", str(config), "--listen", f"127.0.0.1:{port}", "--token", TOKEN],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    bridge = Bridge(HERD_ROW, proc, port, tool="echo__echo", token=TOKEN)
    try:
        h.wait_port(port, proc, timeout=30.0)
        wait_running(h, bridge)
    except Exception as e:  # noqa: BLE001 - reported as a row not run
        bridge.why_not = f"did not start: {e}"
    return bridge


def wait_running(h: ModuleType, bridge: Bridge, timeout: float = 30.0) -> None:
    """Polls the agent's servers_list until the echo server is running."""
    client = bridge.client(h)
    session = client.open_session()
    deadline = time.monotonic() + timeout
    state = "unknown"
    try:
        while time.monotonic() < deadline:
            status, hdrs, data = client.post(h.call_msg(1, {"name": "servers_list", "arguments": {}}), session)
            listed = answer_json(hdrs, data).get("result", {}).get("structuredContent", {}).get("servers", [])
            state = next((s.get("state") for s in listed if s.get("name") == "echo"), "absent")
            if state == "running":
                return
            time.sleep(0.1)
    finally:
        client.close_session(session)
    raise RuntimeError(f"the echo server is {state}, not running, after {timeout}s")


def start_ceiling(h: ModuleType) -> Bridge | None:
    """The bare axum handler from the main table, as a reference row."""
    if not Path(h.CEILING).exists():
        return None
    try:
        t = h.start_ceiling()
    except Exception as e:  # noqa: BLE001 - reported as a row not run
        return Bridge(CEILING_ROW, None, mcp=False, why_not=f"did not start: {e}")
    return Bridge(CEILING_ROW, t.proc, t.port, mcp=False)


def start_peer(h: ModuleType, name: str) -> Bridge:
    var, argv = PEERS[name]
    exe = os.environ.get(var)
    if not exe or not Path(exe).exists():
        return Bridge(name, None, why_not=f"not installed (${var} unset; run scripts/bench-deps)")
    port = h.free_port()
    proc = subprocess.Popen(argv(exe, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bridge = Bridge(name, proc, port)
    try:
        h.wait_port(port, proc, timeout=30.0)
    except RuntimeError as e:
        bridge.why_not = f"did not start: {e}"
    return bridge


def answer_json(hdrs: dict[str, str], data: bytes) -> dict:
    """The JSON-RPC message in a plain JSON or an SSE answer."""
    text = data.decode(errors="replace")
    if hdrs.get("content-type", "").startswith("text/event-stream"):
        frames = [l[5:].strip() for l in text.splitlines() if l.startswith("data:")]
        text = frames[-1] if frames else "{}"
    return json.loads(text)


def check_answers(h: ModuleType, bridge: Bridge, calls: int = 64, parallel: int = 8) -> str | None:
    """Calls with distinct texts, `parallel` at a time; None when every answer
    carries its own id and text, else what went wrong."""
    client = bridge.client(h)
    session = client.open_session()

    def one(i: int) -> str | None:
        status, hdrs, data = client.post(h.call_msg(1000 + i, echo_call(bridge.tool, f"check {i}")), session)
        if status != 200:
            return f"HTTP {status}: {data[:200]!r}"
        msg = answer_json(hdrs, data)
        content = msg.get("result", {}).get("content") or [{}]
        if msg.get("id") != 1000 + i or content[0].get("text") != f"check {i}":
            return f"call {i} answered {json.dumps(msg)[:200]}"
        return None

    try:
        with ThreadPoolExecutor(parallel) as pool:
            problems = [p for p in pool.map(one, range(calls)) if p]
    except Exception as e:  # noqa: BLE001 - reported as a row not run
        problems = [str(e)]
    finally:
        client.close_session(session)
    return problems[0] if problems else None


def session_cost(h: ModuleType, bridge: Bridge) -> None:
    """Records the tree's RSS with SESSIONS idle sessions open and, when one
    child serves them all, with 10 times as many (a hundred sessions may fit
    in memory the allocator already holds)."""
    client = bridge.client(h)
    opened = []
    bridge.rss_before_sessions = tree_rss(h, bridge.proc.pid)
    for count in (SESSIONS, 10 * SESSIONS):
        opened += [client.open_session() for _ in range(count - len(opened))]
        time.sleep(1.0)
        bridge.rss_sessions[count] = tree_rss(h, bridge.proc.pid)
        if bridge.rss_sessions[count].echo_children > 1:
            break
    for session in opened:
        client.close_session(session)


# === measurements ===


@dataclass
class Rows:
    samples: dict[tuple[str, int], list] = field(default_factory=dict)
    child_idle: float | None = None
    steal: float | None = None  # CPU steal over the whole target

    def add(self, name: str, conc: int, sample) -> None:
        self.samples.setdefault((name, conc), []).append(sample)


def measure_bridge(h: ModuleType, bridge: Bridge, conc: int, duration: str) -> object:
    client = bridge.client(h)
    session = client.open_session() if bridge.mcp else None
    kids_before = children_cpu(h, bridge.proc.pid)
    try:
        sample = h.run_oha(
            bridge.proc.pid, bridge.port, session, bridge.bodies, conc, duration,
            headers=bridge.headers(), timeout=REQUEST_TIMEOUT,
        )
        kids = cpu_delta(kids_before, children_cpu(h, bridge.proc.pid))
    finally:
        client.close_session(session)
    if bridge.mcp and sample.requests:
        sample.child_cpu_us = kids / sample.requests * 1e6
    sample.rss_after = tree_rss(h, bridge.proc.pid).total
    if bridge.proc.poll() is not None:
        raise RuntimeError(f"{bridge.name} exited during the run")
    return sample


def measure_child(h: ModuleType, rows: Rows, conc: int, seconds: float) -> object:
    driver = h.StdioDriver([PYTHON, str(ECHO)])
    try:
        driver.initialize()
        time.sleep(0.3)
        if rows.child_idle is None:
            rows.child_idle = h.rss_mb(driver.proc.pid)
        sample = driver.run(echo_call("echo"), conc, seconds)
    finally:
        driver.close()
    sample.child_cpu_us, sample.cpu_us = sample.cpu_us, None
    return sample


def log_sample(h: ModuleType, sample) -> None:
    h.log(
        f"    {sample.rps:10.0f} req/s  p50 {sample.p50_ms:.3f} ms  p99 {sample.p99_ms:.3f} ms"
        f"  errors {sample.errors} (timeouts {sample.timeouts})  bridge cpu {fmt(sample.cpu_us)}"
        f"  child cpu {fmt(sample.child_cpu_us)} us/req"
    )


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def start_all(h: ModuleType, work: Path) -> list[Bridge]:
    """herd agent and the peers, checked; a bridge that fails says why."""
    bridges = [start_herd(h, work)] + [start_peer(h, name) for name in PEERS]
    ceiling = start_ceiling(h)
    if ceiling:
        bridges.insert(0, ceiling)
    for b in bridges:
        if b.why_not:
            continue
        why = check_answers(h, b) if b.mcp else h.HttpMcp(b.port).probe(None, echo_call("echo"))
        if why:
            b.why_not = f"wrong answers: {why}"
            continue
        b.bodies = work / f"servers-{b.tool}.jsonl"
        if not b.bodies.exists():
            h.body_file(work, b.bodies.stem, echo_call(b.tool), h.ID_POOL)
        client = b.client(h)
        session = client.open_session() if b.mcp else None
        time.sleep(0.5)
        b.rss_idle = tree_rss(h, b.proc.pid)
        client.close_session(session)
    return bridges


def section(h: ModuleType, work: Path) -> str:
    """Runs the whole target and returns its RESULTS.md section."""
    seconds = h.duration_seconds(h.DURATION)
    rows = Rows()
    h.log(f"servers: echo child {ECHO.name} under {PYTHON}, c={list(CONCS)}")
    times_before = cpu_times()
    bridges = start_all(h, work)
    live = [b for b in bridges if not b.why_not]
    try:
        for b in live:
            if b.mcp:
                attempt(h, b, "measuring idle sessions", session_cost, h, b)
        if h.duration_seconds(h.WARMUP) > 0:
            for b in live:
                h.log(f"warm-up {h.WARMUP} {b.name} ...")
                for c in CONCS:
                    attempt(h, b, "warming up", measure_bridge, h, b, c, h.WARMUP)
        for run in range(1, h.RUNS + 1):
            for c in CONCS:
                h.log(f"run {run}/{h.RUNS}  c={c:<3} {CHILD_ROW} ...")
                sample = measure_child(h, rows, c, seconds)
                rows.add(CHILD_ROW, c, sample)
                log_sample(h, sample)
                for b in (b for b in live if not b.why_not):
                    h.log(f"run {run}/{h.RUNS}  c={c:<3} {b.name} ...")
                    if sample := attempt(h, b, f"measuring run {run} c={c}", measure_bridge, h, b, c, h.DURATION):
                        rows.add(b.name, c, sample)
                        log_sample(h, sample)
        for b in live:
            b.rss_after = max((s.rss_after for (n, _), ss in rows.samples.items() if n == b.name for s in ss), default=None)
            if b.mcp and not b.why_not and (why := check_answers(h, b)):
                b.why_not = f"answered wrongly after the load: {why}"
    finally:
        for b in bridges:
            if b.proc is not None:
                stop_tree(h, b.proc)
    rows.steal = steal_share(times_before, cpu_times())
    return render(h, rows, bridges)


def attempt(h: ModuleType, bridge: Bridge, what: str, step, *args):
    """Runs one step for a bridge; a failure ends that bridge's measurements
    (with the reason kept for the table) instead of the whole target."""
    try:
        return step(*args)
    except Exception as e:  # noqa: BLE001 - reported in the table
        bridge.why_not = f"failed while {what}: {e}"
        h.log(f"    {bridge.name}: {bridge.why_not}")
        return None


def stop_tree(h: ModuleType, proc: subprocess.Popen) -> None:
    """Stops a bridge, then whatever it started and left running."""
    kids = descendants(proc.pid)
    h.stop(proc)
    for pid in kids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


# === rendering ===


def median(samples: list, attr: str) -> float | None:
    values = [getattr(s, attr) for s in samples if getattr(s, attr) is not None]
    return statistics.median(values) if values else None


def rate(rows: Rows, name: str, conc: int) -> float | None:
    return median(rows.samples.get((name, conc), []), "rps")


def best_peer(rows: Rows, bridges: list[Bridge], conc: int) -> tuple[str, float] | None:
    rates = [(b.name, rate(rows, b.name, conc)) for b in bridges if b.mcp and b.name != HERD_ROW]
    rates = [(n, r) for n, r in rates if r]
    return max(rates, key=lambda nr: nr[1]) if rates else None


def speed_table(rows: Rows, bridges: list[Bridge]) -> list[str]:
    out = [
        "| target | c | req/s | p50 ms | p99 ms | errors (timeouts) | bridge CPU µs/req | child CPU µs/req "
        "| req/s vs child direct | herd req/s vs this |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for c in CONCS:
        direct = rate(rows, CHILD_ROW, c)
        herd = rate(rows, HERD_ROW, c)
        names = [b.name for b in bridges if not b.mcp] + [CHILD_ROW] + [b.name for b in bridges if b.mcp]
        for name in names:
            samples = rows.samples.get((name, c))
            if not samples:
                why = next((b.why_not for b in bridges if b.name == name), "") or "no samples"
                out.append(f"| {name} | {c} | not run: {why} | | | | | | | |")
                continue
            rps = median(samples, "rps")
            vs_direct = "-" if name == CHILD_ROW or not direct else f"{rps / direct:.0%}"
            vs_herd = "-" if name == HERD_ROW or not herd else f"{herd / rps:.2f}x"
            out.append(
                f"| {name} | {c} | {rps:,.0f} | {median(samples, 'p50_ms'):.3f} | {median(samples, 'p99_ms'):.3f} "
                f"| {sum(s.errors for s in samples)} ({sum(s.timeouts for s in samples)}) "
                f"| {fmt(median(samples, 'cpu_us'))} | {fmt(median(samples, 'child_cpu_us'))} | {vs_direct} | {vs_herd} |"
            )
    return out


def rss_table(rows: Rows, bridges: list[Bridge]) -> list[str]:
    out = [
        f"| RSS | bridge MB idle | child(ren) MB idle | total MB idle | total MB after load (max) "
        f"| extra KB per idle session, {SESSIONS} / {10 * SESSIONS} open | echo children with {SESSIONS} sessions |",
        "|---|--:|--:|--:|--:|--:|--:|",
        f"| {CHILD_ROW} | - | {fmt(rows.child_idle)} | {fmt(rows.child_idle)} | - | - | 1 |",
    ]
    for b in bridges:
        if not b.mcp:
            continue
        if not b.rss_idle:
            out.append(f"| {b.name} | not run: {b.why_not} | | | | | |")
            continue
        base = b.rss_before_sessions or b.rss_idle
        per_session = " / ".join(
            f"{(b.rss_sessions[n].total - base.total) * 1024 / n:.1f}" if n in b.rss_sessions else "-"
            for n in (SESSIONS, 10 * SESSIONS)
        )
        children = str(b.rss_sessions[SESSIONS].echo_children) if SESSIONS in b.rss_sessions else "-"
        out.append(
            f"| {b.name} | {b.rss_idle.bridge:.1f} | {b.rss_idle.children:.1f} | {b.rss_idle.total:.1f} "
            f"| {fmt(b.rss_after)} | {per_session} | {children} |"
        )
    return out


def verdicts(rows: Rows, bridges: list[Bridge]) -> list[str]:
    """The targets: at c=64, herd >= 80 % of the child's direct rate, >= 3x
    the best peer, p99 < 10 ms."""
    herd = rows.samples.get((HERD_ROW, 64))
    if not herd:
        return ["Targets at c=64: herd agent not measured."]
    rps = median(herd, "rps")
    p99 = median(herd, "p99_ms")
    direct = rate(rows, CHILD_ROW, 64)
    peer = best_peer(rows, bridges, 64)
    checks = []
    if direct:
        checks.append(f"{rps / direct:.0%} of the child's direct rate (target >= 80 %: {met(rps / direct >= 0.8)})")
    if peer:
        checks.append(f"{rps / peer[1]:.1f}x the best peer, {peer[0]} (target >= 3x: {met(rps / peer[1] >= 3)})")
    checks.append(f"p99 {p99:.2f} ms (target < 10 ms: {met(p99 < 10)})")
    ceiling = rate(rows, CEILING_ROW, 64)
    if ceiling:
        scale = f"for scale, {rps / ceiling:.0%} of the bare axum ceiling"
        if direct:
            scale += f", which itself reaches {ceiling / direct:.0%} of the child's direct rate"
        checks.append(scale)
    lines = ["Targets, herd agent at c=64: " + "; ".join(checks) + "."]
    per_conc = []
    for c in CONCS:
        herd_c, direct_c, peer_c = rate(rows, HERD_ROW, c), rate(rows, CHILD_ROW, c), best_peer(rows, bridges, c)
        if herd_c and direct_c and peer_c:
            per_conc.append(f"c={c}: {herd_c / direct_c:.0%} of direct, {herd_c / peer_c[1]:.1f}x {peer_c[0]}")
    if per_conc:
        lines.append("Herd agent by concurrency: " + "; ".join(per_conc) + ".")
    return lines


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def collisions(h: ModuleType, rows: Rows, bridges: list[Bridge]) -> str:
    parts = []
    for b in bridges:
        if not b.mcp:
            continue
        for c in CONCS[1:]:
            samples = rows.samples.get((b.name, c))
            if samples:
                reqs = statistics.median(s.requests for s in samples)
                parts.append(f"{b.name} c={c}: ~{reqs * (c - 1) / h.ID_POOL:.1f}")
    return "; ".join(parts)


def render(h: ModuleType, rows: Rows, bridges: list[Bridge]) -> str:
    info = h.machine()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "## Stdio MCP server bridged over HTTP (`servers`)",
        "",
        f"- Date: {stamp}",
        f"- Machine: {h.machine_line(info)}",
        f"- Command: `{h.COMMAND}` (duration {h.DURATION} per measurement, {h.RUNS} runs, medians reported; "
        f"c = {', '.join(map(str, CONCS))} for this target)",
        f"- Child: `bench/echo_server.py` (stdlib Python, newline-delimited JSON-RPC) under Python "
        f"{info['python']}; every bridge runs the same file with the same interpreter.",
        f"- CPU steal during the target: {fmt(rows.steal * 100 if rows.steal is not None else None)} % "
        "(time the hypervisor gave to other guests; on a quiet host it is near 0, and every row slows "
        "with it: compare the ratios, and the ceiling row, across runs).",
        "",
        *speed_table(rows, bridges),
        "",
        *rss_table(rows, bridges),
        "",
        *verdicts(rows, bridges),
        "",
        "Medians of the runs; errors summed over all runs (non-2xx answers and transport errors; oha runs with "
        f"`-t {REQUEST_TIMEOUT}`, so a request that gets no answer counts as a timeout). The child-direct row is "
        "bench.py's stdio driver writing `tools/call echo` to the child's stdin with c requests in flight on the "
        "pipe (its own cost included); HTTP rows are oha with one MCP session per measurement shared by all "
        "connections, calling `echo` (peers) or `echo__echo` (herd agent, with a bearer token; the peers run "
        "without auth). Bridge CPU is the bridge process's user + system time per request; child CPU is that of "
        "every process under it (the echo child; for supergateway also its `sh -c`). RSS is VmRSS summed over the "
        f"bridge's process tree: idle (one session opened and closed), after load, and with {SESSIONS} idle "
        "sessions open (initialize + notifications/initialized each, opened before the load runs, measured against "
        "the RSS just before; a garbage-collected bridge can come out negative; where one child "
        f"serves every session, also with {10 * SESSIONS}, since a hundred small sessions can fit in memory the "
        "allocator already holds). The ceiling row is the main table's bare axum handler answering the same "
        "bodies with no session and no child: the most any HTTP server does on this machine with oha as the "
        "client, for scale.",
        "",
        f"Request bodies are drawn at random from {h.ID_POOL:,} distinct ids (oha `-Z`). Expected requests per "
        f"run sharing an id with one in flight: {collisions(h, rows, bridges)}. herd gives the child ids of its "
        "own, so such a pair is two ordinary calls to it; a bridge that forwards ids unchanged can leave one of "
        "the pair unanswered (seen with npm mcp-proxy), which shows here as a timeout.",
    ]
    for b in bridges:
        if b.why_not and b.rss_idle:
            out += ["", f"Note: {b.name}: {b.why_not}."]
    return "\n".join(out)
