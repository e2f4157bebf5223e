//! The SOCKS5 exchange (RFC 1928) with username/password authentication (RFC 1929).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use wintergreen_stream::Runtime;

use super::{Proxy, ProxyError, ProxyScheme};
use crate::error::ConnectError;
use crate::http1::write_all;
use crate::target::Target;

const VERSION: u8 = 5;
/// RFC 1928 §3 methods.
const NO_AUTH: u8 = 0x00;
const USERNAME_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xff;
/// RFC 1929 §2: the subnegotiation's version.
const AUTH_VERSION: u8 = 1;
const CMD_CONNECT: u8 = 1;
/// RFC 1928 §5 address types.
const ATYP_V4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_V6: u8 = 4;

/// A SOCKS5 server's reply code other than success (RFC 1928 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocksReply {
    /// `X'01'` general SOCKS server failure.
    GeneralFailure,
    /// `X'02'` connection not allowed by ruleset.
    NotAllowed,
    /// `X'03'` network unreachable.
    NetworkUnreachable,
    /// `X'04'` host unreachable.
    HostUnreachable,
    /// `X'05'` connection refused (by the target).
    ConnectionRefused,
    /// `X'06'` TTL expired.
    TtlExpired,
    /// `X'07'` command not supported.
    CommandNotSupported,
    /// `X'08'` address type not supported.
    AddressTypeNotSupported,
    /// `X'09'` to `X'FF'`: unassigned.
    Other(u8),
}

impl SocksReply {
    /// The reply for a non-zero code.
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => Self::GeneralFailure,
            2 => Self::NotAllowed,
            3 => Self::NetworkUnreachable,
            4 => Self::HostUnreachable,
            5 => Self::ConnectionRefused,
            6 => Self::TtlExpired,
            7 => Self::CommandNotSupported,
            8 => Self::AddressTypeNotSupported,
            other => Self::Other(other),
        }
    }

    /// The code on the wire.
    pub fn code(self) -> u8 {
        match self {
            Self::GeneralFailure => 1,
            Self::NotAllowed => 2,
            Self::NetworkUnreachable => 3,
            Self::HostUnreachable => 4,
            Self::ConnectionRefused => 5,
            Self::TtlExpired => 6,
            Self::CommandNotSupported => 7,
            Self::AddressTypeNotSupported => 8,
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for SocksReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::GeneralFailure => "general SOCKS server failure",
            Self::NotAllowed => "connection not allowed by ruleset",
            Self::NetworkUnreachable => "network unreachable",
            Self::HostUnreachable => "host unreachable",
            Self::ConnectionRefused => "connection refused",
            Self::TtlExpired => "TTL expired",
            Self::CommandNotSupported => "command not supported",
            Self::AddressTypeNotSupported => "address type not supported",
            Self::Other(_) => "unassigned reply code",
        };
        write!(f, "{what} (X'{:02X}')", self.code())
    }
}

/// A length-prefixed field (RFC 1928 domain, RFC 1929 user name and password).
fn push_short(out: &mut Vec<u8>, field: &str, what: &'static str) -> Result<(), ProxyError> {
    let len = u8::try_from(field.len()).map_err(|_| ProxyError::TargetTooLong(what))?;
    out.push(len);
    out.extend_from_slice(field.as_bytes());
    Ok(())
}

/// The CONNECT request's DST.ADDR: an IP literal as such; a name resolved here for
/// `socks5://`, sent as a name for `socks5h://`.
async fn address(
    runtime: &Arc<dyn Runtime>,
    scheme: ProxyScheme,
    target: &Target,
) -> Result<Vec<u8>, ConnectError> {
    let ip = match target.host.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) if scheme == ProxyScheme::Socks5 => {
            let resolved = runtime.resolve(target.host.clone(), target.port).await;
            let addrs = resolved.map_err(|source| ConnectError::Resolve {
                host: target.host.clone(),
                port: target.port,
                source,
            })?;
            let first = addrs.first().map(SocketAddr::ip);
            Some(first.ok_or_else(|| ConnectError::Resolve {
                host: target.host.clone(),
                port: target.port,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address found"),
            })?)
        }
        Err(_) => None,
    };
    let mut out = Vec::with_capacity(target.host.len() + 4);
    match ip {
        Some(IpAddr::V4(v4)) => {
            out.push(ATYP_V4);
            out.extend_from_slice(&v4.octets());
        }
        Some(IpAddr::V6(v6)) => {
            out.push(ATYP_V6);
            out.extend_from_slice(&v6.octets());
        }
        None => {
            out.push(ATYP_DOMAIN);
            push_short(&mut out, &target.host, "the target's host name")?;
        }
    }
    out.extend_from_slice(&target.port.to_be_bytes());
    Ok(out)
}

async fn read<IO: AsyncRead + Unpin, const N: usize>(io: &mut IO) -> Result<[u8; N], ConnectError> {
    let mut buf = [0; N];
    match io.read_exact(&mut buf).await {
        Ok(_) => Ok(buf),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(ProxyError::Closed.into())
        }
        Err(err) => Err(err.into()),
    }
}

/// Runs the SOCKS5 exchange on `io` so that it becomes a tunnel to `target`.
pub(super) async fn tunnel<IO>(
    io: &mut IO,
    runtime: &Arc<dyn Runtime>,
    proxy: &Proxy,
    target: &Target,
) -> Result<(), ConnectError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    // Built before a byte is sent: a name too long is the caller's error, found at once.
    let dst = address(runtime, proxy.scheme(), target).await?;
    let auth = match proxy.auth() {
        Some(auth) => {
            let mut out = vec![AUTH_VERSION];
            push_short(&mut out, &auth.username, "the proxy user name")?;
            push_short(&mut out, &auth.password, "the proxy password")?;
            Some(out)
        }
        None => None,
    };

    // RFC 1928 §3: the methods we can do.
    let greeting: &[u8] = if auth.is_some() {
        &[VERSION, 2, NO_AUTH, USERNAME_PASSWORD]
    } else {
        &[VERSION, 1, NO_AUTH]
    };
    write_all(io, greeting).await?;
    let [version, method] = read::<_, 2>(io).await?;
    if version != VERSION {
        return Err(
            ProxyError::Malformed("the SOCKS version of the method choice is not 5").into(),
        );
    }
    match (method, &auth) {
        (NO_AUTH, _) => {}
        (USERNAME_PASSWORD, Some(auth)) => {
            // RFC 1929 §2.
            write_all(io, auth).await?;
            let [version, status] = read::<_, 2>(io).await?;
            if version != AUTH_VERSION {
                return Err(ProxyError::Malformed(
                    "the username/password reply's version is not 1",
                )
                .into());
            }
            if status != 0 {
                return Err(ProxyError::SocksAuthFailed(status).into());
            }
        }
        (NO_ACCEPTABLE, _) => return Err(ProxyError::SocksNoAcceptableMethod.into()),
        _ => {
            return Err(
                ProxyError::Malformed("the SOCKS5 proxy chose a method not offered").into(),
            );
        }
    }

    // RFC 1928 §4: CONNECT.
    let mut request = vec![VERSION, CMD_CONNECT, 0];
    request.extend_from_slice(&dst);
    write_all(io, &request).await?;
    // RFC 1928 §6: VER REP RSV ATYP BND.ADDR BND.PORT.
    let [version, reply, _reserved, atyp] = read::<_, 4>(io).await?;
    if version != VERSION {
        return Err(ProxyError::Malformed("the SOCKS version of the reply is not 5").into());
    }
    if reply != 0 {
        return Err(ProxyError::Socks(SocksReply::from_code(reply)).into());
    }
    // BND.ADDR and BND.PORT are read and dropped: the tunnel starts after them.
    match atyp {
        ATYP_V4 => drop(read::<_, { 4 + 2 }>(io).await?),
        ATYP_V6 => drop(read::<_, { 16 + 2 }>(io).await?),
        ATYP_DOMAIN => {
            let [len] = read::<_, 1>(io).await?;
            let mut rest = vec![0; usize::from(len) + 2];
            io.read_exact(&mut rest)
                .await
                .map_err(|err| match err.kind() {
                    std::io::ErrorKind::UnexpectedEof => ProxyError::Closed.into(),
                    _ => ConnectError::Io(err),
                })?;
        }
        _ => return Err(ProxyError::Malformed("unknown address type in the SOCKS5 reply").into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_round_trip_and_name_rfc_1928() {
        for code in 1..=255u8 {
            assert_eq!(SocksReply::from_code(code).code(), code);
        }
        assert_eq!(SocksReply::from_code(5), SocksReply::ConnectionRefused);
        assert!(SocksReply::from_code(2).to_string().contains("ruleset"));
    }

    #[test]
    fn fields_longer_than_255_bytes_are_refused() {
        let mut out = Vec::new();
        assert!(push_short(&mut out, &"a".repeat(255), "x").is_ok());
        assert!(matches!(
            push_short(&mut out, &"a".repeat(256), "x"),
            Err(ProxyError::TargetTooLong("x"))
        ));
    }
}
