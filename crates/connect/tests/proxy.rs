#![cfg(all(feature = "rustls", feature = "http2"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! Proxies and the connector hook, on tokio.
//!
//! Fast tests run against minimal proxies written here (an HTTP CONNECT proxy and a SOCKS5
//! proxy, each checking credentials); the `real_*` tests (ignored) run against tinyproxy and
//! Dante, which `cargo xtask proxies` installs, starts on 127.0.0.1 and names in
//! `WINTERGREEN_TEST_HTTP_PROXY` and `WINTERGREEN_TEST_SOCKS5_PROXY`. Every server binds
//! 127.0.0.1 and serves a bounded number of connections; every test is bounded in time.

mod suite;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use wintergreen_connect::proxy::{NoProxy, Proxy, ProxyError, ProxyRules, SocksReply};
use wintergreen_connect::{
    ClientOptions, ConnectError, Connector, Http2Mode, ServerOptions, TimeoutKind,
};
use wintergreen_stream::{BoxFuture, Runtime};

/// The bound on each test.
const LIMIT: Duration = Duration::from_secs(30);
/// Most connections any server or proxy here accepts.
const MAX_CONNECTIONS: usize = 16;

fn runtime() -> Arc<dyn Runtime> {
    Arc::new(wintergreen_tokio::Tokio)
}

async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .expect("timed out")
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

// ---- the target: an echo server for HTTP/1.1 and HTTP/2, plain or TLS ----

/// Serves each connection by what it speaks: over TLS by ALPN, in the clear by whether it
/// opens with the HTTP/2 preface.
async fn echo_server(tls: Option<TlsAcceptor>) -> SocketAddr {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        for _ in 0..MAX_CONNECTIONS {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                        serve(tls, h2).await;
                    }
                    None => {
                        let mut preface = [0; 3];
                        let mut seen = 0;
                        for _ in 0..100 {
                            seen = tcp.peek(&mut preface).await.unwrap_or(0);
                            if seen >= preface.len() || seen == 0 {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        serve(tcp, seen == 3 && &preface == b"PRI").await;
                    }
                }
            });
        }
    });
    addr
}

async fn serve<IO>(io: IO, h2: bool)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let rt = runtime();
    let options = ServerOptions::default();
    if h2 {
        let Ok(mut acceptor) = wintergreen_connect::http2::accept(&rt, io, &options).await else {
            return;
        };
        while let Some(Ok((ws, _))) = acceptor.accept().await {
            tokio::spawn(suite::echo(ws));
        }
    } else if let Ok((ws, _)) = wintergreen_connect::accept(&rt, io, &options).await {
        suite::echo(ws).await;
    }
}

/// Connects to `url` with `options` and runs three echoes and a close; checks the HTTP
/// version.
async fn round_trip(url: &str, options: &ClientOptions, http2: bool) {
    let (mut ws, _) = wintergreen_connect::connect(&runtime(), url, options)
        .await
        .unwrap_or_else(|err| panic!("{url}: {err:?}"));
    assert_eq!(ws.get_ref().is_http2(), http2, "{url}");
    suite::talk(&mut ws).await;
}

/// ws:// and wss://, over HTTP/1.1 and HTTP/2, through the proxy at `proxy_url`.
/// `ws_host`/`wss_host` name the target (an IP address or `localhost`).
async fn every_way_through(proxy_url: &str, ws_host: &str, wss_host: &str) {
    let plain = echo_server(None).await;
    let pki = suite::pki();
    let secure = echo_server(Some(suite::acceptor(&pki, &[b"h2", b"http/1.1"]))).await;
    let mut options = suite::trusting(&pki);
    options.connect.proxy = ProxyRules::all(Proxy::parse(proxy_url).unwrap());
    for mode in [Http2Mode::Off, Http2Mode::Require] {
        options.connect.http2 = mode;
        let http2 = mode == Http2Mode::Require;
        round_trip(
            &format!("ws://{ws_host}:{}/echo", plain.port()),
            &options,
            http2,
        )
        .await;
        round_trip(
            &format!("wss://{wss_host}:{}/echo", secure.port()),
            &options,
            http2,
        )
        .await;
    }
}

/// Relays bytes both ways until either side ends.
async fn relay(mut a: TcpStream, mut b: TcpStream) {
    let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
}

// ---- a minimal HTTP CONNECT proxy ----

#[derive(Debug, Clone, Copy)]
enum HttpBehaviour {
    /// Tunnels; wants these `user:password` credentials if given.
    Tunnel(Option<&'static str>),
    /// Answers every CONNECT with this status.
    Status(u16),
    /// Answers with these bytes.
    Raw(&'static [u8]),
    /// Never answers.
    Silent,
}

/// Starts the proxy; the receiver gets each request head it read.
async fn http_proxy(behaviour: HttpBehaviour) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let (listener, addr) = listener().await;
    let (seen, heads) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for _ in 0..MAX_CONNECTIONS {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") && head.len() < 16 << 10 {
                    let Ok(byte) = client.read_u8().await else {
                        return;
                    };
                    head.push(byte);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let _ = seen.send(head.clone());
                let wanted = match behaviour {
                    HttpBehaviour::Tunnel(credentials) => credentials,
                    HttpBehaviour::Status(status) => {
                        let answer = format!("HTTP/1.1 {status} No\r\nContent-Length: 0\r\n\r\n");
                        let _ = client.write_all(answer.as_bytes()).await;
                        return;
                    }
                    HttpBehaviour::Raw(bytes) => {
                        let _ = client.write_all(bytes).await;
                        return;
                    }
                    HttpBehaviour::Silent => {
                        let _ = client.read_u8().await;
                        return;
                    }
                };
                if let Some(credentials) = wanted {
                    let token = base64::engine::general_purpose::STANDARD.encode(credentials);
                    if !head.contains(&format!("\r\nProxy-Authorization: Basic {token}\r\n")) {
                        let _ = client
                            .write_all(
                                b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                                  Proxy-Authenticate: Basic realm=\"test\"\r\n\
                                  Content-Length: 0\r\n\r\n",
                            )
                            .await;
                        return;
                    }
                }
                let authority = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let Ok(server) = TcpStream::connect(authority.as_str()).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    relay(client, server).await;
                }
            });
        }
    });
    (addr, heads)
}

// ---- a minimal SOCKS5 proxy (RFC 1928, RFC 1929) ----

#[derive(Debug, Clone, Copy)]
struct SocksBehaviour {
    /// Wants username/password authentication with these.
    credentials: Option<(&'static str, &'static str)>,
    /// The reply code to the CONNECT (0: success).
    reply: u8,
}

/// What the SOCKS5 proxy was asked to connect to: the address type and the address.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    Ip(SocketAddr),
    Name(String, u16),
}

async fn socks_proxy(behaviour: SocksBehaviour) -> (SocketAddr, mpsc::UnboundedReceiver<Asked>) {
    let (listener, addr) = listener().await;
    let (asked_tx, asked) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for _ in 0..MAX_CONNECTIONS {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(socks_session(client, behaviour, asked_tx.clone()));
        }
    });
    (addr, asked)
}

async fn socks_session(
    mut client: TcpStream,
    behaviour: SocksBehaviour,
    asked: mpsc::UnboundedSender<Asked>,
) -> std::io::Result<()> {
    let mut greeting = [0; 2];
    client.read_exact(&mut greeting).await?;
    assert_eq!(greeting[0], 5);
    let mut methods = vec![0; usize::from(greeting[1])];
    client.read_exact(&mut methods).await?;
    let wanted = if behaviour.credentials.is_some() {
        2
    } else {
        0
    };
    if !methods.contains(&wanted) {
        return client.write_all(&[5, 0xff]).await;
    }
    client.write_all(&[5, wanted]).await?;
    if let Some((user, pass)) = behaviour.credentials {
        assert_eq!(client.read_u8().await?, 1);
        let mut name = vec![0; usize::from(client.read_u8().await?)];
        client.read_exact(&mut name).await?;
        let mut password = vec![0; usize::from(client.read_u8().await?)];
        client.read_exact(&mut password).await?;
        let ok = name == user.as_bytes() && password == pass.as_bytes();
        client.write_all(&[1, if ok { 0 } else { 1 }]).await?;
        if !ok {
            return Ok(());
        }
    }
    let mut request = [0; 4];
    client.read_exact(&mut request).await?;
    assert_eq!(&request[..3], &[5, 1, 0]);
    let target = match request[3] {
        1 => {
            let mut ip = [0; 4];
            client.read_exact(&mut ip).await?;
            Asked::Ip(SocketAddr::from((ip, client.read_u16().await?)))
        }
        4 => {
            let mut ip = [0; 16];
            client.read_exact(&mut ip).await?;
            Asked::Ip(SocketAddr::from((ip, client.read_u16().await?)))
        }
        3 => {
            let mut name = vec![0; usize::from(client.read_u8().await?)];
            client.read_exact(&mut name).await?;
            Asked::Name(String::from_utf8(name).unwrap(), client.read_u16().await?)
        }
        other => panic!("address type {other}"),
    };
    let server = match &target {
        Asked::Ip(addr) => TcpStream::connect(addr).await,
        Asked::Name(name, port) => TcpStream::connect((name.as_str(), *port)).await,
    };
    let _ = asked.send(target);
    let reply = if server.is_err() { 5 } else { behaviour.reply };
    // BND.ADDR as a domain name, to exercise that reply form too.
    client
        .write_all(&[5, reply, 0, 3, 4, b'p', b'r', b'o', b'x', 0, 0])
        .await?;
    if let (0, Ok(server)) = (reply, server) {
        relay(client, server).await;
    }
    Ok(())
}

fn with_proxy(url: &str) -> ClientOptions {
    let mut options = ClientOptions::default();
    options.connect.proxy = ProxyRules::all(Proxy::parse(url).unwrap());
    options
}

async fn connect_err(url: &str, options: &ClientOptions) -> ConnectError {
    wintergreen_connect::connect(&runtime(), url, options)
        .await
        .map(|_| ())
        .unwrap_err()
}

// ---- fast tests against the proxies above ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_connect_tunnels_every_way_with_basic_auth() {
    bounded(async {
        let (proxy, mut heads) = http_proxy(HttpBehaviour::Tunnel(Some("alice:s3cret"))).await;
        every_way_through(
            &format!("http://alice:s3cret@{proxy}"),
            "127.0.0.1",
            "localhost",
        )
        .await;
        let first = heads.recv().await.unwrap();
        assert!(first.starts_with("CONNECT 127.0.0.1:"), "{first}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_connect_407_says_credentials_are_required() {
    bounded(async {
        let server = echo_server(None).await;
        let (proxy, _) = http_proxy(HttpBehaviour::Tunnel(Some("alice:s3cret"))).await;
        let url = format!("ws://{server}/echo");
        for proxy_url in [
            format!("http://{proxy}"),
            format!("http://alice:wrong@{proxy}"),
        ] {
            let ConnectError::Proxy(err) = connect_err(&url, &with_proxy(&proxy_url)).await else {
                panic!("not a proxy error");
            };
            assert!(err.is_auth_required(), "{err:?}");
            match err {
                ProxyError::Refused { status, headers } => {
                    assert_eq!(status, 407);
                    assert!(headers.contains_key("proxy-authenticate"));
                }
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_connect_refusal_keeps_its_status() {
    bounded(async {
        let (proxy, _) = http_proxy(HttpBehaviour::Status(403)).await;
        let err = connect_err("ws://127.0.0.1:9/", &with_proxy(&format!("http://{proxy}"))).await;
        match err {
            ConnectError::Proxy(err @ ProxyError::Refused { status, .. }) => {
                assert_eq!(status, 403);
                assert!(!err.is_auth_required());
            }
            other => panic!("{other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_answer_that_is_not_http_is_malformed() {
    bounded(async {
        let options = |proxy: SocketAddr| with_proxy(&format!("http://{proxy}"));
        let (proxy, _) = http_proxy(HttpBehaviour::Raw(b"\x05\x00")).await;
        let err = connect_err("ws://127.0.0.1:9/", &options(proxy)).await;
        assert!(
            matches!(err, ConnectError::Proxy(ProxyError::Http1(_))),
            "{err:?}"
        );
        // A 2xx followed by bytes the target cannot have sent yet.
        let (proxy, _) = http_proxy(HttpBehaviour::Raw(b"HTTP/1.1 200 OK\r\n\r\nextra")).await;
        let err = connect_err("ws://127.0.0.1:9/", &options(proxy)).await;
        assert!(
            matches!(err, ConnectError::Proxy(ProxyError::Malformed(_))),
            "{err:?}"
        );
        // A proxy that hangs up mid-answer.
        let (proxy, _) = http_proxy(HttpBehaviour::Raw(b"HTTP/1.1 200")).await;
        let err = connect_err("ws://127.0.0.1:9/", &options(proxy)).await;
        assert!(
            matches!(err, ConnectError::Proxy(ProxyError::Closed)),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_proxy_runs_into_the_handshake_timeout() {
    bounded(async {
        let (proxy, _) = http_proxy(HttpBehaviour::Silent).await;
        let mut options = with_proxy(&format!("http://{proxy}"));
        options.connect.handshake_timeout = Duration::from_millis(200);
        let err = connect_err("ws://127.0.0.1:9/", &options).await;
        assert!(
            matches!(err, ConnectError::Timeout(TimeoutKind::Proxy)),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socks5_tunnels_every_way_with_a_password() {
    bounded(async {
        let behaviour = SocksBehaviour {
            credentials: Some(("bob", "pa:ss")),
            reply: 0,
        };
        let (proxy, mut asked) = socks_proxy(behaviour).await;
        // socks5://: names resolved here, so the proxy sees addresses only.
        every_way_through(
            &format!("socks5://bob:pa%3Ass@{proxy}"),
            "127.0.0.1",
            "localhost",
        )
        .await;
        while let Ok(target) = asked.try_recv() {
            assert!(matches!(target, Asked::Ip(_)), "{target:?}");
        }
        // socks5h://: the proxy resolves the name.
        every_way_through(
            &format!("socks5h://bob:pa%3Ass@{proxy}"),
            "localhost",
            "localhost",
        )
        .await;
        let target = asked.recv().await.unwrap();
        assert!(
            matches!(target, Asked::Name(ref name, _) if name == "localhost"),
            "{target:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socks5_authentication_failures_are_typed() {
    bounded(async {
        let behaviour = SocksBehaviour {
            credentials: Some(("bob", "right")),
            reply: 0,
        };
        let (proxy, _) = socks_proxy(behaviour).await;
        let err = connect_err("ws://127.0.0.1:9/", &with_proxy(&format!("socks5://bob:wrong@{proxy}"))).await;
        assert!(
            matches!(err, ConnectError::Proxy(ref e @ ProxyError::SocksAuthFailed(1)) if e.is_auth_required()),
            "{err:?}"
        );
        let err = connect_err("ws://127.0.0.1:9/", &with_proxy(&format!("socks5://{proxy}"))).await;
        assert!(
            matches!(err, ConnectError::Proxy(ProxyError::SocksNoAcceptableMethod)),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socks5_reply_codes_are_typed() {
    bounded(async {
        let server = echo_server(None).await;
        let behaviour = SocksBehaviour {
            credentials: None,
            reply: 2,
        };
        let (proxy, _) = socks_proxy(behaviour).await;
        let url = format!("ws://{server}/echo");
        let err = connect_err(&url, &with_proxy(&format!("socks5://{proxy}"))).await;
        assert!(
            matches!(
                err,
                ConnectError::Proxy(ProxyError::Socks(SocksReply::NotAllowed))
            ),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_targets_connect_directly() {
    bounded(async {
        let server = echo_server(None).await;
        // Nothing listens on the proxy's port: using it would fail.
        let closed = listener().await.1;
        let mut options = with_proxy(&format!("http://{closed}"));
        options.connect.proxy.no_proxy = NoProxy::parse("127.0.0.0/8");
        round_trip(&format!("ws://{server}/echo"), &options, false).await;
    })
    .await;
}

// ---- the connector hook ----

/// Sends every connection to one address, and notes which host and port it was asked for.
#[derive(Debug)]
struct Pinned {
    addr: SocketAddr,
    asked: Mutex<Vec<(String, u16)>>,
}

impl Connector for Pinned {
    fn connect(
        &self,
        runtime: Arc<dyn Runtime>,
        host: String,
        port: u16,
    ) -> BoxFuture<'static, Result<wintergreen_stream::TcpStream, ConnectError>> {
        self.asked.lock().unwrap().push((host, port));
        let addr = self.addr;
        Box::pin(async move {
            runtime
                .tcp_connect(addr)
                .await
                .map_err(|source| ConnectError::Tcp { addr, source })
        })
    }
}

fn pinned(addr: SocketAddr) -> Arc<Pinned> {
    Arc::new(Pinned {
        addr,
        asked: Mutex::new(Vec::new()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_picks_the_address_and_tls_stays_ours() {
    bounded(async {
        let pki = suite::pki();
        let server = echo_server(Some(suite::acceptor(&pki, &[b"h2", b"http/1.1"]))).await;
        let connector = pinned(server);
        let mut options = suite::trusting(&pki);
        options.connect.connector = Some(connector.clone());
        // The name resolves nowhere; the certificate is still checked against it.
        round_trip("wss://localhost:1/echo", &options, false).await;
        assert_eq!(
            *connector.asked.lock().unwrap(),
            [("localhost".to_owned(), 1)]
        );
        options.connect.http2 = Http2Mode::Require;
        round_trip("wss://localhost:1/echo", &options, true).await;
        // A name the certificate does not cover fails TLS, whatever the connector did.
        let err = connect_err("wss://wintergreen.invalid/echo", &options).await;
        assert!(matches!(err, ConnectError::Tls(_)), "{err:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_reaches_the_proxy() {
    bounded(async {
        let server = echo_server(None).await;
        let (proxy, mut heads) = http_proxy(HttpBehaviour::Tunnel(None)).await;
        let connector = pinned(proxy);
        let mut options = with_proxy("http://proxy.invalid:3128");
        options.connect.connector = Some(connector.clone());
        round_trip(&format!("ws://{server}/echo"), &options, false).await;
        assert_eq!(
            *connector.asked.lock().unwrap(),
            [("proxy.invalid".to_owned(), 3128)]
        );
        let head = heads.recv().await.unwrap();
        assert!(
            head.starts_with(&format!("CONNECT {server} HTTP/1.1\r\n")),
            "{head}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_error_is_returned_as_it_is() {
    #[derive(Debug)]
    struct Failing;
    impl Connector for Failing {
        fn connect(
            &self,
            _: Arc<dyn Runtime>,
            _: String,
            _: u16,
        ) -> BoxFuture<'static, Result<wintergreen_stream::TcpStream, ConnectError>> {
            Box::pin(async { Err(std::io::Error::other("no route today").into()) })
        }
    }
    bounded(async {
        let mut options = ClientOptions::default();
        options.connect.connector = Some(Arc::new(Failing));
        let err = connect_err("ws://example.com/", &options).await;
        assert!(
            matches!(err, ConnectError::Io(ref e) if e.to_string() == "no route today"),
            "{err:?}"
        );
    })
    .await;
}

// ---- real proxies (cargo xtask proxies) ----

/// A proxy URL from the environment; missing, the test fails: only `cargo xtask proxies`
/// runs these, and it always sets them.
fn real(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run `cargo xtask proxies`"))
}

/// `url` with the password replaced.
fn wrong_password(url: &str) -> String {
    let proxy = Proxy::parse(url).unwrap();
    let user = proxy.auth().unwrap().username.clone();
    let (scheme, rest) = url.split_once("://").unwrap();
    let (_, hostport) = rest.rsplit_once('@').unwrap();
    format!("{scheme}://{user}:wrong@{hostport}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tinyproxy: cargo xtask proxies"]
async fn real_tinyproxy_http_connect() {
    let url = real("WINTERGREEN_TEST_HTTP_PROXY");
    bounded(async {
        every_way_through(&url, "127.0.0.1", "localhost").await;
        let server = echo_server(None).await;
        let err = connect_err(&format!("ws://{server}/echo"), &with_proxy(&wrong_password(&url))).await;
        assert!(
            matches!(err, ConnectError::Proxy(ref e @ ProxyError::Refused { status, .. }) if (status == 407 || status == 401) && e.is_auth_required()),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs danted: cargo xtask proxies"]
async fn real_dante_socks5() {
    let url = real("WINTERGREEN_TEST_SOCKS5_PROXY");
    bounded(async {
        // socks5:// (names resolved here) and socks5h:// (resolved by Dante).
        every_way_through(&url, "127.0.0.1", "localhost").await;
        let remote_dns = url.replacen("socks5://", "socks5h://", 1);
        every_way_through(&remote_dns, "localhost", "localhost").await;
        let server = echo_server(None).await;
        let err = connect_err(
            &format!("ws://{server}/echo"),
            &with_proxy(&wrong_password(&url)),
        )
        .await;
        assert!(
            matches!(err, ConnectError::Proxy(ref e) if e.is_auth_required()),
            "{err:?}"
        );
    })
    .await;
}
