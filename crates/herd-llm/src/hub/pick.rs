//! Which member gets a request: the least busy active one (requests the
//! hub has in flight there against its `max_concurrency`), a hibernating
//! one that wakes only when no active one is left; when every candidate
//! is full, a bounded wait for a place.

use super::Inner;
use super::error::RelayError;
use super::registry::Place;
use super::resolve::Member;
use crate::wire::ProviderState;
use std::sync::atomic::Ordering;
use tokio::time::Instant;

/// A member chosen, by its index in the candidates, with its place.
pub(super) struct Picked {
    pub(super) index: usize,
    pub(super) place: Place,
}

/// Whether `member` can take a request at all, and how much it is
/// preferred (lower first).
fn rank(member: &Member) -> Option<u8> {
    match member.state {
        ProviderState::Active => Some(0),
        ProviderState::Hibernating if member.provider.wakes => Some(1),
        _ => None,
    }
}

/// Takes a place at the least busy candidate not in `tried`, waiting
/// until `deadline` for one to free.
pub(super) async fn pick(
    inner: &Inner,
    members: &[Member],
    tried: &[usize],
    deadline: Instant,
) -> Result<Picked, RelayError> {
    let freed = inner.registry.freed();
    let mut queued: Option<Queued<'_>> = None;
    loop {
        let notified = freed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let mut open: Vec<(u8, f64, usize)> = members
            .iter()
            .enumerate()
            .filter(|(i, _)| !tried.contains(i))
            .filter_map(|(i, m)| {
                let load = inner.registry.load(&m.host, &m.provider.name).in_flight();
                Some((rank(m)?, f64::from(load) / f64::from(m.provider.max_concurrency.max(1)), i))
            })
            .collect();
        if open.is_empty() {
            return Err(RelayError::Unavailable("no member of this model is active".into()));
        }
        open.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
        for (_, _, index) in open {
            let m = &members[index];
            if let Some(place) = inner.registry.try_take(&m.host, &m.provider.name, m.provider.max_concurrency) {
                return Ok(Picked { index, place });
            }
        }
        if queued.is_none() {
            queued = Some(Queued::join(inner)?);
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            let wait = inner.config.queue_wait;
            return Err(RelayError::Busy(format!("every member is busy, and none freed within {wait:?}")));
        }
    }
}

/// A request's place in the queue; left when dropped.
struct Queued<'a> {
    inner: &'a Inner,
}

impl<'a> Queued<'a> {
    fn join(inner: &'a Inner) -> Result<Self, RelayError> {
        let max = inner.config.queue_max;
        let taken = inner.queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1));
        match taken {
            Ok(_) => Ok(Self { inner }),
            Err(_) => Err(RelayError::Busy(format!("every member is busy and {max} requests already wait"))),
        }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.inner.queued.fetch_sub(1, Ordering::AcqRel);
    }
}
