//! Header rules of an HTTP/1.1 intermediary: hop-by-hop removal, the
//! `X-Forwarded-*` and `Forwarded` (RFC 7239) headers, and `Host`.
//!
//! Hop-by-hop headers describe one connection, so they are removed in both
//! directions: every header that `Connection` names (RFC 9110 section
//! 7.6.1) plus a fixed list of the connection-specific headers of HTTP/1.1
//! and of the h2c upgrade, which a sender may omit from `Connection`. The one exception is a WebSocket-style upgrade,
//! whose `Connection: upgrade` and `Upgrade` must reach the other side for
//! the upgrade to happen at all.
//!
//! Forwarding headers from a peer in `trusted_proxies` are kept and
//! appended to. From any other peer they are dropped and rebuilt, so a
//! client cannot choose the address the shop and the tracker see.

use std::net::IpAddr;

use http::header::{
    CONNECTION, FORWARDED, HOST, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Headers that never cross the proxy, whether or not `Connection` lists them.
const HOP_BY_HOP: [HeaderName; 10] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
    HeaderName::from_static("http2-settings"),
];

/// Collects the tokens of every `Connection` field, trimmed, in their original case.
fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// Returns true for a protocol upgrade the proxy can tunnel: `Connection`
/// names `upgrade` and `Upgrade` requests a protocol other than `h2c`.
/// `h2c` is refused because it would switch the proxy's own connection to
/// HTTP/2, which the tunnel does not speak on the client side.
pub(crate) fn is_upgrade_request(headers: &HeaderMap) -> bool {
    let connection_upgrade = connection_tokens(headers).any(|token| token.eq_ignore_ascii_case("upgrade"));
    let mut protocols = headers.get_all(UPGRADE).iter().peekable();

    connection_upgrade
        && protocols.peek().is_some()
        && protocols.all(|value| !value.to_str().unwrap_or("").to_ascii_lowercase().contains("h2c"))
}

/// Removes hop-by-hop headers. With `keep_upgrade`, the result still carries
/// `Connection: upgrade` and the original `Upgrade` values.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let named: Vec<HeaderName> =
        connection_tokens(headers).filter_map(|token| HeaderName::from_bytes(token.as_bytes()).ok()).collect();
    let protocols: Vec<HeaderValue> =
        if keep_upgrade { headers.get_all(UPGRADE).iter().cloned().collect() } else { Vec::new() };

    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }

    if !protocols.is_empty() {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        for protocol in protocols {
            headers.append(UPGRADE, protocol);
        }
    }
}

/// Sets `X-Forwarded-For/-Proto/-Host` and `Forwarded` for a request from
/// `client` that arrived over plain HTTP with the `Host` value `host`.
///
/// From a trusted peer, the client address is appended to the existing
/// `X-Forwarded-For` and `Forwarded` lists, and existing
/// `X-Forwarded-Proto`/`-Host` are kept because they describe the original
/// request better than this hop can. Otherwise all four are replaced.
pub(crate) fn set_forwarded(headers: &mut HeaderMap, client: IpAddr, trusted: bool, host: Option<&HeaderValue>) {
    let client = client.to_canonical();

    if !trusted {
        for name in [X_FORWARDED_FOR, X_FORWARDED_PROTO, X_FORWARDED_HOST, FORWARDED] {
            headers.remove(name);
        }
    }

    append_to_list(headers, X_FORWARDED_FOR, &client.to_string());
    append_to_list(headers, FORWARDED, &forwarded_element(client, host));

    if !headers.contains_key(X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    }
    if let Some(host) = host {
        if !headers.contains_key(X_FORWARDED_HOST) {
            headers.insert(X_FORWARDED_HOST, host.clone());
        }
    }
}

/// Replaces every field `name` with one comma-separated field ending in
/// `item`. Folding is safe here because both headers are defined as lists.
fn append_to_list(headers: &mut HeaderMap, name: HeaderName, item: &str) {
    let mut list: Vec<&str> = headers.get_all(&name).iter().filter_map(|value| value.to_str().ok()).collect();
    list.push(item);
    let joined = list.join(", ");

    // Every part is a visible ASCII header value or an address, so the join is a valid value.
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert(name, value);
    }
}

/// Formats one RFC 7239 element: `for=192.0.2.1;proto=http;host="shop.example"`.
/// IPv6 addresses are bracketed and quoted, because `:` and `[]` are not
/// token characters (RFC 7239 sections 4 and 6).
fn forwarded_element(client: IpAddr, host: Option<&HeaderValue>) -> String {
    let mut element = match client {
        IpAddr::V4(address) => format!("for={address}"),
        IpAddr::V6(address) => format!("for=\"[{address}]\""),
    };
    element.push_str(";proto=http");

    if let Some(host) = host.and_then(|host| host.to_str().ok()) {
        let escaped = host.replace('\\', "\\\\").replace('"', "\\\"");
        element.push_str(&format!(";host=\"{escaped}\""));
    }

    element
}

/// Replaces `Host` with the upstream's authority.
pub(crate) fn rewrite_host(headers: &mut HeaderMap, upstream: &HeaderValue) {
    headers.insert(HOST, upstream.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn connection_named_headers_are_removed() {
        let mut map =
            headers(&[("connection", "close, X-Internal-Debug"), ("x-internal-debug", "1"), ("accept", "*/*")]);
        remove_hop_by_hop(&mut map, false);
        assert!(!map.contains_key("x-internal-debug"));
        assert!(!map.contains_key(CONNECTION));
        assert_eq!(map.get("accept").map(HeaderValue::as_bytes), Some(&b"*/*"[..]));
    }

    #[test]
    fn upgrade_is_kept_only_when_asked() {
        let mut map = headers(&[("connection", "Upgrade"), ("upgrade", "websocket"), ("keep-alive", "timeout=5")]);
        assert!(is_upgrade_request(&map));
        remove_hop_by_hop(&mut map, true);
        assert_eq!(map.get(CONNECTION).map(HeaderValue::as_bytes), Some(&b"upgrade"[..]));
        assert_eq!(map.get(UPGRADE).map(HeaderValue::as_bytes), Some(&b"websocket"[..]));
        assert!(!map.contains_key("keep-alive"));
    }

    #[test]
    fn h2c_upgrade_is_not_tunnelled() {
        let map = headers(&[("connection", "Upgrade, HTTP2-Settings"), ("upgrade", "h2c")]);
        assert!(!is_upgrade_request(&map));
    }

    #[test]
    fn upgrade_without_connection_token_is_not_an_upgrade() {
        let map = headers(&[("connection", "close"), ("upgrade", "websocket")]);
        assert!(!is_upgrade_request(&map));
    }

    #[test]
    fn forwarded_quotes_ipv6_and_host() {
        let host = HeaderValue::from_static("shop.example:8080");
        let element = forwarded_element("2001:db8::1".parse().expect("ip"), Some(&host));
        assert_eq!(element, "for=\"[2001:db8::1]\";proto=http;host=\"shop.example:8080\"");
    }

    #[test]
    fn ipv4_mapped_client_is_written_as_ipv4() {
        let mut map = HeaderMap::new();
        set_forwarded(&mut map, "::ffff:192.0.2.7".parse().expect("ip"), false, None);
        assert_eq!(map.get(X_FORWARDED_FOR).map(HeaderValue::as_bytes), Some(&b"192.0.2.7"[..]));
        assert_eq!(map.get(FORWARDED).map(HeaderValue::as_bytes), Some(&b"for=192.0.2.7;proto=http"[..]));
    }
}
