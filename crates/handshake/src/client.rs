//! The client's side of the opening handshake (RFC 6455 §4.1) on `http` types: the request
//! checked and split into what a transport writes, and the checks on a 101 response.

use std::sync::Arc;

use http::header::{self, SEC_WEBSOCKET_PROTOCOL};
use http::{HeaderMap, Method, Request, Response, Uri};
use wintergreen_codec::ExtensionFactory;

use crate::error::HandshakeError;
use crate::headers::{has_token, list_elements};
use crate::negotiate::ClientOffer;
use crate::request::{UrlScheme, check_reserved_headers};

/// What a client asks for: the target, extra headers, subprotocols, extensions. A
/// transport [`prepare`](Self::prepare)s it and writes the result in its HTTP version.
///
/// ```
/// use wintergreen_handshake::ClientRequest;
///
/// let request = ClientRequest::from_url("wss://example.com:443/chat?room=1", http::HeaderMap::new())
///     .unwrap()
///     .subprotocols(["chat.v2", "chat.v1"]);
/// let prepared = request.prepare().unwrap();
/// assert_eq!(prepared.host, "example.com");
/// assert_eq!(prepared.target, "/chat?room=1");
/// assert_eq!(prepared.offer.protocol_header(), Some("chat.v2, chat.v1"));
/// ```
#[derive(Debug)]
pub struct ClientRequest {
    request: Request<()>,
    subprotocols: Vec<String>,
    extensions: Vec<Arc<dyn ExtensionFactory>>,
}

impl ClientRequest {
    /// A request for `request`'s URI (`ws`, `wss`, `http` or `https`, with a host) and
    /// header fields. A `Sec-WebSocket-Protocol` header among them is taken as the
    /// subprotocol offer (added to [`subprotocols`](Self::subprotocols)); the other fields
    /// the handshake writes (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key`,
    /// `Sec-WebSocket-Version`, `Sec-WebSocket-Extensions`) are refused by
    /// [`prepare`](Self::prepare).
    pub fn new(request: Request<()>) -> Self {
        Self {
            request,
            subprotocols: Vec::new(),
            extensions: Vec::new(),
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
    let scheme = UrlScheme::of(uri)?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("no host"))?;
    let port = scheme.port(uri)?;
    let host = if port == scheme.default_port() {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    };
    let target = match uri.path_and_query() {
        Some(pq) if pq.as_str().starts_with('/') => pq.as_str().to_owned(),
        Some(pq) => format!("/{}", pq.as_str()),
        None => "/".to_owned(),
    };
    Ok((host, target))
}

/// A [`ClientRequest`] checked and split into what a transport writes.
#[derive(Debug)]
#[non_exhaustive]
pub struct PreparedRequest {
    /// The `Host` value (HTTP/1.1) or `:authority` (HTTP/2): the URI's host, with its port
    /// only when it is not the scheme's default (RFC 6455 §4.1 item 4).
    pub host: String,
    /// The request target: path and query, `/` when the URI has none.
    pub target: String,
    /// The caller's header fields, less `Sec-WebSocket-Protocol` (taken into the offer).
    pub headers: HeaderMap,
    /// The subprotocols and extensions offered.
    pub offer: ClientOffer,
}

impl ClientRequest {
    /// Checks the request (method GET; a `ws`, `wss`, `http` or `https` URI with a host; no
    /// header field the handshake writes itself: `Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-Key`, `Sec-WebSocket-Version`, `Sec-WebSocket-Extensions`,
    /// `Sec-WebSocket-Accept`; token subprotocols) and splits it.
    pub fn prepare(self) -> Result<PreparedRequest, HandshakeError> {
        let Self {
            request,
            mut subprotocols,
            extensions,
        } = self;
        if request.method() != Method::GET {
            return Err(HandshakeError::InvalidRequestMethod {
                method: request.method().clone(),
            });
        }
        let (host, target) = host_and_target(request.uri())?;
        let mut headers = request.headers().clone();
        check_reserved_headers(&headers)?;
        for protocol in list_elements(&headers, SEC_WEBSOCKET_PROTOCOL) {
            subprotocols.push(String::from_utf8_lossy(protocol).into_owned());
        }
        headers.remove(SEC_WEBSOCKET_PROTOCOL);
        let offer = ClientOffer::new(subprotocols, extensions)?;
        Ok(PreparedRequest {
            host,
            target,
            headers,
            offer,
        })
    }
}

/// Checks a 101 response to an HTTP/1.1 opening request (RFC 6455 §4.1, the client's
/// checks 2–4): `Upgrade` lists `websocket`, `Connection` lists `upgrade`, and exactly one
/// `Sec-WebSocket-Accept` equals `expected_accept` (see [`accept_key`](crate::accept_key)).
/// The subprotocol and extension checks (5–6) are
/// [`ClientOffer::accept_response`]'s.
pub fn validate_response(
    response: &Response<()>,
    expected_accept: &str,
) -> Result<(), HandshakeError> {
    let headers = response.headers();
    if !has_token(headers, header::UPGRADE, "websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let mut accepts = headers.get_all(header::SEC_WEBSOCKET_ACCEPT).iter();
    let accept = accepts.next().ok_or(HandshakeError::MissingAccept)?;
    if accepts.next().is_some() || accept.as_bytes().trim_ascii() != expected_accept.as_bytes() {
        return Err(HandshakeError::InvalidAccept);
    }
    Ok(())
}
