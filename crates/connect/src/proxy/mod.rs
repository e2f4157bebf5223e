//! Proxies: the WebSocket's TCP connection tunnelled through an HTTP CONNECT proxy
//! (RFC 9110 §9.3.6, with Basic authentication, RFC 7617) or a SOCKS5 proxy (RFC 1928,
//! with username/password authentication, RFC 1929).
//!
//! A [`Proxy`] is parsed from a URL:
//!
//! | URL | proxy | DNS of the target |
//! |---|---|---|
//! | `http://[user:pass@]host[:port]` (or `host:port`) | HTTP CONNECT; default port 80 | by the proxy |
//! | `socks5://[user:pass@]host[:port]` | SOCKS5; default port 1080 | local (the runtime's resolver) |
//! | `socks5h://[user:pass@]host[:port]` | SOCKS5; default port 1080 | by the proxy |
//!
//! User name and password are percent-decoded. TLS to the proxy itself (`https://`
//! proxies) is not supported.
//!
//! Which proxy a connect uses is [`ProxyRules`]' choice, in
//! [`ConnectOptions::proxy`](crate::ConnectOptions::proxy): none by default, one proxy for
//! every target ([`ProxyRules::all`]), or, opt-in, what the environment says
//! ([`ProxyRules::from_env`]: `HTTPS_PROXY` for `wss://`, `HTTP_PROXY` for `ws://`,
//! `ALL_PROXY`, `NO_PROXY`, as curl reads them).
//!
//! The tunnel is a byte stream to the target: TLS (`wss://`, end to end, the certificate
//! checked against the target's name) and the opening handshake (HTTP/1.1 or HTTP/2) run
//! through it unchanged. The proxy's TCP connection is made like any other (a
//! [`Connector`](crate::Connector) if one is set, within the connect timeout); the
//! proxy's exchange is bounded by the handshake timeout ([`TimeoutKind::Proxy`]).

mod env;
mod http_connect;
mod socks5;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use wintergreen_handshake::Fault;
use wintergreen_stream::{Runtime, TcpStream};

pub use env::NoProxy;
pub use socks5::SocksReply;

use crate::client::within;
use crate::error::{ConnectError, TimeoutKind};
use crate::options::ConnectOptions;
use crate::target::Target;

/// The kind of proxy, from the proxy URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyScheme {
    /// `http://`: an HTTP proxy, asked for a tunnel with `CONNECT host:port`; the proxy
    /// resolves the target's name.
    Http,
    /// `socks5://`: SOCKS5 with the target's name resolved here (the first address the
    /// runtime's resolver gives).
    Socks5,
    /// `socks5h://`: SOCKS5 with the target's name resolved by the proxy.
    Socks5h,
}

impl ProxyScheme {
    /// The port used when the URL names none: 80 for HTTP, 1080 for SOCKS5.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Socks5 | Self::Socks5h => 1080,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Socks5 => "socks5",
            Self::Socks5h => "socks5h",
        }
    }
}

/// A user name and password for the proxy: Basic authentication (RFC 7617) for HTTP, the
/// username/password method (RFC 1929) for SOCKS5. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyAuth {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for ProxyAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyAuth")
            .field("username", &self.username)
            .field("password", &"…")
            .finish()
    }
}

/// A proxy to tunnel through: its kind, address and credentials. Parse one from a URL
/// (see the [module docs](self)) with [`Proxy::parse`] or `str::parse`.
///
/// ```
/// use wintergreen_connect::proxy::{Proxy, ProxyScheme};
///
/// let proxy: Proxy = "socks5h://alice:s%40cret@127.0.0.1:1080".parse().unwrap();
/// assert_eq!(proxy.scheme(), ProxyScheme::Socks5h);
/// assert_eq!(proxy.auth().unwrap().password, "s@cret");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    scheme: ProxyScheme,
    host: String,
    port: u16,
    auth: Option<ProxyAuth>,
}

impl Proxy {
    /// Parses a proxy URL (see the [module docs](self)); a URL without a scheme is an HTTP
    /// proxy, as curl reads it. A path of `/` is allowed (environment variables often carry
    /// one); any other path, a query or a fragment is not.
    ///
    /// # Errors
    /// [`ProxyError::InvalidUrl`]: an unknown scheme (`https://`, `socks4://`, …), no host,
    /// a bad port or percent-encoding.
    pub fn parse(url: &str) -> Result<Self, ProxyError> {
        let invalid = |why: &str| ProxyError::InvalidUrl(format!("{url:?}: {why}"));
        let url = url.trim();
        let (scheme, rest) = match url.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_owned(), url),
        };
        let scheme = match scheme.as_str() {
            "http" => ProxyScheme::Http,
            "socks5" => ProxyScheme::Socks5,
            "socks5h" => ProxyScheme::Socks5h,
            "https" => return Err(invalid("TLS to the proxy (https://) is not supported")),
            _ => return Err(invalid("the scheme must be http, socks5 or socks5h")),
        };
        let authority = match rest.find(['/', '?', '#']) {
            Some(end) if rest.get(end..) == Some("/") => rest.get(..end).unwrap_or_default(),
            Some(_) => return Err(invalid("a proxy URL has no path, query or fragment")),
            None => rest,
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let auth = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8()
                        .map(|s| s.into_owned())
                        .map_err(|_| invalid("the user name or password is not UTF-8"))
                };
                Some(ProxyAuth {
                    username: decode(user)?,
                    password: decode(pass)?,
                })
            }
        };
        let uri = http::uri::Authority::from_str(hostport).map_err(|_| invalid("bad host"))?;
        let host = uri
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = wintergreen_handshake::authority_port(hostport)
            .map_err(|_| invalid("bad port"))?
            .unwrap_or(scheme.default_port());
        Ok(Self {
            scheme,
            host,
            port,
            auth,
        })
    }

    /// The kind of proxy.
    pub fn scheme(&self) -> ProxyScheme {
        self.scheme
    }

    /// The proxy's host name or IP address (without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The credentials, if the URL had any.
    pub fn auth(&self) -> Option<&ProxyAuth> {
        self.auth.as_ref()
    }

    /// Sets the credentials (instead of putting them in the URL).
    #[must_use]
    pub fn with_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(ProxyAuth {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// Runs the proxy's exchange over `tcp` (connected to the proxy) so that it becomes a
    /// tunnel to `target`, within the handshake timeout.
    pub(crate) async fn tunnel(
        &self,
        runtime: &Arc<dyn Runtime>,
        mut tcp: TcpStream,
        target: &Target,
        options: &ConnectOptions,
    ) -> Result<TcpStream, ConnectError> {
        let exchange = async {
            match self.scheme {
                ProxyScheme::Http => http_connect::tunnel(&mut tcp, self, target).await,
                ProxyScheme::Socks5 | ProxyScheme::Socks5h => {
                    socks5::tunnel(&mut tcp, runtime, self, target).await
                }
            }
        };
        within(
            runtime,
            options.handshake_timeout,
            TimeoutKind::Proxy,
            exchange,
        )
        .await??;
        tracing::debug!(proxy = %self, host = %target.host, port = target.port, "proxy tunnel open");
        Ok(tcp)
    }
}

impl fmt::Display for Proxy {
    /// The URL without the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.scheme.as_str();
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for Proxy {
    type Err = ProxyError;

    fn from_str(url: &str) -> Result<Self, ProxyError> {
        Self::parse(url)
    }
}

/// Which proxy, if any, a connect goes through, by the target: one for `ws://`, one for
/// `wss://`, and the hosts that bypass them ([`NoProxy`]). The default is no proxy.
///
/// ```
/// use wintergreen_connect::proxy::{Proxy, ProxyRules};
///
/// // One proxy for everything:
/// let rules = ProxyRules::all("http://127.0.0.1:3128".parse().unwrap());
/// // What the environment says (opt-in), read through any lookup function:
/// let rules = ProxyRules::from_lookup(|name| match name {
///     "https_proxy" => Some("socks5h://127.0.0.1:1080".to_owned()),
///     "NO_PROXY" => Some("localhost,.internal".to_owned()),
///     _ => None,
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyRules {
    /// The proxy for `ws://` targets. Default: none.
    pub ws: Option<Proxy>,
    /// The proxy for `wss://` targets. Default: none.
    pub wss: Option<Proxy>,
    /// The targets that bypass both. Default: none.
    pub no_proxy: NoProxy,
}

impl ProxyRules {
    /// The same proxy for every target.
    pub fn all(proxy: Proxy) -> Self {
        Self {
            ws: Some(proxy.clone()),
            wss: Some(proxy),
            no_proxy: NoProxy::default(),
        }
    }

    /// Reads the process environment, as curl and reqwest do; see [`from_lookup`](Self::from_lookup).
    ///
    /// # Errors
    /// [`ProxyError::InvalidUrl`] when a variable that applies holds no valid proxy URL.
    pub fn from_env() -> Result<Self, ProxyError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the proxy variables through `lookup` (the variable's value, or `None`), with
    /// curl's conventions: for `wss://`, `https_proxy` then `HTTPS_PROXY`; for `ws://`,
    /// `http_proxy` then `HTTP_PROXY` (the upper-case one is ignored when `REQUEST_METHOD`
    /// is set: a CGI program's `HTTP_PROXY` comes from a request's `Proxy` header,
    /// "httpoxy"); for either, failing those, `all_proxy` then `ALL_PROXY`; `no_proxy` then
    /// `NO_PROXY` for the exceptions ([`NoProxy::parse`]). Empty values count as unset.
    ///
    /// # Errors
    /// [`ProxyError::InvalidUrl`] when a variable that applies holds no valid proxy URL.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ProxyError> {
        env::rules(lookup)
    }

    /// The proxy for `target`, if any.
    pub fn proxy_for(&self, target: &Target) -> Option<&Proxy> {
        let proxy = if target.is_tls() {
            self.wss.as_ref()
        } else {
            self.ws.as_ref()
        }?;
        (!self.no_proxy.matches(&target.host, target.port)).then_some(proxy)
    }

    /// Whether no target goes through a proxy.
    pub fn is_empty(&self) -> bool {
        self.ws.is_none() && self.wss.is_none()
    }
}

/// A proxy failed or refused the tunnel. Who is at fault: the caller's URL
/// ([`InvalidUrl`](Self::InvalidUrl), [`TargetTooLong`](Self::TargetTooLong)), the proxy's
/// refusal ([`Refused`](Self::Refused), [`Socks`](Self::Socks),
/// [`SocksAuthFailed`](Self::SocksAuthFailed),
/// [`SocksNoAcceptableMethod`](Self::SocksNoAcceptableMethod)), or the proxy's broken
/// answer ([`Http1`](Self::Http1), [`Malformed`](Self::Malformed)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL cannot be used (the caller's fault).
    #[error("invalid proxy URL {0}")]
    InvalidUrl(String),
    /// The HTTP proxy answered the CONNECT with a status other than 2xx. 407 means it wants
    /// (other) credentials: see [`is_auth_required`](Self::is_auth_required).
    #[error("the HTTP proxy refused the tunnel: {status}")]
    Refused {
        /// The proxy's status.
        status: StatusCode,
        /// Its header fields (`Proxy-Authenticate` for a 407).
        headers: Box<HeaderMap>,
    },
    /// The HTTP proxy's answer is not valid HTTP/1.1 or overruns the handshake's limits.
    #[error("the HTTP proxy's answer: {0}")]
    Http1(#[source] wintergreen_http1::Error),
    /// The SOCKS5 proxy refused the CONNECT with a reply code (RFC 1928 §6).
    #[error("the SOCKS5 proxy refused the tunnel: {0}")]
    Socks(SocksReply),
    /// The SOCKS5 proxy accepts none of the offered authentication methods (RFC 1928 §3:
    /// `X'FF'`); without credentials, it may want a user name and password.
    #[error("the SOCKS5 proxy accepts none of the offered authentication methods")]
    SocksNoAcceptableMethod,
    /// The SOCKS5 proxy refused the user name and password (RFC 1929 §2).
    #[error("the SOCKS5 proxy refused the user name and password (status {0})")]
    SocksAuthFailed(u8),
    /// The proxy broke its protocol: a wrong version byte, an unknown address type, a
    /// method it was not offered, bytes after an HTTP CONNECT's 2xx before ours.
    #[error("the proxy broke its protocol: {0}")]
    Malformed(&'static str),
    /// The proxy closed the connection mid-exchange.
    #[error("the proxy closed the connection during its exchange")]
    Closed,
    /// A name, user name or password is longer than SOCKS5 can carry (255 bytes; the
    /// caller's fault).
    #[error("{0} is longer than 255 bytes, too long for SOCKS5")]
    TargetTooLong(&'static str),
}

impl ProxyError {
    /// Who is at fault: the caller for an unusable URL or a name too long for SOCKS5, a
    /// [`Refusal`](Fault::Refusal) for the proxy's refusals (an HTTP status, a SOCKS5
    /// reply, credentials), the proxy as the peer for a broken or closed exchange.
    pub fn fault(&self) -> Fault {
        match self {
            Self::InvalidUrl(_) | Self::TargetTooLong(_) => Fault::Caller,
            Self::Refused { .. }
            | Self::Socks(_)
            | Self::SocksNoAcceptableMethod
            | Self::SocksAuthFailed(_) => Fault::Refusal,
            Self::Http1(_) | Self::Malformed(_) | Self::Closed => Fault::Peer,
        }
    }

    /// Whether the proxy asked for (other) credentials: HTTP 407 (RFC 9110 §15.5.8), or
    /// 401 — an answer to CONNECT comes from the proxy itself, and some proxies (tinyproxy)
    /// send 401 there — or a SOCKS5 proxy that refused the credentials or wants some.
    pub fn is_auth_required(&self) -> bool {
        match self {
            Self::Refused { status, .. } => matches!(
                *status,
                StatusCode::PROXY_AUTHENTICATION_REQUIRED | StatusCode::UNAUTHORIZED
            ),
            Self::SocksAuthFailed(_) | Self::SocksNoAcceptableMethod => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn proxy_urls_give_scheme_host_port_and_decoded_credentials() {
        let p = Proxy::parse("http://us%20er:p%3Ass@proxy.example:3128/").unwrap();
        assert_eq!(
            (p.scheme(), p.host(), p.port()),
            (ProxyScheme::Http, "proxy.example", 3128)
        );
        let auth = p.auth().unwrap();
        assert_eq!(
            (auth.username.as_str(), auth.password.as_str()),
            ("us er", "p:ss")
        );
        let p = Proxy::parse("SOCKS5://[::1]").unwrap();
        assert_eq!(
            (p.scheme(), p.host(), p.port()),
            (ProxyScheme::Socks5, "::1", 1080)
        );
        let p = Proxy::parse("127.0.0.1:8080").unwrap();
        assert_eq!(
            (p.scheme(), p.port(), p.auth()),
            (ProxyScheme::Http, 8080, None)
        );
        assert_eq!(
            Proxy::parse("socks5h://[::1]:9").unwrap().to_string(),
            "socks5h://[::1]:9"
        );
    }

    #[test]
    fn unusable_proxy_urls_are_the_callers_error() {
        for url in [
            "https://proxy:443",
            "socks4://proxy",
            "http://",
            "http://proxy:99999",
            "http://proxy/path",
            "http://a:%ff@proxy",
        ] {
            assert!(
                matches!(Proxy::parse(url), Err(ProxyError::InvalidUrl(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let p = Proxy::parse("http://alice:hunter2@proxy").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        assert!(!p.to_string().contains("alice"));
    }

    #[test]
    fn rules_pick_by_scheme_and_honour_no_proxy() {
        let target =
            |url: &str| Target::from_request(&http::Request::get(url).body(()).unwrap()).unwrap();
        let mut rules = ProxyRules {
            ws: Some(Proxy::parse("http://plain:1").unwrap()),
            wss: Some(Proxy::parse("http://secure:2").unwrap()),
            no_proxy: NoProxy::parse("internal.example"),
        };
        assert_eq!(
            rules.proxy_for(&target("ws://a.example/")).unwrap().host(),
            "plain"
        );
        assert_eq!(
            rules.proxy_for(&target("wss://a.example/")).unwrap().host(),
            "secure"
        );
        assert!(
            rules
                .proxy_for(&target("wss://db.internal.example/"))
                .is_none()
        );
        rules.ws = None;
        assert!(rules.proxy_for(&target("ws://a.example/")).is_none());
        assert!(ProxyRules::default().is_empty());
    }
}
