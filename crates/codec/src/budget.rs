//! A memory budget shared by the sessions of one connection: the bytes of received,
//! not yet delivered messages that all of them together may hold.
//!
//! One session's messages are bounded by [`Config::max_message_size`](crate::Config);
//! a transport that multiplexes many sessions over one connection (RFC 8441 puts one
//! WebSocket on each HTTP/2 stream) hands each of them a clone of one [`MessageBudget`],
//! so that the connection as a whole is bounded too, whatever the number of streams.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A bound, in bytes, on the message bytes that all sessions holding a clone of this
/// budget buffer at once (see [`Session::with_message_budget`](crate::Session::with_message_budget)).
///
/// A session counts against it what a peer makes it hold for a data message that is not
/// delivered yet: the payload assembled so far (after any extension, i.e. inflated) plus
/// the announced payload of the data frame being received (the receive buffer reserves
/// room for it when its header arrives). A message that would take the budget past its
/// limit fails that session alone with close code 1009 (Message Too Big, RFC 6455
/// §7.4.1), reported as [`ProtocolError::BudgetExceeded`](crate::ProtocolError); the
/// other sessions go on. What a session holds is given back when its message is
/// delivered, when it fails or closes, and when it is dropped.
///
/// Clones share the count. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct MessageBudget {
    inner: Arc<Shared>,
}

struct Shared {
    limit: usize,
    used: AtomicUsize,
}

impl MessageBudget {
    /// A budget of `limit` bytes, none of them in use.
    pub fn new(limit: usize) -> Self {
        Self {
            inner: Arc::new(Shared {
                limit,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// The bound, in bytes.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Bytes held now by all the sessions sharing this budget.
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// Bytes still free.
    pub fn available(&self) -> usize {
        self.limit().saturating_sub(self.used())
    }

    /// Takes `n` more bytes if they fit under the limit; `false` (nothing taken) if not.
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        let limit = self.inner.limit;
        self.inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= limit)
            })
            .is_ok()
    }

    /// Gives back `n` bytes taken with [`try_acquire`](Self::try_acquire).
    pub(crate) fn release(&self, n: usize) {
        // Never below zero: a session gives back at most what it took.
        let _ = self
            .inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(n))
            });
    }
}

impl fmt::Debug for MessageBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageBudget")
            .field("limit", &self.limit())
            .field("used", &self.used())
            .finish()
    }
}

/// One session's share of a [`MessageBudget`]: what it holds now.
#[derive(Debug)]
pub(crate) struct Charge {
    budget: MessageBudget,
    held: usize,
}

impl Charge {
    pub(crate) const fn new(budget: MessageBudget) -> Self {
        Self { budget, held: 0 }
    }

    /// Bytes this session could still take: the budget's free bytes plus its own.
    pub(crate) fn headroom(&self) -> usize {
        self.budget.available().saturating_add(self.held)
    }

    pub(crate) fn limit(&self) -> usize {
        self.budget.limit()
    }

    /// Moves this session's share to `target` bytes; `false` (share unchanged) when growing
    /// to it would take the budget past its limit.
    pub(crate) fn settle(&mut self, target: usize) -> bool {
        if target > self.held {
            if !self.budget.try_acquire(target - self.held) {
                return false;
            }
        } else if target < self.held {
            self.budget.release(self.held - target);
        }
        self.held = target;
        true
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.release(self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_count_and_the_limit_holds() {
        let budget = MessageBudget::new(100);
        let mut a = Charge::new(budget.clone());
        let mut b = Charge::new(budget.clone());
        assert!(a.settle(60));
        assert!(!b.settle(41), "60 + 41 is over 100");
        assert_eq!(budget.used(), 60, "a refused charge takes nothing");
        assert!(b.settle(40));
        assert_eq!(budget.available(), 0);
        assert!(a.settle(10));
        assert_eq!(budget.used(), 50);
        drop(b);
        assert_eq!(budget.used(), 10, "a dropped share is given back");
        assert_eq!(a.headroom(), 100);
    }
}
