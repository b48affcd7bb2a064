//! The agent's `search_files` walk, replayed over a remote `find -L` listing.
//!
//! The agent walks breadth-first, entries of each directory sorted by name,
//! entering every directory once by (device, inode), so shallow matches come
//! first and symlink cycles end. `find -L` lists the same tree depth-first,
//! once per path it reaches a directory by, with each directory's
//! `device:inode`. [`walk`] rebuilds the per-directory listings from that and
//! replays the agent's walk over them, so the result is the agent's, match
//! for match, including where it stops at `max_results`. Entries `find`
//! skipped as file system loops (it names them on stderr) are added back as
//! entries that are not entered, which is what the agent does with them.

use herd_tools::host::shape::search_files::{Found, Search};
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One listed entry: whether it is a directory (after following links),
/// its `device:inode` when known, and its path relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Raw {
    pub(super) dir: bool,
    pub(super) id: Option<Vec<u8>>,
    pub(super) rel: Vec<u8>,
}

/// Entries from NUL-separated `kind, id, path` triples. With `prefix`, the
/// paths are full and start with it (the portable listing); without, they
/// are relative already.
pub(super) fn parse(bytes: &[u8], prefix: Option<&[u8]>) -> Vec<Raw> {
    let fields: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
    fields
        .chunks_exact(3)
        .filter_map(|f| {
            let rel = match prefix {
                None => f[2],
                Some(prefix) => {
                    let rest = f[2].strip_prefix(prefix)?;
                    rest.strip_prefix(b"/").unwrap_or(rest)
                }
            };
            let id = (f[1] != b"-").then(|| f[1].to_vec());
            Some(Raw { dir: f[0] == b"d", id, rel: rel.to_vec() })
        })
        .collect()
}

/// Replays the agent's walk from `root` over `raws`: the matches, and
/// whether there were more than `search.max`.
pub(super) fn walk(root: &Path, raws: Vec<Raw>, search: &Search) -> Found {
    let mut root_id = None;
    let mut children: HashMap<Vec<u8>, Vec<(Vec<u8>, Raw)>> = HashMap::new();
    for raw in raws {
        if raw.rel.is_empty() {
            root_id = raw.id;
            continue;
        }
        let (parent, name) = match raw.rel.iter().rposition(|&b| b == b'/') {
            Some(i) => (raw.rel[..i].to_vec(), raw.rel[i + 1..].to_vec()),
            None => (Vec::new(), raw.rel.clone()),
        };
        children.entry(parent).or_default().push((name, raw));
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list.dedup_by(|a, b| a.0 == b.0);
    }
    let key = |raw: &Raw| raw.id.clone().unwrap_or_else(|| [b"path:", raw.rel.as_slice()].concat());
    let mut visited: HashSet<Vec<u8>> = HashSet::new();
    visited.insert(root_id.unwrap_or_else(|| b"path:".to_vec()));
    let mut found = Found::default();
    let mut queue = VecDeque::from([Vec::new()]);
    while let Some(dir) = queue.pop_front() {
        for (_, raw) in children.get(&dir).map(Vec::as_slice).unwrap_or_default() {
            let rel = Path::new(OsStr::from_bytes(&raw.rel));
            if search.matches(rel) {
                if found.matches.len() == search.max {
                    found.truncated = true;
                    return found;
                }
                found.matches.push(root.join(rel).display().to_string());
            }
            if raw.dir && visited.insert(key(raw)) {
                queue.push_back(raw.rel.clone());
            }
        }
    }
    found
}

/// The path in a GNU find message quoted as `'...'` (C escapes inside),
/// starting at `text` just past the opening quote; `None` if malformed.
pub(super) fn unquote(text: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\'' => return Some((out, &text[i + 1..])),
            b'\\' => {
                let next = *text.get(i + 1)?;
                let octal = text.get(i + 1..i + 4).filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
                if let Some(digits) = octal {
                    out.push(digits.iter().fold(0u8, |n, d| n.wrapping_mul(8).wrapping_add(d - b'0')));
                    i += 4;
                    continue;
                }
                out.push(match next {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'a' => 7,
                    b'b' => 8,
                    b'f' => 12,
                    b'v' => 11,
                    other => other,
                });
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
