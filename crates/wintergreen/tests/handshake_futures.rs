//! The handshake futures are boxed (the facade's "Memory per connection"): whatever the
//! handshake's state and however large the stream it returns, a task that awaits one holds
//! a pointer to it, so the handshake's state is freed once the WebSocket is open.
#![cfg(feature = "runtime-tokio")]
#![allow(clippy::unwrap_used)]

use std::mem::size_of_val;

use wintergreen::{ClientBuilder, ClientOptions, ServerBuilder, ServerOptions};

/// A boxed future of a sized type is one thin pointer.
const POINTER: usize = size_of::<usize>();

/// Its size, after checking that it can go to `tokio::spawn` (`Send + 'static` when its
/// arguments are).
fn spawnable<F: Future + Send + 'static>(future: &F) -> usize {
    size_of_val(future)
}

#[tokio::test]
async fn every_handshake_future_is_one_pointer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tcp = || async { tokio::net::TcpStream::connect(addr).await.unwrap() };
    let server = ServerOptions::default();
    let client = ClientOptions::default();
    let url = format!("ws://{addr}/");

    // Created, never polled: nothing is sent.
    assert_eq!(spawnable(&wintergreen::accept(tcp().await)), POINTER);
    assert_eq!(spawnable(&wintergreen::connect(url.clone())), POINTER);
    assert_eq!(
        spawnable(&ClientBuilder::new(url.clone()).connect()),
        POINTER
    );
    assert_eq!(
        size_of_val(&wintergreen::accept_with(tcp().await, &server)),
        POINTER
    );
    assert_eq!(size_of_val(&wintergreen::connect(url.as_str())), POINTER);
    assert_eq!(
        size_of_val(&wintergreen::connect_with(url.as_str(), &client)),
        POINTER
    );
    let request = http::Request::get(url.as_str()).body(()).unwrap();
    assert_eq!(
        size_of_val(&wintergreen::tokio::handshake_with(
            tcp().await,
            request,
            &client
        )),
        POINTER
    );
    let builder = ServerBuilder::new();
    assert_eq!(size_of_val(&builder.accept(tcp().await)), POINTER);
    assert_eq!(
        size_of_val(&ClientBuilder::new(url.as_str()).connect()),
        POINTER
    );
}
