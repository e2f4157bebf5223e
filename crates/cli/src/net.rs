//! Everything this command asks of the wintergreen library, in one place: building client
//! and server options from the flags, connecting, accepting over HTTP/1.1 and HTTP/2 (h2c or
//! TLS with ALPN), and turning the library's typed errors into one-line reasons. The other
//! modules see only the types re-exported here, so an API rename is an edit to this file.

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use tokio::net::TcpStream;
use wintergreen::tls::rustls;

pub(crate) use wintergreen::{CloseCode, ConnectError, Error as StreamError, Http2Mode, Message};

use crate::cli::{ConnectArgs, Http2Arg, ListenArgs};

/// A client connection, whatever the transport (TCP, TLS, an HTTP/2 stream).
pub(crate) type ClientStream = wintergreen::WebSocketStream<wintergreen::Transport>;

/// What a connection negotiated, for the logs.
#[derive(Debug, Clone)]
pub(crate) struct Negotiated {
    pub(crate) version: http::Version,
    pub(crate) protocol: Option<String>,
    pub(crate) extension: Option<String>,
}

/// A one-line reason for a failed connect, from the typed error.
pub(crate) fn connect_reason(err: &wintergreen::ConnectError) -> String {
    use wintergreen::{ConnectError as E, TimeoutKind, TlsError};
    match err {
        E::Refused { status, body, .. } => {
            let body = String::from_utf8_lossy(body);
            let body = body.trim();
            if body.is_empty() || body.len() > 120 || body.contains('\n') {
                format!("the server refused the WebSocket upgrade with status {status}")
            } else {
                format!("the server refused the WebSocket upgrade with status {status}: {body}")
            }
        }
        E::Resolve { host, port, source } => format!("cannot resolve {host}:{port}: {source}"),
        E::Tcp { addr, source } => format!("cannot connect to {addr}: {source}"),
        E::Timeout(TimeoutKind::Connect) => "timed out connecting (DNS and TCP)".to_owned(),
        E::Proxy(err) if err.is_auth_required() => {
            format!("the proxy wants (other) credentials: {err}")
        }
        E::Proxy(err) => format!("the proxy failed: {err}"),
        E::Timeout(kind) => format!("timed out during the {kind}"),
        E::Tls(TlsError::NameMismatch(_)) => {
            "TLS: the server's certificate does not match the host name".to_owned()
        }
        E::Tls(tls @ TlsError::UntrustedCertificate(cert)) => {
            use rustls::CertificateError as C;
            match cert {
                C::Expired | C::ExpiredContext { .. } => {
                    "TLS: the server's certificate has expired".to_owned()
                }
                C::UnknownIssuer => {
                    "TLS: the server's certificate is not trusted (unknown issuer; \
                     --ca FILE trusts its issuer)"
                        .to_owned()
                }
                // The library's words for the rest (a CA used as the server's own, ...).
                _ => tls.to_string(),
            }
        }
        E::Tls(tls) => format!("TLS failed: {tls}"),
        E::TlsUnavailable => "wss:// needs TLS, which this build lacks".to_owned(),
        E::Http2NotNegotiated => {
            "HTTP/2 was required, but the server did not pick h2 (try --http2 prefer)".to_owned()
        }
        E::Http2Unavailable => "HTTP/2 is not available in this build".to_owned(),
        E::Http2(err) => format!("HTTP/2 failed: {err}"),
        E::Handshake(err) => format!("the opening handshake failed: {err}"),
        E::Http1(err) => format!("the server's HTTP/1.1 answer is invalid: {err}"),
        E::InvalidRequest(err) => format!("invalid request: {err}"),
        E::Io(err) => format!("I/O error during the opening handshake: {err}"),
        other => other.to_string(),
    }
}

/// A one-line reason for a failed accept, from the typed error: the server's side of
/// [`connect_reason`], which words what the server got wrong. Here the peer is the client.
pub(crate) fn accept_reason(err: &wintergreen::ConnectError) -> String {
    use wintergreen::ConnectError as E;
    match err {
        E::Http1(err) => format!("the client's HTTP/1.1 request is invalid: {err}"),
        E::Tls(tls) => format!("TLS failed: {tls}"),
        E::Http2(err) => format!("HTTP/2 failed: {err}"),
        E::Handshake(err) => format!("the opening handshake failed: {err}"),
        E::Timeout(kind) => format!("timed out during the {kind}"),
        E::Io(err) => format!("I/O error during the opening handshake: {err}"),
        other => other.to_string(),
    }
}

/// The client options the flags ask for.
pub(crate) fn client_options(args: &ConnectArgs) -> anyhow::Result<wintergreen::ClientOptions> {
    // `ClientOptions` is a plain struct of documented defaults, grouped by layer.
    let mut options = wintergreen::client_options();
    if let Some(proxy) = &args.proxy {
        let proxy =
            wintergreen::proxy::Proxy::parse(proxy).map_err(|err| anyhow!("--proxy: {err}"))?;
        options.connect.proxy = wintergreen::proxy::ProxyRules::all(proxy);
    }
    options.connect.http2 = match args.http2 {
        None => wintergreen::Http2Mode::Off,
        Some(Http2Arg::Prefer) => wintergreen::Http2Mode::Prefer,
        Some(Http2Arg::Require) => wintergreen::Http2Mode::Require,
    };
    // Without `--timeout`, the library's defaults: one owner of those figures.
    if let Some(secs) = args.timeout {
        options.connect.connect_timeout = Duration::from_secs(secs);
        options.connect.handshake_timeout = Duration::from_secs(secs);
    }
    options.session.close_timeout = Duration::from_secs(5);
    if args.no_deflate {
        options.handshake.extensions.clear();
    }
    options
        .handshake
        .subprotocols
        .extend(args.protocol.iter().cloned());
    for header in &args.header {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| anyhow!("--header {header:?}: expected 'Name: value'"))?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes())
            .with_context(|| format!("--header {header:?}: invalid header name"))?;
        let value = http::HeaderValue::from_str(value.trim())
            .with_context(|| format!("--header {header:?}: invalid header value"))?;
        options.handshake.headers.append(name, value);
    }
    if args.insecure {
        options.connect.tls = Some(Arc::new(insecure_tls_config()?));
    } else if let Some(ca) = &args.ca {
        options.connect.tls = Some(Arc::new(ca_tls_config(ca)?));
    }
    Ok(options)
}

/// Connects; on success, what was negotiated.
pub(crate) async fn connect(
    url: &str,
    options: &wintergreen::ClientOptions,
) -> Result<(ClientStream, Negotiated), wintergreen::ConnectError> {
    let (ws, response) = wintergreen::connect_with(url, options).await?;
    let negotiated = Negotiated::client(ws.get_ref().http_version(), &response, ws.session());
    Ok((ws, negotiated))
}

impl Negotiated {
    /// A client's view: the server's answer and the session it made.
    fn client(
        version: http::Version,
        response: &http::Response<()>,
        session: &wintergreen::codec::Session,
    ) -> Self {
        Self {
            version,
            protocol: response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            extension: session.extension().map(|e| e.name().to_owned()),
        }
    }
}

/// Opens WebSockets for a load test: each over its own connection, or (`shared`) all as
/// streams of one HTTP/2 connection (RFC 8441).
#[derive(Debug, Clone)]
pub(crate) enum Opener {
    Separate,
    Shared(wintergreen::http2::Http2Client),
}

impl Opener {
    pub(crate) async fn new(
        url: &str,
        options: &wintergreen::ClientOptions,
        shared: bool,
    ) -> Result<Self, wintergreen::ConnectError> {
        if shared {
            let client = wintergreen::tokio::http2::connect(url, options).await?;
            Ok(Self::Shared(client))
        } else {
            Ok(Self::Separate)
        }
    }

    /// One more WebSocket, with what it negotiated.
    pub(crate) async fn open(
        &self,
        url: &str,
        options: &wintergreen::ClientOptions,
    ) -> Result<(Box<dyn Connection>, Negotiated), wintergreen::ConnectError> {
        match self {
            Self::Separate => {
                let (ws, negotiated) = connect(url, options).await?;
                Ok((Box::new(ws), negotiated))
            }
            Self::Shared(client) => {
                let (ws, response) = wintergreen::http2::websocket(client, url, options).await?;
                let negotiated = Negotiated::client(http::Version::HTTP_2, &response, ws.session());
                Ok((Box::new(ws), negotiated))
            }
        }
    }
}

/// A rustls client configuration that trusts only the certificates in a PEM file; ALPN is
/// left to the connect path (h2 when HTTP/2 is asked for).
fn ca_tls_config(path: &Path) -> anyhow::Result<rustls::ClientConfig> {
    let context = || format!("--ca {}", path.display());
    let pem = fs::read(path).with_context(context)?;
    let roots = wintergreen::tls::root_store_from_pem(&pem).with_context(context)?;
    Ok(wintergreen::tls::client_config_trusting(roots)?)
}

/// The crypto provider the library picked for this build.
fn provider() -> anyhow::Result<Arc<rustls::crypto::CryptoProvider>> {
    Ok(wintergreen::tls::provider()?)
}

/// A rustls client configuration that accepts ANY certificate (`--insecure`).
fn insecure_tls_config() -> anyhow::Result<rustls::ClientConfig> {
    let provider = provider()?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    Ok(config)
}

/// `--insecure`: checks the handshake's signatures, never the certificate.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The server side: the options (with the TLS configuration for `--cert`/`--key`).
#[derive(Debug, Clone)]
pub(crate) struct Server {
    options: wintergreen::ServerOptions,
}

/// One accepted WebSocket: its stream (as `Stream` + `Sink` of messages), the request
/// path and what it negotiated.
pub(crate) struct Accepted {
    pub(crate) ws: Box<dyn Connection>,
    pub(crate) path: String,
    pub(crate) negotiated: Negotiated,
}

/// A WebSocket of any transport.
pub(crate) trait Connection:
    futures_util::Stream<Item = Result<Message, StreamError>>
    + futures_util::Sink<Message, Error = StreamError>
    + Unpin
    + Send
{
    /// The connection's counters so far.
    fn stats(&self) -> wintergreen::codec::Stats;
}

impl<IO> Connection for wintergreen::WebSocketStream<IO>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    fn stats(&self) -> wintergreen::codec::Stats {
        wintergreen::WebSocketStream::stats(self)
    }
}

impl Server {
    pub(crate) fn new(args: &ListenArgs) -> anyhow::Result<Self> {
        let mut builder = wintergreen::ServerBuilder::new().subprotocols(args.protocol.clone());
        if args.no_deflate {
            builder = builder.no_extensions();
        }
        let tls = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => Some(tls_server_config(cert, key)?),
            (None, None) => None,
            _ => bail!("--cert and --key go together"),
        };
        if let Some(config) = tls {
            builder = builder.tls(config);
        }
        Ok(Self {
            options: builder.build(),
        })
    }

    pub(crate) fn scheme(&self) -> &'static str {
        if self.options.accept.tls.is_some() {
            "wss"
        } else {
            "ws"
        }
    }

    /// Serves one TCP connection (the library tells HTTP/2 from HTTP/1.1, by ALPN over
    /// TLS, by the first bytes over TCP): calls `on_accept` for each WebSocket on it (one
    /// over HTTP/1.1, any number over HTTP/2), or with the reason a stream failed. Returns
    /// a one-line reason when the connection fails.
    pub(crate) async fn serve<F>(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        on_accept: F,
    ) -> Result<(), String>
    where
        F: Fn(Result<Accepted, String>),
    {
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().map_err(|err| format!("{peer}: {err}"))?;
        let tcp = wintergreen::stream::TcpStream::new(tcp, peer, local);
        let accepted = wintergreen::ServerBuilder::new()
            .options(self.options.clone())
            .accept_connection(tcp)
            .await
            .map_err(|err| accept_reason(&err))?;
        match accepted {
            wintergreen::AcceptedConnection::Http1(accepted) => {
                let (ws, request) = *accepted;
                let negotiated = self.negotiated(&request, http::Version::HTTP_11, ws.session());
                on_accept(Ok(Accepted {
                    ws: Box::new(ws),
                    path: request.uri().path().to_owned(),
                    negotiated,
                }));
            }
            wintergreen::AcceptedConnection::Http2(mut acceptor) => {
                while let Some(accepted) = acceptor.accept().await {
                    on_accept(match accepted {
                        Ok((ws, request)) => Ok(Accepted {
                            negotiated: self.negotiated(
                                &request,
                                http::Version::HTTP_2,
                                ws.session(),
                            ),
                            path: request.uri().path().to_owned(),
                            ws: Box::new(ws),
                        }),
                        Err(err) => Err(format!("HTTP/2 stream: {err}")),
                    });
                }
            }
            other => return Err(format!("unexpected connection: {other:?}")),
        }
        Ok(())
    }

    fn negotiated(
        &self,
        request: &http::Request<()>,
        version: http::Version,
        session: &wintergreen::codec::Session,
    ) -> Negotiated {
        // The policy's choice is deterministic: asking again names the subprotocol chosen.
        let protocol = self
            .options
            .handshake
            .policy
            .negotiate(request)
            .ok()
            .and_then(|negotiated| negotiated.subprotocol);
        Negotiated {
            version,
            protocol,
            extension: session.extension().map(|e| e.name().to_owned()),
        }
    }
}

/// A TLS server configuration from PEM files (the library lists ALPN `h2` and `http/1.1`
/// for it).
fn tls_server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("--cert {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("--cert {}: bad PEM", cert.display()))?;
    if certs.is_empty() {
        bail!("--cert {}: no certificate in the file", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("--key {}: no private key found", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider()?)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("--cert/--key")?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use wintergreen::{ConnectError as E, TimeoutKind};

    #[test]
    fn a_refusal_names_its_status_and_a_short_body() {
        let refused = |body: &'static str| E::Refused {
            status: http::StatusCode::FORBIDDEN,
            headers: Box::default(),
            body: bytes::Bytes::from_static(body.as_bytes()),
        };
        assert_eq!(
            connect_reason(&refused("go away")),
            "the server refused the WebSocket upgrade with status 403 Forbidden: go away"
        );
        // A body of many lines (an HTML page) stays out of the one line.
        let reason = connect_reason(&refused("<html>\n<body>no</body>\n</html>"));
        assert_eq!(
            reason,
            "the server refused the WebSocket upgrade with status 403 Forbidden"
        );
    }

    #[test]
    fn timeouts_name_the_step() {
        assert_eq!(
            connect_reason(&E::Timeout(TimeoutKind::Connect)),
            "timed out connecting (DNS and TCP)"
        );
        assert_eq!(
            connect_reason(&E::Timeout(TimeoutKind::Tls)),
            "timed out during the TLS handshake"
        );
        assert_eq!(
            connect_reason(&E::Timeout(TimeoutKind::Handshake)),
            "timed out during the opening handshake"
        );
    }

    #[test]
    fn certificate_faults_are_told_apart() {
        use rustls::CertificateError as C;
        // As the library sorts rustls's errors.
        let tls = |cert| {
            connect_reason(&E::Tls(wintergreen::TlsError::from(
                rustls::Error::InvalidCertificate(cert),
            )))
        };
        assert!(tls(C::UnknownIssuer).contains("not trusted"));
        assert!(tls(C::NotValidForName).contains("does not match the host name"));
        assert!(tls(C::Expired).contains("expired"));
    }

    #[test]
    fn a_bad_request_is_the_clients_fault_on_the_server() {
        let bad = E::Http1(wintergreen::http1::Error::UnexpectedEof);
        let reason = accept_reason(&bad);
        assert!(
            reason.starts_with("the client's HTTP/1.1 request"),
            "{reason}"
        );
        assert!(!reason.contains("server"), "{reason}");
    }

    #[test]
    fn every_reason_is_one_line() {
        let errors = [
            E::Tcp {
                addr: "127.0.0.1:1".parse().unwrap(),
                source: std::io::ErrorKind::ConnectionRefused.into(),
            },
            E::Http2NotNegotiated,
            E::TlsUnavailable,
            E::Io(std::io::ErrorKind::UnexpectedEof.into()),
        ];
        for err in &errors {
            let reason = connect_reason(err);
            assert!(!reason.contains('\n') && !reason.is_empty(), "{reason:?}");
        }
    }
}
