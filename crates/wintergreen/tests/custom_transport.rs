#![cfg(feature = "runtime-tokio")]
#![allow(clippy::unwrap_used, clippy::print_stdout)]
//! The `custom_transport` example, run as a test: WebSockets over an in-memory pipe with
//! only the codec, handshake and driver crates.

#[path = "../examples/custom_transport.rs"]
#[allow(dead_code, unreachable_pub)]
mod example;

#[tokio::test]
async fn websockets_run_over_a_transport_of_the_callers() {
    let reply = tokio::time::timeout(std::time::Duration::from_secs(20), example::run())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply, "echo: hello over a pipe");
}
