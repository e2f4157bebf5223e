//! Helpers shared by the tokio-only HTTP/2 tests (`h2_bridge.rs`, `h2_limits.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use wintergreen_stream::Runtime;

/// The bound on any one step of a test.
pub(crate) const LIMIT: Duration = Duration::from_secs(30);

/// The runtime these tests use.
pub(crate) fn runtime() -> Arc<dyn Runtime> {
    Arc::new(wintergreen_tokio::Tokio)
}

/// `future`, failing the test after [`LIMIT`].
pub(crate) async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .expect("timed out")
}

/// A listener on a free loopback port, and its address.
pub(crate) async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}
