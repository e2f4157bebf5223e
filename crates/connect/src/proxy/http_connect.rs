//! The HTTP CONNECT exchange (RFC 9110 §9.3.6), with Basic authentication (RFC 7617).

use base64::Engine as _;
use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use wintergreen_http1::{Limits, ResponseReader};

use super::{Proxy, ProxyError};
use crate::error::ConnectError;
use crate::http1::{read_some, write_all};
use crate::target::Target;

/// The request: `CONNECT host:port HTTP/1.1` with `Host` and, given credentials,
/// `Proxy-Authorization: Basic …`.
fn request(proxy: &Proxy, target: &Target) -> Vec<u8> {
    let authority = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut out = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = proxy.auth() {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", auth.username, auth.password));
        out.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Asks the proxy on `io` for a tunnel to `target` and reads its answer (bounded by
/// [`Limits::default`]). A 2xx makes `io` the tunnel.
pub(super) async fn tunnel<IO>(
    io: &mut IO,
    proxy: &Proxy,
    target: &Target,
) -> Result<(), ConnectError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    write_all(io, &request(proxy, target)).await?;
    let mut reader = ResponseReader::new(Limits::default());
    let mut buf = BytesMut::new();
    let (response, rest) = loop {
        buf.clear();
        if read_some(io, &mut buf).await? == 0 {
            return Err(ProxyError::Closed.into());
        }
        if let Some(done) = reader.receive(&buf).map_err(ProxyError::Http1)? {
            break done;
        }
    };
    let status = response.status();
    if !status.is_success() {
        tracing::debug!(%status, "the HTTP proxy refused the tunnel");
        return Err(ProxyError::Refused {
            status,
            headers: Box::new(response.into_parts().0.headers),
        }
        .into());
    }
    // The target speaks only after we do (a TLS ClientHello, an HTTP request): bytes here
    // are the proxy's, and would corrupt the stream.
    if !rest.is_empty() {
        return Err(ProxyError::Malformed("bytes after the proxy's 2xx to CONNECT").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn target(url: &str) -> Target {
        Target::from_request(&http::Request::get(url).body(()).unwrap()).unwrap()
    }

    #[test]
    fn the_request_names_the_target_and_carries_basic_credentials() {
        let proxy = Proxy::parse("http://Aladdin:open%20sesame@proxy:3128").unwrap();
        let written = String::from_utf8(request(&proxy, &target("wss://[::1]:8443/x"))).unwrap();
        assert_eq!(
            written,
            "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\
             Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        let proxy = Proxy::parse("http://proxy:3128").unwrap();
        let written = String::from_utf8(request(&proxy, &target("ws://example.com/"))).unwrap();
        assert_eq!(
            written,
            "CONNECT example.com:80 HTTP/1.1\r\nHost: example.com:80\r\n\r\n"
        );
    }
}
