//! Where webhooks may go. A target is an `http` or `https` URL without
//! credentials; every address its host resolves to must be public, or inside
//! a network of `PILOTLEDGER_WEBHOOK_ALLOWED_NETWORKS`. Private (RFC 1918,
//! unique local), loopback, link-local (the cloud metadata service at
//! 169.254.169.254), carrier-grade NAT, unspecified, multicast and broadcast
//! addresses are refused, IPv4-mapped IPv6 addresses by their IPv4 form.
//!
//! The check runs when an endpoint is created and again on every delivery,
//! inside the client's resolver ([`GuardedResolver`]): the addresses checked
//! are the addresses connected to, so a name that later resolves elsewhere
//! (DNS rebinding) is refused too. Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the URL does not parse")]
    Malformed,
    #[error("only http and https URLs are allowed")]
    Scheme,
    #[error("the URL must not carry credentials")]
    Credentials,
    #[error("the host does not resolve")]
    Unresolved,
    #[error("the host resolves to {0}, a private, loopback or link-local address that is not allowed")]
    Forbidden(IpAddr),
}

/// Networks that private addresses must fall in to be allowed.
pub type Allowed = Vec<(IpAddr, u8)>;

fn v4_forbidden(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || a >= 240
}

/// Whether `ip` is an address webhooks must not reach by default.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_forbidden(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0)
        }
    }
}

fn in_network(ip: IpAddr, (net, len): (IpAddr, u8)) -> bool {
    let (ip, net, bits) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    let len = u32::from(len).min(bits);
    if len == 0 {
        return true;
    }
    let shift = bits - len;
    (ip >> shift) == (net >> shift)
}

/// Refuses `ip` when it is forbidden and in no allowed network.
pub fn check_address(ip: IpAddr, allowed: &Allowed) -> Result<(), TargetError> {
    if forbidden(ip) && !allowed.iter().any(|n| in_network(ip, *n)) {
        return Err(TargetError::Forbidden(ip));
    }
    Ok(())
}

/// Checks the URL's form: scheme, no credentials, a host. Returns the
/// `host:port` to resolve.
pub fn check_form(url: &str) -> Result<String, TargetError> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if url.contains("://") && !lower.starts_with("http://") && !lower.starts_with("https://") {
        return Err(TargetError::Scheme);
    }
    let uri: Uri = url.parse().map_err(|_| TargetError::Malformed)?;
    let port = match uri.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return Err(TargetError::Scheme),
    };
    let authority = uri.authority().ok_or(TargetError::Malformed)?;
    if authority.as_str().contains('@') {
        return Err(TargetError::Credentials);
    }
    let host = authority.host();
    if host.is_empty() {
        return Err(TargetError::Malformed);
    }
    Ok(format!("{host}:{}", authority.port_u16().unwrap_or(port)))
}

/// Checks a target before it is stored: its form, and every address its host
/// resolves to now.
pub fn check_target(url: &str, allowed: &Allowed) -> Result<(), TargetError> {
    let host_port = check_form(url)?;
    let addrs: Vec<SocketAddr> = host_port
        .to_socket_addrs()
        .map_err(|_| TargetError::Unresolved)?
        .collect();
    if addrs.is_empty() {
        return Err(TargetError::Unresolved);
    }
    addrs.iter().try_for_each(|a| check_address(a.ip(), allowed))
}

/// The client's resolver: the default one, then every address checked.
#[derive(Debug)]
pub struct GuardedResolver {
    pub allowed: Allowed,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = DefaultResolver::default().resolve(uri, config, timeout)?;
        for a in addrs.iter() {
            check_address(a.ip(), &self.allowed).map_err(|e| {
                ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::PermissionDenied, e.to_string()))
            })?;
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_loopback_and_link_local_are_refused_unless_allowed() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "255.255.255.255",
        ] {
            assert!(forbidden(ip(bad)), "{bad}");
        }
        for good in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "172.32.0.1"] {
            assert!(!forbidden(ip(good)), "{good}");
        }
        let allowed = vec![(ip("127.0.0.0"), 8)];
        assert_eq!(check_address(ip("127.0.0.1"), &allowed), Ok(()));
        assert_eq!(
            check_address(ip("169.254.169.254"), &allowed),
            Err(TargetError::Forbidden(ip("169.254.169.254")))
        );
        assert!(in_network(ip("::1"), (ip("::1"), 128)) && !in_network(ip("::2"), (ip("::1"), 128)));
    }

    #[test]
    fn only_http_and_https_without_credentials() {
        assert_eq!(
            check_form("https://hooks.example.com/x"),
            Ok("hooks.example.com:443".into())
        );
        assert_eq!(check_form("http://[::1]:9000/x"), Ok("[::1]:9000".into()));
        assert_eq!(check_form("ftp://example.com/"), Err(TargetError::Scheme));
        assert_eq!(check_form("file:///etc/passwd"), Err(TargetError::Scheme));
        assert_eq!(check_form("http://user:pw@example.com/"), Err(TargetError::Credentials));
        assert_eq!(check_form("not a url"), Err(TargetError::Malformed));
        assert_eq!(
            check_target("http://127.0.0.1:9/", &Vec::new()),
            Err(TargetError::Forbidden(ip("127.0.0.1")))
        );
    }
}
