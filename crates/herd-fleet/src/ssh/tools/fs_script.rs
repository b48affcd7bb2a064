//! Shell fragments shared by the file tools: following a symlink chain to
//! the file a write replaces, and replacing that file atomically.
//!
//! They mirror the agent's `atomic.rs`: a symlink at the path is followed
//! (the link stays a link, its target gets the content); the new content
//! goes to a temporary file in the target's directory (`mktemp`, so it
//! starts private), which gets the requested mode, or the old file's mode
//! and owner (owner where permitted), or `0666` less the umask for a new
//! file, and is then renamed over the target (`mv` within one directory is
//! `rename(2)`). For `edit_file` the rename happens only if the target
//! still has the checksum it had when it was read, checked right before
//! the rename. Unlike the agent, nothing is fsynced: POSIX has no
//! portable way to sync one file from the shell.

use super::super::script::Script;
use super::args::from_base64;
use super::errno::{reason, reason_b64};
use crate::ssh::remote::Run;

/// Follows symlinks from `$p` to `$t`. Records `err loop` or `err msg` and
/// returns on failure.
pub(super) const RESOLVE: &str = r#"t=$p; _i=0
while [ -L "$t" ]; do
  _i=$((_i+1))
  if [ "$_i" -gt 40 ]; then rec err loop; return; fi
  _l=$(readlink -- "$t" && echo .) || { rec err msg "$(enc "$(probe "$t")")"; return; }
  _l=${_l%?.}
  case $_l in /*) t=$_l ;; *) case $t in */*) t=${t%/*}/$_l ;; *) t=$_l ;; esac ;; esac
done
case $t in -*) t=./$t ;; esac
ex=0
if [ -d "$t" ]; then rec err isdir; return; fi
if [ -e "$t" ] && [ ! -f "$t" ]; then rec err notregular; return; fi
if [ -f "$t" ]; then ex=1; fi
"#;

/// Creates the parent (with `$cd` = 1) or checks it, then the temporary
/// file `$_tmp` next to `$t`.
pub(super) const PREPARE: &str = r#"_n=${t##*/}
case $t in */*) _d=${t%/*}; [ -n "$_d" ] || _d=/ ;; *) _d=. ;; esac
if [ "$cd" = 1 ]; then
  try mkdir -p -- "$_d" || { rec err mkdir "$(enc "$_d")" "$(enc "$_e")"; return; }
elif [ ! -e "$_d" ]; then
  rec err noparent "$(enc "$_d")" "$(enc "$(probe "$_d")")"; return
fi
_tmp=$(LC_ALL=C mktemp "$_d/.$_n.herd-XXXXXX" 2>&1) || { rec err tmp "$(enc "$_d")" "$(enc "$_tmp")"; return; }
bail() { rm -f -- "$_tmp"; rec err "$@"; }
"#;

/// Writes the here-doc (base64) into `$_tmp`.
pub(super) const CONTENT: &str = r#"base64 -d >"$_tmp""#;

/// Sets mode (and owner), checks `$ck` if set, renames into place.
pub(super) const FINISH: &str = r#"[ $? -eq 0 ] || { bail write; return; }
if [ -n "$m" ]; then
  try chmod -- "$m" "$_tmp" || { bail chmod "$(enc "$_e")"; return; }
elif [ "$ex" = 1 ]; then
  _o=$(stat -L -c '%a %u:%g' -- "$t" 2>/dev/null || stat -L -f '%Lp %u:%g' -- "$t" 2>/dev/null)
  set -- $_o
  if [ -n "${2-}" ]; then chown -- "$2" "$_tmp" 2>/dev/null; fi
  if [ -n "${1-}" ]; then try chmod -- "$1" "$_tmp" || { bail chmod "$(enc "$_e")"; return; }; fi
else
  chmod -- "$(printf '%o' $((0666 & ~0$(umask))))" "$_tmp"
fi
_fm=$(stat -c %a -- "$_tmp" 2>/dev/null || stat -f %Lp -- "$_tmp" 2>/dev/null)
if [ -n "$ck" ]; then
  set -- $(cksum <"$t" 2>/dev/null)
  if [ "${1-} ${2-}" != "$ck" ]; then bail changed; return; fi
fi
try mv -f -- "$_tmp" "$t" || { bail mv "$(enc "$_e")"; return; }
rec ok "$((1 - ex))" "${_fm:-0}" "$(enc "$t")"
"#;

/// Appends an atomic write of `data` to `$t` (after [`RESOLVE`]).
pub(super) fn atomic_write(script: &mut Script, data: &[u8]) {
    script.code(PREPARE).heredoc(CONTENT, data).code(FINISH);
}

/// What an atomic write did.
#[derive(Debug)]
pub(super) struct Written {
    pub(super) target: String,
    pub(super) mode: u32,
    pub(super) created: bool,
}

/// Reads the outcome of [`RESOLVE`] + [`atomic_write`] from `run`, or the
/// agent's failure text. `tool` and `shown` prefix messages; `diag` is the
/// script's other stderr.
pub(super) fn written(run: &Run, tool: &str, shown: &str, diag: &[u8]) -> Result<Written, String> {
    let Some(r) = run.record(&["ok", "err"]) else {
        return Err(format!("{tool} {shown}: the remote script reported nothing"));
    };
    if r.kind == "ok" {
        let mode = u32::from_str_radix(r.field(1), 8).unwrap_or(0);
        return Ok(Written { created: r.field(0) == "1", mode, target: from_base64(r.field(2)) });
    }
    let (a, b) = (r.field(1), r.field(2));
    Err(match r.field(0) {
        "isdir" => format!("{tool} {shown}: Is a directory"),
        "notregular" => format!("{tool} {shown}: not a regular file"),
        "loop" => format!("{tool} {shown}: Too many levels of symbolic links"),
        "msg" => format!("{tool} {shown}: {}", reason_b64(a)),
        "mkdir" => format!("{tool} {}: {}", from_base64(a), reason_b64(b)),
        "noparent" => {
            let why = reason_b64(b);
            let hint = if why.starts_with("No such file") { " (set create_dirs to create it)" } else { "" };
            format!("{tool} {shown}: parent directory {}: {why}{hint}", from_base64(a))
        }
        "tmp" => format!("{tool} {shown}: creating a temporary file in {}: {}", from_base64(a), reason_b64(b)),
        "write" => format!("{tool} {shown}: {}", reason(&String::from_utf8_lossy(diag))),
        "chmod" | "mv" => format!("{tool} {shown}: {}", reason_b64(a)),
        "changed" => format!(
            "{tool} {shown}: the file changed on the host while it was being edited; nothing was written, \
             read it again and retry"
        ),
        other => format!("{tool} {shown}: failed ({other})"),
    })
}
