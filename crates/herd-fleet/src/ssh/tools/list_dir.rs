//! `list_dir` over SSH: what is in a directory.
//!
//! The remote lists the entries NUL-separated (kind, size, name, symlink
//! target), so any byte a name may hold survives; sorting, the cap and the
//! text are the agent's own ([`result`]). With GNU `find` the listing is one
//! `find -printf`; elsewhere a shell loop over the directory's globs asks
//! `ls -ldn` for each entry's size (slower, same result). Entries are not
//! followed: a symlink is reported as a symlink, with its target.

use super::args::remote_path;
use super::errno::reason_b64;
use super::{Ctx, FILE_GRACE, LIMITS, MAX_DIAG_BYTES, MAX_LISTING_BYTES, ToolResult, failed};
use crate::ssh::remote::Limited;
use herd_tools::host::shape::list_dir::{Args, Entry, Kind, result};
use serde_json::{Map, Value};
use std::time::Duration;

const LIST: &str = r#"if [ ! -e "$p" ]; then rec err msg "$(enc "$(probe "$p")")"; return; fi
if [ ! -d "$p" ]; then rec err notdir; return; fi
if [ ! -r "$p" ] || [ ! -x "$p" ]; then rec err msg "$(enc "$(LC_ALL=C ls -- "$p" 2>&1 >/dev/null | head -n 1)")"; return; fi
if [ -z "${HERD_SSH_PORTABLE-}" ] && find "$p/." -maxdepth 0 -printf '' >/dev/null 2>&1; then
  LC_ALL=C find "$p/." -mindepth 1 -maxdepth 1 -printf '%y\0%s\0%f\0%l\0'
else
  for f in "$p"/* "$p"/.[!.]* "$p"/..?*; do
    if [ ! -e "$f" ] && [ ! -L "$f" ]; then continue; fi
    _t=
    if [ -L "$f" ]; then _k=l; _t=$(readlink -- "$f" && echo .); _t=${_t%?.}
    elif [ -d "$f" ]; then _k=d; elif [ -f "$f" ]; then _k=f; else _k=o; fi
    set -f; set -- $(LC_ALL=C ls -ldn -- "$f" 2>/dev/null); set +f
    printf '%s\0%s\0%s\0%s\0' "$_k" "${5-0}" "${f##*/}" "$_t"
  done
fi
rec ok
"#;

/// Runs `list_dir`.
pub(super) async fn call(cx: &Ctx, args: Map<String, Value>) -> ToolResult {
    let shown = Args::parse(args)?.dir().display().to_string();
    let path = remote_path("list_dir", &shown)?;
    let mut remote = cx.remote("list_dir", Duration::ZERO);
    let mut script = remote.script(true);
    script.var("p", &path).code(LIST);
    let (mut out, mut diag) = (Limited::new(MAX_LISTING_BYTES), Limited::new(MAX_DIAG_BYTES));
    let run = remote.run(script, &mut out, &mut diag, FILE_GRACE).await?;
    if let Some(e) = run.record(&["err"]) {
        return Err(failed(match e.field(0) {
            "notdir" => format!("list_dir {shown}: Not a directory"),
            _ => format!("list_dir {shown}: {}", reason_b64(e.field(1))),
        }));
    }
    let (entries, cut) = parse_listing(&out.bytes);
    Ok(result(&shown, entries, LIMITS.max_list_entries, cut || run.overflow))
}

/// Entries from NUL-separated `kind, size, name, target` groups; `true`
/// when the listing ended inside a group (it was cut off).
fn parse_listing(bytes: &[u8]) -> (Vec<Entry>, bool) {
    let fields: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
    // A complete listing ends with NUL, leaving one empty field at the end.
    let complete = fields.len() % 4 == 1 && fields.last().is_some_and(|f| f.is_empty());
    let entries = fields
        .chunks_exact(4)
        .map(|f| {
            let kind = match f[0] {
                b"f" => Kind::File,
                b"d" => Kind::Dir,
                b"l" => Kind::Symlink,
                _ => Kind::Other,
            };
            let size = String::from_utf8_lossy(f[1]).trim().parse().unwrap_or(0);
            let name = String::from_utf8_lossy(f[2]).into_owned();
            let target = (kind == Kind::Symlink).then(|| String::from_utf8_lossy(f[3]).into_owned());
            Entry { name, kind, size, target }
        })
        .collect();
    (entries, !bytes.is_empty() && !complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_parse_whatever_the_names_hold() {
        let raw = b"f\x005\x00b\nc.txt\x00\x00d\x004096\x00a\x00\x00l\x001\x00c\x00b.txt\x00p\x000\x00fifo\x00\x00";
        let (entries, cut) = parse_listing(raw);
        assert!(!cut);
        let got: Vec<_> = entries.iter().map(|e| (e.kind, e.size, e.name.as_str(), e.target.as_deref())).collect();
        assert_eq!(
            got,
            [
                (Kind::File, 5, "b\nc.txt", None),
                (Kind::Dir, 4096, "a", None),
                (Kind::Symlink, 1, "c", Some("b.txt")),
                (Kind::Other, 0, "fifo", None)
            ]
        );
        assert!(parse_listing(b"").0.is_empty() && !parse_listing(b"").1);
        assert!(parse_listing(b"f\x005\x00na").1, "a cut listing is noticed");
    }
}
