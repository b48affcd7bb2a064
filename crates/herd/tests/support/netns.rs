//! Real unreachable hosts for fault tests: a network namespace joined to
//! the test's own namespace by a veth pair, and nftables rules inside it
//! that drop all packets (a blackhole) or one in ten (loss).
//!
//! Traffic stays on the veth pair: each end gets an address of one /30 out
//! of 10.200.0.0/16, and nothing is routed anywhere else. The namespace
//! (and with it both veth ends and its nftables table) is deleted on drop;
//! namespaces left by a test process that died are deleted by the next
//! test that makes one.
//!
//! Making namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), `ip` and
//! `nft`. A test that cannot make one ([`Netns::create_or_skip`]) fails
//! when `CI` is set and otherwise says loudly why it did nothing.
#![allow(dead_code, unreachable_pub)]

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Names of namespaces made by these tests: `herdf-<pid>-<n>`.
const PREFIX: &str = "herdf-";

/// One namespace joined to the test's namespace by a veth pair.
pub struct Netns {
    /// The namespace's name (for `ip netns exec`).
    pub name: String,
    /// The address of the veth end inside the namespace.
    pub inner: Ipv4Addr,
    /// The address of the veth end in the test's namespace.
    pub outer: Ipv4Addr,
    outer_link: String,
}

/// Runs a command, returning its stderr as the error.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    run("ip", args)
}

impl Netns {
    /// `Some(namespace)`, or `None` after saying why this machine cannot
    /// make one; panics instead when `CI` is set, so CI never passes a test
    /// that did not run.
    pub fn create_or_skip(test: &str) -> Option<Netns> {
        let made = run("nft", &["--version"])
            .map_err(|e| format!("{e} (Debian package nftables)"))
            .and_then(|_| Netns::create())
            .and_then(|ns| ns.nft("list tables").map(|()| ns));
        match made {
            Ok(ns) => Some(ns),
            Err(why) if std::env::var_os("CI").is_some() => {
                panic!("{test}: network namespaces are required in CI and unavailable: {why}")
            }
            Err(why) => {
                eprintln!("SKIPPED {test}: network namespaces unavailable here (run as root with ip and nft): {why}");
                None
            }
        }
    }

    /// Makes a namespace with a veth pair to this one, both ends up and
    /// addressed, the namespace's loopback up.
    pub fn create() -> Result<Netns, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        remove_orphans();
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{pid}-{n}");
        // Link names are at most 15 bytes.
        let tag = format!("{}{n}", pid % 1_000_000);
        let (outer_link, inner_link) = (format!("hf{tag}a"), format!("hf{tag}b"));
        let (outer, inner) = free_subnet(pid, n)?;
        ip(&["netns", "add", &name])?;
        let ns = Netns { name, inner, outer, outer_link };
        let cidr = |a: Ipv4Addr| format!("{a}/30");
        ip(&["link", "add", &ns.outer_link, "type", "veth", "peer", "name", &inner_link, "netns", &ns.name])?;
        ip(&["addr", "add", &cidr(outer), "dev", &ns.outer_link])?;
        ip(&["link", "set", &ns.outer_link, "up"])?;
        ns.exec("ip", &["addr", "add", &cidr(inner), "dev", &inner_link])?;
        ns.exec("ip", &["link", "set", &inner_link, "up"])?;
        ns.exec("ip", &["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Runs `program args` inside the namespace.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// The wrapper that runs a program inside the namespace.
    pub fn wrapper(&self) -> [&str; 4] {
        ["ip", "netns", "exec", &self.name]
    }

    /// Runs one `nft` command inside the namespace.
    pub fn nft(&self, command: &str) -> Result<(), String> {
        self.exec("nft", &[command]).map(drop)
    }

    /// Drops every packet in and out of the namespace (keeps loopback).
    pub fn blackhole(&self) {
        self.drop_where("");
    }

    /// Drops about one packet in ten in each direction.
    pub fn lose_one_in_ten(&self) {
        self.drop_where("numgen random mod 10 == 0");
    }

    /// Removes the rules: traffic flows again.
    pub fn heal(&self) {
        let _ = self.nft("delete table inet herd_fault");
    }

    fn drop_where(&self, condition: &str) {
        self.heal();
        let rules = format!(
            "table inet herd_fault {{\n\
               chain input {{ type filter hook input priority 0; iifname \"lo\" accept; {condition} drop; }}\n\
               chain output {{ type filter hook output priority 0; oifname \"lo\" accept; {condition} drop; }}\n\
             }}"
        );
        let file = tempfile::NamedTempFile::new().expect("a temp file");
        std::fs::write(file.path(), rules).expect("write the rules");
        let path = file.path().to_str().expect("a UTF-8 path");
        self.exec("nft", &["-f", path]).unwrap_or_else(|e| panic!("cannot load the nftables rules: {e}"));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace removes its veth end, which removes the peer.
        let _ = ip(&["netns", "delete", &self.name]);
        let _ = ip(&["link", "delete", &self.outer_link]);
    }
}

/// Picks a /30 of 10.200.0.0/16 that no interface here uses yet:
/// (address in this namespace, address in the new one).
fn free_subnet(pid: u32, n: u32) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    let used = ip(&["-4", "-o", "addr", "show"])?;
    let start = pid.wrapping_mul(7).wrapping_add(n) % 16384;
    for k in 0..16384 {
        let index = (start + k) % 16384;
        let base = Ipv4Addr::new(10, 200, (index / 64) as u8, ((index % 64) * 4) as u8);
        let [a, b, c, d] = base.octets();
        let (outer, inner) = (Ipv4Addr::new(a, b, c, d + 1), Ipv4Addr::new(a, b, c, d + 2));
        if !used.contains(&format!(" {outer}/")) && !used.contains(&format!(" {inner}/")) {
            return Ok((outer, inner));
        }
    }
    Err("no free /30 left in 10.200.0.0/16".to_owned())
}

/// Deletes namespaces of these tests whose process is gone.
fn remove_orphans() {
    let Ok(list) = ip(&["netns", "list"]) else { return };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(pid) = name.strip_prefix(PREFIX).and_then(|rest| rest.split('-').next()) else { continue };
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = ip(&["netns", "delete", name]);
        }
    }
}
