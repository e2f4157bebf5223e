//! `timeout_at`: the one bounded wait, and what it costs the state machines that hold it.

mod common;

use std::future::{pending, ready};
use std::time::{Duration, Instant};

use common::TestRuntime;
use wintergreen_stream::{Sleep, timeout_at};

/// A future whose state holds `N` bytes across an await, like a handshake with its buffers.
async fn holding<const N: usize>() -> usize {
    let state = [7u8; N];
    tokio::task::yield_now().await;
    state.iter().map(|&b| usize::from(b)).sum()
}

#[tokio::test]
async fn the_bounded_future_is_held_once_in_place() {
    let future = holding::<1024>();
    let inner = size_of_val(&future);
    let bounded = timeout_at(&TestRuntime, Instant::now(), holding::<1024>());
    // The future and the sleep, nothing more: an `async fn` would keep the argument and the
    // pinned copy it polls (twice the future), and every caller's state would hold that.
    assert!(
        size_of_val(&bounded) <= inner + size_of::<Sleep>() + align_of_val(&future),
        "timeout_at over a {inner}-byte future is {} bytes",
        size_of_val(&bounded)
    );
}

#[tokio::test]
async fn an_output_ready_by_the_deadline_is_returned() {
    let sum = timeout_at(
        &TestRuntime,
        Instant::now() + Duration::from_secs(60),
        holding::<8>(),
    );
    assert_eq!(sum.await, Some(56));
}

#[tokio::test]
async fn a_ready_output_wins_over_a_passed_deadline() {
    // The future is polled before the sleep at each wake-up.
    let past = Instant::now();
    assert_eq!(timeout_at(&TestRuntime, past, ready(3)).await, Some(3));
}

#[tokio::test]
async fn the_deadline_ends_a_wait_that_never_completes() {
    let deadline = Instant::now() + Duration::from_millis(20);
    let waited = timeout_at(&TestRuntime, deadline, pending::<()>()).await;
    assert_eq!(waited, None);
    assert!(Instant::now() >= deadline);
}
