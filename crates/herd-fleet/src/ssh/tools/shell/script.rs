//! The remote side of `shell`.
//!
//! The script decodes the command, working directory and environment,
//! starts the command in a session of its own, then starts two helpers: the
//! stdin watcher (kills the command's group and the script's own when the
//! channel closes) and the watchdog (kills the group when `timeout`
//! passes; it exits 0 only if it did). The watchdog sleeps in steps of at
//! most a second and stops on its own once the command is gone, so a
//! watchdog stopped mid-step leaves no long `sleep` behind. It waits for the command, stops the
//! watchdog, gives processes the command left behind the drain grace to
//! finish, kills what is left, and reports `exit <status> <timed out>
//! <killed leftovers>`. Environment entries are applied in a subshell
//! right before `exec`, so a `PATH` the call sets cannot break the script.
//! The command runs without `SSH_CLIENT` and `SSH2_CLIENT`: with them, bash
//! takes itself for sshd's shell and reads `~/.bashrc` again (the login
//! shell already did), which can cost more than the command; the agent's
//! commands do not read it either.

use super::super::Fail;
use super::super::args::{failed, invalid};
use crate::ssh::script::Script;
use std::collections::BTreeMap;
use std::time::Duration;

const PREPARE: &str = r#"_sh=${SHELL:-/bin/sh}
_ss=$(command -v setsid 2>/dev/null)
if sleep 0.001 2>/dev/null; then _f=1; _g=0.1; _gl=20; else _f=0; _g=1; _gl=2; fi
set --
"#;

const CWD: &str = r#"if [ ! -e "$w" ]; then rec err cwd "$(enc "$(probe "$w")")"; return; fi
if [ ! -d "$w" ]; then rec err cwdnotdir; return; fi
cd -- "$w" 2>/dev/null || { rec err cwdperm; return; }
"#;

/// Appends the last decoded value to the positional parameters.
const PUSH: &str = "set -- \"$@\" \"$_v\"\n";

const RUN: &str = r#"( unset SSH_CLIENT SSH2_CLIENT
  while [ $# -gt 0 ]; do
    case $1 in -*) unset "${1#-}"; shift ;; *) export "${1#+}=$2"; shift 2 ;; esac
  done
  exec $_ss "$_sh" -c "$c" ) </dev/null 3<&- &
pg=$!
( while read -r _; do :; done <&3; kill -s KILL -- "-$pg"; kill -s KILL "$pg"; kill -s KILL 0 ) >/dev/null 2>&1 </dev/null &
_w=$!
( _r=$tms
  while [ "$_r" -gt 0 ]; do
    kill -s 0 "$pg" 2>/dev/null || exit 1
    if [ "$_r" -gt 1000 ]; then _c=1000; else _c=$_r; fi
    if [ "$_f" = 1 ]; then sleep "$((_c / 1000)).$(printf '%03d' $((_c % 1000)))"; else sleep 1; fi
    _r=$((_r - _c))
  done
  kill -s KILL -- "-$pg" 2>/dev/null || kill -s KILL "$pg" 2>/dev/null || exit 1
  exit 0 ) >/dev/null 2>&1 </dev/null 3<&- &
_d=$!
wait "$pg"; _st=$?
{ kill -s TERM "$_d"; wait "$_d"; } 2>/dev/null; _t=$?
if [ "$_t" -eq 0 ]; then _t=1; else _t=0; fi
_left=0
if [ -n "$_ss" ] && kill -s 0 -- "-$pg" 2>/dev/null; then
  _i=0
  while [ "$_i" -lt "$_gl" ] && kill -s 0 -- "-$pg" 2>/dev/null; do sleep "$_g"; _i=$((_i+1)); done
  if kill -s 0 -- "-$pg" 2>/dev/null; then kill -s KILL -- "-$pg" 2>/dev/null; _left=1; fi
fi
rec exit "$_st" "$_t" "$_left"
"#;

/// Refuses environment entries a shell cannot set: names must be shell
/// identifiers, and nothing may contain NUL.
pub(super) fn check_env(key: &str, value: Option<&str>) -> Result<(), Fail> {
    let mut chars = key.chars();
    let identifier = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !identifier {
        return Err(invalid(format!(
            "shell: env name {key:?} is not a variable name (letters, digits and _, not starting with a digit)"
        )));
    }
    if value.is_some_and(|v| v.contains('\0')) {
        return Err(failed(format!("shell: env {key} contains a NUL byte")));
    }
    Ok(())
}

/// Writes the `shell` script into `s`.
pub(super) fn build(
    s: &mut Script,
    command: &str,
    cwd: Option<&str>,
    env: &BTreeMap<String, Option<String>>,
    timeout: Duration,
) {
    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX).max(1);
    s.var("c", command).nums(&["tms"], &[ms]).code(PREPARE);
    if let Some(cwd) = cwd {
        s.var("w", cwd).code(CWD);
    }
    for (key, value) in env {
        match value {
            Some(value) => {
                s.var("_e", format!("+{key}")).code(PUSH).var("_e", value).code(PUSH);
            }
            None => {
                s.var("_e", format!("-{key}")).code(PUSH);
            }
        }
    }
    s.code(RUN);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_must_be_identifiers() {
        assert!(check_env("FOO_1", Some("x")).is_ok());
        assert!(check_env("_x", None).is_ok());
        for bad in ["", "1A", "A-B", "A=B", "-x"] {
            assert!(check_env(bad, None).is_err(), "{bad}");
        }
        assert!(check_env("A", Some("a\0b")).is_err());
    }

    #[test]
    fn the_command_is_data_not_code() {
        let mut s = Script::new("ab", false);
        let env = BTreeMap::from([("K".to_owned(), Some("$(touch pwned)".to_owned())), ("U".to_owned(), None)]);
        build(&mut s, "echo '; touch pwned; '", Some("/tmp/$(x)"), &env, Duration::from_millis(1500));
        let text = String::from_utf8(s.finish()).unwrap_or_default();
        assert!(!text.contains("pwned") && !text.contains("$(x)"), "{text}");
        assert_eq!(text.matches(PUSH).count(), 3);
    }
}
