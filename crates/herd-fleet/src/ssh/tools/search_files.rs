//! `search_files` over SSH: find entries by glob under a directory.
//!
//! One `find -L` from the root (so a symlinked root is followed too) lists
//! the tree NUL-separated; [`super::walk`] replays the agent's
//! breadth-first, inode-deduplicated walk over it and matches names with
//! the same glob implementation the agent uses. When the pattern is a plain
//! name glob (`*`, `?` and literals only), `find -name` leaves out
//! non-matching files at the source; directories are always listed, since
//! the walk needs them. Without GNU `find -printf` a portable `find -L ...
//! -exec sh` listing is used: no inode numbers, so a directory reachable by
//! two paths is searched under both (cycles are still cut by `find -L`).
//! `find`'s complaints name the unreadable directories (counted and
//! reported, as the agent does) and the cycles it cut.

use super::args::{no_nul, remote_path};
use super::errno::{reason, reason_b64};
use super::walk::{Raw, parse as parse_listing, unquote, walk};
use super::{Ctx, FILE_GRACE, LIMITS, MAX_LISTING_BYTES, ToolResult, failed};
use crate::ssh::remote::Limited;
use herd_tools::host::shape::search_files::Args;
use serde_json::{Map, Value};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

const FIND: &str = r#"if [ ! -e "$r" ]; then rec err msg "$(enc "$(probe "$r")")"; return; fi
if [ ! -d "$r" ]; then rec err notdir; return; fi
if [ -z "${HERD_SSH_PORTABLE-}" ] && find "$r/." -maxdepth 0 -printf '' >/dev/null 2>&1; then
  if [ -n "$pat" ]; then
    LC_ALL=C find -L "$r/." \( -type d -printf 'd\0%D:%i\0%P\0' \) -o \( -name "$pat" -printf 'f\0-\0%P\0' \)
  else
    LC_ALL=C find -L "$r/." -printf '%y\0%D:%i\0%P\0'
  fi
  rec ok gnu
else
  LC_ALL=C find -L "$r/." -exec sh -c 'for p do if [ -d "$p" ]; then printf "d\0-\0%s\0" "$p"; else printf "f\0-\0%s\0" "$p"; fi; done' sh {} +
  rec ok portable
fi
"#;

/// Runs `search_files`.
pub(super) async fn call(cx: &Ctx, args: Map<String, Value>) -> ToolResult {
    let a = Args::parse(args)?;
    let search = a.search(LIMITS.default_search_results, LIMITS.max_search_results)?;
    let shown = a.root().display().to_string();
    let root = remote_path("search_files", &shown)?;
    // A plain name glob means the same to find -name: let find filter.
    let plain = !search.by_path && !a.pattern.contains(['[', ']', '\\']);
    let prefilter = if plain { no_nul("search_files", "pattern", &a.pattern)? } else { "" };

    let mut remote = cx.remote("search_files", Duration::ZERO);
    let mut script = remote.script(true);
    script.var("r", &root).var("pat", prefilter).code(FIND);
    let (mut out, mut diag) = (Limited::new(MAX_LISTING_BYTES), Limited::new(1 << 20));
    let run = remote.run(script, &mut out, &mut diag, FILE_GRACE).await?;
    if let Some(e) = run.record(&["err"]) {
        return Err(failed(match e.field(0) {
            "notdir" => format!("search_files {shown}: Not a directory"),
            _ => format!("search_files {shown}: {}", reason_b64(e.field(1))),
        }));
    }
    let start = format!("{root}/.");
    let portable = run.record(&["ok"]).is_some_and(|r| r.field(0) == "portable");
    let mut raws = parse_listing(&out.bytes, portable.then_some(start.as_bytes()));
    let complaints = Complaints::read(&diag.bytes, start.as_bytes(), Path::new(&shown));
    raws.extend(complaints.loops);
    let mut found = walk(Path::new(&shown), raws, &search);
    found.truncated |= run.overflow;
    (found.skipped, found.errors) = (complaints.skipped, complaints.errors);
    Ok(found.result(&shown, &a.pattern, search.max))
}

/// What `find` complained about on stderr.
#[derive(Debug, Default)]
struct Complaints {
    /// Entries find skipped as loops: listed, never entered.
    loops: Vec<Raw>,
    /// Directories that could not be read.
    skipped: usize,
    /// Why (the first ten), as `path: reason`.
    errors: Vec<String>,
}

impl Complaints {
    fn read(diag: &[u8], start: &[u8], shown: &Path) -> Self {
        let mut c = Self::default();
        let rel = |full: &[u8]| -> Option<Vec<u8>> {
            let rest = full.strip_prefix(start)?;
            Some(rest.strip_prefix(b"/").unwrap_or(rest).to_vec())
        };
        for line in diag.split(|&b| b == b'\n') {
            let Some(line) = line.strip_prefix(b"find: ") else { continue };
            if let Some(quoted) = line.strip_prefix(b"File system loop detected; '") {
                if let Some(rel) = unquote(quoted).and_then(|(path, _)| rel(&path)) {
                    c.loops.push(Raw { dir: false, id: None, rel });
                }
            } else if let Some((path, rest)) = line.strip_prefix(b"'").and_then(unquote) {
                c.skipped += 1;
                if c.errors.len() < 10 {
                    let shown_path = rel(&path).map_or_else(
                        || String::from_utf8_lossy(&path).into_owned(),
                        |r| shown.join(OsStr::from_bytes(&r)).display().to_string(),
                    );
                    c.errors.push(format!("{shown_path}: {}", reason(&String::from_utf8_lossy(rest))));
                }
            }
        }
        c
    }
}
