//! The proxy environment variables, read as curl and reqwest read them, and [`NoProxy`].

use std::net::IpAddr;

use super::{Proxy, ProxyError, ProxyRules};

/// The first set, non-empty variable of `names`, in order.
fn first(lookup: &impl Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|name| lookup(name))
        .find(|value| !value.trim().is_empty())
}

pub(super) fn rules(lookup: impl Fn(&str) -> Option<String>) -> Result<ProxyRules, ProxyError> {
    // httpoxy: in a CGI program, HTTP_PROXY comes from the request's `Proxy` header.
    let cgi = lookup("REQUEST_METHOD").is_some();
    let http_names: &[&str] = if cgi {
        &["http_proxy"]
    } else {
        &["http_proxy", "HTTP_PROXY"]
    };
    let all = first(&lookup, &["all_proxy", "ALL_PROXY"]);
    let parse = |value: Option<String>| value.as_deref().map(Proxy::parse).transpose();
    Ok(ProxyRules {
        ws: parse(first(&lookup, http_names).or_else(|| all.clone()))?,
        wss: parse(first(&lookup, &["https_proxy", "HTTPS_PROXY"]).or(all))?,
        no_proxy: first(&lookup, &["no_proxy", "NO_PROXY"])
            .map(|value| NoProxy::parse(&value))
            .unwrap_or_default(),
    })
}

/// The targets that bypass a proxy (`NO_PROXY`), with curl's conventions: a list separated
/// by commas (or white space) of
/// - `*` alone: every target;
/// - a host name: that host and every name under it (`example.com` and `.example.com`
///   both match `example.com` and `api.example.com`, not `badexample.com`),
///   case-insensitively, a trailing dot ignored;
/// - an IP address (IPv6 with or without brackets): exactly that address;
/// - an IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`);
/// - any of these with `:port`: only targets on that port.
///
/// Entries that are none of these are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    All,
    /// A lower-case domain without leading or trailing dots.
    Domain(String),
    Network(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    pattern: Pattern,
    port: Option<u16>,
}

impl NoProxy {
    /// Parses a `NO_PROXY` value (see the type's docs).
    pub fn parse(list: &str) -> Self {
        let entries = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .filter_map(parse_entry)
            .collect();
        Self { entries }
    }

    /// Whether a target at `host` (a name or an IP address, without brackets) and `port`
    /// bypasses the proxy.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let ip: Option<IpAddr> = host.parse().ok();
        self.entries.iter().any(|entry| {
            entry.port.is_none_or(|p| p == port)
                && match &entry.pattern {
                    Pattern::All => true,
                    Pattern::Network(net, bits) => ip.is_some_and(|ip| in_network(ip, *net, *bits)),
                    Pattern::Domain(domain) => {
                        ip.is_none()
                            && (host == *domain
                                || host
                                    .strip_suffix(domain.as_str())
                                    .is_some_and(|rest| rest.ends_with('.')))
                    }
                }
        })
    }
}

fn parse_entry(entry: &str) -> Option<Entry> {
    if entry == "*" {
        return Some(Entry {
            pattern: Pattern::All,
            port: None,
        });
    }
    // `[v6]:port`, `[v6]`, `v4:port`, `name:port`, or a bare IPv6 address (several colons).
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (host, port)
    } else {
        match entry.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port.parse().ok()?)),
            _ => (entry, None),
        }
    };
    let pattern = if let Some((addr, bits)) = host.split_once('/') {
        let addr: IpAddr = addr.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Pattern::Network(addr, bits))?
    } else if let Ok(addr) = host.parse::<IpAddr>() {
        Pattern::Network(addr, if addr.is_ipv4() { 32 } else { 128 })
    } else {
        let domain = host.trim_start_matches('.').trim_end_matches('.');
        if domain.is_empty() {
            return None;
        }
        Pattern::Domain(domain.to_ascii_lowercase())
    };
    Some(Entry { pattern, port })
}

/// Whether `ip` lies in `net/bits` (an IPv4-mapped IPv6 address counts as IPv4).
fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<ProxyRules, ProxyError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        rules(|name| vars.get(name).cloned())
    }

    fn host(proxy: Option<&Proxy>) -> Option<&str> {
        proxy.map(Proxy::host)
    }

    #[test]
    fn https_proxy_is_for_wss_and_http_proxy_for_ws() {
        let rules = env(&[("HTTPS_PROXY", "http://s:1"), ("http_proxy", "http://p:2")]).unwrap();
        assert_eq!(host(rules.wss.as_ref()), Some("s"));
        assert_eq!(host(rules.ws.as_ref()), Some("p"));
    }

    #[test]
    fn lower_case_wins_and_empty_counts_as_unset() {
        let rules = env(&[
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:1"),
            ("http_proxy", ""),
            ("HTTP_PROXY", "http://upper:2"),
        ])
        .unwrap();
        assert_eq!(host(rules.wss.as_ref()), Some("lower"));
        assert_eq!(host(rules.ws.as_ref()), Some("upper"));
    }

    #[test]
    fn all_proxy_is_the_fallback_for_both() {
        let rules = env(&[
            ("ALL_PROXY", "socks5h://all:1"),
            ("https_proxy", "http://s:1"),
        ])
        .unwrap();
        assert_eq!(host(rules.ws.as_ref()), Some("all"));
        assert_eq!(host(rules.wss.as_ref()), Some("s"));
        assert!(env(&[]).unwrap().is_empty());
    }

    #[test]
    fn upper_case_http_proxy_is_ignored_under_cgi() {
        let rules = env(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")]).unwrap();
        assert!(rules.ws.is_none());
        let rules = env(&[("REQUEST_METHOD", "GET"), ("http_proxy", "http://ok:1")]).unwrap();
        assert_eq!(host(rules.ws.as_ref()), Some("ok"));
    }

    #[test]
    fn a_bad_proxy_url_in_the_environment_is_an_error() {
        assert!(matches!(
            env(&[("https_proxy", "ftp://x")]),
            Err(ProxyError::InvalidUrl(_))
        ));
    }

    #[test]
    fn no_proxy_matches_domains_on_label_boundaries() {
        let no = NoProxy::parse("example.com, .internal ,LOCALHOST");
        assert!(no.matches("example.com", 443));
        assert!(no.matches("api.Example.com.", 443));
        assert!(!no.matches("badexample.com", 443));
        assert!(no.matches("internal", 80));
        assert!(no.matches("db.internal", 80));
        assert!(no.matches("localhost", 80));
        assert!(!no.matches("127.0.0.1", 80));
    }

    #[test]
    fn no_proxy_star_matches_everything() {
        assert!(NoProxy::parse("*").matches("anything", 1));
        assert!(!NoProxy::parse("").matches("anything", 1));
    }

    #[test]
    fn no_proxy_matches_ips_networks_and_ports() {
        let no = NoProxy::parse("127.0.0.1,10.0.0.0/8,[::1]:8443,fd00::/8,host:9000");
        assert!(no.matches("127.0.0.1", 1));
        assert!(!no.matches("127.0.0.2", 1));
        assert!(no.matches("10.200.3.4", 1));
        assert!(no.matches("::ffff:10.1.1.1", 1));
        assert!(no.matches("::1", 8443));
        assert!(!no.matches("::1", 443));
        assert!(no.matches("fd12::1", 1));
        assert!(no.matches("host", 9000));
        assert!(!no.matches("host", 9001));
        assert!(NoProxy::parse("0.0.0.0/0").matches("192.0.2.1", 1));
        assert!(NoProxy::parse("::1").matches("::1", 1));
    }

    #[test]
    fn malformed_no_proxy_entries_are_ignored() {
        let no = NoProxy::parse("10.0.0.0/99,[::1,host:port,.,example.org");
        assert_eq!(no.entries.len(), 1);
        assert!(no.matches("example.org", 1));
    }
}
