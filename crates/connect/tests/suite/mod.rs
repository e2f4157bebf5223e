//! The round-trip suite, written once and generic over the [`Runtime`]: each runtime's test
//! file (`tokio.rs`, `smol.rs`, `async_std.rs`) instantiates it with [`suite!`]. Servers and
//! clients are ours, on ephemeral ports of the runtime under test: ws, wss (a test CA from
//! rcgen), HTTP/1.1, HTTP/2, the fallback, refusal, close, limits and the defaults.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use tokio::sync::oneshot;
use wintergreen_codec::CloseCode;
use wintergreen_connect::{
    ClientOptions, ConnectError, ServeError, ServerOptions, ServerWebSocket, TimeoutKind, Transport,
};
use wintergreen_handshake::Rejection;
use wintergreen_stream::{Message, Runtime, TcpListener, WebSocketStream, timeout_at};

/// Every test body is bounded by this, on the runtime's own clock.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Instantiates every test of the suite for one runtime: `$block_on` runs a future to
/// completion on it, `$runtime` makes its `Arc<dyn Runtime>`.
#[macro_export]
macro_rules! suite {
    ($block_on:expr, $runtime:expr) => {
        fn run<F, Fut>(test: F)
        where
            F: FnOnce(std::sync::Arc<dyn wintergreen_stream::Runtime>) -> Fut,
            Fut: std::future::Future<Output = ()>,
        {
            let runtime: std::sync::Arc<dyn wintergreen_stream::Runtime> = $runtime;
            let block_on = $block_on;
            block_on(suite::bounded(runtime.clone(), test(runtime)));
        }

        $crate::suite_tests! {
            ws_round_trip_over_http1,
            defaults_offer_and_accept_deflate,
            a_refusal_is_one_pattern_away,
            the_close_handshake_ends_both_sides,
            a_message_over_the_limit_closes_with_1009,
            a_refused_tcp_connect_names_the_address,
            #[cfg(feature = "http2")]
            h2c_round_trip_and_shared_connection,
            #[cfg(feature = "http2")]
            prefer_falls_back_to_http1_on_a_new_connection,
            #[cfg(feature = "rustls")]
            wss_over_http1,
            #[cfg(feature = "rustls")]
            wss_rejects_an_unknown_ca_with_a_typed_error,
            #[cfg(all(feature = "rustls", feature = "http2"))]
            wss_over_http2_with_a_shared_connection,
            #[cfg(all(feature = "rustls", feature = "http2"))]
            wss_prefer_falls_back_through_alpn,
            #[cfg(all(feature = "rustls", feature = "http2"))]
            wss_require_fails_without_h2_alpn,
            #[cfg(feature = "rustls")]
            tls_errors_tell_untrusted_from_wrong_name_from_valid,
            #[cfg(feature = "rustls")]
            wss_to_a_plain_server_says_it_is_not_tls,
            #[cfg(feature = "rustls")]
            a_ca_certificate_served_as_the_servers_own_is_explained,
            #[cfg(feature = "rustls")]
            a_tls_client_that_distrusts_the_server_fails_its_accept_typed,
            #[cfg(feature = "http2")]
            one_port_serves_http1_and_h2c,
            #[cfg(all(feature = "rustls", feature = "http2"))]
            one_port_serves_http1_and_h2_over_tls,
            garbage_and_stalled_clients_are_bounded,
            max_handshakes_bounds_connections_in_their_handshake,
            #[cfg(feature = "rustls")]
            a_stalled_tls_client_is_bounded,
        }
    };
}

/// One `#[test]` per suite function, each run with the instantiating file's `run`.
#[macro_export]
macro_rules! suite_tests {
    ($($(#[$cfg:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$cfg])*
            #[test]
            fn $name() {
                run(suite::$name);
            }
        )*
    };
}

/// Runs `body`, failing the test after [`LIMIT`].
pub async fn bounded(runtime: Arc<dyn Runtime>, body: impl Future<Output = ()>) {
    let deadline = runtime.now() + LIMIT;
    timeout_at(&*runtime, deadline, body)
        .await
        .expect("test timed out");
}

/// Spawns `task` on the runtime; the receiver says when it finished.
fn spawn(
    runtime: &Arc<dyn Runtime>,
    task: impl Future<Output = ()> + Send + 'static,
) -> oneshot::Receiver<()> {
    let (done, finished) = oneshot::channel();
    runtime.spawn(Box::pin(async move {
        task.await;
        let _ = done.send(());
    }));
    finished
}

async fn listen(runtime: &Arc<dyn Runtime>) -> (Box<dyn TcpListener>, SocketAddr) {
    let localhost: SocketAddr = ([127, 0, 0, 1], 0).into();
    let listener = runtime.tcp_listen(localhost).await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Echoes data messages until the connection ends.
pub async fn echo<IO>(mut ws: WebSocketStream<IO>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(message)) = ws.next_message().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send_message(message).await.is_err()
        {
            break;
        }
    }
}

/// Three echoes, then a clean close.
pub async fn talk<IO>(ws: &mut WebSocketStream<IO>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    for i in 0..3 {
        let text = format!("hello {i}");
        ws.send_message(Message::text(text.clone())).await.unwrap();
        assert_eq!(
            ws.next_message().await.unwrap().unwrap(),
            Message::text(text)
        );
    }
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
}

/// Echoes data messages on a served WebSocket until the connection ends.
pub async fn echo_served(mut ws: ServerWebSocket) {
    while let Some(Ok(message)) = ws.next_message().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send_message(message).await.is_err()
        {
            break;
        }
    }
}

/// Runs the library's one-port server on an ephemeral port with `options`: each WebSocket
/// is echoed; results arrive on the returned channel (the version of each WebSocket, or
/// the error of each failed connection).
async fn one_port_server(
    runtime: &Arc<dyn Runtime>,
    options: ServerOptions,
) -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<Result<http::Version, ServeError>>,
) {
    let (listener, _) = listen(runtime).await;
    let mut served = wintergreen_connect::serve(runtime, listener, options).unwrap();
    let addr = served.local_addr();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let rt = Arc::clone(runtime);
    drop(spawn(runtime, async move {
        while let Some(next) = served.accept().await {
            let result = next.map(|accepted| {
                assert_eq!(accepted.request.uri().path(), "/echo");
                let version = accepted.websocket.http_version();
                rt.spawn(Box::pin(echo_served(accepted.websocket)));
                version
            });
            if tx.send(result).is_err() {
                return;
            }
        }
    }));
    (addr, rx)
}

/// An HTTP/1.1 echo server for one connection, with `options`.
async fn http1_echo_server(
    runtime: &Arc<dyn Runtime>,
    options: ServerOptions,
) -> (SocketAddr, oneshot::Receiver<()>) {
    let (listener, addr) = listen(runtime).await;
    let rt = Arc::clone(runtime);
    let done = spawn(runtime, async move {
        let tcp = listener.accept().await.unwrap();
        if let Ok((ws, request)) = wintergreen_connect::accept(&rt, tcp, &options).await {
            assert_eq!(request.uri().path(), "/echo");
            echo(ws).await;
        }
    });
    (addr, done)
}

/// Connects to `ws://{addr}/echo` with `options`; the connect must succeed.
async fn connect_echo(
    runtime: &Arc<dyn Runtime>,
    addr: SocketAddr,
    options: &ClientOptions,
) -> (WebSocketStream<Transport>, http::Response<()>) {
    wintergreen_connect::connect(runtime, format!("ws://{addr}/echo"), options)
        .await
        .unwrap()
}

/// One listener, one port: an HTTP/1.1 upgrade, then two WebSockets on one h2c
/// connection (prior knowledge, told apart by the preface).
#[cfg(feature = "http2")]
pub async fn one_port_serves_http1_and_h2c(runtime: Arc<dyn Runtime>) {
    use wintergreen_connect::Http2Mode;

    let (addr, mut served) = one_port_server(&runtime, ServerOptions::default()).await;
    let (mut ws, _) = connect_echo(&runtime, addr, &ClientOptions::default()).await;
    assert!(!ws.get_ref().is_http2());
    talk(&mut ws).await;
    assert_eq!(
        served.recv().await.unwrap().unwrap(),
        http::Version::HTTP_11
    );

    let mut options = ClientOptions::default();
    options.connect.http2 = Http2Mode::Require;
    let url = format!("ws://{addr}/echo");
    let client = wintergreen_connect::http2::connect(&runtime, url.clone(), &options)
        .await
        .unwrap();
    for _ in 0..2 {
        let (mut ws, _) = wintergreen_connect::http2::websocket(&client, url.clone(), &options)
            .await
            .unwrap();
        talk(&mut ws).await;
        assert_eq!(served.recv().await.unwrap().unwrap(), http::Version::HTTP_2);
    }
}

/// Bytes that are no HTTP get the connection closed (after a 400), a client that sends
/// nothing is cut off at the handshake timeout, and the listener serves on.
pub async fn garbage_and_stalled_clients_are_bounded(runtime: Arc<dyn Runtime>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let mut options = ServerOptions::default();
    // Long enough for the rejection below (answer, then read what the client still sends
    // until it closes), short enough for a quick test.
    options.accept.handshake_timeout = Duration::from_secs(1);
    let (addr, mut served) = one_port_server(&runtime, options).await;

    let mut garbage = runtime.tcp_connect(addr).await.unwrap();
    garbage
        .write_all(b"\x16\x03\x01garbage\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // The server answers 400 and closes.
    let _ = garbage.read_to_end(&mut answer).await;
    assert!(answer.starts_with(b"HTTP/1.1 400"), "{answer:?}");
    let local = garbage.local_addr();
    drop(garbage);
    let err = served.recv().await.unwrap().unwrap_err();
    assert_eq!(err.peer, Some(local));
    assert!(
        matches!(
            err.error,
            ConnectError::Http1(_) | ConnectError::Handshake(_)
        ),
        "{err:?}"
    );

    let mut stalled = runtime.tcp_connect(addr).await.unwrap();
    let mut rest = Vec::new();
    // Sends nothing: the server closes the connection at its handshake timeout.
    let read = stalled.read_to_end(&mut rest).await;
    assert!(read.map_or(true, |_| rest.is_empty()));
    let err = served.recv().await.unwrap().unwrap_err();
    assert!(
        matches!(err.error, ConnectError::Timeout(TimeoutKind::Handshake)),
        "{err:?}"
    );

    // A prefix of the HTTP/2 preface, then nothing: the same bound.
    let mut partial = runtime.tcp_connect(addr).await.unwrap();
    partial.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let _ = partial.read_to_end(&mut rest).await;
    let err = served.recv().await.unwrap().unwrap_err();
    assert!(
        matches!(err.error, ConnectError::Timeout(TimeoutKind::Handshake)),
        "{err:?}"
    );

    let (mut ws, _) = connect_echo(&runtime, addr, &ClientOptions::default()).await;
    talk(&mut ws).await;
    assert_eq!(
        served.recv().await.unwrap().unwrap(),
        http::Version::HTTP_11
    );
}

/// With room for one handshake, a client that sends nothing holds it until its timeout:
/// the next client is accepted only after that (its result comes second), not beside it.
pub async fn max_handshakes_bounds_connections_in_their_handshake(runtime: Arc<dyn Runtime>) {
    let mut options = ServerOptions::default();
    options.accept.handshake_timeout = Duration::from_millis(500);
    options.accept.max_handshakes = 1;
    let (addr, mut served) = one_port_server(&runtime, options).await;
    let stalled = runtime.tcp_connect(addr).await.unwrap();
    let (mut ws, _) = connect_echo(&runtime, addr, &ClientOptions::default()).await;
    talk(&mut ws).await;
    let first = served.recv().await.unwrap().unwrap_err();
    assert_eq!(first.peer, Some(stalled.local_addr()));
    assert!(
        matches!(first.error, ConnectError::Timeout(TimeoutKind::Handshake)),
        "{first:?}"
    );
    assert_eq!(
        served.recv().await.unwrap().unwrap(),
        http::Version::HTTP_11
    );
}

pub async fn ws_round_trip_over_http1(runtime: Arc<dyn Runtime>) {
    let (addr, done) = http1_echo_server(&runtime, ServerOptions::default()).await;
    let (mut ws, response) = connect_echo(&runtime, addr, &ClientOptions::default()).await;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert!(!ws.get_ref().is_http2());
    talk(&mut ws).await;
    done.await.unwrap();
}

/// One set of defaults: with the `deflate` feature, the default client offers
/// permessage-deflate and the default server accepts it, on every runtime.
pub async fn defaults_offer_and_accept_deflate(runtime: Arc<dyn Runtime>) {
    let (addr, done) = http1_echo_server(&runtime, ServerOptions::default()).await;
    let (mut ws, response) = connect_echo(&runtime, addr, &ClientOptions::default()).await;
    let extensions = response
        .headers()
        .get("sec-websocket-extensions")
        .map(|value| value.to_str().unwrap().to_owned());
    if cfg!(feature = "deflate") {
        assert!(
            extensions
                .as_deref()
                .is_some_and(|e| e.starts_with("permessage-deflate")),
            "{extensions:?}"
        );
    } else {
        assert_eq!(extensions, None);
    }
    talk(&mut ws).await;
    done.await.unwrap();

    // Opting out is one field away.
    let (addr, done) = http1_echo_server(&runtime, ServerOptions::default()).await;
    let mut options = ClientOptions::default();
    options.handshake.extensions.clear();
    let (mut ws, response) = connect_echo(&runtime, addr, &options).await;
    assert!(!response.headers().contains_key("sec-websocket-extensions"));
    talk(&mut ws).await;
    done.await.unwrap();
}

pub async fn a_refusal_is_one_pattern_away(runtime: Arc<dyn Runtime>) {
    let mut options = ServerOptions::default();
    options.handshake.policy = options
        .handshake
        .policy
        .check(|_| Err(Rejection::new(StatusCode::FORBIDDEN).with_body("not you")));
    let (addr, done) = http1_echo_server(&runtime, options).await;
    let url = format!("ws://{addr}/echo");
    let err = wintergreen_connect::connect(&runtime, url, &ClientOptions::default())
        .await
        .unwrap_err();
    match err {
        ConnectError::Refused { status, body, .. } => {
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(&body[..], b"not you");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    done.await.unwrap();
}

/// RFC 6455 §7.1.1 over real TCP on this runtime: after the close handshake the server
/// ends its half first and lingers, the client sees that end and ends its own, and the
/// server sees the client's. Both close timeouts outlast the suite's [`LIMIT`], so the
/// test passes only if each end reaches the other as a TCP FIN (async-std's socket sent
/// none on `poll_close`: both sides then waited for their close timers).
pub async fn the_close_handshake_ends_both_sides(runtime: Arc<dyn Runtime>) {
    let close_timeout = LIMIT * 10;
    let mut server_options = ServerOptions::default();
    server_options.session.close_timeout = close_timeout;
    let mut client_options = ClientOptions::default();
    client_options.session.close_timeout = close_timeout;
    let (listener, addr) = listen(&runtime).await;
    let rt = Arc::clone(&runtime);
    let done = spawn(&runtime, async move {
        let tcp = listener.accept().await.unwrap();
        let (mut ws, _) = wintergreen_connect::accept(&rt, tcp, &server_options)
            .await
            .unwrap();
        match ws.next_message().await.unwrap().unwrap() {
            Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::from(4001)),
            other => panic!("expected the client's close, got {other:?}"),
        }
        assert!(
            ws.next_message().await.is_none(),
            "the server's stream ends"
        );
    });
    let url = format!("ws://{addr}/");
    let (mut ws, _) = wintergreen_connect::connect(&runtime, url, &client_options)
        .await
        .unwrap();
    ws.close(CloseCode::from(4001), "done").await.unwrap();
    assert!(
        ws.next_message().await.is_none(),
        "the client's stream ends"
    );
    done.await.unwrap();
}

pub async fn a_message_over_the_limit_closes_with_1009(runtime: Arc<dyn Runtime>) {
    let mut options = ServerOptions::default();
    options.session.max_message_size = 1024;
    let (addr, done) = http1_echo_server(&runtime, options).await;
    let (mut ws, _) = connect_echo(&runtime, addr, &ClientOptions::default()).await;
    ws.send_message(Message::binary(vec![7_u8; 4096]))
        .await
        .unwrap();
    match ws.next_message().await.unwrap().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG),
        other => panic!("expected a 1009 close, got {other:?}"),
    }
    done.await.unwrap();
}

pub async fn a_refused_tcp_connect_names_the_address(runtime: Arc<dyn Runtime>) {
    // Bind, note the port, close: nothing listens there now.
    let (listener, addr) = listen(&runtime).await;
    drop(listener);
    let url = format!("ws://{addr}/");
    let err = wintergreen_connect::connect(&runtime, url, &ClientOptions::default())
        .await
        .unwrap_err();
    match err {
        ConnectError::Tcp { addr: tried, .. } => assert_eq!(tried, addr),
        other => panic!("expected a TCP error naming {addr}, got {other:?}"),
    }
}

#[cfg(feature = "http2")]
pub async fn h2c_round_trip_and_shared_connection(runtime: Arc<dyn Runtime>) {
    use wintergreen_connect::Http2Mode;

    let (listener, addr) = listen(&runtime).await;
    let rt = Arc::clone(&runtime);
    let done = spawn(&runtime, async move {
        for _ in 0..2 {
            let tcp = listener.accept().await.unwrap();
            let rt2 = Arc::clone(&rt);
            rt.spawn(Box::pin(async move {
                let options = ServerOptions::default();
                let mut acceptor = wintergreen_connect::http2::accept(&rt2, tcp, &options)
                    .await
                    .unwrap();
                while let Some(Ok((ws, _))) = acceptor.accept().await {
                    rt2.spawn(Box::pin(echo(ws)));
                }
            }));
        }
    });
    // One WebSocket on a connection of its own.
    let mut options = ClientOptions::default();
    options.connect.http2 = Http2Mode::Require;
    let (mut ws, response) = connect_echo(&runtime, addr, &options).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(ws.get_ref().is_http2());
    talk(&mut ws).await;
    // Two on a shared one.
    let client = wintergreen_connect::http2::connect(&runtime, format!("ws://{addr}"), &options)
        .await
        .unwrap();
    for path in ["/a", "/b"] {
        let url = format!("ws://{addr}{path}");
        let (mut ws, _) = wintergreen_connect::http2::websocket(&client, url, &options)
            .await
            .unwrap();
        talk(&mut ws).await;
    }
    done.await.unwrap();
}

#[cfg(feature = "http2")]
pub async fn prefer_falls_back_to_http1_on_a_new_connection(runtime: Arc<dyn Runtime>) {
    use wintergreen_connect::Http2Mode;

    let (listener, addr) = listen(&runtime).await;
    let rt = Arc::clone(&runtime);
    let done = spawn(&runtime, async move {
        // The HTTP/2 attempt: an HTTP/1.1-only server refuses the preface.
        let tcp = listener.accept().await.unwrap();
        let _ = wintergreen_connect::accept(&rt, tcp, &ServerOptions::default()).await;
        // The fallback, on a new connection.
        let tcp = listener.accept().await.unwrap();
        let (ws, _) = wintergreen_connect::accept(&rt, tcp, &ServerOptions::default())
            .await
            .unwrap();
        echo(ws).await;
    });
    let mut options = ClientOptions::default();
    options.connect.http2 = Http2Mode::Prefer;
    let (mut ws, response) = connect_echo(&runtime, addr, &options).await;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert!(!ws.get_ref().is_http2());
    talk(&mut ws).await;
    done.await.unwrap();
}

#[cfg(feature = "rustls")]
pub use tls::*;

#[cfg(feature = "rustls")]
mod tls {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rustls::{RootCertStore, ServerConfig};
    use tokio_rustls::TlsAcceptor;
    use wintergreen_connect::TlsError;

    use super::*;

    pub struct Pki {
        pub client: Arc<rustls::ClientConfig>,
        cert: CertificateDer<'static>,
        key: Vec<u8>,
    }

    /// A CA and a `localhost` certificate it signed; a client config trusting only the CA
    /// (with no ALPN: the connect path fills it in).
    pub fn pki() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let client = wintergreen_connect::tls::client_config_trusting(roots).unwrap();
        Pki {
            client: Arc::new(client),
            cert: cert.der().clone(),
            key: key.serialize_der(),
        }
    }

    /// A self-signed `localhost` certificate made as a CA (`basicConstraints CA:TRUE`, what
    /// a plain `openssl req -x509` makes), served as the server's own, and a client that
    /// trusts it (read from its PEM, as a user would).
    fn ca_as_its_own_pki() -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        let roots = wintergreen_connect::tls::root_store_from_pem(cert.pem().as_bytes()).unwrap();
        let client = wintergreen_connect::tls::client_config_trusting(roots).unwrap();
        Pki {
            client: Arc::new(client),
            cert: cert.der().clone(),
            key: key.serialize_der(),
        }
    }

    /// A CA certificate served as the server's own is refused, and the error says what it
    /// is and what to do (rustls reports it only as an opaque `Other`).
    pub async fn a_ca_certificate_served_as_the_servers_own_is_explained(
        runtime: Arc<dyn Runtime>,
    ) {
        let pki = ca_as_its_own_pki();
        let (port, _done) = tls_server(&runtime, acceptor(&pki, &[]), 1).await;
        let url = format!("wss://localhost:{port}/echo");
        let err = wintergreen_connect::connect(&runtime, url, &trusting(&pki))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectError::Tls(TlsError::UntrustedCertificate(_))),
            "{err:?}"
        );
        assert!(err.to_string().contains("CA:FALSE"), "{err}");
    }

    pub fn acceptor(pki: &Pki, alpn: &[&[u8]]) -> TlsAcceptor {
        TlsAcceptor::from(server_config(pki, alpn))
    }

    /// The server's configuration: the `localhost` certificate, ALPN `alpn` (none: the
    /// library fills it in).
    fn server_config(pki: &Pki, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        let provider = wintergreen_connect::tls::provider().unwrap();
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![pki.cert.clone()],
                PrivateKeyDer::Pkcs8(pki.key.clone().into()),
            )
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// Server options serving TLS with the `localhost` certificate.
    fn tls_options(pki: &Pki, alpn: &[&[u8]]) -> ServerOptions {
        let mut options = ServerOptions::default();
        options.accept.tls = Some(server_config(pki, alpn));
        options
    }

    /// The three outcomes an application tells apart: a certificate no root vouches for, a
    /// certificate for another name, and a valid one.
    pub async fn tls_errors_tell_untrusted_from_wrong_name_from_valid(runtime: Arc<dyn Runtime>) {
        use rustls::CertificateError;

        let pki = pki();
        let (addr, mut served) = one_port_server(&runtime, tls_options(&pki, &[])).await;
        let port = addr.port();

        let untrusting = untrusting();
        let url = format!("wss://localhost:{port}/echo");
        let err = wintergreen_connect::connect(&runtime, url, &untrusting)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConnectError::Tls(TlsError::UntrustedCertificate(
                    CertificateError::UnknownIssuer
                ))
            ),
            "{err:?}"
        );
        // The server saw the client's alert.
        let served_err = served.recv().await.unwrap().unwrap_err();
        assert!(
            matches!(served_err.error, ConnectError::Tls(_)),
            "{served_err:?}"
        );

        // The certificate names `localhost`, not 127.0.0.1.
        let url = format!("wss://127.0.0.1:{port}/echo");
        let err = wintergreen_connect::connect(&runtime, url, &trusting(&pki))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectError::Tls(TlsError::NameMismatch(_))),
            "{err:?}"
        );
        assert!(served.recv().await.unwrap().is_err());

        let url = format!("wss://localhost:{port}/echo");
        wss_http1_to_served(&runtime, url, &pki, &mut served).await;
    }

    /// `wss://` to a plain server: it answers the TLS hello with an HTTP 400, and the error
    /// says the server does not speak TLS instead of rustls's bare "corrupt message".
    pub async fn wss_to_a_plain_server_says_it_is_not_tls(runtime: Arc<dyn Runtime>) {
        let (addr, mut served) = one_port_server(&runtime, ServerOptions::default()).await;
        let url = format!("wss://127.0.0.1:{}/echo", addr.port());
        let err = wintergreen_connect::connect(&runtime, url, &untrusting())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectError::Tls(TlsError::NotTls(_))),
            "{err:?}"
        );
        assert!(err.to_string().contains("did not answer in TLS"), "{err}");
        // The server saw a request that is no HTTP.
        assert!(served.recv().await.unwrap().is_err());
    }

    /// A WebSocket over TLS and HTTP/1.1 to a server of [`one_port_server`], trusting the
    /// test CA: ALPN picked http/1.1, the echo works, the server saw HTTP/1.1.
    async fn wss_http1_to_served(
        runtime: &Arc<dyn Runtime>,
        url: String,
        pki: &Pki,
        served: &mut tokio::sync::mpsc::UnboundedReceiver<Result<http::Version, ServeError>>,
    ) {
        let (mut ws, _) = wintergreen_connect::connect(runtime, url, &trusting(pki))
            .await
            .unwrap();
        assert_alpn(&ws, b"http/1.1");
        talk(&mut ws).await;
        assert_eq!(
            served.recv().await.unwrap().unwrap(),
            http::Version::HTTP_11
        );
    }

    /// Client options whose roots trust no one.
    fn untrusting() -> ClientOptions {
        let mut options = ClientOptions::default();
        let empty =
            wintergreen_connect::tls::client_config_with_roots(RootCertStore::empty(), false);
        options.connect.tls = Some(Arc::new(empty.unwrap()));
        options
    }

    /// A client that rejects the server's certificate makes the server's accept fail with
    /// the client's alert, typed.
    pub async fn a_tls_client_that_distrusts_the_server_fails_its_accept_typed(
        runtime: Arc<dyn Runtime>,
    ) {
        let pki = pki();
        let (listener, addr) = listen(&runtime).await;
        let rt = Arc::clone(&runtime);
        let options = tls_options(&pki, &[]);
        let server = async move {
            let tcp = listener.accept().await.unwrap();
            wintergreen_connect::accept_connection(&rt, tcp, &options)
                .await
                .err()
        };
        let (tx, rx) = oneshot::channel();
        runtime.spawn(Box::pin(async move {
            let _ = tx.send(server.await);
        }));
        let untrusting = untrusting();
        let url = format!("wss://localhost:{}/echo", addr.port());
        assert!(
            wintergreen_connect::connect(&runtime, url, &untrusting)
                .await
                .is_err()
        );
        let err = rx.await.unwrap();
        // The client's alert, or, if it closed before the alert was read, the end of the
        // connection: a TLS error either way.
        assert!(
            matches!(
                err,
                Some(ConnectError::Tls(
                    TlsError::Handshake(rustls::Error::AlertReceived(_)) | TlsError::Io(_)
                ))
            ),
            "{err:?}"
        );
    }

    /// One TLS port: ALPN sends an HTTP/1.1 client to the upgrade and an HTTP/2 client to
    /// the RFC 8441 acceptor (the library filled in the server's ALPN list).
    #[cfg(feature = "http2")]
    pub async fn one_port_serves_http1_and_h2_over_tls(runtime: Arc<dyn Runtime>) {
        use wintergreen_connect::Http2Mode;

        let pki = pki();
        let (addr, mut served) = one_port_server(&runtime, tls_options(&pki, &[])).await;
        let url = format!("wss://localhost:{}/echo", addr.port());
        wss_http1_to_served(&runtime, url.clone(), &pki, &mut served).await;

        let mut options = trusting(&pki);
        options.connect.http2 = Http2Mode::Require;
        let (mut ws, _) = wintergreen_connect::connect(&runtime, url, &options)
            .await
            .unwrap();
        assert!(ws.get_ref().is_http2());
        talk(&mut ws).await;
        assert_eq!(served.recv().await.unwrap().unwrap(), http::Version::HTTP_2);
    }

    /// A client that opens TCP and never starts TLS is cut off at the handshake timeout.
    pub async fn a_stalled_tls_client_is_bounded(runtime: Arc<dyn Runtime>) {
        use tokio::io::AsyncReadExt as _;

        let pki = pki();
        let mut options = tls_options(&pki, &[]);
        options.accept.handshake_timeout = Duration::from_millis(300);
        let (addr, mut served) = one_port_server(&runtime, options).await;
        let mut stalled = runtime.tcp_connect(addr).await.unwrap();
        let mut rest = Vec::new();
        let _ = stalled.read_to_end(&mut rest).await;
        let err = served.recv().await.unwrap().unwrap_err();
        assert!(
            matches!(err.error, ConnectError::Timeout(TimeoutKind::Tls)),
            "{err:?}"
        );
    }

    /// Serves `connections` TLS connections: HTTP/2 if ALPN picked h2 (every WebSocket on
    /// it echoed), else one HTTP/1.1 WebSocket echoed.
    async fn tls_server(
        runtime: &Arc<dyn Runtime>,
        acceptor: TlsAcceptor,
        connections: usize,
    ) -> (u16, oneshot::Receiver<()>) {
        let (listener, addr) = listen(runtime).await;
        let rt = Arc::clone(runtime);
        let done = spawn(runtime, async move {
            for _ in 0..connections {
                let tcp = listener.accept().await.unwrap();
                let Ok(tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let options = ServerOptions::default();
                if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                    #[cfg(feature = "http2")]
                    {
                        let mut acceptor = wintergreen_connect::http2::accept(&rt, tls, &options)
                            .await
                            .unwrap();
                        let rt2 = Arc::clone(&rt);
                        rt.spawn(Box::pin(async move {
                            while let Some(Ok((ws, _))) = acceptor.accept().await {
                                rt2.spawn(Box::pin(echo(ws)));
                            }
                        }));
                    }
                } else if let Ok((ws, _)) = wintergreen_connect::accept(&rt, tls, &options).await {
                    echo(ws).await;
                }
            }
        });
        (addr.port(), done)
    }

    fn assert_alpn(ws: &WebSocketStream<Transport>, expected: &[u8]) {
        let alpn = ws.get_ref().tls().unwrap().get_ref().1.alpn_protocol();
        assert_eq!(alpn, Some(expected));
    }

    pub async fn wss_over_http1(runtime: Arc<dyn Runtime>) {
        wss_http1_with(runtime, |_| {}).await;
    }

    /// Client options that trust the test CA.
    pub fn trusting(pki: &Pki) -> ClientOptions {
        let mut options = ClientOptions::default();
        options.connect.tls = Some(Arc::clone(&pki.client));
        options
    }

    /// A WebSocket over TLS to a server whose ALPN picks http/1.1, with `options` adjusted.
    async fn wss_http1_with(runtime: Arc<dyn Runtime>, adjust: fn(&mut ClientOptions)) {
        let pki = pki();
        let (port, done) = tls_server(&runtime, acceptor(&pki, &[b"http/1.1"]), 1).await;
        let mut options = trusting(&pki);
        adjust(&mut options);
        let url = format!("wss://localhost:{port}/echo");
        let (mut ws, response) = wintergreen_connect::connect(&runtime, url, &options)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_alpn(&ws, b"http/1.1");
        talk(&mut ws).await;
        done.await.unwrap();
    }

    /// The certificate must chain to a trusted root: the default roots do not know our CA,
    /// and the failure is rustls's own error, not an I/O error.
    pub async fn wss_rejects_an_unknown_ca_with_a_typed_error(runtime: Arc<dyn Runtime>) {
        let pki = pki();
        let (port, _done) = tls_server(&runtime, acceptor(&pki, &[b"http/1.1"]), 1).await;
        let url = format!("wss://localhost:{port}/echo");
        let options = match wintergreen_connect::tls::default_root_store() {
            Ok(_) => ClientOptions::default(),
            // No default roots in this build: trust an empty store instead.
            Err(_) => {
                let mut options = ClientOptions::default();
                options.connect.tls = Some(Arc::new(
                    wintergreen_connect::tls::client_config_with_roots(
                        RootCertStore::empty(),
                        false,
                    )
                    .unwrap(),
                ));
                options
            }
        };
        let err = wintergreen_connect::connect(&runtime, url, &options)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectError::Tls(TlsError::UntrustedCertificate(_))),
            "{err:?}"
        );
    }

    #[cfg(feature = "http2")]
    pub async fn wss_over_http2_with_a_shared_connection(runtime: Arc<dyn Runtime>) {
        use wintergreen_connect::Http2Mode;

        let pki = pki();
        let (port, done) = tls_server(&runtime, acceptor(&pki, &[b"h2", b"http/1.1"]), 2).await;
        let mut options = trusting(&pki);
        options.connect.http2 = Http2Mode::Require;
        let url = format!("wss://localhost:{port}/echo");
        let (mut ws, response) = wintergreen_connect::connect(&runtime, url.clone(), &options)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(ws.get_ref().is_http2());
        talk(&mut ws).await;
        // The shared connection takes the same TLS configuration.
        let client = wintergreen_connect::http2::connect(&runtime, url.clone(), &options)
            .await
            .unwrap();
        let (mut ws, _) = wintergreen_connect::http2::websocket(&client, url, &options)
            .await
            .unwrap();
        talk(&mut ws).await;
        drop(client);
        done.await.unwrap();
    }

    /// A TLS server that picks http/1.1 gets HTTP/1.1 on the same connection under Prefer.
    #[cfg(feature = "http2")]
    pub async fn wss_prefer_falls_back_through_alpn(runtime: Arc<dyn Runtime>) {
        use wintergreen_connect::Http2Mode;

        wss_http1_with(runtime, |options| options.connect.http2 = Http2Mode::Prefer).await;
    }

    /// Require fails, typed, when ALPN did not pick h2.
    #[cfg(feature = "http2")]
    pub async fn wss_require_fails_without_h2_alpn(runtime: Arc<dyn Runtime>) {
        use wintergreen_connect::Http2Mode;

        let pki = pki();
        let (port, _done) = tls_server(&runtime, acceptor(&pki, &[b"http/1.1"]), 1).await;
        let mut options = trusting(&pki);
        options.connect.http2 = Http2Mode::Require;
        let url = format!("wss://localhost:{port}/echo");
        let err = wintergreen_connect::connect(&runtime, url, &options)
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectError::Http2NotNegotiated), "{err:?}");

        // Our own ALPN list without h2 could never get it: the caller's error, found before
        // connecting (the server above takes one connection only).
        let mut http1_only = rustls::ClientConfig::clone(&pki.client);
        http1_only.alpn_protocols = vec![b"http/1.1".to_vec()];
        options.connect.tls = Some(Arc::new(http1_only));
        let url = format!("wss://localhost:{port}/echo");
        let err = wintergreen_connect::connect(&runtime, url, &options)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectError::Tls(TlsError::Config(_))),
            "{err:?}"
        );
        assert!(err.to_string().contains("does not offer h2"), "{err}");
    }
}
