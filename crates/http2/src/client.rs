//! The client: an HTTP/2 connection with prior knowledge, checked for extended CONNECT,
//! that opens WebSockets (and plain requests) as streams.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use h2::client::{ResponseFuture, SendRequest};
use h2::ext::Protocol;
use h2::{Ping, Reason, RecvStream, SendStream};
use http::header::{self, HeaderValue};
use http::uri::{Authority, PathAndQuery};
use http::{HeaderMap, Method, Request, Response, Uri, Version};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tracing::Instrument as _;
use wintergreen_codec::{MessageBudget, Role, Session};
use wintergreen_handshake::headers::list_elements;
use wintergreen_handshake::{
    ClientOffer, HandshakeError, UrlScheme, check_reserved_headers, session_for,
};
use wintergreen_http1::ClientConfig;
use wintergreen_stream::{Runtime, StreamConfig, WebSocketStream, timeout_at};

use crate::config::{Http2Config, apply_settings};
use crate::error::Error;
use crate::pipe::{H2Stream, Halves, Lingering};
use crate::preface::{FirstFrame, SETTINGS};
use crate::read_ahead::ReadAhead;
use crate::slots::{Slot, StreamSlots};

/// The type of the PING frame (RFC 9113 §6.7).
const PING: u8 = 0x6;

/// The `:protocol` of a WebSocket's extended CONNECT (RFC 8441 §4).
pub(crate) const WEBSOCKET_PROTOCOL: &str = "websocket";

/// A WebSocket opened over HTTP/2, before a driver runs it: see [`Http2Client::upgrade`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Http2Upgraded {
    /// The server's 2xx response (status, header fields).
    pub response: Response<()>,
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<String>,
    /// The stream, as a byte pipe. A driver should end it (END_STREAM) as soon as the close
    /// handshake is done, as [`WebSocketStream::end_write_after_close_handshake`] does:
    /// many servers end their half only after the client ended its own.
    pub stream: H2Stream,
    /// The connection's session: [`Role::Client`], with the negotiated extension attached.
    pub session: Session,
}

/// A client's HTTP/2 connection: a cheap, cloneable handle that opens WebSockets with
/// [`websocket`](Self::websocket) and sends plain requests with
/// [`send_request`](Self::send_request), all as streams of one connection.
///
/// The connection is driven by a task spawned at [`handshake`](Self::handshake); it ends
/// once every handle and every stream is dropped (or the connection fails).
#[derive(Debug, Clone)]
pub struct Http2Client {
    send: SendRequest<Bytes>,
    runtime: Arc<dyn Runtime>,
    max_write: usize,
    /// The connection task's queue of dropped streams to linger.
    linger: mpsc::Sender<Halves>,
    /// The explicit wait for a free stream.
    slots: Arc<StreamSlots>,
    /// [`Http2Config::stream_wait_timeout`].
    stream_wait: Duration,
    /// [`Http2Config::max_buffered_message_bytes`], shared by this connection's WebSockets.
    budget: MessageBudget,
}

/// Most dropped streams waiting to linger in the connection task's queue; past it, a
/// dropped stream is reset at once.
const MAX_LINGERING: usize = 1024;

/// The client connection task: drives h2's connection, and keeps streams dropped before the
/// server ended them until it does (see [`H2Stream`]'s drop).
async fn drive<IO>(
    connection: h2::client::Connection<IO, Bytes>,
    mut incoming: mpsc::Receiver<Halves>,
    runtime: Arc<dyn Runtime>,
    linger: Duration,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut connection = pin!(connection);
    let mut lingering: Vec<Lingering> = Vec::new();
    let mut queue_open = true;
    let result = poll_fn(|cx| {
        while queue_open {
            match incoming.poll_recv(cx) {
                Poll::Ready(Some(halves)) => {
                    let until = runtime.sleep_until(runtime.now() + linger);
                    lingering.push(Lingering::new(halves, until));
                }
                Poll::Ready(None) => queue_open = false,
                Poll::Pending => break,
            }
        }
        lingering.retain_mut(|stream| stream.poll_done(cx).is_pending());
        connection.as_mut().poll(cx)
    })
    .await;
    match result {
        Ok(()) => tracing::debug!("HTTP/2 connection closed"),
        Err(err) => tracing::debug!(%err, "HTTP/2 connection failed"),
    }
}

impl Http2Client {
    /// Starts HTTP/2 with prior knowledge over `io` (TCP for `ws://`, or a TLS stream that
    /// negotiated `h2` through ALPN), spawns the connection's driver task on `runtime`,
    /// and waits for the server's SETTINGS, bounded by
    /// [`settings_timeout`](Http2Config::settings_timeout).
    ///
    /// The wait is one PING round trip: a server's first frame is its SETTINGS (RFC 9113
    /// §3.4) and h2 applies it before reading on, so once the PING's ACK is in, the
    /// server's SETTINGS are known.
    ///
    /// # Errors
    /// [`ExtendedConnectDisabled`](Error::ExtendedConnectDisabled) when the server does
    /// not set `SETTINGS_ENABLE_CONNECT_PROTOCOL` to 1; [`NoSettings`](Error::NoSettings)
    /// when its first frame is not SETTINGS; [`Preface`](Error::Preface) when the
    /// peer does not speak HTTP/2; [`SettingsTimeout`](Error::SettingsTimeout).
    pub async fn handshake<IO>(
        io: IO,
        config: &Http2Config,
        runtime: Arc<dyn Runtime>,
    ) -> Result<Self, Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let deadline = runtime.now() + config.settings_timeout;
        let mut builder = h2::client::Builder::new();
        builder.enable_push(false);
        apply_settings!(builder, config);
        // h2 reads 8 KiB at a time: small reads come from one larger read (see ReadAhead).
        let (io, first_frame) = FirstFrame::new(ReadAhead::new(io));
        let (send, mut connection) = timeout_at(&*runtime, deadline, builder.handshake(io))
            .await
            .ok_or(Error::SettingsTimeout)?
            .map_err(Error::Preface)?;
        let ping = connection.ping_pong();
        let (linger_tx, linger_rx) = mpsc::channel(MAX_LINGERING);
        let span = tracing::debug_span!("h2_client");
        runtime.spawn(Box::pin(
            drive(connection, linger_rx, Arc::clone(&runtime), config.linger).instrument(span),
        ));
        let Some(mut ping) = ping else {
            // Cannot happen: the pinger is taken only here.
            return Err(Error::SettingsTimeout);
        };
        timeout_at(&*runtime, deadline, ping.ping(Ping::opaque()))
            .await
            .ok_or(Error::SettingsTimeout)?
            .map_err(Error::Preface)?;
        // h2 takes frames in order: the PING's ACK is in, so the server's first frame was
        // read. Unless it was SETTINGS, the server's settings are unknown.
        match first_frame.get() {
            Some(SETTINGS) => {}
            other => {
                tracing::debug!(first_frame = ?other, "the server's first frame is not SETTINGS");
                return Err(Error::NoSettings {
                    first_frame: other.unwrap_or(PING),
                });
            }
        }
        let enabled = send.is_extended_connect_protocol_enabled();
        tracing::debug!(
            extended_connect = enabled,
            "HTTP/2 connection ready (server SETTINGS received)"
        );
        if !enabled {
            return Err(Error::ExtendedConnectDisabled);
        }
        Ok(Self {
            send,
            runtime,
            max_write: config.max_send_buffer_size,
            linger: linger_tx,
            slots: Arc::default(),
            stream_wait: config.stream_wait_timeout,
            budget: MessageBudget::new(config.max_buffered_message_bytes),
        })
    }

    /// Whether the server (still) enables extended CONNECT.
    pub fn is_extended_connect_enabled(&self) -> bool {
        self.send.is_extended_connect_protocol_enabled()
    }

    /// Opens a WebSocket on a new stream of this connection (RFC 8441 §4–§5).
    ///
    /// `request` names the target: a `ws://`/`wss://` (or `http://`/`https://`) URI whose
    /// authority and path become `:authority` and `:path` (`:scheme` is `http`/`https`),
    /// with header fields for the request. From `config` come the subprotocols,
    /// extensions, extra headers and session limits; `stream` are the driver settings and
    /// `timeout` bounds the whole exchange.
    ///
    /// The request is `:method CONNECT`, `:protocol websocket`, `sec-websocket-version: 13`,
    /// the offers, then the caller's fields; it does not end the stream. Any 2xx answer
    /// succeeds (there is no key/accept over HTTP/2: a stray `sec-websocket-accept` is
    /// ignored); the subprotocol and extension answers are judged as over HTTP/1.1.
    ///
    /// # Errors
    /// [`ExtendedConnectDisabled`](Error::ExtendedConnectDisabled);
    /// [`UpgradeFailed`](HandshakeError::UpgradeFailed) (inside
    /// [`Error::Handshake`]) for a non-2xx answer, with its status, header fields and the
    /// start of its body; other handshake errors; h2 errors;
    /// [`StreamLimit`](Error::StreamLimit) when the server's concurrent-stream limit is
    /// reached and no stream became free within
    /// [`stream_wait_timeout`](Http2Config::stream_wait_timeout) (each WebSocket holds its
    /// stream until it is dropped; plain requests from [`send_request`](Self::send_request)
    /// are not counted); [`Error::Timeout`].
    pub async fn websocket(
        &self,
        request: Request<()>,
        config: &ClientConfig,
        stream: StreamConfig,
        timeout: Duration,
    ) -> Result<(WebSocketStream<H2Stream>, Response<()>), Error> {
        let upgraded = self.upgrade(request, config, timeout).await?;
        let stream = WebSocketStream::from_session(
            upgraded.stream,
            upgraded.session,
            stream,
            Some(Arc::clone(&self.runtime)),
        )
        .end_write_after_close_handshake();
        Ok((stream, upgraded.response))
    }

    /// The extended CONNECT exchange of [`websocket`](Self::websocket), without the
    /// driver: returns the byte pipe and the client session to drive over it (for example
    /// in a transport type of the caller's). `timeout` bounds the exchange.
    ///
    /// # Errors
    /// As [`websocket`](Self::websocket).
    pub async fn upgrade(
        &self,
        request: Request<()>,
        config: &ClientConfig,
        timeout: Duration,
    ) -> Result<Http2Upgraded, Error> {
        if !self.is_extended_connect_enabled() {
            return Err(Error::ExtendedConnectDisabled);
        }
        let deadline = self.runtime.now() + timeout;
        let (request, offer) = connect_request(request, config)?;
        tracing::debug!(uri = %request.uri(), subprotocols = ?offer.subprotocols(), "opening a WebSocket over HTTP/2");
        let slot = self.free_stream(deadline).await?;
        let (response, mut send) = self.open(request, false, deadline).await?;
        let response = match timeout_at(&*self.runtime, deadline, response).await {
            Some(response) => response?,
            None => {
                send.send_reset(Reason::CANCEL);
                return Err(Error::Timeout("extended CONNECT response"));
            }
        };
        let (parts, recv) = response.into_parts();
        if !parts.status.is_success() {
            send.send_reset(Reason::CANCEL);
            let body = read_body(recv, config.limits.max_body_bytes, self, deadline).await;
            tracing::debug!(status = %parts.status, "extended CONNECT refused");
            return Err(HandshakeError::UpgradeFailed {
                status: parts.status,
                headers: Box::new(parts.headers),
                body,
            }
            .into());
        }
        let negotiated = match offer.accept_response(&parts.headers) {
            Ok(negotiated) => negotiated,
            Err(err) => {
                // Fail the WebSocket connection: the stream is abandoned.
                send.send_reset(Reason::CANCEL);
                return Err(err.into());
            }
        };
        let session = session_for(Role::Client, &config.session, negotiated.extension)
            .with_message_budget(self.budget.clone());
        let stream = H2Stream::new(send, recv)
            .with_max_write(self.max_write)
            .holding(slot)
            .lingering_in(self.linger.clone());
        tracing::debug!(stream = ?stream.stream_id(), status = %parts.status, subprotocol = ?negotiated.subprotocol, "WebSocket over HTTP/2 open");
        Ok(Http2Upgraded {
            response: Response::from_parts(parts, ()),
            subprotocol: negotiated.subprotocol,
            stream,
            session,
        })
    }

    /// Sends a plain request on this connection (waiting, bounded by nothing but the
    /// connection, for a free stream slot). Returns h2's response future and the request
    /// body's send half (finish it with END_STREAM unless `end_of_stream` was set).
    ///
    /// # Errors
    /// The h2 error when the connection is gone or the request is malformed.
    pub async fn send_request(
        &self,
        request: Request<()>,
        end_of_stream: bool,
    ) -> Result<(ResponseFuture, SendStream<Bytes>), Error> {
        let mut send = self.send.clone().ready().await?;
        Ok(send.send_request(request, end_of_stream)?)
    }

    /// h2's own request handle, for anything this type does not cover.
    pub fn h2(&self) -> SendRequest<Bytes> {
        self.send.clone()
    }

    /// Waits, explicitly and boundedly, until fewer WebSockets than the server's
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` are open on this connection, and takes a slot.
    async fn free_stream(&self, deadline: Instant) -> Result<Slot, Error> {
        let start = self.runtime.now();
        let until = deadline.min(start + self.stream_wait);
        let send = &self.send;
        let max = || send.current_max_send_streams();
        if self.slots.taken() >= max() {
            tracing::debug!(
                max_concurrent_streams = max(),
                "every HTTP/2 stream is in use: waiting for a free one"
            );
        }
        match timeout_at(&*self.runtime, until, self.slots.take(max)).await {
            Some(slot) => Ok(slot),
            None => {
                let waited = self.runtime.now().saturating_duration_since(start);
                tracing::debug!(
                    max_concurrent_streams = max(),
                    ?waited,
                    "no free HTTP/2 stream in time"
                );
                Err(Error::StreamLimit {
                    max_concurrent_streams: max(),
                    waited,
                })
            }
        }
    }

    /// Waits for h2 to take a new request, then sends the request head.
    async fn open(
        &self,
        request: Request<()>,
        end_of_stream: bool,
        deadline: Instant,
    ) -> Result<(ResponseFuture, SendStream<Bytes>), Error> {
        let mut send = timeout_at(&*self.runtime, deadline, self.send.clone().ready())
            .await
            .ok_or(Error::Timeout("a free HTTP/2 stream"))??;
        Ok(send.send_request(request, end_of_stream)?)
    }
}

/// Reads the start of a refused response's body, up to `limit` bytes, until the deadline.
async fn read_body(
    mut recv: RecvStream,
    limit: usize,
    client: &Http2Client,
    deadline: Instant,
) -> Bytes {
    let mut body = BytesMut::new();
    let read = async {
        while body.len() < limit {
            match recv.data().await {
                Some(Ok(chunk)) => {
                    let _ = recv.flow_control().release_capacity(chunk.len());
                    let keep = chunk.len().min(limit - body.len());
                    body.extend_from_slice(chunk.get(..keep).unwrap_or_default());
                }
                Some(Err(_)) | None => break,
            }
        }
    };
    let _ = timeout_at(&*client.runtime, deadline, read).await;
    body.freeze()
}

/// Builds the extended CONNECT request for a WebSocket request and the client's options.
fn connect_request(
    request: Request<()>,
    config: &ClientConfig,
) -> Result<(Request<()>, ClientOffer), HandshakeError> {
    let (parts, ()) = request.into_parts();
    if parts.method != Method::GET && parts.method != Method::CONNECT {
        return Err(HandshakeError::InvalidRequestMethod {
            method: parts.method,
        });
    }
    let uri = connect_uri(&parts.uri)?;
    let mut headers = parts.headers;
    let mut last = None;
    for (name, value) in config.headers.clone() {
        if let Some(name) = name {
            last = Some(name);
        }
        if let Some(name) = &last {
            headers.append(name.clone(), value);
        }
    }
    check_reserved_headers(&headers)?;
    let mut subprotocols = config.subprotocols.clone();
    subprotocols.extend(
        list_elements(&headers, header::SEC_WEBSOCKET_PROTOCOL)
            .map(|p| String::from_utf8_lossy(p).into_owned()),
    );
    headers.remove(header::SEC_WEBSOCKET_PROTOCOL);
    let offer = ClientOffer::new(subprotocols, config.extensions.iter().cloned())?;

    let mut fields = HeaderMap::with_capacity(headers.len() + 3);
    fields.insert(
        header::SEC_WEBSOCKET_VERSION,
        HeaderValue::from_static("13"),
    );
    offer.write_headers(&mut fields);
    let mut last = None;
    for (name, value) in headers {
        if let Some(name) = name {
            last = Some(name);
        }
        if let Some(name) = &last {
            fields.append(name.clone(), value);
        }
    }
    let mut connect = Request::new(());
    *connect.method_mut() = Method::CONNECT;
    *connect.uri_mut() = uri;
    *connect.version_mut() = Version::HTTP_2;
    *connect.headers_mut() = fields;
    connect
        .extensions_mut()
        .insert(Protocol::from_static(WEBSOCKET_PROTOCOL));
    Ok((connect, offer))
}

/// `ws://host/path` → `http://host/path` (and `wss` → `https`): RFC 8441 §5 uses the
/// target's `http`/`https` scheme, authority and path.
fn connect_uri(uri: &Uri) -> Result<Uri, HandshakeError> {
    let invalid = |why: &str| HandshakeError::InvalidUri(format!("{uri}: {why}"));
    let scheme = UrlScheme::of(uri)?.http_scheme();
    let authority: Authority = uri
        .authority()
        .filter(|a| !a.host().is_empty())
        .cloned()
        .ok_or_else(|| invalid("no host"))?;
    let path = match uri.path_and_query() {
        Some(pq) if pq.as_str().starts_with('/') => pq.clone(),
        Some(pq) => PathAndQuery::try_from(format!("/{}", pq.as_str()))
            .map_err(|err| invalid(&err.to_string()))?,
        None => PathAndQuery::from_static("/"),
    };
    Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(path)
        .build()
        .map_err(|err| invalid(&err.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ws_uris_become_http_targets() {
        let uri = connect_uri(&"ws://example.com:8080/chat?room=1".parse().unwrap()).unwrap();
        assert_eq!(uri.to_string(), "http://example.com:8080/chat?room=1");
        let uri = connect_uri(&"wss://example.com".parse().unwrap()).unwrap();
        assert_eq!(uri.to_string(), "https://example.com/");
        assert!(connect_uri(&"ftp://example.com/".parse().unwrap()).is_err());
        assert!(connect_uri(&"/relative".parse().unwrap()).is_err());
    }

    #[test]
    fn the_connect_request_carries_version_offers_and_user_headers() {
        let request = Request::get("ws://example.com/chat")
            .header("sec-websocket-protocol", "chat.v2")
            .header("x-token", "abc")
            .body(())
            .unwrap();
        let mut config = ClientConfig::default();
        config.subprotocols.push("chat.v1".into());
        let (connect, offer) = connect_request(request, &config).unwrap();
        assert_eq!(connect.method(), Method::CONNECT);
        assert_eq!(
            connect.extensions().get::<Protocol>().unwrap().as_str(),
            "websocket"
        );
        assert_eq!(connect.headers()["sec-websocket-version"], "13");
        assert_eq!(
            connect.headers()["sec-websocket-protocol"],
            "chat.v1, chat.v2"
        );
        assert_eq!(connect.headers()["x-token"], "abc");
        assert!(!connect.headers().contains_key("sec-websocket-key"));
        assert_eq!(offer.subprotocols(), ["chat.v1", "chat.v2"]);
    }

    #[test]
    fn reserved_headers_are_refused() {
        for name in ["host", "sec-websocket-key", "connection", "upgrade"] {
            let request = Request::get("ws://example.com/")
                .header(name, "x")
                .body(())
                .unwrap();
            assert!(matches!(
                connect_request(request, &ClientConfig::default()),
                Err(HandshakeError::ReservedHeader(_))
            ));
        }
    }

    #[test]
    fn a_request_method_other_than_get_or_connect_is_the_callers_fault() {
        let request = Request::post("ws://example.com/").body(()).unwrap();
        let err = connect_request(request, &ClientConfig::default()).unwrap_err();
        assert!(
            matches!(&err, HandshakeError::InvalidRequestMethod { method } if method == Method::POST),
            "{err:?}"
        );
        assert_eq!(err.fault(), wintergreen_handshake::Fault::Caller);
    }
}
