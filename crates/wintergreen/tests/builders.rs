#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! One builder per role: a `ServerBuilder` and a `ClientBuilder` agree on a subprotocol and
//! talk, on the default runtime and on one chosen with `.runtime(...)`.

use std::sync::Arc;
use std::time::Duration;

use wintergreen::{ClientBuilder, ConnectError, Message, Runtime, ServerBuilder};

async fn talk(runtime: Arc<dyn Runtime>, client_runtime: Option<Arc<dyn Runtime>>) {
    let listener = runtime
        .tcp_listen(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = ServerBuilder::new()
        .runtime(Arc::clone(&runtime))
        .subprotocols(["chat.v2", "chat.v1"])
        .max_message_size(1 << 10)
        .handshake_timeout(Duration::from_secs(5));
    let (done, finished) = tokio::sync::oneshot::channel();
    runtime.spawn(Box::pin(async move {
        let tcp = listener.accept().await.unwrap();
        let (mut ws, request) = server.accept(tcp).await.unwrap();
        assert_eq!(request.uri().path(), "/chat");
        let message = ws.next_message().await.unwrap().unwrap();
        ws.send_message(message).await.unwrap();
        while ws.next_message().await.is_some() {}
        let _ = done.send(());
    }));
    let mut client = ClientBuilder::new(format!("ws://{addr}/chat"))
        .subprotocol("chat.v1")
        .connect_timeout(Duration::from_secs(5));
    if let Some(runtime) = client_runtime {
        client = client.runtime(runtime);
    }
    let (mut ws, response) = client.connect().await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v1");
    ws.send_message(Message::text("hi")).await.unwrap();
    assert_eq!(
        ws.next_message().await.unwrap().unwrap(),
        Message::text("hi")
    );
    ws.close(wintergreen::CloseCode::NORMAL, "").await.unwrap();
    finished.await.unwrap();
}

#[cfg(feature = "runtime-tokio")]
#[tokio::test]
async fn builders_agree_on_the_default_runtime() {
    tokio::time::timeout(
        Duration::from_secs(20),
        talk(wintergreen::tokio::runtime(), None),
    )
    .await
    .unwrap();
}

#[cfg(feature = "runtime-smol")]
#[test]
fn builders_agree_on_a_chosen_runtime() {
    let runtime = wintergreen::smol::runtime();
    smol::block_on(talk(Arc::clone(&runtime), Some(runtime)));
}

/// With tokio's feature on too, a builder called under smol or async-std must not pick
/// tokio (whose futures panic outside a tokio runtime): the default follows the runtime
/// it is called on.
#[cfg(all(feature = "runtime-tokio", feature = "runtime-smol"))]
#[test]
fn the_default_runtime_outside_tokio_is_not_tokio() {
    smol::block_on(talk(wintergreen::smol::runtime(), None));
    #[cfg(feature = "runtime-async-std")]
    async_std::task::block_on(talk(wintergreen::async_std::runtime(), None));
}

#[test]
fn a_bad_header_is_the_callers_fault() {
    let built = ClientBuilder::new("ws://127.0.0.1:1/")
        .header("bad header", "x")
        .build();
    assert!(matches!(built, Err(ConnectError::InvalidRequest(_))));
}
