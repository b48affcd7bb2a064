//! Protects the stdio transport (`herd_transport::stdio::serve_io`): line
//! splitting and the line-length cap, the depth check, JSON-RPC parsing,
//! in-order `initialize`, concurrent request handling, and the drain and
//! shutdown when stdin ends.
//!
//! The input is fed verbatim as stdin through an in-memory pipe, with the
//! conformance catalog behind the router. Properties: nothing panics,
//! `serve_io` returns (within a virtual hour) once stdin ends, and every line
//! it writes to stdout is one JSON-RPC message, so no stray output or
//! embedded newline can corrupt the stream.

#![no_main]

use herd_transport::stdio::{StdioConfig, serve_io};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// A small cap so inputs the fuzzer can build reach the too-long-line path.
const MAX_LINE: usize = 1024;

fuzz_target!(|data: &[u8]| {
    let rt = herd_fuzz::runtime();
    let out = rt.block_on(async move {
        let router = herd_fuzz::router();
        let config = StdioConfig { max_line_bytes: MAX_LINE, ..StdioConfig::default() };
        let (writer, mut reader) = tokio::io::duplex(64 * 1024);
        let serve = serve_io(router, config, data, writer);
        let collect = async move {
            let mut out = Vec::new();
            reader.read_to_end(&mut out).await.map(|_| out)
        };
        let joined = tokio::time::timeout(Duration::from_secs(3600), async { tokio::join!(serve, collect) }).await;
        let Ok((served, out)) = joined else { panic!("serve_io did not return within an hour after stdin ended") };
        if let Err(e) = served {
            panic!("serve_io failed: {e}");
        }
        let out = out.expect("reading the in-memory pipe cannot fail");
        herd_fuzz::settle().await;
        out
    });
    let text = std::str::from_utf8(&out).unwrap_or_else(|e| panic!("stdout is not UTF-8: {e}"));
    if !text.is_empty() {
        assert!(text.ends_with('\n'), "stdout does not end with a newline: {text:?}");
    }
    for line in text.lines() {
        if let Err(why) = herd_fuzz::check_message(line) {
            panic!("stdout line is not one JSON-RPC message: {why}");
        }
    }
});
