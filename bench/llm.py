"""The `llm` target of bench/run: what the LLM relay adds to a provider.

A scripted OpenAI-compatible provider (`herd-test-provider`, no model: it
streams fixed tokens) is measured directly and through `herd hub` -> the
channel -> a `herd agent` that listens on no port, in the same run:

- time to first event of a streaming chat completion at c=1 (p50, p99) and
  the time per event after it (`bench-llm ttft`), the provider streaming
  16 tokens with no delay;
- requests per second of short non-streaming chat completions at c=64
  (oha), with the hub's and the agent's CPU per request;
- many concurrent streams through the relay (`bench-llm streams`), the
  provider sending a token every second: how many were held to the end,
  the longest gap between two events of any stream, and the peak RSS of hub
  and agent while they were open.

Its section of RESULTS.md is its own, so running it alone leaves the rest
of the file as it was.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import threading
import time
from pathlib import Path
from types import ModuleType

PROVIDER = os.environ.get("BENCH_PROVIDER", "")
BENCH_LLM = os.environ.get("BENCH_LLM", "")
STREAMS = int(os.environ.get("BENCH_STREAMS", "10000"))
TTFT_REQUESTS = int(os.environ.get("BENCH_TTFT_REQUESTS", "2000"))
MODEL = "bench"
TOKEN_ENV = "HERD_HUB_TOKEN"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Say something."}], "max_tokens": 16}


def start_provider(h: ModuleType, *flags: str) -> tuple[subprocess.Popen, str]:
    """A scripted provider on a free port; returns it and its base URL."""
    proc = subprocess.Popen(
        [PROVIDER, "--listen", "127.0.0.1:0", *flags], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("listening on "):
        h.stop(proc)
        raise RuntimeError(f"the provider printed {line!r}")
    return proc, line.removeprefix("listening on ")


def http_json(port: int, path: str, token: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, {"text": body[:200].decode(errors="replace")}
    finally:
        conn.close()


def start_relay(h: ModuleType, work: Path, provider_url: str, name: str) -> tuple[list[subprocess.Popen], int, str, int]:
    """A hub whose store has an operator `bench` (the client) and a user
    `ws` of role agent (the channel), and a channel agent publishing
    `provider_url` as public model `bench`; returns the processes, the
    hub's port, the client's token and the agent's pid."""
    home = work / f"llm-hub-{name}"
    token = h.user_token(home)
    agent_token = h.user_token(home, "ws", "agent")
    config = work / f"llm-hosts-{name}.toml"
    config.write_text("")
    port = h.free_port()
    hub = subprocess.Popen(
        [h.HERD, "hub", "--config", str(config), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, HERD_HOME=str(home), HERD_LOG="warn"),
    )
    h.wait_port(port, hub, timeout=30.0)
    agent_home = work / f"llm-agent-{name}"
    agent_home.mkdir(exist_ok=True)
    agent_config = work / f"llm-agent-{name}.toml"
    agent_config.write_text(
        f'name = "ws-{name}"\nhub = "http://127.0.0.1:{port}"\nhub_token_env = "{TOKEN_ENV}"\n'
        f'[[llm]]\nname = "{MODEL}"\nurl = "{provider_url}"\nmodel = "scripted"\n'
        f'visibility = "public"\nmax_concurrency = {STREAMS * 2}\n'
    )
    agent = subprocess.Popen(
        [h.HERD, "agent", "--config", str(agent_config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, HERD_HOME=str(agent_home), HERD_LOG="warn", **{TOKEN_ENV: agent_token}),
    )
    wait_listed(h, port, token, agent)
    return [agent, hub], port, token, agent.pid


def wait_listed(h: ModuleType, port: int, token: str, agent: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until the hub lists model `bench` as active."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        if agent.poll() is not None:
            raise RuntimeError(f"the agent exited with {agent.returncode}")
        status, body = http_json(port, "/v1/models", token)
        seen = body
        if status == 200 and any(m.get("id") == MODEL and m.get("herd", {}).get("state") == "active" for m in body.get("data", [])):
            return
        time.sleep(0.1)
    raise RuntimeError(f"model {MODEL} not listed within {timeout:.0f}s (last: {seen})")


def bench_llm(mode: str, url: str, model: str, count: int, token: str | None) -> dict:
    env = dict(os.environ)
    env.pop("BENCH_LLM_TOKEN", None)
    if token:
        env["BENCH_LLM_TOKEN"] = token
    flag = "--requests" if mode == "ttft" else "--streams"
    out = subprocess.run([BENCH_LLM, mode, url, model, flag, str(count)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"bench-llm {mode} failed: {out.stderr[-500:]}")
    return json.loads(out.stdout)


def oha_chat(h: ModuleType, url: str, token: str | None, conc: int, pids: list[int]) -> dict:
    """Non-streaming chat completions at `conc` for the run's duration."""
    cmd = [
        h.OHA, url, "-z", h.DURATION, "-c", str(conc), "-w", "--no-tui", "--output-format", "json",
        "-m", "POST", "-T", "application/json", "-d", json.dumps(CHAT),
    ]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    before = [h.cpu_seconds(p) for p in pids]
    out = subprocess.run(cmd, capture_output=True, text=True)
    after = [h.cpu_seconds(p) for p in pids]
    if out.returncode != 0:
        raise RuntimeError(f"oha failed: {out.stderr[-500:]}")
    r = json.loads(out.stdout)
    codes = {int(k): v for k, v in (r.get("statusCodeDistribution") or {}).items()}
    requests = sum(codes.values()) + sum((r.get("errorDistribution") or {}).values())
    errors = requests - sum(v for k, v in codes.items() if 200 <= k < 300)
    cpu = [(a - b) / requests * 1e6 if requests and a is not None and b is not None else None for a, b in zip(after, before)]
    return {"rps": r["summary"]["requestsPerSec"], "errors": errors, "cpu_us": cpu}


class PeakRss:
    """Samples the RSS of `pids` every 0.2 s until stopped; keeps the peak of their sum."""

    def __init__(self, h: ModuleType, pids: list[int]):
        self.h, self.pids, self.peak, self.each = h, pids, 0.0, [0.0] * len(pids)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.done.wait(0.2):
            values = [self.h.rss_mb(p) or 0.0 for p in self.pids]
            if sum(values) > self.peak:
                self.peak, self.each = sum(values), values

    def stop(self) -> tuple[float, list[float]]:
        self.done.set()
        self.thread.join()
        return self.peak, self.each


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def section(h: ModuleType, work: Path) -> str:
    """Runs the whole target and returns its RESULTS.md section."""
    procs: list[subprocess.Popen] = []
    try:
        fast, fast_url = start_provider(h, "--tokens", "16")
        procs.append(fast)
        relay, port, token, agent_pid = start_relay(h, work, fast_url, "fast")
        procs.extend(relay)
        hub_pid = relay[1].pid
        hub_url = f"http://127.0.0.1:{port}/v1"
        direct, via = {"ttft": [], "rps": []}, {"ttft": [], "rps": []}
        for run in range(1, h.RUNS + 1):
            h.log(f"llm run {run}/{h.RUNS}: time to first event, c=1, {TTFT_REQUESTS} streams each ...")
            direct["ttft"].append(bench_llm("ttft", fast_url, "scripted", TTFT_REQUESTS, None))
            via["ttft"].append(bench_llm("ttft", hub_url, MODEL, TTFT_REQUESTS, token))
            h.log(f"    direct {direct['ttft'][-1]}\n    herd   {via['ttft'][-1]}")
            h.log(f"llm run {run}/{h.RUNS}: non-streaming chat, c=64, {h.DURATION} ...")
            direct["rps"].append(oha_chat(h, f"{fast_url}/chat/completions", None, 64, [fast.pid]))
            via["rps"].append(oha_chat(h, f"{hub_url}/chat/completions", token, 64, [hub_pid, agent_pid]))
            h.log(f"    direct {direct['rps'][-1]}\n    herd   {via['rps'][-1]}")
        for p in procs:
            h.stop(p)
        procs.clear()

        slow, slow_url = start_provider(h, "--tokens", "5", "--first-delay-ms", "1000", "--delay-ms", "1000")
        procs.append(slow)
        relay, port, token, agent_pid = start_relay(h, work, slow_url, "streams")
        procs.extend(relay)
        rss_idle = [h.rss_mb(relay[1].pid) or 0.0, h.rss_mb(agent_pid) or 0.0]
        h.log(f"llm: {STREAMS} concurrent streams through the relay, a token a second ...")
        sampler = PeakRss(h, [relay[1].pid, agent_pid])
        streams = bench_llm("streams", f"http://127.0.0.1:{port}/v1", MODEL, STREAMS, token)
        peak, each = sampler.stop()
        h.log(f"    {streams}  peak RSS hub+agent {peak:.0f} MB ({each[0]:.0f} + {each[1]:.0f})")
    finally:
        for p in procs:
            h.stop(p)
    return render(direct, via, streams, rss_idle, peak, each)


def render(direct: dict, via: dict, streams: dict, rss_idle: list[float], peak: float, each: list[float]) -> str:
    def m(runs: list[dict], key: str) -> float:
        return median([r[key] for r in runs])

    d50, d99, v50, v99 = (m(direct["ttft"], "ttft_ms_p50"), m(direct["ttft"], "ttft_ms_p99"),
                          m(via["ttft"], "ttft_ms_p50"), m(via["ttft"], "ttft_ms_p99"))
    de, ve = m(direct["ttft"], "per_event_us_p50"), m(via["ttft"], "per_event_us_p50")
    drps, vrps = m(direct["rps"], "rps"), m(via["rps"], "rps")
    hub_cpu = median([r["cpu_us"][0] for r in via["rps"] if r["cpu_us"][0] is not None])
    agent_cpu = median([r["cpu_us"][1] for r in via["rps"] if r["cpu_us"][1] is not None])
    errors = sum(r["errors"] for r in direct["rps"] + via["rps"])
    lines = [
        "## LLM relay",
        "",
        "A scripted provider (`herd-test-provider`) directly, and through `herd hub` -> channel -> `herd agent`"
        " (no listening port), same run; medians of the runs.",
        "",
        "| measure | provider direct | through herd | added |",
        "|---|---:|---:|---:|",
        f"| time to first event, c=1, p50 | {d50:.3f} ms | {v50:.3f} ms | {v50 - d50:.3f} ms |",
        f"| time to first event, c=1, p99 | {d99:.3f} ms | {v99:.3f} ms | {v99 - d99:.3f} ms |",
        f"| time per event after the first (16 tokens) | {de:.1f} us | {ve:.1f} us | {ve - de:.1f} us |",
        f"| non-streaming chat, c=64 | {drps:,.0f} req/s | {vrps:,.0f} req/s | {vrps / drps:.0%} kept |",
        "",
        f"CPU per non-streaming request through herd: hub {hub_cpu:.1f} us, agent {agent_cpu:.1f} us."
        f" Errors in the req/s runs: {errors}.",
        "",
        f"Concurrent streams through the relay (a token a second, 5 tokens): {streams['held']:,} of"
        f" {streams['streams']:,} held to the end, {streams['errors']} errors, longest gap between two events"
        f" of any stream {streams['longest_gap_ms']:.0f} ms (the provider's is 1000 ms); peak RSS hub + agent"
        f" {peak:.0f} MB ({each[0]:.0f} + {each[1]:.0f}; idle {rss_idle[0]:.0f} + {rss_idle[1]:.0f})."
        + (f" First error: {streams['first_error']}" if streams.get("first_error") else ""),
    ]
    return "\n".join(lines)
