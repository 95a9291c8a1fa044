//! Which web pages may use replay, and the CORS answers they get: the `Origin` rule `guard`
//! applies, the answer to a preflight, and the allow headers of every other answer.
//!
//! A browser names the page behind every request that could change or read something across
//! sites: the Fetch standard adds `Origin` to every request whose method is not GET or HEAD, and
//! to every CORS request (one whose answer the page means to read). An origin is allowed when it
//! is loopback ([`is_loopback_origin`]: `http(s)://localhost`, `127.0.0.0/8` or `[::1]`, any
//! port), so that a front end on `http://localhost:5173` keeps working, or when the operator named
//! it (`--allow-origin`, compared as scheme, host and port, [`normalize_origin`]). Any other page
//! is refused before the handler runs, so it can neither drive the server nor read its answers.
//!
//! An allowed origin's answers carry `Access-Control-Allow-Origin` with that origin, not the `*`
//! IVS sends, and `Vary: Origin` ([`allow`]); its preflight is answered here ([`preflight`]), with
//! the methods IVS and the control plane use. A refused origin's preflight gets the 403 without
//! any allow header, so the browser never sends the request it announced.

use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::Full;

use super::HttpResponse;

/// The methods IVS's routes and the control plane use.
const ALLOW_METHODS: &str = "GET, POST, DELETE";

/// How long a browser may keep a preflight's answer, in seconds: ten minutes, Chrome's own cap.
const MAX_AGE: &str = "600";

/// An origin as `--allow-origin` compares it: scheme and host in lowercase, the port only when
/// it is not the scheme's default (`http://app.test:80` is `http://app.test`). `null` (a sandboxed
/// frame, a `file:` page) stays `null`. `None` for anything that is not an `http(s)` origin.
pub(crate) fn normalize_origin(origin: &str) -> Option<String> {
    if origin == "null" {
        return Some(origin.to_owned());
    }
    let (scheme, host, port) = split_origin(origin)?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    Some(match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// True for an origin on this machine: `http(s)://` with `localhost`, an address in
/// `127.0.0.0/8` or `[::1]`, and any port. Only `localhost` itself counts among names: a browser
/// may resolve `*.localhost` through DNS, where anyone can point it anywhere.
pub(crate) fn is_loopback_origin(origin: &str) -> bool {
    let Some((_, host, _)) = split_origin(origin) else {
        return false;
    };
    if host == "localhost" {
        return true;
    }
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host);
    literal
        .parse::<std::net::IpAddr>()
        .is_ok_and(super::guard::is_loopback)
}

/// The answer to an allowed origin's preflight: 204 with the allow headers. The headers the
/// page announced are allowed as announced: the operator trusts the page, and an SDK in it
/// sends `authorization`, `x-amz-*` and `amz-sdk-*` headers, whose list changes by version.
pub(crate) fn preflight(origin: &HeaderValue, request: &HeaderMap) -> HttpResponse {
    let mut response = Response::new(Full::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    allow(&mut response, origin.clone());
    let headers = response.headers_mut();
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    if let Some(asked) = request.get(http::header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    headers.insert(
        http::header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE),
    );
    // Chrome's Private Network Access: a public page the operator allowed asks before it
    // reaches loopback.
    if request
        .get("access-control-request-private-network")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
    {
        headers.insert(
            "access-control-allow-private-network",
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// Lets an allowed origin read an answer: `Access-Control-Allow-Origin` names it (replacing the
/// `*` of IVS's own headers), and `Vary: Origin` keeps a cache from handing the answer to another.
pub(crate) fn allow(response: &mut HttpResponse, origin: HeaderValue) {
    let headers = response.headers_mut();
    headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(http::header::VARY, HeaderValue::from_static("origin"));
}

/// Scheme (`http` or `https`), host (lowercase, an IPv6 literal in brackets) and port of an
/// origin, `scheme://host[:port]` with nothing after it.
fn split_origin(origin: &str) -> Option<(&'static str, String, Option<u16>)> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = if scheme.eq_ignore_ascii_case("http") {
        "http"
    } else if scheme.eq_ignore_ascii_case("https") {
        "https"
    } else {
        return None;
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (literal, after) = inner.split_once(']')?;
        literal.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (&rest[..literal.len() + 2], port)
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
        if host.is_empty() || !host.bytes().all(name_byte) {
            return None;
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(port.parse().ok()?)
        }
        Some(_) => return None,
    };
    Some((scheme, host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins_are_this_machine_at_any_port() {
        for origin in [
            "http://localhost:5173",
            "http://LOCALHOST",
            "https://localhost:8443",
            "http://127.0.0.1:3000",
            "http://127.8.9.10",
            "http://[::1]:5173",
            "http://[::ffff:7f00:1]:5173",
        ] {
            assert!(is_loopback_origin(origin), "{origin}");
        }
        for origin in [
            "https://evil.example",
            "http://localhost.evil.example:5173",
            "http://app.localhost:5173",
            "http://127.0.0.1.nip.io",
            "http://10.0.0.1:5173",
            "http://[::2]:5173",
            "null",
            "file://",
            "ws://localhost:5173",
            "http://localhost:5173/",
            "http://user@localhost:5173",
            "http://localhost:+5173",
            "http://[::1",
        ] {
            assert!(!is_loopback_origin(origin), "{origin}");
        }
    }

    #[test]
    fn origins_compare_by_scheme_host_and_port() {
        let check = |origin: &str, expected: Option<&str>| {
            assert_eq!(normalize_origin(origin).as_deref(), expected, "{origin}");
        };
        check("https://App.Test", Some("https://app.test"));
        check("https://app.test:443", Some("https://app.test"));
        check("http://app.test:80", Some("http://app.test"));
        check("http://app.test:8080", Some("http://app.test:8080"));
        check("https://app.test:80", Some("https://app.test:80"));
        check("http://[::1]:80", Some("http://[::1]"));
        check("null", Some("null"));
        check("app.test", None);
        check("https://app.test/path", None);
        check("ftp://app.test", None);
    }
}
