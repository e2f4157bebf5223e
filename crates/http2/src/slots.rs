//! [`StreamSlots`]: the client's explicit wait for a free stream under the server's
//! `SETTINGS_MAX_CONCURRENT_STREAMS` (RFC 9113 §5.1.2).
//!
//! h2 queues a request over the limit silently (its response simply does not come), so a
//! WebSocket opened on a full connection would wait for "the response". Instead each
//! WebSocket takes a slot before its request is sent, waits for one explicitly and boundedly
//! when all are taken, and gives it back when its stream is dropped (after lingering, if it
//! lingers).

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// The slots of one client connection.
#[derive(Debug, Default)]
pub(crate) struct StreamSlots {
    /// WebSocket streams open (or being opened) on the connection.
    taken: AtomicUsize,
    /// Woken when a slot is given back.
    freed: Notify,
}

/// One taken slot; dropping it gives it back.
#[derive(Debug)]
pub(crate) struct Slot(Arc<StreamSlots>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::AcqRel);
        self.0.freed.notify_waiters();
    }
}

impl StreamSlots {
    /// Takes a slot if fewer than `max` are taken.
    fn try_take(self: &Arc<Self>, max: usize) -> Option<Slot> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < max).then_some(taken + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(self)))
    }

    /// How many slots are taken.
    pub(crate) fn taken(&self) -> usize {
        self.taken.load(Ordering::Acquire)
    }

    /// Waits for a slot; `max` is read again whenever one is given back (the server may
    /// change its limit). Unbounded: the caller bounds it.
    pub(crate) async fn take(self: &Arc<Self>, max: impl Fn() -> usize) -> Slot {
        loop {
            let mut freed = pin!(self.freed.notified());
            // Registered before the check, so a slot given back in between is not missed.
            freed.as_mut().enable();
            if let Some(slot) = self.try_take(max()) {
                return slot;
            }
            freed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_slot_given_back_wakes_a_waiter_and_the_count_never_passes_the_limit() {
        let slots = Arc::new(StreamSlots::default());
        let first = slots.take(|| 1).await;
        assert!(slots.try_take(1).is_none());
        let waiter = tokio::spawn({
            let slots = Arc::clone(&slots);
            async move { slots.take(|| 1).await }
        });
        tokio::task::yield_now().await;
        assert_eq!(slots.taken(), 1);
        drop(first);
        let second = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(slots.taken(), 1);
        drop(second);
        assert_eq!(slots.taken(), 0);
    }
}
