"""The `replicas` target: hub replicas on one PostgreSQL behind haproxy.

Imported by bench.py. Starts a throwaway PostgreSQL (its own data
directory, a loopback port, stopped at the end; never a system instance),
three `herd hub --database-url` replicas over one agent, and haproxy doing
round robin in front of one, two and then all three of them. A 2026-07-28
(stateless) `tools/call` of `remote_read_file` is driven through haproxy
with oha; the table gives calls/s and the CPU each replica spent per call
it served (CPU seconds over the calls its `/metrics` counted), so the
scaling can be read even on a machine where the load generator competes
for the same cores.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import ModuleType

PROTOCOL = "2026-07-28"
HOSTS = 3  # replicas started; the rows use the first 1, 2 and 3
ROW = "2026-07-28 tools/call (remote_read_file 1 KB) through haproxy"


def pg_bin() -> Path:
    """PostgreSQL's binaries: HERD_PG_BIN (scripts/test-deps exports it),
    else the newest /usr/lib/postgresql/*/bin."""
    if os.environ.get("HERD_PG_BIN"):
        return Path(os.environ["HERD_PG_BIN"])
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not dirs:
        raise RuntimeError("no PostgreSQL under /usr/lib/postgresql: run scripts/test-deps")
    return dirs[-1]


def haproxy_bin() -> str:
    return os.environ.get("HERD_HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"


def as_postgres(cmd: list[str]) -> list[str]:
    """`cmd` as the postgres user when running as root (PostgreSQL refuses root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start_postgres(h: ModuleType) -> tuple[subprocess.Popen, str, Path]:
    """PostgreSQL in a temp dir of its own (the postgres user must reach it,
    so not under the run's private work dir); returns the server, its URL
    and the dir to remove."""
    root = Path(tempfile.mkdtemp(prefix="herd-bench-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    bin_dir = pg_bin()
    init = subprocess.run(as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
                          capture_output=True, text=True)
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr[-500:]}")
    port = h.free_port()
    proc = subprocess.Popen(
        as_postgres([str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(data),
                     "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    h.wait_port(port, proc, timeout=60.0)
    return proc, f"postgres://postgres@127.0.0.1:{port}/postgres", root


def start_haproxy(h: ModuleType, work: Path, ports: list[int]) -> tuple[subprocess.Popen, int]:
    port = h.free_port()
    servers = "".join(f"    server r{i} 127.0.0.1:{p} check\n" for i, p in enumerate(ports))
    config = work / f"haproxy-{len(ports)}.cfg"
    config.write_text(
        "global\n    maxconn 4000\n"
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n"
        f"frontend herd\n    bind 127.0.0.1:{port}\n    default_backend hubs\n"
        "backend hubs\n    balance roundrobin\n    option httpchk GET /readyz\n"
        f"    default-server inter 1s fall 2 rise 1\n{servers}"
    )
    proc = subprocess.Popen([haproxy_bin(), "-db", "-f", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    h.wait_port(port, proc, timeout=10.0)
    # Until haproxy's checks see every replica up and it answers.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.1)
    return proc, port


def served_calls(port: int) -> float:
    """The MCP requests one replica counted (its `/metrics`)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("herd_replica_requests_total") and 'route="mcp"' in line:
            total += float(line.rsplit(" ", 1)[1])
    if total == 0.0:
        raise RuntimeError("the replica's /metrics has no herd_replica_requests_total{route=\"mcp\"}")
    return total


def body_file(work: Path, arguments: dict, pool: int) -> Path:
    meta = {
        "io.modelcontextprotocol/protocolVersion": PROTOCOL,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    }
    params = json.dumps({"name": "remote_read_file", "arguments": arguments, "_meta": meta}, separators=(",", ":"))
    path = work / "replicas.jsonl"
    with path.open("w") as f:
        for i in range(1, pool + 1):
            f.write(f'{{"jsonrpc":"2.0","id":{i},"method":"tools/call","params":{params}}}\n')
    return path


def section(h: ModuleType, work: Path) -> str:
    """Runs the whole target and returns its RESULTS.md section."""
    procs: list[subprocess.Popen] = []
    rows: list[tuple[int, int, list]] = []
    pg_root = None
    try:
        pg, database, pg_root = start_postgres(h)
        procs.append(pg)
        sample = work / "replica-sample.txt"
        sample.write_text("".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(20)))
        agent = h.start_herd(h.AGENT_ARGS, "replicas' agent", {"name": "read_file", "arguments": {}},
                             cwd=work, home=work / "replica-agent-home")
        procs.append(agent.proc)
        registry = work / "replica-hosts.toml"
        registry.write_text(f'[[hosts]]\nname = "a"\nurl = "http://127.0.0.1:{agent.port}/mcp"\n')
        hubs: list[tuple[subprocess.Popen, int]] = []
        for i in range(HOSTS):
            port = h.free_port()
            env = dict(os.environ, HERD_HOME=str(work / f"replica-home-{i}"), HERD_LOG="warn")
            proc = subprocess.Popen(
                [h.HERD, "hub", "--config", str(registry), "--insecure-no-auth", "--database-url", database,
                 "--listen", f"127.0.0.1:{port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            )
            procs.append(proc)
            h.wait_port(port, proc, timeout=60.0)
            hubs.append((proc, port))
        bodies = body_file(work, {"host": "a", "path": str(sample)}, min(h.ID_POOL, 200_000))
        headers = [f"Mcp-Protocol-Version: {PROTOCOL}", "Mcp-Method: tools/call", "Mcp-Name: remote_read_file"]
        for n in range(1, HOSTS + 1):
            proxy, proxy_port = start_haproxy(h, work, [port for _, port in hubs[:n]])
            try:
                h.run_oha(proxy.pid, proxy_port, None, bodies, 64, h.WARMUP, headers)
                runs = []
                for run in range(h.RUNS):
                    cpu0 = [h.cpu_seconds(p.pid) for p, _ in hubs[:n]]
                    calls0 = [served_calls(port) for _, port in hubs[:n]]
                    s = h.run_oha(proxy.pid, proxy_port, None, bodies, 64, headers=headers)
                    cpu1 = [h.cpu_seconds(p.pid) for p, _ in hubs[:n]]
                    calls1 = [served_calls(port) for _, port in hubs[:n]]
                    per = [(c1 - c0) / max(k1 - k0, 1) * 1e6 for c0, c1, k0, k1 in zip(cpu0, cpu1, calls0, calls1)]
                    share = [k1 - k0 for k0, k1 in zip(calls0, calls1)]
                    h.log(f"replicas {n} run {run + 1}: {s.rps:.0f} calls/s, errors {s.errors},"
                          f" calls per replica {share}, cpu us/call {[f'{x:.1f}' for x in per]}")
                    runs.append((s, per, share))
                rows.append((n, h.RUNS, runs))
            finally:
                h.stop(proxy)
    finally:
        for p in reversed(procs):
            h.stop(p)
        if pg_root:
            shutil.rmtree(pg_root, ignore_errors=True)
    return render(rows)


def render(rows: list[tuple[int, int, list]]) -> str:
    base = None
    lines = [
        "## Hub replicas behind haproxy",
        "",
        "Three `herd hub --database-url` replicas on one PostgreSQL (the run's own, on loopback), one agent,"
        " haproxy round robin in front of the first 1, 2 or 3 replicas; oha c=64 sends stateless 2026-07-28"
        f" `tools/call`s of `remote_read_file` through haproxy. {ROW}; medians of the runs. CPU per call is each"
        " replica's CPU time over the calls it counted; on 2 cores oha, haproxy, the agent and PostgreSQL share"
        " the CPUs with the replicas, so throughput cannot grow with replicas here, and the CPU per call is the"
        " figure to read.",
        "",
        "| replicas | calls/s | p50 ms | p99 ms | errors | calls per replica | CPU us per call, each replica |",
        "|---:|---:|---:|---:|---:|---|---|",
    ]
    for n, _, runs in rows:
        rps = statistics.median(s.rps for s, _, _ in runs)
        p50 = statistics.median(s.p50_ms for s, _, _ in runs)
        p99 = statistics.median(s.p99_ms for s, _, _ in runs)
        errors = sum(s.errors for s, _, _ in runs)
        share = [statistics.median(r[2][i] for r in runs) for i in range(n)]
        cpu = [statistics.median(r[1][i] for r in runs) for i in range(n)]
        base = base or rps
        lines.append(
            f"| {n} | {rps:,.0f} ({rps / base:.2f}x) | {p50:.3f} | {p99:.3f} | {errors} |"
            f" {' / '.join(f'{x:,.0f}' for x in share)} | {' / '.join(f'{x:.1f}' for x in cpu)} |"
        )
    return "\n".join(lines)
