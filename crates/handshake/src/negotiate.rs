//! Subprotocol and extension negotiation (RFC 6455 §4.1, §4.2.2, §9.1), on header maps only.
//!
//! Nothing here knows about keys, `Upgrade` or `Connection`, so an HTTP/2 (RFC 8441)
//! transport uses the same rules: the client writes its offer with
//! [`ClientOffer::write_headers`] and judges the answer with
//! [`ClientOffer::accept_response`]; the server checks [`check_version`] and runs
//! [`AcceptPolicy::negotiate`], then writes [`Negotiated::write_headers`].

use std::fmt;
use std::sync::Arc;

use http::header::{SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION};
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use wintergreen_codec::{Extension, ExtensionFactory, ExtensionParams};

use crate::error::{HandshakeError, Rejection};
use crate::headers::{
    is_token, list_elements, parse_extension_headers, write_extension, write_extensions,
};

/// What a client offers: subprotocols in order of preference, and extension factories
/// whose [`offers`](ExtensionFactory::offers) form `Sec-WebSocket-Extensions`.
#[derive(Debug, Clone)]
pub struct ClientOffer {
    subprotocols: Vec<String>,
    /// The factories that offered something (only these may be accepted).
    extensions: Vec<Arc<dyn ExtensionFactory>>,
    protocol_header: Option<String>,
    extensions_header: Option<String>,
}

impl ClientOffer {
    /// Checks and writes down an offer. Subprotocols must be HTTP tokens (duplicates are
    /// dropped); each factory's offers are taken in order, factory by factory. A factory
    /// that offers nothing takes no part.
    pub fn new(
        subprotocols: impl IntoIterator<Item = String>,
        extensions: impl IntoIterator<Item = Arc<dyn ExtensionFactory>>,
    ) -> Result<Self, HandshakeError> {
        let mut protocols: Vec<String> = Vec::new();
        for protocol in subprotocols {
            if !is_token(protocol.as_bytes()) {
                return Err(HandshakeError::InvalidSubprotocol(protocol));
            }
            if !protocols.contains(&protocol) {
                protocols.push(protocol);
            }
        }
        let mut factories = Vec::new();
        let mut offers = Vec::new();
        for factory in extensions {
            let mine = factory.offers();
            if mine.is_empty() {
                continue;
            }
            offers.extend(mine);
            factories.push(factory);
        }
        let extensions_header = if offers.is_empty() {
            None
        } else {
            Some(write_extensions(&offers).map_err(HandshakeError::InvalidExtensionOffer)?)
        };
        let protocol_header = (!protocols.is_empty()).then(|| protocols.join(", "));
        Ok(Self {
            subprotocols: protocols,
            extensions: factories,
            protocol_header,
            extensions_header,
        })
    }

    /// The offered subprotocols, in order.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The `Sec-WebSocket-Protocol` value, if any subprotocol is offered.
    pub fn protocol_header(&self) -> Option<&str> {
        self.protocol_header.as_deref()
    }

    /// The `Sec-WebSocket-Extensions` value, if any extension is offered.
    pub fn extensions_header(&self) -> Option<&str> {
        self.extensions_header.as_deref()
    }

    /// Inserts `sec-websocket-protocol` and `sec-websocket-extensions` into `headers`
    /// (replacing any there).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        insert(
            headers,
            SEC_WEBSOCKET_PROTOCOL,
            self.protocol_header.as_deref(),
        );
        insert(
            headers,
            SEC_WEBSOCKET_EXTENSIONS,
            self.extensions_header.as_deref(),
        );
    }

    /// Judges the server's answer (RFC 6455 §4.1, items 5 and 6 of the client's checks):
    /// at most one subprotocol, and one that was offered; every extension element named
    /// after an offered extension, none twice, each accepted by its factory's
    /// [`accept_response`](ExtensionFactory::accept_response).
    pub fn accept_response(&self, headers: &HeaderMap) -> Result<Negotiated, HandshakeError> {
        let mut subprotocol = None;
        for chosen in list_elements(headers, SEC_WEBSOCKET_PROTOCOL) {
            if subprotocol.is_some() {
                return Err(HandshakeError::MultipleSubprotocols);
            }
            let Some(offered) = self.subprotocols.iter().find(|p| p.as_bytes() == chosen) else {
                return Err(HandshakeError::UnofferedSubprotocol(
                    String::from_utf8_lossy(chosen).into_owned(),
                ));
            };
            subprotocol = Some(offered.clone());
        }

        let mut seen: Vec<String> = Vec::new();
        let mut accepted: Option<(Box<dyn Extension>, ExtensionParams)> = None;
        for element in parse_extension_headers(headers)? {
            if seen
                .iter()
                .any(|name| name.eq_ignore_ascii_case(&element.name))
            {
                return Err(HandshakeError::DuplicateExtension(element.name));
            }
            let Some(factory) = self
                .extensions
                .iter()
                .find(|f| f.name().eq_ignore_ascii_case(&element.name))
            else {
                return Err(HandshakeError::UnofferedExtension(element.name));
            };
            let extension = factory.accept_response(&element).map_err(|source| {
                HandshakeError::ExtensionRejected {
                    name: element.name.clone(),
                    source,
                }
            })?;
            if let Some((_, first)) = &accepted {
                return Err(HandshakeError::MultipleExtensions {
                    first: first.name.clone(),
                    second: element.name,
                });
            }
            seen.push(element.name.clone());
            accepted = Some((extension, element));
        }
        Ok(Negotiated::new(subprotocol, accepted))
    }
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: Option<&str>) {
    match value.and_then(|v| HeaderValue::from_str(v).ok()) {
        Some(value) => {
            headers.insert(name, value);
        }
        None => {
            headers.remove(name);
        }
    }
}

/// The outcome of negotiation, for either role.
#[derive(Debug)]
#[non_exhaustive]
pub struct Negotiated {
    /// The chosen subprotocol.
    pub subprotocol: Option<String>,
    /// The negotiated extension, to attach to the session.
    pub extension: Option<Box<dyn Extension>>,
    /// The extension's element: the server's answer (as sent, or as received).
    pub extension_params: Option<ExtensionParams>,
}

impl Negotiated {
    /// The outcome of either role's negotiation, logged once here.
    fn new(
        subprotocol: Option<String>,
        accepted: Option<(Box<dyn Extension>, ExtensionParams)>,
    ) -> Self {
        let (extension, extension_params) = accepted.unzip();
        tracing::debug!(?subprotocol, extension = ?extension_params.as_ref().map(|e| &e.name), "negotiated");
        Self {
            subprotocol,
            extension,
            extension_params,
        }
    }

    /// Server: the `Sec-WebSocket-Extensions` value to answer with, if any.
    pub fn extensions_header(&self) -> Option<String> {
        let params = self.extension_params.as_ref()?;
        let mut out = String::new();
        // Checked when negotiated.
        write_extension(&mut out, params).ok()?;
        Some(out)
    }

    /// Server: inserts `sec-websocket-protocol` and `sec-websocket-extensions` for the
    /// answer into `headers` (removing them when nothing was chosen).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        insert(headers, SEC_WEBSOCKET_PROTOCOL, self.subprotocol.as_deref());
        insert(
            headers,
            SEC_WEBSOCKET_EXTENSIONS,
            self.extensions_header().as_deref(),
        );
    }
}

/// Server: checks `Sec-WebSocket-Version` (RFC 6455 §4.2.1 item 6): it must list `13`.
/// Its absence is [`MissingVersion`](HandshakeError::MissingVersion) (400); another
/// version is [`UnsupportedVersion`](HandshakeError::UnsupportedVersion) (426).
pub fn check_version(headers: &HeaderMap) -> Result<(), HandshakeError> {
    let mut values = headers.get_all(SEC_WEBSOCKET_VERSION).iter().peekable();
    if values.peek().is_none() {
        return Err(HandshakeError::MissingVersion);
    }
    if list_elements(headers, SEC_WEBSOCKET_VERSION).any(|v| v == b"13") {
        return Ok(());
    }
    let shown: Vec<_> = values
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    Err(HandshakeError::UnsupportedVersion(shown.join(", ")))
}

type Selector = dyn Fn(&[String], &Request<()>) -> Option<String> + Send + Sync;
type Check = dyn Fn(&Request<()>) -> Result<(), Rejection> + Send + Sync;

#[derive(Clone, Default)]
enum SubprotocolChoice {
    #[default]
    None,
    Preference(Vec<String>),
    Custom(Arc<Selector>),
}

/// How a server judges a client's request: which subprotocol and extension to accept,
/// and whether to accept at all. Cheap to clone (share one per listener).
///
/// The default accepts every valid request, with no subprotocol and no extension.
///
/// ```
/// use http::StatusCode;
/// use wintergreen_handshake::{AcceptPolicy, Rejection};
///
/// let policy = AcceptPolicy::new()
///     .subprotocols(["chat.v2", "chat.v1"])
///     .check(|request| match request.headers().get("origin") {
///         Some(origin) if origin == "https://example.com" => Ok(()),
///         _ => Err(Rejection::new(StatusCode::FORBIDDEN)),
///     });
/// # let _ = policy;
/// ```
#[derive(Clone, Default)]
pub struct AcceptPolicy {
    subprotocols: SubprotocolChoice,
    extensions: Vec<Arc<dyn ExtensionFactory>>,
    check: Option<Arc<Check>>,
    response_headers: HeaderMap,
}

impl fmt::Debug for AcceptPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subprotocols: &dyn fmt::Debug = match &self.subprotocols {
            SubprotocolChoice::None => &"none",
            SubprotocolChoice::Preference(list) => list,
            SubprotocolChoice::Custom(_) => &"custom",
        };
        f.debug_struct("AcceptPolicy")
            .field("subprotocols", subprotocols)
            .field("extensions", &self.extensions)
            .field("check", &self.check.as_ref().map(|_| "custom"))
            .field("response_headers", &self.response_headers)
            .finish()
    }
}

/// Header fields the handshake writes itself; a policy's extra headers may not set them.
const RESERVED_RESPONSE_HEADERS: &[HeaderName] = &[
    http::header::UPGRADE,
    http::header::CONNECTION,
    http::header::SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_EXTENSIONS,
    http::header::CONTENT_LENGTH,
    http::header::TRANSFER_ENCODING,
];

impl AcceptPolicy {
    /// The default policy: accept every valid request, no subprotocol, no extension.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses the first of these subprotocols (server preference order) that the client
    /// offered; none if the client offered none of them.
    #[must_use]
    pub fn subprotocols<I, S>(mut self, supported: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subprotocols =
            SubprotocolChoice::Preference(supported.into_iter().map(Into::into).collect());
        self
    }

    /// Chooses the subprotocol with a closure, given the client's offers (in its order) and
    /// the request. It must return one of the offers, or `None`; anything else fails the
    /// handshake with 500 ([`ServerNegotiation`](HandshakeError::ServerNegotiation)).
    #[must_use]
    pub fn select_subprotocol<F>(mut self, select: F) -> Self
    where
        F: Fn(&[String], &Request<()>) -> Option<String> + Send + Sync + 'static,
    {
        self.subprotocols = SubprotocolChoice::Custom(Arc::new(select));
        self
    }

    /// Adds an extension the server supports. Factories are consulted in the order added;
    /// the first to accept the client's offers wins (a connection runs one extension).
    #[must_use]
    pub fn extension(mut self, factory: Arc<dyn ExtensionFactory>) -> Self {
        self.extensions.push(factory);
        self
    }

    /// Supports no extension at all (removes those added so far).
    #[must_use]
    pub fn no_extensions(mut self) -> Self {
        self.extensions.clear();
        self
    }

    /// Checks each request before negotiation (e.g. its `Origin`, cookies or path);
    /// returning a [`Rejection`] refuses it with that response.
    #[must_use]
    pub fn check<F>(mut self, check: F) -> Self
    where
        F: Fn(&Request<()>) -> Result<(), Rejection> + Send + Sync + 'static,
    {
        self.check = Some(Arc::new(check));
        self
    }

    /// Adds a header field to every 101 response. Fields the handshake writes itself
    /// (`Upgrade`, `Connection`, `Sec-WebSocket-*`, `Content-Length`,
    /// `Transfer-Encoding`) are ignored.
    #[must_use]
    pub fn response_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if RESERVED_RESPONSE_HEADERS.contains(&name) {
            tracing::warn!(%name, "ignoring a reserved response header in AcceptPolicy");
        } else {
            self.response_headers.append(name, value);
        }
        self
    }

    /// The extra header fields for every 101 response.
    pub fn response_headers(&self) -> &HeaderMap {
        &self.response_headers
    }

    /// The supported extensions, in order.
    pub fn extensions(&self) -> &[Arc<dyn ExtensionFactory>] {
        &self.extensions
    }

    /// Judges a request whose transport-level checks passed: runs the
    /// [`check`](Self::check) hook, chooses the subprotocol, and negotiates the extension.
    /// For each factory in order, all the client's offers with its name (in the client's
    /// order) go to [`accept_offers`](ExtensionFactory::accept_offers); a factory that
    /// declines or errs is skipped (RFC 7692 §5: a server declines offers it cannot use).
    pub fn negotiate(&self, request: &Request<()>) -> Result<Negotiated, HandshakeError> {
        if let Some(check) = &self.check {
            check(request).map_err(HandshakeError::Rejected)?;
        }
        let headers = request.headers();
        let offered: Vec<String> = list_elements(headers, SEC_WEBSOCKET_PROTOCOL)
            .filter_map(|p| std::str::from_utf8(p).ok())
            .map(str::to_owned)
            .collect();
        let subprotocol = match &self.subprotocols {
            SubprotocolChoice::None => None,
            SubprotocolChoice::Preference(supported) => {
                supported.iter().find(|p| offered.contains(p)).cloned()
            }
            SubprotocolChoice::Custom(select) => match select(&offered, request) {
                Some(chosen) if offered.contains(&chosen) => Some(chosen),
                Some(chosen) => {
                    return Err(HandshakeError::ServerNegotiation(format!(
                        "the subprotocol selector chose {chosen:?}, which the client did not offer"
                    )));
                }
                None => None,
            },
        };

        let offers = parse_extension_headers(headers)?;
        let mut accepted = None;
        for factory in &self.extensions {
            let mine: Vec<ExtensionParams> = offers
                .iter()
                .filter(|offer| offer.name.eq_ignore_ascii_case(factory.name()))
                .cloned()
                .collect();
            if mine.is_empty() {
                continue;
            }
            match factory.accept_offers(&mine) {
                Ok(Some((answer, extension))) => {
                    let mut check = String::new();
                    write_extension(&mut check, &answer)
                        .map_err(|err| HandshakeError::ServerNegotiation(err.to_string()))?;
                    accepted = Some((extension, answer));
                    break;
                }
                Ok(None) => {
                    tracing::debug!(extension = factory.name(), "declined the client's offers")
                }
                Err(err) => {
                    tracing::debug!(extension = factory.name(), %err, "declined invalid offers")
                }
            }
        }
        Ok(Negotiated::new(subprotocol, accepted))
    }
}
