"""bench/RESULTS.md: a main part and named sections between markers, so a
run of some targets replaces only what it measured."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Callable


def section_markers(name: str) -> tuple[str, str]:
    return f"<!-- bench section: {name} -->", f"<!-- end of bench section: {name} -->"


def split_sections(text: str) -> tuple[str, dict[str, str]]:
    """RESULTS.md as (main part, {name: section}); sections sit between markers."""
    found: dict[str, str] = {}
    while (start := text.find("<!-- bench section: ")) >= 0:
        name = text[start + len("<!-- bench section: ") : text.index(" -->", start)]
        _, end_marker = section_markers(name)
        end = text.find(end_marker, start)
        end = len(text) if end < 0 else end + len(end_marker)
        found[name] = text[start:end].strip()
        text = text[:start] + text[end:]
    return text.rstrip() + "\n", found


def write(path: Path, main_text: str | None, sections: dict[str, str]) -> None:
    """Writes RESULTS.md at `path`, replacing only what this run measured."""
    old_main, old_sections = split_sections(path.read_text()) if path.exists() else ("", {})
    merged = dict(old_sections)
    for name, text in sections.items():
        start, end = section_markers(name)
        merged[name] = f"{start}\n{text}\n{end}"
    parts = [(main_text or old_main).rstrip(), *merged.values()]
    path.write_text("\n\n".join(p for p in parts if p) + "\n")


def audit_note(rows: dict, notes: list[str], on_row: str, off_row: str) -> None:
    """The agent with a user's token, the policy and its audit against the
    same agent keeping no state and checking no token, per concurrency."""
    parts = []
    for (name, c), on in rows.items():
        off = rows.get((off_row, c))
        if name != on_row or not on.samples or not off or not off.samples:
            continue
        kept = statistics.median(s.rps for s in on.samples) / statistics.median(s.rps for s in off.samples)
        parts.append(f"c={c}: {kept:.0%} of its req/s without audit")
    if parts:
        notes.append(
            "herd agent with a user's token, the policy and audit on (SQLite, WAL) vs the same agent keeping"
            " no state and checking no token (same run): " + "; ".join(parts) + "."
        )


def hop_note(rows: dict, notes: list[str], direct_of: Callable[[str], str], tls_row: str) -> None:
    """Each hub hop row against the agent it reaches called directly
    (`direct_of` names that row), per concurrency."""
    parts = []
    for (name, c), row in rows.items():
        direct = rows.get((direct_of(name), c))
        if not name.startswith("herd hub") or not row.samples or not direct or not direct.samples:
            continue
        rps = statistics.median(s.rps for s in row.samples) / statistics.median(s.rps for s in direct.samples)
        p50 = statistics.median(s.p50_ms for s in row.samples) - statistics.median(s.p50_ms for s in direct.samples)
        p99 = statistics.median(s.p99_ms for s in row.samples) - statistics.median(s.p99_ms for s in direct.samples)
        label = " (TLS on both)" if name == tls_row else " (over a channel)" if "channel" in name else ""
        parts.append(f"c={c}{label}: {rps:.0%} of direct req/s, p50 +{p50:.3f} ms, p99 +{p99:.3f} ms")
    if parts:
        notes.append("hub hop vs the agent called directly (same run): " + "; ".join(parts) + ".")


def channel_note(rows: dict, notes: list[str], channel_row: str, http_row: str) -> None:
    """The hub's hop to an agent over its channel against its hop to an
    agent it dials, per concurrency."""
    parts = []
    for (name, c), row in rows.items():
        http_hop = rows.get((http_row, c))
        if name != channel_row or not row.samples or not http_hop or not http_hop.samples:
            continue
        p50 = statistics.median(s.p50_ms for s in row.samples) - statistics.median(s.p50_ms for s in http_hop.samples)
        rps = statistics.median(s.rps for s in row.samples) / statistics.median(s.rps for s in http_hop.samples)
        parts.append(f"c={c}: {rps:.0%} of its req/s, p50 {p50:+.3f} ms")
    if parts:
        notes.append("hub -> channel agent vs hub -> HTTP agent (same run): " + "; ".join(parts) + ".")
