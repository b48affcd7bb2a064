"""Soak: mixed load through a hub and its agents for a long time, printing
each minute's memory, open files and latency, to show that nothing grows.

Started by bench/soak (which builds the release binary first). On loopback:
two agents, a hub in front of them plus one host that refuses connections
(so some calls fail every minute). Worker threads, each with its own MCP
session and keep-alive connection to the hub, pick calls at random:

  remote_shell (echo)        30 %    remote_list_dir            10 %
  remote_write_file + read   20 %    remote_search_files         5 %
  remote_shell_many (both)   10 %    remote_shell on a dead host 5 % (fails)
  remote_shell exit 3         5 %    remote_read_file missing    5 % (fails)
  (a non-zero exit is a result, not a tool error: its exit_code is checked)
  remote_list_hosts          10 %

Calls are paced to --rate per second in total. Each minute prints calls,
unexpected failures (a call that should have worked and did not, or one
that should have failed and did not), p50/p99 of the minute, and RSS and
open file descriptors of the hub and of each agent. At the end, the first
full minute is compared with the last: memory and fds should be flat.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROTOCOL = "2025-06-18"
TOKEN = "soak-token"


def log(msg: str) -> None:
    print(f"soak: {msg}", file=sys.stderr, flush=True)


# === processes ===


class Herd:
    """A herd process whose URL is read from its `serving MCP` log line."""

    def __init__(self, herd: str, args: list[str], home: Path, name: str):
        self.name = name
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERD_")}
        env.update({"HERD_HOME": str(home), "HERD_LOG": "warn,herd::server=info"})
        self.proc = subprocess.Popen(
            [herd, "--log-format", "json", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.url = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError(f"{name} exited before serving (status {self.proc.poll()})")
            try:
                fields = json.loads(line).get("fields", {})
            except ValueError:
                continue
            if fields.get("message") == "serving MCP":
                self.url = fields["url"]
                break
        if not self.url:
            raise RuntimeError(f"{name} did not serve within 30 s")
        # Keep draining stderr so the process never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for _ in self.proc.stderr:
            pass

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# === MCP client ===


class Session:
    """One MCP session over one keep-alive connection (reopened on error)."""

    def __init__(self, url: str):
        rest = url.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.path = "/" + path
        self.conn: http.client.HTTPConnection | None = None
        self.session: str | None = None
        self.next_id = 1

    def _post(self, body: dict) -> tuple[int, dict[str, str], bytes]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {TOKEN}",
        }
        if self.session:
            headers["Mcp-Session-Id"] = self.session
            headers["Mcp-Protocol-Version"] = PROTOCOL
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request("POST", self.path, body=json.dumps(body), headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def open(self) -> None:
        self.session = None
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "soak", "version": "1"}},
        }
        status, hdrs, data = self._post(init)
        if status != 200:
            raise RuntimeError(f"initialize: HTTP {status}: {data[:200]!r}")
        self.session = hdrs.get("mcp-session-id")
        self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, name: str, arguments: dict) -> dict:
        """The tool's result object; raises on HTTP or JSON-RPC errors."""
        if self.session is None:
            self.open()
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        status, hdrs, data = self._post(msg)
        if status == 404:
            self.open()
            status, hdrs, data = self._post(msg)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {data[:200]!r}")
        text = data.decode(errors="replace")
        if hdrs.get("content-type", "").startswith("text/event-stream"):
            frames = [l[5:].strip() for l in text.splitlines() if l.startswith("data:")]
            answers = [json.loads(f) for f in frames if f]
            answers = [a for a in answers if a.get("id") == self.next_id]
            if not answers:
                raise RuntimeError("SSE answer without the response")
            reply = answers[-1]
        else:
            reply = json.loads(text)
        if "error" in reply:
            raise RuntimeError(f"JSON-RPC error {reply['error']}")
        return reply["result"]


# === the load ===


@dataclass
class Minute:
    latencies: list[float] = field(default_factory=list)
    unexpected: int = 0
    failed_as_expected: int = 0
    examples: list[str] = field(default_factory=list)


class Load:
    def __init__(self, url: str, work: Path, rate: float, workers: int):
        self.url = url
        self.work = work
        self.interval = workers / rate
        self.workers = workers
        self.lock = threading.Lock()
        self.minute = Minute()
        self.stopping = threading.Event()

    def take_minute(self) -> Minute:
        with self.lock:
            minute, self.minute = self.minute, Minute()
        return minute

    def record(self, elapsed_ms: float, ok: bool, why: str = "") -> None:
        with self.lock:
            self.minute.latencies.append(elapsed_ms)
            if not ok:
                self.minute.unexpected += 1
                if len(self.minute.examples) < 3:
                    self.minute.examples.append(why[:200])

    def expected_failure(self) -> None:
        with self.lock:
            self.minute.failed_as_expected += 1

    def one_call(self, s: Session, rng: random.Random, wid: int, n: int) -> None:
        host = rng.choice(["a1", "a2"])
        path = str(self.work / f"w{wid}-{n % 50}.txt")
        roll = rng.random()
        # (tool, arguments, should fail, check of a good result)
        if roll < 0.30:
            call = ("remote_shell", {"host": host, "command": f"echo {n}"}, False, lambda r: r["structuredContent"]["stdout"] == f"{n}\n")
        elif roll < 0.50:
            content = f"soak {wid} {n}\n" * 20
            result = s.call("remote_write_file", {"host": host, "path": path, "content": content})
            if result.get("isError"):
                raise RuntimeError(f"write failed: {json.dumps(result)[:200]}")
            first_line = content.splitlines()[0]
            call = ("remote_read_file", {"host": host, "path": path}, False, lambda r: first_line in r["content"][0]["text"])
        elif roll < 0.60:
            call = ("remote_shell_many", {"hosts": ["a1", "a2"], "command": "uptime"}, False, lambda r: r["structuredContent"]["succeeded"] == 2)
        elif roll < 0.70:
            call = ("remote_list_dir", {"host": host, "path": str(self.work)}, False, lambda r: True)
        elif roll < 0.75:
            call = ("remote_search_files", {"host": host, "pattern": "*.txt", "path": str(self.work), "max_results": 20}, False, lambda r: True)
        elif roll < 0.80:
            call = ("remote_shell", {"host": "dead", "command": "true"}, True, None)
        elif roll < 0.85:
            call = ("remote_shell", {"host": host, "command": "exit 3"}, False, lambda r: r["structuredContent"]["exit_code"] == 3)
        elif roll < 0.90:
            call = ("remote_read_file", {"host": host, "path": str(self.work / "missing")}, True, None)
        else:
            call = ("remote_list_hosts", {}, False, lambda r: len(r["structuredContent"]["hosts"]) == 3)
        tool, arguments, should_fail, check = call
        started = time.perf_counter()
        try:
            result = s.call(tool, arguments)
        except Exception as e:  # noqa: BLE001 - any failure is counted and shown
            self.record((time.perf_counter() - started) * 1000, False, f"{tool}: {e}")
            s.session = None
            return
        elapsed = (time.perf_counter() - started) * 1000
        failed = bool(result.get("isError"))
        if should_fail and failed:
            self.expected_failure()
            self.record(elapsed, True)
        elif should_fail or failed:
            self.record(elapsed, False, f"{tool} {'succeeded' if should_fail else 'failed'}: {json.dumps(result)[:200]}")
        else:
            try:
                good = check(result)
            except (KeyError, IndexError, TypeError) as e:
                good, result = False, {"unreadable": str(e), **result}
            self.record(elapsed, good, "" if good else f"{tool}: unexpected result {json.dumps(result)[:200]}")

    def worker(self, wid: int) -> None:
        rng = random.Random(wid)
        s = Session(self.url)
        n = 0
        next_at = time.monotonic() + rng.random() * self.interval
        while not self.stopping.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at = max(next_at + self.interval, time.monotonic() - self.interval)
            n += 1
            try:
                self.one_call(s, rng, wid, n)
            except Exception as e:  # noqa: BLE001
                self.record(0.0, False, f"worker {wid}: {e}")
                s.session = None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * len(values) + 0.5)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to run (default 30)")
    parser.add_argument("--rate", type=float, default=100.0, help="calls per second in total (default 100)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent client sessions (default 8)")
    parser.add_argument("--herd", default="target/release/herd", help="the herd binary")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per report row (default 60)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="herd-soak-"))
    procs: list[Herd] = []
    try:
        agents = []
        for name in ("a1", "a2"):
            home = work / name
            home.mkdir()
            agent = Herd(args.herd, ["agent", "--listen", "127.0.0.1:0", "--token", TOKEN], home, name)
            procs.append(agent)
            agents.append(agent)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead_port = sock.getsockname()[1]
        registry = work / "hosts.toml"
        lines = ["[health]\nbudget = 1\nconnect_timeout = 0.5\n"]
        for agent in agents:
            lines.append(f'[[hosts]]\nname = "{agent.name}"\nurl = "{agent.url}"\ntoken = "{TOKEN}"\n')
        lines.append(f'[[hosts]]\nname = "dead"\nurl = "http://127.0.0.1:{dead_port}/mcp"\n')
        registry.write_text("\n".join(lines))
        (work / "hub").mkdir()
        hub = Herd(args.herd, ["hub", "--config", str(registry), "--listen", "127.0.0.1:0", "--token", TOKEN], work / "hub", "hub")
        procs.append(hub)
        files = work / "files"
        files.mkdir()
        load = Load(hub.url, files, args.rate, args.workers)
        threads = [threading.Thread(target=load.worker, args=(i,), daemon=True) for i in range(args.workers)]
        for t in threads:
            t.start()
        log(f"{args.minutes:g} min at {args.rate:g} calls/s from {args.workers} sessions; hub {hub.url}")
        header = f"{'min':>5} {'calls':>6} {'bad':>4} {'p50 ms':>7} {'p99 ms':>7}"
        for p in procs:
            header += f" {p.name + ' MB':>9} {p.name + ' fds':>7}"
        print(header, flush=True)
        rows = []
        started = time.monotonic()
        end = started + args.minutes * 60
        tick = 0
        while time.monotonic() < end:
            tick += 1
            time.sleep(max(0.0, min(started + tick * args.interval, end) - time.monotonic()))
            minute = load.take_minute()
            dead = [p.name for p in procs if not p.alive()]
            if dead:
                log(f"exited: {', '.join(dead)}")
                return 1
            stats = [(p.rss_mb(), p.fds()) for p in procs]
            row = (tick * args.interval / 60, len(minute.latencies), minute.unexpected,
                   percentile(minute.latencies, 0.5), percentile(minute.latencies, 0.99), stats)
            rows.append(row)
            line = f"{row[0]:>5.1f} {row[1]:>6} {row[2]:>4} {row[3]:>7.1f} {row[4]:>7.1f}"
            for rss, fds in stats:
                line += f" {rss:>9.1f} {fds:>7}"
            print(line, flush=True)
            for example in minute.examples:
                log(f"  unexpected: {example}")
        load.stopping.set()
        for t in threads:
            t.join(timeout=70)
        bad = sum(r[2] for r in rows)
        if len(rows) >= 2:
            first, last = rows[0][5], rows[-1][5]
            for p, (rss0, fds0), (rss1, fds1) in zip(procs, first, last):
                log(f"{p.name}: RSS {rss0:.1f} -> {rss1:.1f} MB ({rss1 - rss0:+.1f}), fds {fds0} -> {fds1} ({fds1 - fds0:+d})")
        log(f"{sum(r[1] for r in rows)} calls, {bad} unexpected outcomes")
        return 1 if bad else 0
    finally:
        for p in reversed(procs):
            p.stop()


if __name__ == "__main__":
    sys.exit(main())
