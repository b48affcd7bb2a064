//! Building the `sh` scripts that carry a tool call to a remote host.
//!
//! The remote command line is always `sh -s`; the script arrives on stdin.
//! Request data never becomes script text: code fragments can only be
//! `&'static str` (compile-time constants written in this crate), and every
//! value from a request enters as base64 inside single quotes (the base64
//! alphabet has no quote, so it cannot end the string) and is decoded on the
//! remote with `base64 -d`. Bulk content goes into a `<<'HERD_EOF'` here-doc
//! of base64 lines, which no base64 line can terminate early.
//!
//! Every script has the same frame:
//!
//! - helper functions (`rec` writes a control record to stderr, tagged with
//!   a per-call nonce the remote command never sees; `dv` decodes a value);
//! - `body`, the tool's own code;
//! - `main`, which starts a watcher on the channel's stdin (fd 3), runs
//!   `body`, stops the watcher and writes the closing `done` record.
//!
//! The caller keeps stdin open until the call is over. If the call is
//! dropped or times out, the channel closes, the watcher reads end-of-file
//! and kills the script's whole process group (`kill -s KILL 0`; sshd
//! starts each session in a session of its own), so no remote work outlives
//! the call. `main` runs only after `sh` has parsed the whole script, so the
//! watcher never competes with `sh` for script text.

use base64::Engine;

/// base64 line length inside here-docs.
const LINE: usize = 76;

/// Helpers every script defines. `$N` is set just before this text.
const HELPERS: &str = r#"unset CDPATH
rec() { printf '%s %s\n' "$N" "$*" >&2; }
dv() { _v=$(printf '%s' "$1" | base64 -d && echo .) || { rec fail base64; kill "$_w" 2>/dev/null; exit 0; }; _v=${_v%.}; }
enc() { printf '%s' "$1" | base64 | tr -d '\n'; }
try() { _e=$(LC_ALL=C "$@" 2>&1 >/dev/null </dev/null); }
probe() { LC_ALL=C cat -- "$1" 2>&1 >/dev/null </dev/null | head -n 1; }
"#;

/// Marks where the script's own output begins, on stdout and stderr.
const START: &str = "printf '%s\\n' \"$N\"\nrec start\n";

/// Kills the script's process group when the channel's stdin closes.
pub(super) const WATCH: &str =
    "( while read -r _; do :; done <&3; kill -s KILL 0 ) >/dev/null 2>&1 </dev/null &\n_w=$!\n";

/// The end of `main` and the one line that runs it.
/// (Waited for with stderr silenced: some shells report a killed job.)
const TAIL: &str = "{ kill \"$_w\"; wait \"$_w\"; } 2>/dev/null\nrec done\nexit 0\n}\nmain 3<&0 </dev/null\n";

/// A script under construction.
pub(super) struct Script {
    body: String,
    nonce: String,
    watch: bool,
}

impl Script {
    /// An empty script whose records carry `nonce` (hex digits only).
    /// With `watch`, `main` starts the stdin watcher before `body`; without,
    /// the body starts one itself (see [`WATCH`]), after setting `_w`.
    pub(super) fn new(nonce: &str, watch: bool) -> Self {
        let nonce = nonce.chars().filter(char::is_ascii_hexdigit).collect();
        Self { body: String::from("body() {\n"), nonce, watch }
    }

    /// The nonce the script's records carry.
    pub(super) fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Appends fixed code. Only constants can be passed: request data
    /// must go through [`Script::var`] or [`Script::heredoc`].
    pub(super) fn code(&mut self, fixed: &'static str) -> &mut Self {
        self.body.push_str(fixed);
        if !fixed.ends_with('\n') {
            self.body.push('\n');
        }
        self
    }

    /// Sets shell variable `name` (a constant) to exactly `value`, trailing
    /// newlines included. `value` must not contain NUL (shell variables
    /// cannot hold it); callers reject such input first.
    pub(super) fn var(&mut self, name: &'static str, value: impl AsRef<[u8]>) -> &mut Self {
        let b64 = base64::engine::general_purpose::STANDARD.encode(value.as_ref());
        self.body.push_str("dv '");
        self.body.push_str(&b64);
        self.body.push_str("'; ");
        self.body.push_str(name);
        self.body.push_str("=$_v\n");
        self
    }

    /// Sets several numeric variables with one decode.
    pub(super) fn nums(&mut self, names: &[&'static str], values: &[u64]) -> &mut Self {
        let joined: Vec<String> = values.iter().map(u64::to_string).collect();
        self.var("_n", joined.join(" "));
        self.body.push_str("set -- $_n\n");
        for (i, name) in names.iter().enumerate().take(values.len()) {
            self.body.push_str(name);
            self.body.push_str("=$");
            self.body.push_str(&(i + 1).to_string());
            self.body.push('\n');
        }
        self
    }

    /// Runs `command` (a constant, e.g. `base64 -d >"$tmp"`) with `data`
    /// as base64 on its stdin, from a quoted here-doc.
    pub(super) fn heredoc(&mut self, command: &'static str, data: &[u8]) -> &mut Self {
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        self.body.reserve(b64.len() + b64.len() / LINE + 64);
        self.body.push_str(command);
        self.body.push_str(" <<'HERD_EOF'\n");
        for line in b64.as_bytes().chunks(LINE) {
            // base64 output is ASCII, so every chunk is valid UTF-8.
            self.body.push_str(&String::from_utf8_lossy(line));
            self.body.push('\n');
        }
        self.body.push_str("HERD_EOF\n");
        self
    }

    /// The complete script text.
    pub(super) fn finish(self) -> Vec<u8> {
        let mut out = self.body;
        out.push_str("}\nmain() {\nN=");
        out.push_str(&self.nonce);
        out.push('\n');
        out.push_str(HELPERS);
        out.push_str(START);
        if self.watch {
            out.push_str(WATCH);
        } else {
            out.push_str("_w=\n");
        }
        out.push_str("body\n");
        out.push_str(TAIL);
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: Script) -> String {
        String::from_utf8(s.finish()).unwrap_or_default()
    }

    #[test]
    fn values_appear_only_as_base64() {
        let evil = "'; touch pwned; echo '$(id)\n";
        let mut s = Script::new("00ff", true);
        s.var("p", evil).code("cat -- \"$p\"");
        let t = text(s);
        assert!(!t.contains("pwned") && !t.contains("$(id)"), "{t}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(evil);
        assert!(t.contains(&format!("dv '{b64}'; p=$_v\n")), "{t}");
        assert!(t.ends_with("main 3<&0 </dev/null\n"));
        assert!(t.contains("N=00ff\n") && t.contains(WATCH));
    }

    #[test]
    fn heredocs_wrap_and_cannot_end_early() {
        let data = vec![b'x'; 200];
        let mut s = Script::new("ab", false);
        s.heredoc("base64 -d >\"$t\"", &data);
        let t = text(s);
        let doc: Vec<&str> =
            t.lines().skip_while(|l| !l.ends_with("<<'HERD_EOF'")).skip(1).take_while(|l| *l != "HERD_EOF").collect();
        assert_eq!(doc.len(), 4);
        assert!(doc.iter().all(|l| l.len() <= LINE && !l.contains('\'')));
        assert!(t.contains("_w=\n") && !t.contains("read -r _"));
    }

    #[test]
    fn numbers_share_one_decode() {
        let mut s = Script::new("ab", true);
        s.nums(&["a", "b"], &[7, 1 << 40]);
        let t = text(s);
        assert_eq!(t.matches("dv '").count(), 1);
        assert!(t.contains("set -- $_n\na=$1\nb=$2\n"), "{t}");
    }

    #[test]
    fn the_nonce_is_hex_only() {
        let t = text(Script::new("12'; rm -rf /", true));
        assert!(t.contains("N=12f\n"), "{t}");
    }
}
