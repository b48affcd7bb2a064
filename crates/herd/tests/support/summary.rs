//! The summary the conformance suite prints (both the 0.1 and 0.2 lines):
//! one line per scenario, then `Total: N passed, M failed`.

/// One summary line: `✓ name: 3 passed, 0 failed`.
#[derive(Debug)]
pub struct ScenarioLine {
    pub name: String,
    pub ok: bool,
    pub passed: u32,
    pub failed: u32,
}

/// The lines of the `=== SUMMARY ===` block (up to the `Total:` line).
pub fn scenario_lines(stdout: &str) -> Vec<ScenarioLine> {
    let summary = stdout.split("=== SUMMARY ===").nth(1).unwrap_or("");
    let summary = summary.split("\nTotal: ").next().unwrap_or("");
    summary
        .lines()
        .filter_map(|line| {
            let (mark, rest) = line.split_once(' ')?;
            let (name, counts) = rest.split_once(": ")?;
            let (passed, failed) = parse_counts(counts)?;
            Some(ScenarioLine { name: name.to_owned(), ok: mark == "✓", passed, failed })
        })
        .collect()
}

/// `N passed, M failed` (anything after M is ignored) → (N, M).
pub fn parse_counts(s: &str) -> Option<(u32, u32)> {
    let (passed, rest) = s.split_once(" passed, ")?;
    let failed = rest.split(' ').next()?;
    Some((passed.trim().parse().ok()?, failed.parse().ok()?))
}

/// The `Total:` line.
pub fn total(stdout: &str) -> Option<(u32, u32)> {
    stdout.lines().rev().find_map(|l| parse_counts(l.strip_prefix("Total: ")?))
}
