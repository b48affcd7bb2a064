//! Tests of the walk replay: order, dedup by inode, loops, the cap.

#![allow(clippy::unwrap_used)]

use super::*;
use herd_tools::host::shape::search_files::Args;

fn raw(dir: bool, id: &str, rel: &str) -> Raw {
    Raw { dir, id: (id != "-").then(|| id.as_bytes().to_vec()), rel: rel.as_bytes().to_vec() }
}

/// `{a.rs, b.txt, sub/c.rs, sub/deep/d.rs}`, listed in find's depth-first order.
fn tree() -> Vec<Raw> {
    vec![
        raw(true, "1:1", ""),
        raw(true, "1:2", "sub"),
        raw(true, "1:3", "sub/deep"),
        raw(false, "1:4", "sub/deep/d.rs"),
        raw(false, "1:5", "sub/c.rs"),
        raw(false, "1:6", "b.txt"),
        raw(false, "1:7", "a.rs"),
    ]
}

fn search(raws: Vec<Raw>, pattern: &str, max: usize) -> Found {
    let args = serde_json::json!({"pattern": pattern, "max_results": max});
    let search = Args::parse(args.as_object().cloned().unwrap()).unwrap().search(200, 10_000).unwrap();
    walk(Path::new("/r"), raws, &search)
}

#[test]
fn breadth_first_sorted_like_the_agent() {
    let f = search(tree(), "*.rs", 200);
    assert_eq!(f.matches, ["/r/a.rs", "/r/sub/c.rs", "/r/sub/deep/d.rs"]);
    assert!(!f.truncated);
    assert_eq!(search(tree(), "sub/*.rs", 200).matches, ["/r/sub/c.rs"]);
    let f = search(tree(), "*.rs", 2);
    assert_eq!((f.matches.len(), f.truncated), (2, true));
}

#[test]
fn a_directory_reached_twice_is_entered_once() {
    let mut raws = tree();
    // `link` -> `sub`, listed by find -L a second time under its own path.
    raws.push(raw(true, "1:2", "link"));
    raws.push(raw(false, "1:5", "link/c.rs"));
    raws.push(raw(true, "1:3", "link/deep"));
    raws.push(raw(false, "1:4", "link/deep/d.rs"));
    let f = search(raws, "*.rs", 200);
    // `link` sorts before `sub`, so the agent enters it there first.
    assert_eq!(f.matches, ["/r/a.rs", "/r/link/c.rs", "/r/link/deep/d.rs"]);
}

#[test]
fn loop_entries_are_matched_but_not_entered() {
    let mut raws = tree();
    raws.push(raw(false, "-", "sub/up"));
    assert_eq!(search(raws, "up", 200).matches, ["/r/sub/up"]);
}

#[test]
fn portable_listings_strip_the_root() {
    let raws = parse(b"d\0-\0/r/.\0d\0-\0/r/./s\0f\0-\0/r/./s/x.rs\0", Some(b"/r/."));
    assert_eq!(raws, [raw(true, "-", ""), raw(true, "-", "s"), raw(false, "-", "s/x.rs")]);
    assert_eq!(search(raws, "*.rs", 200).matches, ["/r/s/x.rs"]);
    assert_eq!(parse(b"d\x001:2\0sub\0", None), [raw(true, "1:2", "sub")]);
}

#[test]
fn find_quoting_is_undone() {
    let (path, rest) = unquote(br"lt/./a\'b/u p' is part").unwrap();
    assert_eq!((path.as_slice(), rest), (&b"lt/./a'b/u p"[..], &b" is part"[..]));
    assert_eq!(unquote(br"x\nl\303\251'").unwrap().0, "x\nl\u{e9}".as_bytes());
    assert!(unquote(b"unterminated").is_none());
}
