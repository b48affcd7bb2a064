//! Structured logs on stderr (stdout belongs to the stdio transport),
//! written by a thread of their own (`background`) so that logging never
//! waits on stderr.

mod background;

use crate::cli::{LogArgs, LogFormat};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Writes out the lines still queued when dropped: hold it until the end of
/// `main`.
pub(crate) struct Guard {
    _flush: Option<background::Flush>,
}

pub(crate) fn init(args: &LogArgs) -> Guard {
    let filter = EnvFilter::try_new(&args.filter).unwrap_or_else(|err| {
        eprintln!("herd: ignoring invalid log filter {:?}: {err}", args.filter);
        EnvFilter::new("info")
    });
    // Colours only for a person at a terminal, never into files or journals.
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi);
    let (lines, flush) = match background::spawn(std::io::stderr(), background::CAPACITY) {
        Ok((lines, flush)) => (Some(lines), Some(flush)),
        Err(err) => {
            eprintln!("herd: no log writer thread ({err}); writing logs directly");
            (None, None)
        }
    };
    match (lines, args.format) {
        (Some(lines), LogFormat::Text) => builder.with_writer(lines).init(),
        (Some(lines), LogFormat::Json) => builder.with_writer(lines).json().init(),
        (None, LogFormat::Text) => builder.with_writer(std::io::stderr).init(),
        (None, LogFormat::Json) => builder.with_writer(std::io::stderr).json().init(),
    }
    Guard { _flush: flush }
}
