//! The client's side of the opening handshake (RFC 6455 §4.1), for HTTP/1.1.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::{self, SEC_WEBSOCKET_PROTOCOL};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use wintergreen_codec::{Extension, ExtensionFactory};

use crate::error::HandshakeError;
use crate::headers::{has_token, list_elements};
use crate::key::{accept_key, generate_key};
use crate::limits::HandshakeLimits;
use crate::negotiate::ClientOffer;
use crate::parse::{HeadReader, parse_response};
use crate::request::{UrlScheme, check_reserved_headers};
use crate::write::{push_headers, push_raw_header};

/// What a client asks for: the target, extra headers, subprotocols, extensions, limits.
///
/// ```
/// use wintergreen_handshake::{ClientHandshake, ClientRequest};
///
/// let request = ClientRequest::from_url("wss://example.com/chat?room=1", http::HeaderMap::new())
///     .unwrap()
///     .subprotocols(["chat.v2", "chat.v1"]);
/// let handshake = ClientHandshake::new(request).unwrap();
/// let bytes = handshake.request_bytes();
/// assert!(bytes.starts_with(b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\n"));
/// ```
#[derive(Debug)]
pub struct ClientRequest {
    request: Request<()>,
    subprotocols: Vec<String>,
    extensions: Vec<Arc<dyn ExtensionFactory>>,
    limits: HandshakeLimits,
}

impl ClientRequest {
    /// A request for `request`'s URI (`ws`, `wss`, `http` or `https`, with a host) and
    /// header fields. A `Sec-WebSocket-Protocol` header among them is taken as the
    /// subprotocol offer (added to [`subprotocols`](Self::subprotocols)); the other fields
    /// the handshake writes (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key`,
    /// `Sec-WebSocket-Version`, `Sec-WebSocket-Extensions`) are refused when the handshake
    /// starts.
    pub fn new(request: Request<()>) -> Self {
        Self {
            request,
            subprotocols: Vec::new(),
            extensions: Vec::new(),
            limits: HandshakeLimits::default(),
        }
    }

    /// A request for a URL string, with extra header fields.
    pub fn from_url(url: &str, headers: HeaderMap) -> Result<Self, HandshakeError> {
        let uri: Uri = url
            .parse()
            .map_err(|err| HandshakeError::InvalidUri(format!("{url:?}: {err}")))?;
        let mut request = Request::new(());
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        Ok(Self::new(request))
    }

    /// Offers these subprotocols too, in order of preference.
    #[must_use]
    pub fn subprotocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subprotocols
            .extend(protocols.into_iter().map(Into::into));
        self
    }

    /// Offers an extension, after those already added.
    #[must_use]
    pub fn extension(mut self, factory: Arc<dyn ExtensionFactory>) -> Self {
        self.extensions.push(factory);
        self
    }

    /// Offers these extensions, after those already added.
    #[must_use]
    pub fn extensions(
        mut self,
        factories: impl IntoIterator<Item = Arc<dyn ExtensionFactory>>,
    ) -> Self {
        self.extensions.extend(factories);
        self
    }

    /// Sets the limits on the server's response.
    #[must_use]
    pub fn limits(mut self, limits: HandshakeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The underlying request.
    pub fn request(&self) -> &Request<()> {
        &self.request
    }

    /// Adds header fields (appending to any of the same name).
    #[must_use]
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        let mut last = None;
        for (name, value) in headers {
            if let Some(name) = name {
                last = Some(name);
            }
            if let Some(name) = &last {
                self.request.headers_mut().append(name.clone(), value);
            }
        }
        self
    }
}

/// The `Host` value and request target for a WebSocket URI (RFC 6455 §3, §4.1 items 2–4).
fn host_and_target(uri: &Uri) -> Result<(String, String), HandshakeError> {
    let invalid = |why: &str| HandshakeError::InvalidUri(format!("{uri}: {why}"));
    let default_port = UrlScheme::of(uri)?.default_port();
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("no host"))?;
    let host = match uri.port_u16() {
        Some(port) if port != default_port => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    let target = match uri.path_and_query() {
        Some(pq) if pq.as_str().starts_with('/') => pq.as_str().to_owned(),
        Some(pq) => format!("/{}", pq.as_str()),
        None => "/".to_owned(),
    };
    Ok((host, target))
}

/// The server's accepted answer.
#[derive(Debug)]
#[non_exhaustive]
pub struct ClientAccept {
    /// The 101 response's status, version and header fields.
    pub response: Response<()>,
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<String>,
    /// The negotiated extension, if any.
    pub extension: Option<Box<dyn Extension>>,
    /// Bytes that arrived after the response head: the server's first frames.
    pub leftover: Bytes,
}

/// How a failed response's body ends.
#[derive(Debug)]
enum BodyFraming {
    /// `Content-Length`: this many more bytes are wanted (already capped).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedBody),
    /// Neither: the body ends with the connection.
    UntilEof,
}

/// A non-101 response whose body is arriving.
#[derive(Debug)]
struct FailedResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: BytesMut,
    framing: BodyFraming,
    max_body: usize,
}

impl FailedResponse {
    /// Takes body bytes; returns whether the body is complete (or the cap is reached).
    fn feed(&mut self, data: &[u8]) -> bool {
        let room = self.max_body.saturating_sub(self.body.len());
        match &mut self.framing {
            BodyFraming::Length(wanted) => {
                let take = data.len().min(*wanted);
                self.body
                    .extend_from_slice(data.get(..take).unwrap_or_default());
                *wanted -= take;
                *wanted == 0
            }
            BodyFraming::Chunked(chunked) => chunked.feed(data, &mut self.body, self.max_body),
            BodyFraming::UntilEof => {
                let take = data.len().min(room);
                self.body
                    .extend_from_slice(data.get(..take).unwrap_or_default());
                self.body.len() >= self.max_body
            }
        }
    }

    fn into_error(self) -> HandshakeError {
        tracing::debug!(status = %self.status, body_len = self.body.len(), "upgrade failed");
        HandshakeError::UpgradeFailed {
            status: self.status,
            headers: Box::new(self.headers),
            body: self.body.freeze(),
        }
    }
}

/// The longest chunk-size line, and the most trailer bytes, read before giving up.
const MAX_CHUNK_LINE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

/// A chunked body decoder (RFC 7230 §4.1), bounded: on malformed input it stops and the
/// body keeps what was decoded.
#[derive(Debug)]
struct ChunkedBody {
    raw: BytesMut,
    state: ChunkState,
    /// Trailer bytes skipped so far.
    trailers: usize,
}

impl ChunkedBody {
    fn new() -> Self {
        Self {
            raw: BytesMut::new(),
            state: ChunkState::Size,
            trailers: 0,
        }
    }

    /// Decodes into `body`; returns whether the body is complete, malformed, or at `max`.
    fn feed(&mut self, data: &[u8], body: &mut BytesMut, max: usize) -> bool {
        self.raw.extend_from_slice(data);
        loop {
            if body.len() >= max {
                return true;
            }
            match self.state {
                ChunkState::Size => match httparse::parse_chunk_size(&self.raw) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        bytes::Buf::advance(&mut self.raw, used);
                        self.state = if size == 0 {
                            ChunkState::Trailers
                        } else {
                            ChunkState::Data(size)
                        };
                    }
                    Ok(httparse::Status::Partial) => return self.raw.len() > MAX_CHUNK_LINE,
                    Err(_) => return true,
                },
                ChunkState::Data(remaining) => {
                    if self.raw.is_empty() {
                        return false;
                    }
                    let available = self
                        .raw
                        .len()
                        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    let keep = available.min(max - body.len());
                    body.extend_from_slice(self.raw.get(..keep).unwrap_or_default());
                    bytes::Buf::advance(&mut self.raw, available);
                    let remaining = remaining - available as u64;
                    self.state = if remaining == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(remaining)
                    };
                }
                ChunkState::DataEnd => match self.raw.first() {
                    None => return false,
                    Some(b'\n') => {
                        bytes::Buf::advance(&mut self.raw, 1);
                        self.state = ChunkState::Size;
                    }
                    Some(b'\r') => match self.raw.get(1) {
                        None => return false,
                        Some(b'\n') => {
                            bytes::Buf::advance(&mut self.raw, 2);
                            self.state = ChunkState::Size;
                        }
                        Some(_) => return true,
                    },
                    Some(_) => return true,
                },
                ChunkState::Trailers => {
                    let Some(newline) = self.raw.iter().position(|&b| b == b'\n') else {
                        return self.raw.len() > MAX_CHUNK_LINE;
                    };
                    let line = self.raw.get(..newline).unwrap_or_default();
                    if line.is_empty() || line == b"\r" {
                        return true;
                    }
                    self.trailers += newline + 1;
                    if self.trailers > MAX_CHUNK_LINE {
                        return true;
                    }
                    bytes::Buf::advance(&mut self.raw, newline + 1);
                }
            }
        }
    }
}

#[derive(Debug)]
enum State {
    /// Waiting for the response head.
    Head(HeadReader),
    /// A non-101 response's body is arriving.
    Body(FailedResponse),
    /// A result was returned.
    Done,
}

/// The client's handshake: the request bytes to send, then the server's response read
/// incrementally. Sans-IO: the caller writes [`request_bytes`](Self::request_bytes) and
/// feeds what it reads to [`receive`](Self::receive).
#[derive(Debug)]
pub struct ClientHandshake {
    offer: ClientOffer,
    key: String,
    expected_accept: String,
    request: Bytes,
    limits: HandshakeLimits,
    state: State,
}

impl ClientHandshake {
    /// Checks the request, draws a fresh key, and writes the request bytes:
    ///
    /// ```text
    /// GET /path?query HTTP/1.1
    /// Host: host[:port]            (port only when not the scheme's default)
    /// Upgrade: websocket
    /// Connection: Upgrade
    /// Sec-WebSocket-Key: <16 random bytes, base64>
    /// Sec-WebSocket-Version: 13
    /// Sec-WebSocket-Protocol: ...  (if any subprotocol is offered)
    /// Sec-WebSocket-Extensions: ...(if any extension offers something)
    /// <the caller's header fields, title-cased>
    /// ```
    pub fn new(request: ClientRequest) -> Result<Self, HandshakeError> {
        let ClientRequest {
            request,
            mut subprotocols,
            extensions,
            limits,
        } = request;
        if request.method() != Method::GET {
            return Err(HandshakeError::InvalidMethod(request.method().clone()));
        }
        let (host, target) = host_and_target(request.uri())?;
        let mut headers = request.headers().clone();
        check_reserved_headers(&headers)?;
        for protocol in list_elements(&headers, SEC_WEBSOCKET_PROTOCOL) {
            let protocol = String::from_utf8_lossy(protocol).into_owned();
            subprotocols.push(protocol);
        }
        headers.remove(SEC_WEBSOCKET_PROTOCOL);
        let offer = ClientOffer::new(subprotocols, extensions)?;

        let key = generate_key();
        let expected_accept = accept_key(key.as_bytes());

        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        push_raw_header(&mut out, "Host", host.as_bytes());
        push_raw_header(&mut out, "Upgrade", b"websocket");
        push_raw_header(&mut out, "Connection", b"Upgrade");
        push_raw_header(&mut out, "Sec-WebSocket-Key", key.as_bytes());
        push_raw_header(&mut out, "Sec-WebSocket-Version", b"13");
        if let Some(protocols) = offer.protocol_header() {
            push_raw_header(&mut out, "Sec-WebSocket-Protocol", protocols.as_bytes());
        }
        if let Some(extensions) = offer.extensions_header() {
            push_raw_header(&mut out, "Sec-WebSocket-Extensions", extensions.as_bytes());
        }
        push_headers(&mut out, &headers);
        out.extend_from_slice(b"\r\n");
        tracing::debug!(%host, %target, subprotocols = ?offer.subprotocols(), "client handshake started");

        Ok(Self {
            offer,
            key,
            expected_accept,
            request: Bytes::from(out),
            limits,
            state: State::Head(HeadReader::new(limits)),
        })
    }

    /// The request bytes to send.
    pub fn request_bytes(&self) -> &Bytes {
        &self.request
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What was offered.
    pub fn offer(&self) -> &ClientOffer {
        &self.offer
    }

    /// Feeds bytes from the server. Returns `Ok(None)` while more are needed, the accepted
    /// answer once a valid 101 head arrived, or an error; a non-101 response is
    /// [`UpgradeFailed`](HandshakeError::UpgradeFailed), returned once its body is complete
    /// (by `Content-Length`, chunked framing, or
    /// [`max_body_bytes`](HandshakeLimits::max_body_bytes)) or at
    /// [`receive_eof`](Self::receive_eof). After a result, every call is
    /// [`Finished`](HandshakeError::Finished).
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<ClientAccept>, HandshakeError> {
        let result = self.step(data);
        if !matches!(result, Ok(None)) {
            self.state = State::Done;
        }
        result
    }

    /// The server closed the connection. Ends a failed response's body (the result is
    /// [`UpgradeFailed`](HandshakeError::UpgradeFailed)); before a whole head it is
    /// [`UnexpectedEof`](HandshakeError::UnexpectedEof).
    pub fn receive_eof(&mut self) -> HandshakeError {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Head(_) => HandshakeError::UnexpectedEof,
            State::Body(failed) => failed.into_error(),
            State::Done => HandshakeError::Finished,
        }
    }

    fn step(&mut self, data: &[u8]) -> Result<Option<ClientAccept>, HandshakeError> {
        match &mut self.state {
            State::Done => Err(HandshakeError::Finished),
            State::Body(failed) => {
                if failed.feed(data) {
                    match std::mem::replace(&mut self.state, State::Done) {
                        State::Body(failed) => Err(failed.into_error()),
                        _ => Err(HandshakeError::Finished),
                    }
                } else {
                    Ok(None)
                }
            }
            State::Head(reader) => {
                let limits = self.limits;
                let Some((response, leftover)) =
                    reader.push(data, |head| parse_response(head, &limits))?
                else {
                    return Ok(None);
                };
                if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                    return self.accept(response, leftover).map(Some);
                }
                self.fail(response, &leftover)
            }
        }
    }

    /// A non-101 head: collect its body (or end now if it has none).
    fn fail(
        &mut self,
        response: Response<()>,
        leftover: &[u8],
    ) -> Result<Option<ClientAccept>, HandshakeError> {
        let status = response.status();
        let headers = response.into_parts().0.headers;
        let max_body = self.limits.max_body_bytes;
        let no_body = status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let framing = if no_body {
            BodyFraming::Length(0)
        } else if headers.contains_key(header::TRANSFER_ENCODING) {
            let chunked = list_elements(&headers, header::TRANSFER_ENCODING)
                .last()
                .is_some_and(|coding| coding.eq_ignore_ascii_case(b"chunked"));
            if chunked {
                BodyFraming::Chunked(ChunkedBody::new())
            } else {
                BodyFraming::UntilEof
            }
        } else {
            match content_length(&headers) {
                Some(length) => {
                    BodyFraming::Length(usize::try_from(length).unwrap_or(usize::MAX).min(max_body))
                }
                None => BodyFraming::UntilEof,
            }
        };
        let mut failed = FailedResponse {
            status,
            headers,
            body: BytesMut::new(),
            framing,
            max_body,
        };
        let done = matches!(failed.framing, BodyFraming::Length(0)) || failed.feed(leftover);
        if done {
            return Err(failed.into_error());
        }
        self.state = State::Body(failed);
        Ok(None)
    }

    /// A 101 head: check it (RFC 6455 §4.1, the client's checks 1–6).
    fn accept(
        &self,
        response: Response<()>,
        leftover: Bytes,
    ) -> Result<ClientAccept, HandshakeError> {
        let headers = response.headers();
        if !has_token(headers, header::UPGRADE, "websocket") {
            return Err(HandshakeError::MissingUpgrade);
        }
        if !has_token(headers, header::CONNECTION, "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        let mut accepts = headers.get_all(header::SEC_WEBSOCKET_ACCEPT).iter();
        let accept = accepts.next().ok_or(HandshakeError::MissingAccept)?;
        if accepts.next().is_some()
            || accept.as_bytes().trim_ascii() != self.expected_accept.as_bytes()
        {
            return Err(HandshakeError::InvalidAccept);
        }
        let negotiated = self.offer.accept_response(headers)?;
        tracing::debug!(leftover = leftover.len(), "client handshake accepted");
        Ok(ClientAccept {
            response,
            subprotocol: negotiated.subprotocol,
            extension: negotiated.extension,
            leftover,
        })
    }
}

/// The body length from `Content-Length`, if every value agrees and is a number.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut length = None;
    for value in list_elements(headers, header::CONTENT_LENGTH) {
        let parsed: u64 = std::str::from_utf8(value).ok()?.parse().ok()?;
        if length.is_some_and(|l| l != parsed) {
            return None;
        }
        length = Some(parsed);
    }
    length
}
