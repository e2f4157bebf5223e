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

/// A user's private root, read from PEM with the library's own helper: `wss://` over
/// HTTP/1.1 and, with the same builder call, over HTTP/2 (ALPN follows the HTTP/2 mode,
/// not the root store).
#[cfg(all(feature = "runtime-tokio", feature = "rustls-tls", feature = "http2"))]
#[tokio::test]
async fn a_private_root_from_pem_serves_both_http_versions() {
    use futures_util::{SinkExt, StreamExt};
    use wintergreen::Http2Mode;
    use wintergreen::tls::rustls;

    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(wintergreen::tls::provider().unwrap())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let mut listener = ServerBuilder::new()
        .tls(Arc::new(config))
        .listen(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let port = listener.local_addr().port();
    tokio::spawn(async move {
        while let Some(Ok(mut accepted)) = listener.accept().await {
            tokio::spawn(async move {
                while let Some(Ok(message)) = accepted.websocket.next().await {
                    if message.is_data() && accepted.websocket.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let pem = certified.cert.pem();
    for (mode, version) in [
        (Http2Mode::Off, http::Version::HTTP_11),
        (Http2Mode::Require, http::Version::HTTP_2),
    ] {
        let roots = wintergreen::tls::root_store_from_pem(pem.as_bytes()).unwrap();
        let (mut ws, response) = tokio::time::timeout(
            Duration::from_secs(10),
            ClientBuilder::new(format!("wss://localhost:{port}/"))
                .root_certificates(roots)
                .http2(mode)
                .connect(),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(response.version(), version);
        ws.send(Message::text("hi")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hi"));
    }
}

/// `idle_timeout` on either builder: the side that set it starts the close handshake with
/// 1001 after that long without a data message, and reports why (RFC 6455 §7.4.1).
#[tokio::test]
async fn either_builder_sets_an_idle_timeout() {
    use wintergreen::{CloseCode, ConnectionError, Error, TimerKind};
    let idle = Duration::from_millis(200);
    for server_is_idle in [true, false] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = ServerBuilder::new();
        let mut client = ClientBuilder::new(format!("ws://{addr}/"));
        if server_is_idle {
            server = server.idle_timeout(idle);
        } else {
            client = client.idle_timeout(idle);
        }
        let served = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let (mut ws, _) = server.accept(tcp).await.unwrap();
            let first = ws.next_message().await.unwrap();
            while ws.next_message().await.is_some() {}
            first
        });
        let (mut ws, _) = client.connect().await.unwrap();
        let first = tokio::time::timeout(Duration::from_secs(10), ws.next_message())
            .await
            .unwrap()
            .unwrap();
        while ws.next_message().await.is_some() {}
        let served = tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .unwrap()
            .unwrap();
        let (idle_side, other_side) = if server_is_idle {
            (served, first)
        } else {
            (first, served)
        };
        assert!(
            matches!(
                idle_side,
                Err(Error::Connection(ConnectionError::TimedOut(
                    TimerKind::Idle
                )))
            ),
            "server idle: {server_is_idle}, {idle_side:?}"
        );
        match other_side {
            Ok(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::GOING_AWAY),
            other => panic!("server idle: {server_is_idle}, expected a 1001 close, got {other:?}"),
        }
    }
}
