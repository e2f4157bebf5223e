//! The two things this crate needs from a runtime: spawning the task that drives an HTTP/2
//! connection, and (through [`Timer`]) bounding waits.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use wintergreen_stream::Timer;

/// A boxed, sendable future with no output: the connection driver task.
pub type BoxFuture = std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Spawns the task that drives an HTTP/2 connection (reads and writes frames for all its
/// streams). A runtime adapter provides it; any `Fn(BoxFuture)` closure is one:
///
/// ```no_run
/// use wintergreen_http2::{BoxFuture, Executor};
///
/// let executor = |future: BoxFuture| {
///     tokio::spawn(future);
/// };
/// let _: &dyn Executor = &executor;
/// ```
pub trait Executor: Send + Sync {
    /// Runs `future` to completion in the background.
    fn execute(&self, future: BoxFuture);
}

impl<F> Executor for F
where
    F: Fn(BoxFuture) + Send + Sync,
{
    fn execute(&self, future: BoxFuture) {
        self(future);
    }
}

/// Runs `future` until `deadline`: `None` if the deadline came first. Without a timer
/// there is no bound.
pub(crate) async fn until<F: Future>(
    timer: Option<&Arc<dyn Timer>>,
    deadline: Instant,
    future: F,
) -> Option<F::Output> {
    let mut future = pin!(future);
    let Some(timer) = timer else {
        return Some(future.await);
    };
    let mut sleep = timer.sleep_until(deadline);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        sleep.as_mut().poll(cx).map(|()| None)
    })
    .await
}
