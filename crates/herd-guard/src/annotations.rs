//! The read-only hints of a backend's tools, remembered from its listings.
//!
//! A call is decided with the annotation of the tool it names, as the
//! backend lists it, so that a viewer may call exactly the tools its
//! `tools/list` shows. The hints are taken from every listing that passes
//! through the guard and kept at most [`MAX_AGE`]; a name not known (a tool
//! that just appeared) lists again, at most once per [`RELIST_AFTER`], and
//! a `list_changed` from the backend forgets them at once.

use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a listing's hints are trusted without a new listing.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(10);
/// The least time between two listings made because a name was unknown,
/// so unknown names sent by a client cannot make the backend list on
/// every call.
pub(crate) const RELIST_AFTER: Duration = Duration::from_secs(1);

/// Tool name → `readOnlyHint` (`None`: absent or not a boolean).
#[derive(Default)]
pub(crate) struct Annotations {
    known: RwLock<Option<Known>>,
}

struct Known {
    at: Instant,
    hints: Arc<HashMap<String, Option<bool>>>,
}

/// What the cache says of one name.
pub(crate) enum Hint {
    /// The hint from a fresh listing.
    Known(Option<bool>),
    /// Not in a fresh listing, which was made too recently to list again.
    Unknown,
    /// List again first.
    Stale,
}

impl Annotations {
    /// Remembers the hints of a full (unfiltered) `tools/list`.
    pub(crate) fn learn(&self, entries: &[Box<RawValue>]) {
        let mut hints = HashMap::with_capacity(entries.len());
        for (name, read_only) in entries.iter().filter_map(|e| tool_of(e)) {
            hints.insert(name, read_only);
        }
        *self.known.write() = Some(Known { at: Instant::now(), hints: Arc::new(hints) });
    }

    /// Forgets everything (the backend's tools changed).
    pub(crate) fn forget(&self) {
        *self.known.write() = None;
    }

    /// The hint of `name`.
    pub(crate) fn hint(&self, name: &str) -> Hint {
        let known = self.known.read();
        let Some(known) = known.as_ref() else { return Hint::Stale };
        let age = known.at.elapsed();
        if age > MAX_AGE {
            return Hint::Stale;
        }
        match known.hints.get(name) {
            Some(hint) => Hint::Known(*hint),
            None if age < RELIST_AFTER => Hint::Unknown,
            None => Hint::Stale,
        }
    }
}

/// The name and `readOnlyHint` of a `tools/list` entry, read as
/// [`herd_auth::Tool::from_listing`] reads them (a hint that is not a
/// boolean counts as absent), without building the whole entry.
pub(crate) fn tool_of(entry: &RawValue) -> Option<(String, Option<bool>)> {
    #[derive(Deserialize)]
    struct Entry {
        name: String,
        annotations: Option<serde_json::Value>,
    }
    let entry: Entry = serde_json::from_str(entry.get()).ok()?;
    let read_only = entry.annotations.as_ref().and_then(|a| a.get("readOnlyHint")).and_then(|v| v.as_bool());
    Some((entry.name, read_only))
}
