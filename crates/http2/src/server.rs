//! The server: an h2 connection with extended CONNECT enabled, whose WebSocket requests
//! are judged with wintergreen-handshake's rules and handed out as WebSocket streams.

use std::future::poll_fn;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use std::time::Duration;

use h2::ext::Protocol;
use h2::server::SendResponse;
use h2::{Reason, RecvStream};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tracing::Instrument as _;
use wintergreen_codec::{MessageBudget, Role};
use wintergreen_handshake::{
    AcceptPolicy, HandshakeError, Negotiated, Rejection, check_version, rejection_response,
    session_for,
};
use wintergreen_http1::ServerConfig;
use wintergreen_stream::{Runtime, Sleep, StreamConfig, WebSocketStream, timeout_at};

use crate::client::WEBSOCKET_PROTOCOL;
use crate::config::{Http2Config, OtherRequests, apply_settings};
use crate::error::Error;
use crate::pipe::H2Stream;
use crate::read_ahead::ReadAhead;

/// What a server connection hands to the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum Incoming {
    /// An accepted WebSocket: the 200 was sent, the stream runs a [`Role::Server`] session.
    WebSocket(Box<AcceptedWebSocket>),
    /// Another request (only with [`OtherRequests::HandBack`]).
    Request(Box<PlainRequest>),
}

/// A request that is not a WebSocket, handed to the application to answer.
#[derive(Debug)]
#[non_exhaustive]
pub struct PlainRequest {
    /// h2's request, with its body.
    pub request: Request<RecvStream>,
    /// The handle to answer it with.
    pub respond: SendResponse<Bytes>,
}

/// A WebSocket accepted on an HTTP/2 connection.
#[derive(Debug)]
#[non_exhaustive]
pub struct AcceptedWebSocket {
    /// The WebSocket, driven by the same driver as over HTTP/1.1.
    pub stream: WebSocketStream<H2Stream>,
    /// The client's extended CONNECT request (method CONNECT, the `:protocol` in its
    /// extensions as [`h2::ext::Protocol`], URI `scheme://authority/path`, header fields).
    pub request: Request<()>,
    /// The chosen subprotocol, if any.
    pub subprotocol: Option<String>,
}

/// A server's HTTP/2 connection: a `futures_core::Stream` of
/// [`Incoming`] WebSockets (and, if asked for, other requests).
///
/// The connection is driven by a task spawned at [`handshake`](Self::handshake), so
/// WebSockets keep flowing whether or not the acceptor is polled. Each extended CONNECT
/// for `websocket` is judged there:
/// - `sec-websocket-version` must list 13 ([`check_version`]: 400 when missing, 426 with
///   `sec-websocket-version: 13` otherwise);
/// - the [`AcceptPolicy`] in the [`ServerConfig`] runs its check, chooses the subprotocol and
///   negotiates the extension (its rejection is answered as it says);
/// - the answer is 200 with the negotiated `sec-websocket-protocol`/`-extensions` and the
///   policy's extra headers (no key, no accept: RFC 8441 §5).
///
/// Accepted WebSockets wait here, up to [`accept_backlog`](Http2Config::accept_backlog)
/// of them; past that, new ones are answered 503. Dropping the acceptor shuts the
/// connection down gracefully (GOAWAY): WebSockets already handed out keep running.
#[derive(Debug)]
pub struct Http2Acceptor {
    incoming: mpsc::Receiver<Result<Incoming, Error>>,
}

/// What the connection task needs to judge and set up each WebSocket.
struct Acceptance {
    policy: AcceptPolicy,
    session: wintergreen_codec::Config,
    stream: StreamConfig,
    runtime: Arc<dyn Runtime>,
    other_requests: OtherRequests,
    max_write: usize,
    /// The connection's budget of buffered message bytes, shared by its WebSockets.
    budget: MessageBudget,
}

impl Http2Acceptor {
    /// Reads the client's connection preface on `io` (prior knowledge: h2c, or TLS that
    /// negotiated `h2`), announcing `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`, then spawns the
    /// connection's task on `runtime`. The preface is bounded by
    /// [`settings_timeout`](Http2Config::settings_timeout) and
    /// [`handshake_timeout`](Http2Config::handshake_timeout); the connection is then closed
    /// with GOAWAY if no extended CONNECT completes within the handshake timeout (the
    /// acceptor yields an [`Error::Timeout`]), and after
    /// [`idle_timeout`](Http2Config::idle_timeout) without an open stream. Each WebSocket is judged with
    /// `server`'s policy and runs its session settings, driven with `stream`'s settings;
    /// all of them share one budget of
    /// [`max_buffered_message_bytes`](Http2Config::max_buffered_message_bytes).
    ///
    /// # Errors
    /// The h2 error when the preface is not HTTP/2; [`Error::Timeout`].
    pub async fn handshake<IO>(
        io: IO,
        server: &ServerConfig,
        stream: &StreamConfig,
        config: &Http2Config,
        runtime: Arc<dyn Runtime>,
    ) -> Result<Self, Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let start = runtime.now();
        let deadline = start + config.settings_timeout.min(config.handshake_timeout);
        let mut builder = h2::server::Builder::new();
        builder.enable_connect_protocol();
        apply_settings!(builder, config);
        let connection = timeout_at(
            &*runtime,
            deadline,
            builder.handshake::<_, Bytes>(ReadAhead::new(io)),
        )
        .await
        .ok_or(Error::Timeout("HTTP/2 connection preface"))??;
        tracing::debug!("HTTP/2 server connection ready");
        let (tx, rx) = mpsc::channel(config.accept_backlog.max(1));
        let acceptance = Acceptance {
            policy: server.policy.clone(),
            session: server.session.clone(),
            stream: stream.clone(),
            runtime: Arc::clone(&runtime),
            other_requests: config.other_requests,
            max_write: config.max_send_buffer_size,
            budget: MessageBudget::new(config.max_buffered_message_bytes),
        };
        let mut timers = Timers {
            runtime: Arc::clone(&runtime),
            idle_timeout: config.idle_timeout,
            sleep: None,
        };
        // The handshake timeout counts from the start of the accept.
        let left = config
            .handshake_timeout
            .saturating_sub(runtime.now() - start);
        timers.arm(Timer::Handshake, left);
        let span = tracing::debug_span!("h2_server");
        runtime.spawn(Box::pin(
            serve(connection, tx, acceptance, timers).instrument(span),
        ));
        Ok(Self { incoming: rx })
    }

    /// The next accepted WebSocket or handed-back request; `None` once the connection has
    /// ended (after an `Err` if it failed).
    pub async fn next(&mut self) -> Option<Result<Incoming, Error>> {
        self.incoming.recv().await
    }

    /// Polls for the next [`Incoming`], as [`next`](Self::next).
    pub fn poll_next_incoming(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, Error>>> {
        self.incoming.poll_recv(cx)
    }

    /// The next accepted WebSocket with the client's request; `None` once the connection has
    /// ended. Handed-back requests met on the way are answered 400 and dropped.
    pub async fn accept(
        &mut self,
    ) -> Option<Result<(WebSocketStream<H2Stream>, Request<()>), Error>> {
        loop {
            match self.next().await? {
                Ok(Incoming::WebSocket(accepted)) => {
                    let AcceptedWebSocket {
                        stream, request, ..
                    } = *accepted;
                    return Some(Ok((stream, request)));
                }
                Ok(Incoming::Request(plain)) => reject_other(plain.respond),
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

impl futures_core::Stream for Http2Acceptor {
    type Item = Result<Incoming, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().incoming.poll_recv(cx)
    }
}

/// How long a connection closed by its timers (GOAWAY sent) may take to go away: past it,
/// if no stream is left, the connection is dropped even if the client neither reads the
/// GOAWAY nor answers its PING.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What the connection task's one sleep is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// The first extended CONNECT ([`Http2Config::handshake_timeout`]).
    Handshake,
    /// A connection without open streams ([`Http2Config::idle_timeout`]).
    Idle,
    /// GOAWAY was sent: the bound on the connection going away ([`SHUTDOWN_GRACE`]).
    Shutdown,
}

/// The connection task's timers.
struct Timers {
    runtime: Arc<dyn Runtime>,
    idle_timeout: Option<Duration>,
    sleep: Option<(Timer, Sleep)>,
}

impl Timers {
    fn arm(&mut self, timer: Timer, after: Duration) {
        let deadline = self.runtime.now() + after;
        self.sleep = Some((timer, self.runtime.sleep_until(deadline)));
    }

    fn arm_idle(&mut self) {
        match self.idle_timeout {
            Some(idle) => self.arm(Timer::Idle, idle),
            None => self.sleep = None,
        }
    }

    /// The timer that fired, if one did.
    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Option<Timer> {
        let (timer, sleep) = self.sleep.as_mut()?;
        let timer = *timer;
        if sleep.as_mut().poll(cx).is_pending() {
            return None;
        }
        self.sleep = None;
        Some(timer)
    }
}

/// What one turn of the connection task found. (Short-lived, on the task's stack: the
/// size difference costs nothing that boxing each request would save.)
#[allow(clippy::large_enum_variant)]
enum Step {
    Accepted(Request<RecvStream>, SendResponse<Bytes>),
    Failed(h2::Error),
    Ended,
    /// The shutdown grace passed: drop the connection.
    GaveUp,
}

/// The connection task: accepts every stream, judges it, and hands out WebSockets. Closes
/// the connection (GOAWAY) when no extended CONNECT completes within the handshake timeout,
/// and when it stays without open streams for the idle timeout.
async fn serve<IO>(
    mut connection: h2::server::Connection<IO, Bytes>,
    tx: mpsc::Sender<Result<Incoming, Error>>,
    acceptance: Acceptance,
    mut timers: Timers,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut closed = pin!(tx.closed());
    let mut shutting_down = false;
    // A request was handed to the application: the handshake timeout no longer applies.
    let mut established = false;
    // Streams were open when last looked: their end restarts the idle timeout.
    let mut was_busy = false;
    let mut timed_out = false;
    let end = loop {
        let step = poll_fn(|cx| {
            if !shutting_down && closed.as_mut().poll(cx).is_ready() {
                tracing::debug!("acceptor dropped: shutting the connection down gracefully");
                shutting_down = true;
                connection.graceful_shutdown();
            }
            let busy = connection.has_streams();
            if established && !shutting_down {
                if busy {
                    was_busy = true;
                } else if was_busy {
                    was_busy = false;
                    timers.arm_idle();
                }
            }
            match timers.poll_fired(cx) {
                Some(Timer::Handshake) if !established => {
                    tracing::debug!(
                        "no extended CONNECT within the handshake timeout: closing (GOAWAY)"
                    );
                    timed_out = true;
                    shutting_down = true;
                    connection.abrupt_shutdown(Reason::NO_ERROR);
                    timers.arm(Timer::Shutdown, SHUTDOWN_GRACE);
                }
                Some(Timer::Idle) if busy => timers.arm_idle(),
                Some(Timer::Idle) => {
                    tracing::debug!("no open stream for the idle timeout: closing (GOAWAY)");
                    shutting_down = true;
                    connection.graceful_shutdown();
                    timers.arm(Timer::Shutdown, SHUTDOWN_GRACE);
                }
                Some(Timer::Shutdown) if !busy => return Poll::Ready(Step::GaveUp),
                // Streams still run after GOAWAY: h2 closes once they end.
                Some(_) | None => {}
            }
            connection.poll_accept(cx).map(|next| match next {
                Some(Ok((request, respond))) => Step::Accepted(request, respond),
                Some(Err(err)) => Step::Failed(err),
                None => Step::Ended,
            })
        })
        .await;
        match step {
            Step::Accepted(request, respond) => {
                if handle(request, respond, &tx, &acceptance) && !established {
                    established = true;
                    was_busy = true;
                    if !shutting_down {
                        timers.arm_idle();
                    }
                }
            }
            Step::Failed(err) => break Some(err),
            Step::Ended => break None,
            Step::GaveUp => {
                tracing::debug!(
                    "the client did not take the GOAWAY in time: dropping the connection"
                );
                break None;
            }
        }
    };
    drop(connection);
    match end {
        None if timed_out => {
            let _ = tx.try_send(Err(Error::Timeout(
                "no extended CONNECT within the handshake timeout",
            )));
        }
        None => tracing::debug!("HTTP/2 server connection closed"),
        Some(err) => {
            tracing::debug!(%err, "HTTP/2 server connection failed");
            let _ = tx.try_send(Err(Error::H2(err)));
        }
    }
}

/// Judges one request; `true` when it was handed to the application (an accepted
/// WebSocket, or a handed-back request).
fn handle(
    request: Request<RecvStream>,
    respond: SendResponse<Bytes>,
    tx: &mpsc::Sender<Result<Incoming, Error>>,
    acceptance: &Acceptance,
) -> bool {
    let is_websocket = request.method() == Method::CONNECT
        && request
            .extensions()
            .get::<Protocol>()
            .is_some_and(|p| p.as_str().eq_ignore_ascii_case(WEBSOCKET_PROTOCOL));
    if !is_websocket {
        tracing::debug!(method = %request.method(), uri = %request.uri(), "not a WebSocket request");
        match acceptance.other_requests {
            OtherRequests::HandBack => match tx.try_reserve() {
                Ok(permit) => {
                    permit.send(Ok(Incoming::Request(Box::new(PlainRequest {
                        request,
                        respond,
                    }))));
                    return true;
                }
                Err(_) => respond_status(respond, StatusCode::SERVICE_UNAVAILABLE, BACKLOG_FULL),
            },
            _ => reject_other(respond),
        }
        return false;
    }
    let (parts, body) = request.into_parts();
    let head = Request::from_parts(parts, ());
    let negotiated = match judge(&head, &acceptance.policy) {
        Ok(negotiated) => negotiated,
        Err(err) => {
            tracing::debug!(uri = %head.uri(), %err, "WebSocket request rejected");
            respond_rejection(respond, &err.rejection());
            return false;
        }
    };
    let Ok(permit) = tx.try_reserve() else {
        tracing::debug!(uri = %head.uri(), "accept backlog full (or acceptor gone): 503");
        respond_status(respond, StatusCode::SERVICE_UNAVAILABLE, BACKLOG_FULL);
        return false;
    };
    let mut response = Response::new(());
    negotiated.write_headers(response.headers_mut());
    for (name, value) in acceptance.policy.response_headers() {
        response.headers_mut().append(name, value.clone());
    }
    let mut respond = respond;
    let send = match respond.send_response(response, false) {
        Ok(send) => send,
        Err(err) => {
            tracing::debug!(%err, "could not answer the WebSocket request");
            return false;
        }
    };
    let session = session_for(Role::Server, &acceptance.session, negotiated.extension)
        .with_message_budget(acceptance.budget.clone());
    let pipe = H2Stream::new(send, body).with_max_write(acceptance.max_write);
    tracing::debug!(stream = ?pipe.stream_id(), uri = %head.uri(), subprotocol = ?negotiated.subprotocol, "WebSocket over HTTP/2 accepted");
    let stream = WebSocketStream::from_session(
        pipe,
        session,
        acceptance.stream.clone(),
        Some(Arc::clone(&acceptance.runtime)),
    )
    .end_write_after_close_handshake();
    permit.send(Ok(Incoming::WebSocket(Box::new(AcceptedWebSocket {
        stream,
        request: head,
        subprotocol: negotiated.subprotocol,
    }))));
    true
}

const BACKLOG_FULL: &str = "too many WebSockets waiting to be accepted; retry later\n";

/// The HTTP/2 rules of a WebSocket request (RFC 8441 §5): the version, then the policy.
/// (Method CONNECT and `:protocol websocket` were checked by the caller; h2 has checked
/// `:scheme`, `:path` and `:authority`.)
fn judge(request: &Request<()>, policy: &AcceptPolicy) -> Result<Negotiated, HandshakeError> {
    check_version(request.headers())?;
    policy.negotiate(request)
}

/// Answers a request that is not an extended CONNECT for `websocket`.
fn reject_other(respond: SendResponse<Bytes>) {
    respond_status(
        respond,
        StatusCode::BAD_REQUEST,
        "this endpoint accepts WebSockets only: extended CONNECT with :protocol websocket\n",
    );
}

fn respond_status(respond: SendResponse<Bytes>, status: StatusCode, body: &'static str) {
    let rejection = Rejection::new(status)
        .with_header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )
        .with_body(body);
    respond_rejection(respond, &rejection);
}

/// Sends a rejection ([`rejection_response`] for HTTP/2): its status, header fields and
/// body, ending the stream.
fn respond_rejection(mut respond: SendResponse<Bytes>, rejection: &Rejection) {
    let (parts, body) = rejection_response(rejection, Version::HTTP_2).into_parts();
    match respond.send_response(Response::from_parts(parts, ()), body.is_empty()) {
        Ok(mut send) => {
            if !body.is_empty() {
                if let Err(err) = send.send_data(body, true) {
                    tracing::debug!(%err, "could not send the rejection's body");
                }
            }
        }
        Err(err) => tracing::debug!(%err, "could not send a rejection"),
    }
}
