//! Newline-delimited JSON-RPC framing, shared by herd's stdio server and
//! the stdio client that talks to supervised servers.
//!
//! A line is read with a byte cap, so a peer writing an endless line costs
//! a bounded buffer, never the process's memory.

use tokio::io::AsyncBufReadExt;

/// Reads one line, keeping at most `cap + 1` bytes of it (the rest is
/// consumed and dropped, so an endless line cannot exhaust memory).
pub async fn read_line_capped<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
    out: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let room = (cap + 1).saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        total += used;
        r.consume(used);
        if done {
            return Ok(total);
        }
    }
}

/// The line without surrounding whitespace; `None` when blank.
pub fn trim(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|b| !b.is_ascii_whitespace())?;
    let end = line.iter().rposition(|b| !b.is_ascii_whitespace())?;
    Some(&line[start..=end])
}
