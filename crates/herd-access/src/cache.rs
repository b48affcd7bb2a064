//! Principals of herd tokens, reused for [`CACHE_TTL`](crate::CACHE_TTL).
//!
//! Keyed by the token's hash (never the token). A hit takes the read lock
//! and clones an `Arc`; nothing awaits while the lock is held. The size is
//! capped: only valid tokens enter, but a cap keeps a store with very many
//! tokens from growing the map without bound.
//!
//! A lookup that started before an invalidation must not put back the
//! principal it found: [`Cache::generation`] is read before the lookup, and
//! [`Cache::put`] drops the entry if an invalidation happened since.

use crate::CACHE_TTL;
use herd_auth::token::TokenHash;
use herd_proto::Principal;
use herd_store::Timestamp;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// At most this many principals are kept.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub(crate) struct Cache {
    map: RwLock<HashMap<TokenHash, Entry>>,
    generation: AtomicU64,
}

struct Entry {
    principal: Principal,
    fetched: Instant,
    /// The token's own expiry, checked on every hit.
    expires_at: Option<Timestamp>,
}

impl Cache {
    /// The principal of `hash`, if fetched less than the TTL ago and the
    /// token has not expired since.
    pub(crate) fn get(&self, hash: &TokenHash) -> Option<Principal> {
        let map = self.map.read();
        let entry = map.get(hash)?;
        let fresh = entry.fetched.elapsed() < CACHE_TTL;
        let expired = entry.expires_at.is_some_and(|at| at <= Timestamp::now());
        (fresh && !expired).then(|| entry.principal.clone())
    }

    /// The current generation, to pass to [`Cache::put`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `principal` for `hash`, unless the cache was invalidated since
    /// `generation` was read.
    pub(crate) fn put(&self, generation: u64, hash: TokenHash, principal: Principal, expires_at: Option<Timestamp>) {
        let mut map = self.map.write();
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.fetched.elapsed() < CACHE_TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(hash, Entry { principal, fetched: Instant::now(), expires_at });
    }

    /// Drops every entry whose principal `matches`.
    pub(crate) fn forget(&self, matches: impl Fn(&Principal) -> bool) {
        let mut map = self.map.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.retain(|_, e| !matches(&e.principal));
    }
}
