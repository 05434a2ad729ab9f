//! Where Provisio may send requests: applications' SCIM endpoints (Test Connection, cycles,
//! provision on demand) and the SMTP server. A console session that was taken over must not be able
//! to point those requests, with their tokens, at the cloud's metadata service or other link-local
//! addresses, so they are refused by default; private ranges are allowed by default because
//! self-hosted applications live there (`--outbound-addresses public` refuses them too).
//!
//! Names are checked as they resolve (a resolver for the HTTP client; SMTP hosts before they are
//! dialled) and literal addresses where a request is sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;

/// Which destinations outbound requests may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AddressPolicy {
    /// Only public addresses.
    Public,
    /// Public and private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, loopback, fc00::/7).
    Private,
    /// Any address, link-local and cloud metadata ones included.
    Any,
}

/// The kinds of address the policy tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Public,
    Private,
    /// Link-local (cloud metadata services live there), unspecified, broadcast, multicast.
    Special,
}

static POLICY: OnceLock<AddressPolicy> = OnceLock::new();

/// Sets the process's policy, once, at start-up (the default is [`AddressPolicy::Private`]).
pub fn init(policy: AddressPolicy) {
    let _ = POLICY.set(policy);
}

pub fn policy() -> AddressPolicy {
    POLICY.get().copied().unwrap_or(AddressPolicy::Private)
}

fn class(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => class_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => class_v4(v4),
            None => class_v6(v6),
        },
    }
}

fn class_v4(ip: Ipv4Addr) -> Class {
    let [a, b, ..] = ip.octets();
    if ip.is_link_local() || ip.is_unspecified() || a == 0 || ip.is_broadcast() || ip.is_multicast() {
        Class::Special
    } else if ip.is_private() || ip.is_loopback() || (a == 100 && (64..128).contains(&b)) {
        Class::Private
    } else {
        Class::Public
    }
}

/// AWS's metadata service over IPv6, inside the unique-local range.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

fn class_v6(ip: Ipv6Addr) -> Class {
    let first = ip.segments()[0];
    if ip == AWS_METADATA_V6 || ip.is_unspecified() || ip.is_multicast() || (first & 0xffc0) == 0xfe80 {
        Class::Special
    } else if ip.is_loopback() || (first & 0xfe00) == 0xfc00 {
        Class::Private
    } else {
        Class::Public
    }
}

/// Whether the policy lets requests go to `ip`; the error says why not, in words for an admin.
pub fn check_ip(ip: IpAddr, policy: AddressPolicy) -> Result<(), String> {
    match (class(ip), policy) {
        (_, AddressPolicy::Any) | (Class::Public, _) | (Class::Private, AddressPolicy::Private) => Ok(()),
        (Class::Private, AddressPolicy::Public) => Err(format!(
            "the address {ip} is private, and this server sends requests only to public addresses \
             (--outbound-addresses public)"
        )),
        (Class::Special, _) => Err(format!(
            "the address {ip} is link-local, multicast or unspecified (where cloud metadata services \
             live), so requests are not sent there (--outbound-addresses any allows it)"
        )),
    }
}

/// Checks a URL whose host is a literal address (names are checked as they resolve).
pub fn check_url(url: &reqwest::Url) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default();
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => check_ip(ip, policy()),
        Err(_) => Ok(()),
    }
}

/// Resolves `host` and checks every address it has (for clients that dial by name themselves,
/// such as SMTP).
pub async fn check_host(host: &str, port: u16) -> Result<(), String> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("{host} could not be resolved: {e}"))?;
    for a in addrs {
        check_ip(a.ip(), policy()).map_err(|m| format!("{host}: {m}"))?;
    }
    Ok(())
}

/// The HTTP client's resolver: the system's, less the addresses the policy refuses.
#[derive(Debug, Clone, Copy)]
pub struct Resolver;

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = all
                .into_iter()
                .filter(|a| match check_ip(a.ip(), policy()) {
                    Ok(()) => true,
                    Err(m) => {
                        refusal.get_or_insert(m);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refusal.unwrap_or_else(|| "it has no address".into());
                return Err(format!("{host}: {why}").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_addresses_are_refused_by_default() {
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(check_ip(ip(a), AddressPolicy::Private).is_err(), "{a}");
            assert!(check_ip(ip(a), AddressPolicy::Any).is_ok(), "{a}");
        }
    }

    #[test]
    fn private_addresses_are_allowed_unless_only_public_ones_are() {
        for a in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "::1",
            "100.64.0.1",
            "fd12::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(check_ip(ip(a), AddressPolicy::Private).is_ok(), "{a}");
            let e = check_ip(ip(a), AddressPolicy::Public).unwrap_err();
            assert!(e.contains("private"), "{a}: {e}");
        }
        for a in ["93.184.216.34", "2606:2800:220:1::1", "100.128.0.1", "172.32.0.1"] {
            assert!(check_ip(ip(a), AddressPolicy::Public).is_ok(), "{a}");
        }
    }
}
