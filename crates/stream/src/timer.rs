//! The one thing the driver needs from a runtime besides I/O: sleeping until a deadline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// A future that completes at a deadline.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of sleeps, provided by a runtime adapter (tokio, smol, async-std).
///
/// Without a timer the close handshake has no timeout and keep-alive is off.
pub trait Timer: Send + Sync + fmt::Debug {
    /// A future that completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Sleep;
}
