//! TLS (feature `rustls`), one path for every runtime and both roles: the crypto
//! provider, root certificates, ALPN, the server name, and the handshakes themselves
//! (tokio-rustls, which needs only the tokio-io traits that every runtime's socket speaks).
//!
//! Crypto provider ([`provider`]): rustls's process-wide default if one was installed
//! (`CryptoProvider::install_default`), else `aws-lc-rs` with that feature, else `ring`
//! with that feature (the facade's default).
//!
//! Roots: with the `webpki-roots` feature, Mozilla's root store (webpki-roots); with
//! `native-roots`, the operating system's store (rustls-native-certs); with both, their
//! union. A custom root store or a whole [`rustls::ClientConfig`] goes into
//! [`ConnectOptions::tls`](crate::ConnectOptions::tls): for a private CA,
//! [`root_store_from_pem`] and [`client_config_trusting`].
//!
//! Servers: a [`rustls::ServerConfig`] goes into
//! [`AcceptOptions::tls`](crate::AcceptOptions::tls); [`server_config`] fills in its ALPN
//! list when it has none, and [`accept`] runs the server handshake.
//!
//! Errors are typed by what an application acts on ([`TlsError`]): an untrusted
//! certificate, a name mismatch, any other handshake failure, I/O. There is no OpenSSL.

use std::sync::{Arc, OnceLock};

pub use rustls;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use tokio_rustls::client::TlsStream;
use wintergreen_stream::TcpStream;

use crate::error::{ConnectError, TlsError};

/// The ALPN protocol id of HTTP/2.
pub const ALPN_H2: &[u8] = b"h2";
/// The ALPN protocol id of HTTP/1.1.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The ALPN list a WebSocket client offers: `["h2", "http/1.1"]` when it may use HTTP/2,
/// `["http/1.1"]` otherwise.
pub fn alpn_protocols(http2: bool) -> Vec<Vec<u8>> {
    if http2 {
        vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()]
    } else {
        vec![ALPN_HTTP11.to_vec()]
    }
}

/// The root certificates the enabled features provide (see the module docs).
///
/// # Errors
/// [`TlsError::Config`] when no root source is enabled or none of them yields a
/// certificate.
pub fn default_root_store() -> Result<RootCertStore, TlsError> {
    #[allow(unused_mut)]
    let mut roots = RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    {
        let native = rustls_native_certs::load_native_certs();
        for err in &native.errors {
            tracing::warn!(%err, "loading a native root certificate failed");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "native root certificates loaded");
    }
    if roots.is_empty() {
        return Err(TlsError::Config(std::sync::Arc::new(
            std::io::Error::other(
                "no root certificates: enable webpki-roots or native roots, or set ConnectOptions::tls",
            ),
        )));
    }
    Ok(roots)
}

/// The crypto provider wintergreen's TLS configurations are built on: rustls's
/// process-wide default if the application installed one, else `aws-lc-rs` (feature
/// `aws-lc-rs`), else `ring` (feature `ring`).
///
/// # Errors
/// [`TlsError::Config`] when no provider feature is on and none was installed.
pub fn provider() -> Result<Arc<CryptoProvider>, TlsError> {
    if let Some(installed) = CryptoProvider::get_default() {
        return Ok(Arc::clone(installed));
    }
    #[cfg(feature = "aws-lc-rs")]
    return Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    return Ok(Arc::new(rustls::crypto::ring::default_provider()));
    #[allow(unreachable_code)]
    Err(TlsError::Config(Arc::new(std::io::Error::other(
        "no TLS crypto provider: enable the ring or aws-lc-rs feature, \
         or install one with CryptoProvider::install_default",
    ))))
}

/// A client configuration on [`provider`] that trusts `roots` and offers
/// [`alpn_protocols`]`(http2)`.
///
/// # Errors
/// [`TlsError::Config`] without a provider, or if it refuses the default protocol
/// versions.
pub fn client_config_with_roots(
    roots: RootCertStore,
    http2: bool,
) -> Result<ClientConfig, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider()?)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::config)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn_protocols(http2);
    Ok(config)
}

/// The certificates of the `CERTIFICATE` blocks of a PEM file (RFC 7468), as roots to
/// trust: a private CA, or a self-signed server certificate (made with
/// `basicConstraints=CA:FALSE`; a certificate made as a CA is refused when a server
/// presents it as its own). Other blocks (a private key, say) are skipped.
///
/// # Errors
/// [`TlsError::Config`] for malformed PEM, a certificate that does not parse, or no
/// certificate at all.
pub fn root_store_from_pem(pem: &[u8]) -> Result<RootCertStore, TlsError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots
            .add(cert.map_err(TlsError::config)?)
            .map_err(TlsError::config)?;
    }
    if roots.is_empty() {
        return Err(TlsError::config(std::io::Error::other(
            "no CERTIFICATE block in the PEM data",
        )));
    }
    Ok(roots)
}

/// A client configuration on [`provider`] that trusts only `roots` and leaves ALPN to the
/// connect path, which offers `h2` exactly when the connect's HTTP/2 mode asks for it (see
/// [`client_config`]): the one to put in [`ConnectOptions::tls`](crate::ConnectOptions::tls)
/// for a private CA.
///
/// # Errors
/// As [`client_config_with_roots`].
pub fn client_config_trusting(roots: RootCertStore) -> Result<ClientConfig, TlsError> {
    let mut config = client_config_with_roots(roots, false)?;
    config.alpn_protocols.clear();
    Ok(config)
}

/// For a connect that must speak HTTP/2 over TLS ([`Http2Mode::Require`](crate::Http2Mode::Require)
/// or a shared HTTP/2 connection): a custom configuration whose ALPN list leaves `h2` out
/// can never get it. This says so before connecting, as the caller's error, where the
/// server's answer would read as the server's doing
/// ([`ConnectError::Http2NotNegotiated`]).
///
/// # Errors
/// [`TlsError::Config`] naming the list.
pub(crate) fn ensure_h2_offered(custom: Option<&Arc<ClientConfig>>) -> Result<(), TlsError> {
    let Some(config) = custom else {
        return Ok(());
    };
    let offered = &config.alpn_protocols;
    if offered.is_empty() || offered.iter().any(|p| p == ALPN_H2) {
        return Ok(());
    }
    let list: Vec<_> = offered.iter().map(|p| String::from_utf8_lossy(p)).collect();
    Err(TlsError::config(std::io::Error::other(format!(
        "HTTP/2 is required, but the TLS configuration's ALPN list {list:?} does not offer h2 \
         (add it, or leave the list empty and the connect path offers what the HTTP/2 mode asks for)"
    ))))
}

/// The configuration a connect uses: `custom` (from [`ConnectOptions::tls`](crate::ConnectOptions::tls))
/// if given — with [`alpn_protocols`] filled in when it offers none — or else a cached
/// default built from [`default_root_store`].
///
/// # Errors
/// As [`default_root_store`].
pub fn client_config(
    custom: Option<&Arc<ClientConfig>>,
    http2: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    if let Some(custom) = custom {
        if !custom.alpn_protocols.is_empty() {
            return Ok(Arc::clone(custom));
        }
        let mut config = ClientConfig::clone(custom);
        config.alpn_protocols = alpn_protocols(http2);
        return Ok(Arc::new(config));
    }
    static HTTP1: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    static HTTP2: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let cell = if http2 { &HTTP2 } else { &HTTP1 };
    if let Some(config) = cell.get() {
        return Ok(Arc::clone(config));
    }
    let config = Arc::new(client_config_with_roots(default_root_store()?, http2)?);
    Ok(Arc::clone(cell.get_or_init(|| config)))
}

/// The TLS server name (SNI, and the name the certificate must match) for a URL host: a
/// DNS name or an IP address.
///
/// # Errors
/// [`ConnectError::InvalidRequest`] (with rustls's typed error) for a host that is neither.
pub fn server_name(host: &str) -> Result<ServerName<'static>, ConnectError> {
    ServerName::try_from(host.to_owned()).map_err(ConnectError::invalid_request)
}

/// Runs the TLS handshake over `tcp` with `config`, for `host` (SNI and the certificate's
/// name). Failures arrive typed: [`TlsError::UntrustedCertificate`],
/// [`TlsError::NameMismatch`], [`TlsError::Handshake`], [`TlsError::Io`].
///
/// # Errors
/// [`ConnectError::InvalidRequest`] for a host that is no server name, [`ConnectError::Tls`].
pub async fn handshake(
    tcp: TcpStream,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<TlsStream<TcpStream>, ConnectError> {
    let name = server_name(host)?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(handshake_error)?;
    tracing::debug!(
        host,
        alpn = ?tls.get_ref().1.alpn_protocol().map(String::from_utf8_lossy),
        "TLS established"
    );
    Ok(tls)
}

/// tokio-rustls reports rustls's errors inside `io::Error`; take them back out and sort
/// them ([`TlsError::from`]).
fn handshake_error(err: std::io::Error) -> TlsError {
    if err
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
    {
        if let Some(inner) = err.into_inner() {
            return match inner.downcast::<rustls::Error>() {
                Ok(rustls) => TlsError::from(*rustls),
                Err(other) => TlsError::Io(std::io::Error::other(other)),
            };
        }
        return TlsError::Io(std::io::ErrorKind::Other.into());
    }
    TlsError::Io(err)
}

/// The ALPN list a WebSocket server offers: `["h2", "http/1.1"]` with the `http2`
/// feature (one port serves both, see [`serve`](crate::serve)), `["http/1.1"]` without.
pub fn server_alpn_protocols() -> Vec<Vec<u8>> {
    alpn_protocols(cfg!(feature = "http2"))
}

/// The configuration a TLS server uses: `config` as given when it lists ALPN protocols,
/// else a copy listing [`server_alpn_protocols`] (so that an HTTP/2 client can pick `h2`).
pub fn server_config(config: &Arc<ServerConfig>) -> Arc<ServerConfig> {
    if !config.alpn_protocols.is_empty() {
        return Arc::clone(config);
    }
    let mut config = ServerConfig::clone(config);
    config.alpn_protocols = server_alpn_protocols();
    Arc::new(config)
}

/// Runs the server side of the TLS handshake over `io` with `config` (unbounded: the
/// caller bounds it, as [`accept_connection`](crate::accept_connection) does with the
/// handshake timeout). Failures arrive typed, as for the client.
///
/// # Errors
/// [`ConnectError::Tls`].
pub async fn accept<IO>(
    io: IO,
    config: Arc<ServerConfig>,
) -> Result<tokio_rustls::server::TlsStream<IO>, ConnectError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let tls = tokio_rustls::TlsAcceptor::from(config)
        .accept(io)
        .await
        .map_err(handshake_error)?;
    tracing::debug!(
        alpn = ?tls.get_ref().1.alpn_protocol().map(String::from_utf8_lossy),
        sni = ?tls.get_ref().1.server_name(),
        "TLS accepted"
    );
    Ok(tls)
}

/// Whether the TLS handshake chose HTTP/2 through ALPN.
pub fn negotiated_h2(alpn: Option<&[u8]>) -> bool {
    alpn == Some(ALPN_H2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_offers_h2_only_with_http2() {
        assert_eq!(
            alpn_protocols(true),
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert_eq!(alpn_protocols(false), vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_custom_config_gets_alpn_when_it_has_none() -> Result<(), TlsError> {
        let custom = Arc::new(client_config_with_roots(RootCertStore::empty(), false)?);
        let mut bare = ClientConfig::clone(&custom);
        bare.alpn_protocols.clear();
        let config = client_config(Some(&Arc::new(bare)), true)?;
        assert_eq!(config.alpn_protocols, alpn_protocols(true));
        let kept = client_config(Some(&custom), true)?;
        assert_eq!(kept.alpn_protocols, alpn_protocols(false));
        Ok(())
    }

    #[test]
    fn a_pem_file_gives_its_certificates_and_only_them() {
        #![allow(clippy::unwrap_used)]
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let pem = format!("{}{}", ca.signing_key.serialize_pem(), ca.cert.pem());
        assert_eq!(root_store_from_pem(pem.as_bytes()).unwrap().len(), 1);
        let none = root_store_from_pem(ca.signing_key.serialize_pem().as_bytes()).unwrap_err();
        assert!(none.to_string().contains("no CERTIFICATE block"), "{none}");
        let broken = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            root_store_from_pem(broken.as_bytes()),
            Err(TlsError::Config(_))
        ));
        let config = client_config_trusting(root_store_from_pem(pem.as_bytes()).unwrap()).unwrap();
        assert!(
            config.alpn_protocols.is_empty(),
            "ALPN is the connect path's"
        );
    }

    /// A configuration that lists ALPN without `h2` cannot get HTTP/2: the caller hears so
    /// before any connection is made; an empty list (filled in per mode) or one with `h2`
    /// passes.
    #[test]
    fn requiring_h2_with_an_alpn_list_without_it_is_the_callers_error() -> Result<(), TlsError> {
        let http1_only = Arc::new(client_config_with_roots(RootCertStore::empty(), false)?);
        let err = ensure_h2_offered(Some(&http1_only)).unwrap_err();
        assert!(matches!(err, TlsError::Config(_)));
        assert!(err.to_string().contains("does not offer h2"), "{err}");
        let with_h2 = Arc::new(client_config_with_roots(RootCertStore::empty(), true)?);
        assert!(ensure_h2_offered(Some(&with_h2)).is_ok());
        let empty = Arc::new(client_config_trusting(RootCertStore::empty())?);
        assert!(ensure_h2_offered(Some(&empty)).is_ok());
        assert!(ensure_h2_offered(None).is_ok());
        Ok(())
    }

    /// rustls reports a CA certificate used as a server's own only as an opaque `Other`;
    /// the message says what it is and what to do.
    #[test]
    fn untrusted_certificates_are_explained() {
        use rustls::{CertificateError, OtherError};
        let ca_as_leaf = TlsError::UntrustedCertificate(CertificateError::Other(OtherError(
            Arc::new(webpki::Error::CaUsedAsEndEntity),
        )));
        assert!(ca_as_leaf.to_string().contains("CA:FALSE"), "{ca_as_leaf}");
        let unknown = TlsError::UntrustedCertificate(CertificateError::UnknownIssuer);
        assert!(
            unknown.to_string().contains("not among the trusted roots"),
            "{unknown}"
        );
        let revoked = TlsError::UntrustedCertificate(CertificateError::Revoked);
        assert!(revoked.to_string().ends_with("Revoked"), "{revoked}");
    }

    #[test]
    fn server_names_are_dns_names_or_ip_addresses() {
        assert!(server_name("example.com").is_ok());
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("::1").is_ok());
        assert!(server_name("not a host").is_err());
    }

    #[test]
    fn only_h2_counts_as_h2() {
        assert!(negotiated_h2(Some(b"h2")));
        assert!(!negotiated_h2(Some(b"http/1.1")));
        assert!(!negotiated_h2(None));
    }
}
