#![allow(clippy::print_stdout, clippy::print_stderr)]
//! WebSocket bridges between HTTP/2 and HTTP/1.1, so that Autobahn|Testsuite (which speaks
//! only HTTP/1.1) can judge wintergreen's WebSockets over HTTP/2, in both roles.
//!
//! ```text
//! autobahn_h2_bridge --listen 127.0.0.1:9003 --upstream 127.0.0.1:9001
//! autobahn_h2_bridge --reverse --listen 127.0.0.1:9004 --upstream 127.0.0.1:9005
//! ```
//!
//! **Forward** (the default; our client against the fuzzing server):
//! It is an h2c server (prior knowledge) that enables extended CONNECT (RFC 8441). For each
//! WebSocket stream it opens a TCP connection to the upstream server and performs the
//! HTTP/1.1 upgrade for the same path and query, with the same subprotocol and extension
//! offers (built and checked with wintergreen-handshake). After the upstream's 101 it answers
//! 200 on the stream, with the upstream's subprotocol and extension answers; a refusal is
//! relayed with its status, headers and body. Then it copies bytes both ways, untouched (no
//! re-framing), until either side ends: END_STREAM (or a reset) becomes a TCP shutdown, a
//! TCP EOF becomes END_STREAM.
//!
//! **Reverse** (`--reverse`; the fuzzing client against our server over HTTP/2): an
//! HTTP/1.1 server. For each upgrade request it opens an h2c connection to the upstream
//! (our server with extended CONNECT) and sends the extended CONNECT for the same path
//! and query with the same subprotocol and extension offers. After the upstream's 2xx it
//! answers 101 with the upstream's subprotocol and extension answers (and the
//! `Sec-WebSocket-Accept` for the client's key); a refusal is relayed with its status,
//! headers and body. Then bytes are copied both ways untouched, as above, so Autobahn
//! judges the upstream's frames.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wintergreen_codec::{
    Accepted, Extension, ExtensionError, ExtensionFactory, ExtensionParams, OpCode, Rsv,
};
use wintergreen_handshake::headers::{list_elements, parse_extension_headers};
use wintergreen_handshake::{ClientRequest, HandshakeError};
use wintergreen_http1::{ClientHandshake, Limits};
use wintergreen_http2::H2Stream;
use wintergreen_http2::h2::RecvStream;
use wintergreen_http2::h2::ext::Protocol;
use wintergreen_http2::h2::server::SendResponse;

struct Args {
    listen: SocketAddr,
    upstream: SocketAddr,
    /// HTTP/1.1 in, HTTP/2 out (the default is HTTP/2 in, HTTP/1.1 out).
    reverse: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut listen = "127.0.0.1:9002".to_owned();
    let mut upstream = "127.0.0.1:9001".to_owned();
    let mut reverse = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--upstream" => upstream = value()?,
            "--reverse" => reverse = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let parse = |s: &str| {
        s.parse::<SocketAddr>()
            .map_err(|e| format!("{s:?} is not an address: {e}"))
    };
    Ok(Args {
        listen: parse(&listen)?,
        upstream: parse(&upstream)?,
        reverse,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("autobahn_h2_bridge: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!(
                "autobahn_h2_bridge: cannot listen on {}: {err}",
                args.listen
            );
            return ExitCode::FAILURE;
        }
    };
    if args.reverse {
        println!(
            "autobahn_h2_bridge: HTTP/1.1 on {} -> h2c on {}",
            args.listen, args.upstream
        );
        reverse::serve(listener, args.upstream).await;
    } else {
        println!(
            "autobahn_h2_bridge: h2c on {} -> HTTP/1.1 on {}",
            args.listen, args.upstream
        );
        serve(listener, args.upstream).await;
    }
    ExitCode::SUCCESS
}

/// Accepts h2c connections forever, bridging each WebSocket stream to `upstream`.
pub(crate) async fn serve(listener: TcpListener, upstream: SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(connection(tcp, upstream));
            }
            Err(err) => eprintln!("autobahn_h2_bridge: accept failed: {err}"),
        }
    }
}

async fn connection(tcp: TcpStream, upstream: SocketAddr) {
    let mut builder = wintergreen_http2::h2::server::Builder::new();
    // The fuzzing server's chopped frames arrive as small DATA frames: allow as many as
    // the window holds (see `Http2Config::data_frame_budget`).
    builder
        .enable_connect_protocol()
        .data_frame_budget(wintergreen_http2::Http2Config::default().effective_data_frame_budget());
    let mut connection = match builder.handshake::<_, Bytes>(tcp).await {
        Ok(connection) => connection,
        Err(err) => {
            eprintln!("autobahn_h2_bridge: HTTP/2 preface failed: {err}");
            return;
        }
    };
    while let Some(next) = connection.accept().await {
        match next {
            Ok((request, respond)) => {
                tokio::spawn(relay(request, respond, upstream));
            }
            Err(err) => {
                eprintln!("autobahn_h2_bridge: HTTP/2 connection failed: {err}");
                return;
            }
        }
    }
}

/// Request fields the upstream handshake writes itself, or that are HTTP/2-only.
const NOT_FORWARDED: &[HeaderName] = &[
    header::HOST,
    header::CONNECTION,
    header::UPGRADE,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::TE,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_PROTOCOL,
    header::SEC_WEBSOCKET_EXTENSIONS,
    header::SEC_WEBSOCKET_ACCEPT,
];

/// Response fields HTTP/2 forbids (RFC 9113 §8.2.2) or that the h2 answer sets itself.
const NOT_RELAYED: &[HeaderName] = &[
    header::CONNECTION,
    header::UPGRADE,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
    header::SEC_WEBSOCKET_ACCEPT,
];

/// Bridges one WebSocket stream.
async fn relay(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    upstream: SocketAddr,
) {
    let is_websocket = request.method() == Method::CONNECT
        && request
            .extensions()
            .get::<Protocol>()
            .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"));
    if !is_websocket {
        answer(
            &mut respond,
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            "WebSockets only",
        );
        return;
    }
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let (tcp, accepted) = match upgrade(upstream, &target, request.headers()).await {
        Ok(upgraded) => upgraded,
        Err(UpgradeError::Http1(wintergreen_http1::Error::Handshake(
            HandshakeError::UpgradeFailed {
                status,
                headers,
                body,
            },
        ))) => {
            answer(&mut respond, status, &headers, body);
            return;
        }
        Err(err) => {
            eprintln!("autobahn_h2_bridge: upstream upgrade for {target} failed: {err}");
            answer(
                &mut respond,
                StatusCode::BAD_GATEWAY,
                &HeaderMap::new(),
                err.to_string(),
            );
            return;
        }
    };
    let mut response = Response::new(());
    for name in [
        header::SEC_WEBSOCKET_PROTOCOL,
        header::SEC_WEBSOCKET_EXTENSIONS,
    ] {
        for value in accepted.response.headers().get_all(&name) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    let send = match respond.send_response(response, false) {
        Ok(send) => send,
        Err(err) => {
            eprintln!("autobahn_h2_bridge: cannot answer the stream: {err}");
            return;
        }
    };
    let mut pipe = H2Stream::new(send, request.into_body());
    if !accepted.leftover.is_empty() && pipe.write_all(&accepted.leftover).await.is_err() {
        return;
    }
    if let Err(err) = relay_bytes(pipe, tcp).await {
        eprintln!("autobahn_h2_bridge: relay for {target} ended: {err}");
    }
}

/// Untouched bytes both ways; either side's end is passed on as a shutdown. The two
/// directions end independently: when one fails (the peer that failed the WebSocket has
/// closed or reset its side, so writing to it errs), the other still delivers what that
/// peer sent before (its echo, its close frame), as a TCP proxy would.
/// `tokio::io::copy_bidirectional` gives up on both at the first error and would drop it.
async fn relay_bytes<A, B>(a: A, b: B) -> std::io::Result<()>
where
    A: tokio::io::AsyncRead + tokio::io::AsyncWrite,
    B: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    let (mut a_read, mut a_write) = tokio::io::split(a);
    let (mut b_read, mut b_write) = tokio::io::split(b);
    let a_to_b = async {
        let copied = tokio::io::copy(&mut a_read, &mut b_write).await;
        let _ = b_write.shutdown().await;
        copied
    };
    let b_to_a = async {
        let copied = tokio::io::copy(&mut b_read, &mut a_write).await;
        let _ = a_write.shutdown().await;
        copied
    };
    let (a_to_b, b_to_a) = tokio::join!(a_to_b, b_to_a);
    for result in [a_to_b, b_to_a] {
        if let Err(err) = result {
            if err.kind() != std::io::ErrorKind::ConnectionReset {
                return Err(err);
            }
        }
    }
    Ok(())
}

/// The upstream's answer, in HTTP/1.1 form.
struct Upgraded {
    response: Response<()>,
    /// Bytes that followed the 101: the upstream's first frames.
    leftover: Bytes,
}

/// Why the upstream upgrade failed: its HTTP/1.1 handshake, or the socket.
#[derive(Debug)]
enum UpgradeError {
    Http1(wintergreen_http1::Error),
    Io(std::io::Error),
}

impl std::fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http1(err) => err.fmt(f),
            Self::Io(err) => write!(f, "upstream I/O: {err}"),
        }
    }
}

impl From<wintergreen_http1::Error> for UpgradeError {
    fn from(err: wintergreen_http1::Error) -> Self {
        Self::Http1(err)
    }
}

impl From<HandshakeError> for UpgradeError {
    fn from(err: HandshakeError) -> Self {
        Self::Http1(err.into())
    }
}

/// Opens a TCP connection to `upstream` and performs the HTTP/1.1 upgrade for `target`,
/// offering what the HTTP/2 client offered.
async fn upgrade(
    upstream: SocketAddr,
    target: &str,
    h2_headers: &HeaderMap,
) -> Result<(TcpStream, Upgraded), UpgradeError> {
    let request = ClientRequest::from_url(
        &format!("ws://{upstream}{target}"),
        forwarded_headers(h2_headers),
    )?
    .subprotocols(offered_subprotocols(h2_headers))
    .extensions(relayed_offers(h2_headers)?);
    let mut handshake = ClientHandshake::new(request, Limits::default())?;
    let io = UpgradeError::Io;
    let mut tcp = TcpStream::connect(upstream).await.map_err(io)?;
    let _ = tcp.set_nodelay(true);
    tcp.write_all(handshake.request_bytes()).await.map_err(io)?;
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        buf.clear();
        if tcp.read_buf(&mut buf).await.map_err(io)? == 0 {
            return Err(handshake.receive_eof().into());
        }
        if let Some(accepted) = handshake.receive(&buf)? {
            return Ok((
                tcp,
                Upgraded {
                    response: accepted.response,
                    leftover: accepted.leftover,
                },
            ));
        }
    }
}

/// The request's header fields that the other side's request carries as they are: all but
/// the handshake's own (written anew for the other version) and the connection-specific
/// ones (RFC 9113 §8.2.2).
fn forwarded_headers(request: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in request {
        if !NOT_FORWARDED.contains(name) && name != "keep-alive" && name != "proxy-connection" {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

/// The subprotocols the client offered, in its order.
fn offered_subprotocols(request: &HeaderMap) -> Vec<String> {
    list_elements(request, header::SEC_WEBSOCKET_PROTOCOL)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// Answers the stream with a status, the relayable headers and a body, ending it.
fn answer(
    respond: &mut SendResponse<Bytes>,
    status: StatusCode,
    headers: &HeaderMap,
    body: impl Into<Bytes>,
) {
    let body = body.into();
    let mut response = Response::new(());
    *response.status_mut() = status;
    for (name, value) in headers {
        if !NOT_RELAYED.contains(name) && name != "keep-alive" && name != "proxy-connection" {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    if let Ok(mut send) = respond.send_response(response, body.is_empty()) {
        if !body.is_empty() {
            let _ = send.send_data(body, true);
        }
    }
}

/// One factory per extension name the client offered, offering exactly its elements, so
/// that the upstream sees the same `Sec-WebSocket-Extensions` offer.
fn relayed_offers(
    h2_headers: &HeaderMap,
) -> Result<Vec<Arc<dyn ExtensionFactory>>, HandshakeError> {
    let mut factories: Vec<Relay> = Vec::new();
    for offer in parse_extension_headers(h2_headers)? {
        match factories
            .iter_mut()
            .find(|f| f.name.eq_ignore_ascii_case(&offer.name))
        {
            Some(factory) => factory.offers.push(offer),
            None => factories.push(Relay {
                name: offer.name.clone(),
                offers: vec![offer],
            }),
        }
    }
    Ok(factories
        .into_iter()
        .map(|f| Arc::new(f) as Arc<dyn ExtensionFactory>)
        .collect())
}

/// Offers what the HTTP/2 client offered and accepts whatever the upstream answers: the
/// bridge never runs the extension (bytes pass through untouched); the two ends do.
#[derive(Debug)]
struct Relay {
    name: String,
    offers: Vec<ExtensionParams>,
}

impl ExtensionFactory for Relay {
    fn name(&self) -> &str {
        &self.name
    }

    fn offers(&self) -> Vec<ExtensionParams> {
        self.offers.clone()
    }

    fn accept_response(
        &self,
        _response: &ExtensionParams,
    ) -> Result<Box<dyn Extension>, ExtensionError> {
        Ok(Box::new(Relayed(self.name.clone())))
    }

    fn accept_offers(
        &self,
        _offers: &[ExtensionParams],
    ) -> Result<Option<Accepted>, ExtensionError> {
        Ok(None)
    }
}

/// The placeholder for an extension the two ends negotiated through the bridge.
#[derive(Debug)]
struct Relayed(String);

impl Extension for Relayed {
    fn name(&self) -> &str {
        &self.0
    }

    fn rsv(&self) -> Rsv {
        Rsv::NONE
    }

    fn encode_start(&mut self, _opcode: OpCode, _size_hint: Option<usize>) -> Rsv {
        Rsv::NONE
    }

    fn encode(
        &mut self,
        _payload: &[u8],
        _fin: bool,
        _out: &mut BytesMut,
    ) -> Result<(), ExtensionError> {
        Ok(())
    }

    fn decode_start(&mut self, _rsv: Rsv) -> bool {
        false
    }

    fn decode(
        &mut self,
        _payload: &[u8],
        _fin: bool,
        _out: &mut BytesMut,
        _limit: usize,
    ) -> Result<(), ExtensionError> {
        Ok(())
    }
}

/// HTTP/1.1 in, HTTP/2 out: the fuzzing client against our server's extended CONNECT.
mod reverse {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::{Bytes, BytesMut};
    use http::{HeaderMap, Request, StatusCode};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use wintergreen_codec::{
        Accepted, Extension, ExtensionError, ExtensionFactory, ExtensionParams,
    };
    use wintergreen_handshake::headers::parse_extension_headers;
    use wintergreen_handshake::{AcceptPolicy, HandshakeError};
    use wintergreen_http1::{ClientConfig, Limits, ServerDecision, ServerHandshake};
    use wintergreen_http2::{H2Stream, Http2Client, Http2Config};

    use super::{Relayed, forwarded_headers, offered_subprotocols, relayed_offers};

    /// Bounds reading the upgrade request, the upstream's HTTP/2 handshake and its answer.
    const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

    /// Accepts HTTP/1.1 connections forever; each WebSocket gets an h2c connection of its
    /// own to `upstream` (as the fuzzing client opens a connection per case).
    pub(crate) async fn serve(listener: TcpListener, upstream: SocketAddr) {
        loop {
            match listener.accept().await {
                Ok((tcp, _)) => {
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(connection(tcp, upstream));
                }
                Err(err) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    eprintln!("autobahn_h2_bridge: accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn connection(mut tcp: TcpStream, upstream: SocketAddr) {
        let upgraded = tokio::time::timeout(HANDSHAKE_TIMEOUT, upgrade(&mut tcp, upstream)).await;
        let (_client, pipe) = match upgraded {
            Ok(Ok(Some(upgraded))) => upgraded,
            Ok(Ok(None)) => return, // refused, and the refusal relayed
            Ok(Err(err)) => {
                eprintln!("autobahn_h2_bridge: {err}");
                return;
            }
            Err(_) => {
                eprintln!("autobahn_h2_bridge: handshake took over {HANDSHAKE_TIMEOUT:?}");
                return;
            }
        };
        if let Err(err) = super::relay_bytes(tcp, pipe).await {
            eprintln!("autobahn_h2_bridge: relay ended: {err}");
        }
    }

    /// Reads the client's upgrade request, opens the same WebSocket over HTTP/2 upstream
    /// and answers the client as the upstream answered. `None` when either side refused
    /// (the refusal was written to the client). The HTTP/2 client is returned with the
    /// stream to keep the connection's handle for the stream's life.
    async fn upgrade(
        tcp: &mut TcpStream,
        upstream: SocketAddr,
    ) -> Result<Option<(Http2Client, H2Stream)>, String> {
        // 1. The request head, judged as any HTTP/1.1 upgrade request (no extension yet:
        //    the upstream decides those). Its bytes are kept to answer it in step 3.
        let mut read = BytesMut::new();
        let mut reader = ServerHandshake::new(AcceptPolicy::new(), Limits::default());
        let request = loop {
            let mut chunk = BytesMut::with_capacity(4096);
            let n = tcp
                .read_buf(&mut chunk)
                .await
                .map_err(|e| format!("reading the request: {e}"))?;
            if n == 0 {
                reader
                    .receive_eof()
                    .map_err(|e| format!("reading the request: {e}"))?;
                return Ok(None);
            }
            read.extend_from_slice(&chunk);
            match reader.receive(&chunk).map_err(|e| e.to_string())? {
                None => {}
                Some(ServerDecision::Reject(reject)) => {
                    let _ = tcp.write_all(&reject.response_bytes).await;
                    return Ok(None);
                }
                Some(ServerDecision::Accept(accept)) => break accept,
            }
        };
        let head = read.split_to(read.len().saturating_sub(request.leftover.len()));

        // 2. The same WebSocket over HTTP/2 on a connection of its own.
        let h2_tcp = TcpStream::connect(upstream)
            .await
            .map_err(|e| format!("connecting to {upstream}: {e}"))?;
        let _ = h2_tcp.set_nodelay(true);
        let runtime = Arc::new(wintergreen_tokio::Tokio);
        let client = Http2Client::handshake(h2_tcp, &Http2Config::default(), runtime)
            .await
            .map_err(|e| format!("HTTP/2 handshake with {upstream}: {e}"))?;
        let headers = request.request.headers();
        let target = request
            .request
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str());
        let mut h2_request = Request::get(format!("ws://{upstream}{target}"))
            .body(())
            .map_err(|e| format!("request for {target}: {e}"))?;
        *h2_request.headers_mut() = forwarded_headers(headers);
        let mut config = ClientConfig::default();
        config.subprotocols = offered_subprotocols(headers);
        config.extensions = relayed_offers(headers).map_err(|e| e.to_string())?;
        let upgraded = match client.upgrade(h2_request, &config, HANDSHAKE_TIMEOUT).await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                let (status, headers, body) = match err.as_handshake() {
                    Some(HandshakeError::UpgradeFailed {
                        status,
                        headers,
                        body,
                    }) => (*status, (**headers).clone(), body.clone()),
                    _ => (
                        StatusCode::BAD_GATEWAY,
                        HeaderMap::new(),
                        Bytes::from(err.to_string()),
                    ),
                };
                let _ = tcp.write_all(&refusal(status, &headers, &body)).await;
                return Ok(None);
            }
        };

        // 3. The 101, with the upstream's answers: the same request, judged again by a
        //    policy that accepts exactly what the upstream chose.
        let mut policy = AcceptPolicy::new();
        for answer in parse_extension_headers(upgraded.response.headers())
            .map_err(|e| format!("the upstream's extension answer: {e}"))?
        {
            policy = policy.extension(Arc::new(Answer(answer)));
        }
        if let Some(subprotocol) = upgraded.subprotocol.clone() {
            policy = policy.subprotocols([subprotocol]);
        }
        let mut replay = ServerHandshake::new(policy, Limits::default());
        let Ok(Some(ServerDecision::Accept(accept))) = replay.receive(&head) else {
            return Err(format!(
                "the request for {target} was not accepted a second time"
            ));
        };
        tcp.write_all(&accept.response_bytes)
            .await
            .map_err(|e| format!("writing the 101: {e}"))?;
        let mut pipe = upgraded.stream;
        if !request.leftover.is_empty() {
            pipe.write_all(&request.leftover)
                .await
                .map_err(|e| format!("relaying the first frames: {e}"))?;
        }
        Ok(Some((client, pipe)))
    }

    /// An HTTP/1.1 response relaying the upstream's refusal (connection-specific fields
    /// left out; the connection closes after it).
    fn refusal(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            status.as_str(),
            status.canonical_reason().unwrap_or("")
        )
        .into_bytes();
        for (name, value) in headers {
            if name != http::header::CONTENT_LENGTH && name != http::header::CONNECTION {
                out.extend_from_slice(name.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(
            format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(body);
        out
    }

    /// Accepts the client's offer of one extension with exactly the upstream's answer: the
    /// bridge never runs the extension (bytes pass through untouched); the two ends do.
    #[derive(Debug)]
    struct Answer(ExtensionParams);

    impl ExtensionFactory for Answer {
        fn name(&self) -> &str {
            &self.0.name
        }

        fn offers(&self) -> Vec<ExtensionParams> {
            Vec::new()
        }

        fn accept_response(
            &self,
            _response: &ExtensionParams,
        ) -> Result<Box<dyn Extension>, ExtensionError> {
            Ok(Box::new(Relayed(self.0.name.clone())))
        }

        fn accept_offers(
            &self,
            _offers: &[ExtensionParams],
        ) -> Result<Option<Accepted>, ExtensionError> {
            Ok(Some((
                self.0.clone(),
                Box::new(Relayed(self.0.name.clone())),
            )))
        }
    }
}
