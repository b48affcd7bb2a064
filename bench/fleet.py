"""Hub benchmarks: the hop through `herd hub`, and health at fleet scale.

Imported by bench.py. The hop row puts a hub in front of a dedicated agent
and calls remote_read_file, to compare with the agent called directly. The
fleet table registers 1000 hosts of which 990 are dead (half refuse, half
are blackholed: a listening socket that is never accepted from, so TCP
connects succeed and nothing ever answers) and measures a forced probe
round and remote_list_hosts from the cache.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import time
from pathlib import Path


def write_registry(path: Path, hosts: list[tuple[str, str]], budget: float = 3.0, ca: Path | None = None) -> None:
    """A hosts file; with `ca`, https agents are checked against that CA."""
    lines = [f"[health]\nbudget = {budget}\n"]
    if ca:
        lines.append(f'[tls]\nca = "{ca}"\n')
    for name, url in hosts:
        lines.append(f'[[hosts]]\nname = "{name}"\nurl = "{url}"\n')
    path.write_text("\n".join(lines))


def start_hub(herd: str, port: int, config: Path, wait_port, extra: list[str] | None = None) -> subprocess.Popen:
    """A hub on `port` over the hosts of `config`, its state (users, audit)
    in a directory beside `config`, never the user's own; `extra` are more
    arguments (e.g. `--tls-cert`, `--tls-key`)."""
    env = dict(os.environ, HERD_HOME=str(config.parent / f"hub-home-{port}"))
    proc = subprocess.Popen(
        [herd, "hub", "--config", str(config), "--insecure-no-auth", "--listen", f"127.0.0.1:{port}", *(extra or [])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    wait_port(port, proc, timeout=30.0)
    return proc


def call_result(client, session: str | None, rid: int, name: str, arguments: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    status, hdrs, data = client.post(
        {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": arguments}},
        session,
    )
    elapsed = (time.perf_counter() - started) * 1000
    text = data.decode(errors="replace")
    if hdrs.get("content-type", "").startswith("text/event-stream"):
        frames = [l[5:].strip() for l in text.splitlines() if l.startswith("data:")]
        text = frames[-1] if frames else "{}"
    return elapsed, json.loads(text)


def fleet_table(herd: str, work: Path, live_url: str, free_port, wait_port, http_mcp, stop) -> str:
    """1000 hosts, 10 alive: forced round time and cached listing latency."""
    holes = []
    for _ in range(4):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(4096)
        holes.append(s)
    hosts = []
    for i in range(1000):
        if i < 10:
            url = live_url
        elif i % 2:
            url = f"http://127.0.0.1:{free_port()}/mcp"  # nothing listens: refused
        else:
            url = f"http://127.0.0.1:{holes[i % 4].getsockname()[1]}/mcp"
        hosts.append((f"h{i:04d}", url))
    config = work / "fleet.toml"
    write_registry(config, hosts)
    port = free_port()
    started = time.perf_counter()
    proc = start_hub(herd, port, config, wait_port)
    try:
        # The port is bound before the first probe round; the session opens
        # once the hub serves, after that round.
        client = http_mcp(port)
        session = client.open_session()
        first_round = time.perf_counter() - started
        forced, result = call_result(client, session, 1, "remote_list_hosts", {"force": True})
        states = [h["state"] for h in result["result"]["structuredContent"]["hosts"]]
        cached = sorted(call_result(client, session, 2 + i, "remote_list_hosts", {})[0] for i in range(50))
    finally:
        stop(proc)
        for s in holes:
            s.close()
    up = states.count("up")
    return "\n".join(
        [
            "| fleet of 1000 hosts (10 up, 495 refusing, 495 blackholed), probe budget 3 s | value |",
            "|---|--:|",
            f"| hub start until serving (includes the first probe round) | {first_round:.2f} s |",
            f"| remote_list_hosts force=true (a full probe round) | {forced / 1000:.2f} s |",
            f"| hosts reported up / down | {up} / {len(states) - up} |",
            f"| remote_list_hosts from cache, p50 / max of 50 | {statistics.median(cached):.1f} ms / {cached[-1]:.1f} ms |",
        ]
    )


def ssh_table(work: Path, ssh_bench: str, free_port, stop) -> str:
    """The SSH fallback's latency, cold and warm, against a loopback sshd
    started here with its own keys (never the system's sshd).

    Measured twice: with the user's login shell as configured, and with
    bash's startup files skipped (sshd sets SHLVL=1, so bash does not take
    itself for the first shell of an ssh session and source ~/.bashrc). A
    slow ~/.bashrc (pyenv init, say) is paid by every ssh command on that
    host whatever the client; the second run shows what herd adds on a host
    whose shell starts at once."""
    as_configured = _ssh_run(work / "sshd", ssh_bench, free_port, stop, "")
    without_rc = _ssh_run(work / "sshd-norc", ssh_bench, free_port, stop, "SetEnv SHLVL=1\n")
    rows = [
        "| SSH fallback, loopback sshd (ssh_bench) | n | p50 ms | p99 ms | p50 ms, no shell rc | p99 ms, no shell rc |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for label, (n, p50, p99) in as_configured.items():
        p50_norc, p99_norc = without_rc.get(label, ("-", "-", "-"))[1:]
        rows.append(f"| {label} | {n} | {p50} | {p99} | {p50_norc} | {p99_norc} |")
    rows.append("")
    rows.append(
        "Cold: a fresh pool per call (connect and authentication included). Warm: one reused "
        "multiplexed connection. The bare-channel row runs `true` with no tool script on a reused "
        "connection: what the host's sshd and the user's login shell cost per call whatever herd does; "
        "herd's own cost is the warm row minus that one. The first columns use the login shell as "
        "configured (here root's ~/.bashrc runs `pyenv init`); the last two run the same calls with "
        "bash's startup files skipped (the bench sshd sets `SHLVL=1`), as on a host whose shell starts at once."
    )
    return "\n".join(rows)


def _ssh_run(d: Path, ssh_bench: str, free_port, stop, extra_config: str) -> dict[str, tuple[str, str, str]]:
    """One ssh_bench run against a fresh loopback sshd; rows by label."""
    import getpass
    import os

    sshd_bin = os.environ.get("HERD_SSHD", "/usr/sbin/sshd")
    d.mkdir()
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    user = getpass.getuser()
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation dir sshd wants as root
    (d / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile none\nUsePAM no\nStrictModes no\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"PermitRootLogin prohibit-password\nAllowUsers {user}\nMaxStartups 100\n{extra_config}"
    )
    port = free_port()
    proc = subprocess.Popen(
        [sshd_bin, "-D", "-e", "-f", str(d / "sshd_config"), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        break
            except OSError:
                time.sleep(0.05)
        host_key = (d / "host_key.pub").read_text()
        (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}")
        (d / "ssh_config").write_text(
            f"Host bench\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {d}/client_key\n"
            f"  IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n  LogLevel ERROR\n"
        )
        sample = d / "ssh-sample.txt"
        sample.write_text("line\n" * 20)
        out = subprocess.run(
            [ssh_bench, "-F", str(d / "ssh_config"), "bench", "-n", "200", "--cold", "20", "--file", str(sample)],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        ).stdout
    finally:
        stop(proc)
    rows: dict[str, tuple[str, str, str]] = {}
    for line in out.splitlines():
        if "p50=" in line and " n=" in line:
            label = line.split(" n=")[0].strip()
            n = line.split(" n=")[1].split()[0]
            p50 = line.split("p50=")[1].split("ms")[0].strip()
            p99 = line.split("p99=")[1].split("ms")[0].strip()
            rows[label] = (n, p50, p99)
    return rows


def start_channel_agent(herd: str, hub_port: int, work: Path) -> subprocess.Popen:
    """A `herd agent` that listens on no port and joins the hub on
    `hub_port` as host `c` over the channel it opens."""
    home = work / "channel-home"
    home.mkdir(exist_ok=True)
    config = work / "channel-agent.toml"
    config.write_text(f'name = "c"\nhub = "http://127.0.0.1:{hub_port}"\nhub_token_env = "HERD_HUB_TOKEN"\n')
    env = dict(os.environ, HERD_HOME=str(home), HERD_HUB_TOKEN="bench", HERD_LOG="info")
    return subprocess.Popen(
        [herd, "agent", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=work,
    )


def wait_joined(client, call: dict, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Until the call reaches the channel agent through the hub `client` speaks to."""
    session = client.open_session()
    deadline = time.monotonic() + timeout
    why = "never tried"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the channel agent exited with {proc.returncode}")
        why = client.probe(session, call)
        if not why:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the channel agent did not join within {timeout:.0f}s ({why})")
