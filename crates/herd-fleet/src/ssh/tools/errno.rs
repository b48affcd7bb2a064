//! Turning a remote utility's complaint into the agent's wording.
//!
//! The agent reports a failed operation as the operating system error,
//! e.g. `No such file or directory (os error 2)`. Over SSH the remote's
//! `cat`, `mkdir` or `find` say it instead (`cat: 'x': No such file or
//! directory`). [`reason`] finds the `strerror` text at the end of such a
//! message and renders it the agent's way, with the error number for the
//! classic errors whose numbers are the same on Linux, the BSDs and macOS.
//! Anything else is passed on as the utility said it.

/// `strerror` texts (glibc, BSD and musl wordings) and their numbers.
const KNOWN: &[(&str, i32)] = &[
    ("Operation not permitted", 1),
    ("No such file or directory", 2),
    ("Input/output error", 5),
    ("I/O error", 5),
    ("Permission denied", 13),
    ("File exists", 17),
    ("Not a directory", 20),
    ("Is a directory", 21),
    ("Invalid argument", 22),
    ("Text file busy", 26),
    ("File too large", 27),
    ("No space left on device", 28),
    ("Read-only file system", 30),
];

/// The reason in a remote error message, in the agent's words.
pub(super) fn reason(message: &str) -> String {
    let line = message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    for (text, code) in KNOWN {
        if line.ends_with(text) {
            return std::io::Error::from_raw_os_error(*code).to_string();
        }
    }
    // "tool: 'path': reason" -> "reason"
    match line.rsplit_once(": ") {
        Some((_, why)) if !why.is_empty() => why.to_owned(),
        _ if line.is_empty() => "failed (the remote tool gave no reason)".to_owned(),
        _ => line.to_owned(),
    }
}

/// `reason` for a record field holding the message in base64.
pub(super) fn reason_b64(field: &str) -> String {
    reason(&super::args::from_base64(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_errors_read_like_the_os_error() {
        assert_eq!(reason("cat: /x: No such file or directory\n"), "No such file or directory (os error 2)");
        assert_eq!(
            reason("mkdir: cannot create directory '/r/a': Permission denied"),
            "Permission denied (os error 13)"
        );
        assert_eq!(reason("cat: x: Too many levels of symbolic links"), "Too many levels of symbolic links");
        assert_eq!(reason("weird"), "weird");
        assert_eq!(reason(""), "failed (the remote tool gave no reason)");
    }
}
