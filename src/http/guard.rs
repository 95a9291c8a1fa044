//! Who may talk to a server: the checks the accept loop runs on a request's head, before the
//! server's handler sees it, so that record, replay and the control plane share one rule.
//!
//! A page in the operator's browser can reach a server on loopback. Two attacks follow:
//! - **DNS rebinding**: the page's own name (`rebind.attacker.example`) is made to resolve to
//!   127.0.0.1, so the browser treats the server as same-origin and lets the page read answers.
//!   The browser still sends the page's name in `Host`, so a server that accepts only its own
//!   address, loopback names and names the operator allowed is out of reach.
//! - **Cross-site requests**: a `text/plain` POST needs no preflight, so a page can make a
//!   server act even when it cannot read the answer, and a server that lets any origin read its
//!   answers (IVS's `Access-Control-Allow-Origin: *`) hands the page stream keys too. SDKs never
//!   send `Origin` or `Sec-Fetch-Site` and always send JSON, so record ([`Guard::browsers`] off)
//!   refuses any request carrying either header, and any body whose `Content-Type` is not JSON.
//!   Replay serves web apps under test, so it admits pages by origin instead (`cors`): loopback
//!   pages and those the operator allowed (`--allow-origin`); any other `Origin` is refused, and so
//!   is `Sec-Fetch-Site: cross-site` without one (an `<img>` or a link from another site's page).
//!   `same-site` and `same-origin` without `Origin` are admitted: only a GET or HEAD comes without
//!   `Origin`, and a page of the same site as a server whose `Host` passed is on the same machine
//!   (loopback, or a name the operator allowed) at another port. Replay's control plane takes only
//!   JSON bodies too, so that a page in a browser that sends no `Origin` on a POST (Firefox before
//!   70) still cannot reach it with a "simple" request: a JSON body needs a preflight, which carries
//!   `Origin`. A bodiless POST (`/moto-api/reset` as moto's clients send it) needs no `Content-Type`.
//!
//! The Host rule ([`host_allowed`]): the port must be the bound port, and the name must be
//! `localhost`, a loopback address (`127.0.0.1`, `[::1]`), the bound address, or a name the
//! operator allowed (`--allow-host`). A server bound to every interface (`0.0.0.0`, `::`) also
//! accepts any IP literal: a literal never goes through DNS, so it cannot be rebound, and it is
//! how other machines and containers reach the server without a name. Such a server is open to
//! the network anyway, which is why it warns at start.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use super::{cors, error_response, split_cassette_prefix, HttpResponse};

/// The error type of every refusal here; 403, so no SDK retries it.
const FORBIDDEN: &str = "IvsVcrForbiddenRequestException";

/// Fetch Metadata's header naming the site of the page behind a request, made once: looking a
/// header up by a `&str` parses the name on every request.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Media types of a JSON body: IVS's REST-JSON, and the JSON 1.0/1.1 protocols of other SDKs.
const JSON_TYPES: &[&str] = &[
    "application/json",
    "application/x-amz-json-1.0",
    "application/x-amz-json-1.1",
];

/// What the accept loop does with a request, by its head.
pub(crate) enum Admission {
    /// Hand it to the handler.
    Admit,
    /// Hand it to the handler, and let the page at this allowed origin read the answer
    /// (`cors::allow`).
    FromPage(HeaderValue),
    /// Answer this at once: the 403 saying why the request is refused, or an allowed page's
    /// preflight.
    Answer(HttpResponse),
}

/// What the accept loop checks on each request, fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    /// The bound address.
    pub bound: SocketAddr,
    /// `Host` values the operator allowed, as `name` (with the bound port) or `name:port`.
    pub allowed_hosts: Vec<String>,
    /// Origins the operator allowed besides loopback ones (`--allow-origin`), as
    /// `cors::normalize_origin` writes them (or as given, when they are no origin).
    pub allowed_origins: Vec<String>,
    /// Whether requests that look like a browser's (`Origin`, `Sec-Fetch-Site`, a body that is not
    /// JSON) are served, from allowed origins. Replay serves them; record, which signs, does not.
    pub browsers: bool,
    /// `bound` as SDKs write it in `Host` (`127.0.0.1:PORT`): admitted without parsing it again.
    bound_host: String,
}

impl Guard {
    /// A guard for a server bound to `bound`.
    pub fn new(
        bound: SocketAddr,
        allowed_hosts: Vec<String>,
        allowed_origins: &[String],
        browsers: bool,
    ) -> Guard {
        Guard {
            bound,
            allowed_hosts,
            allowed_origins: allowed_origins
                .iter()
                .map(|o| cors::normalize_origin(o).unwrap_or_else(|| o.clone()))
                .collect(),
            browsers,
            bound_host: bound.to_string(),
        }
    }

    /// Checks a request's head: what the accept loop is to do with it.
    pub fn check(
        &self,
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        peer: SocketAddr,
    ) -> Admission {
        match self.refusal(uri, headers) {
            Ok(None) => Admission::Admit,
            Ok(Some(origin))
                if method == Method::OPTIONS
                    && headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD) =>
            {
                Admission::Answer(cors::preflight(&origin, headers))
            }
            Ok(Some(origin)) => Admission::FromPage(origin),
            Err(reason) => {
                tracing::warn!(side = %super::Side::Downstream, %peer, "refused: {reason}");
                Admission::Answer(error_response(
                    StatusCode::FORBIDDEN,
                    FORBIDDEN,
                    &format!("refused: {reason}"),
                ))
            }
        }
    }

    /// Why a request is refused, if it is; else the origin of the page that sent it, if any.
    fn refusal(&self, uri: &http::Uri, headers: &HeaderMap) -> Result<Option<HeaderValue>, String> {
        let mut hosts = headers.get_all(http::header::HOST).iter();
        let host = match (hosts.next(), hosts.next()) {
            (None, _) => return Err("the request has no `Host` header".into()),
            (Some(one), None) => one.to_str().unwrap_or("\u{fffd}"),
            (Some(_), Some(_)) => return Err("the request has more than one `Host` header".into()),
        };
        // The bound address itself is what nearly every client sends, and `host_allowed` admits it.
        if host != self.bound_host && !host_allowed(host, self.bound, &self.allowed_hosts) {
            return Err(format!(
                "`Host` {} is not this server's address ({}) or a loopback name for it; \
                 address it as http://{}, or start it with --allow-host",
                quoted(host),
                self.bound,
                loopback_name(self.bound),
            ));
        }
        if let Some(authority) = uri.authority() {
            if !host_allowed(authority.as_str(), self.bound, &self.allowed_hosts) {
                return Err(format!(
                    "the request target names {}, not this server",
                    quoted(authority.as_str())
                ));
            }
        }
        if self.browsers {
            return self.page_refusal(uri, headers);
        }
        for header in ["origin", "sec-fetch-site"] {
            if headers.contains_key(header) {
                return Err(format!(
                    "the request carries `{header}`, as a web browser's does; record serves AWS SDKs and CLIs only"
                ));
            }
        }
        json_only(headers)?;
        Ok(None)
    }

    /// The rule of a server that serves web pages (replay): the page's origin must be allowed,
    /// and control calls take JSON only (see the module doc).
    fn page_refusal(
        &self,
        uri: &http::Uri,
        headers: &HeaderMap,
    ) -> Result<Option<HeaderValue>, String> {
        let origin = match headers.get(http::header::ORIGIN) {
            Some(origin) if self.origin_allowed(origin) => Some(origin.clone()),
            Some(origin) => {
                let origin = quoted(origin.to_str().unwrap_or("\u{fffd}"));
                return Err(format!(
                    "the request comes from a web page at {origin}, not from loopback \
                     (localhost, 127.0.0.1, [::1]); to let that page use this server, start it \
                     with --allow-origin {origin}"
                ));
            }
            None if headers
                .get(SEC_FETCH_SITE)
                .is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site")) =>
            {
                return Err(
                    "the request comes from another site's web page (`Sec-Fetch-Site: cross-site`) \
                     and names no `Origin` that could be allowed"
                        .into(),
                );
            }
            None => None,
        };
        let (_, path) = split_cassette_prefix(uri.path());
        if crate::control::is_control(path) {
            json_only(headers)?;
        }
        Ok(origin)
    }

    /// Whether a page at `origin` may use this server: a loopback origin, or one the operator
    /// allowed.
    fn origin_allowed(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if cors::is_loopback_origin(origin) {
            return true;
        }
        let origin = cors::normalize_origin(origin).unwrap_or_else(|| origin.to_owned());
        self.allowed_origins.contains(&origin)
    }
}

/// Refuses a body whose `Content-Type` is not JSON: how a cross-site "simple" POST (`text/plain`,
/// a form, a bare blob) arrives. A request without a body needs no `Content-Type`.
fn json_only(headers: &HeaderMap) -> Result<(), String> {
    if !has_body(headers) {
        return Ok(());
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let media_type = content_type.map(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    if media_type.is_some_and(|t| JSON_TYPES.contains(&t.as_str())) {
        Ok(())
    } else {
        Err(format!(
            "the body's `Content-Type` is {}, not JSON (`application/json`)",
            content_type.map_or_else(|| "missing".to_owned(), quoted)
        ))
    }
}

/// True when a `Host` value names this server: the bound port, and `localhost`, a loopback
/// address, the bound address, any IP literal when bound to every interface, or an allowed name.
pub(crate) fn host_allowed(host: &str, bound: SocketAddr, allowed: &[String]) -> bool {
    let with_port = |a: &String| {
        a.rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
    };
    let allowed_by_operator = allowed.iter().any(|a| {
        if with_port(a) {
            a.eq_ignore_ascii_case(host)
        } else {
            host.strip_suffix(&format!(":{}", bound.port()))
                .is_some_and(|name| a.eq_ignore_ascii_case(name))
        }
    });
    if allowed_by_operator {
        return true;
    }
    let Some((name, port)) = split_host(host) else {
        return false;
    };
    if port != bound.port() {
        return false;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => {
            let ip = ip.to_canonical();
            ip.is_loopback() || ip == bound.ip().to_canonical() || bound.ip().is_unspecified()
        }
        Err(_) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            name.eq_ignore_ascii_case("localhost")
        }
    }
}

/// True when an address is loopback, including IPv4-mapped IPv6 (`::ffff:127.0.0.1`).
pub(crate) fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// `name` and port of a `Host` value; the port defaults to 80. An IPv6 literal keeps its
/// brackets off. `None` for anything malformed.
fn split_host(host: &str) -> Option<(&str, u16)> {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (name, after) = rest.split_once(']')?;
        name.parse::<std::net::Ipv6Addr>().ok()?;
        match after {
            "" => (name, None),
            _ => (name, Some(after.strip_prefix(':')?)),
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    let port = match port {
        None => 80,
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            port.parse().ok()?
        }
        Some(_) => return None,
    };
    (!name.is_empty()).then_some((name, port))
}

/// Whether a request has a body by its head: any `Transfer-Encoding` (chunked bodies have no
/// length up front), or a `Content-Length` that is not 0.
fn has_body(headers: &HeaderMap) -> bool {
    if headers.contains_key(http::header::TRANSFER_ENCODING) {
        return true;
    }
    match headers.get(http::header::CONTENT_LENGTH) {
        None => false,
        Some(length) => length.to_str().map_or(true, |l| l.trim() != "0"),
    }
}

/// The address to suggest in a refusal: the bound one, or `127.0.0.1` when bound to every
/// interface.
fn loopback_name(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], bound.port()))
    } else {
        bound
    }
}

/// A request-derived value, quoted and escaped as JSON so that it cannot forge log or summary
/// lines, and cut to a length worth reading.
fn quoted(value: &str) -> String {
    let cut: String = value.chars().take(100).collect();
    serde_json::Value::from(cut).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(host: &str, bound: &str, expected: bool) {
        let bound: SocketAddr = bound.parse().unwrap();
        let allowed = vec!["ivs-vcr".to_owned(), "proxy.internal:8080".to_owned()];
        assert_eq!(
            host_allowed(host, bound, &allowed),
            expected,
            "{host} bound to {bound}"
        );
    }

    #[test]
    fn host_must_name_this_server() {
        check("127.0.0.1:7474", "127.0.0.1:7474", true);
        check("localhost:7474", "127.0.0.1:7474", true);
        check("LOCALHOST.:7474", "127.0.0.1:7474", true);
        check("[::1]:7474", "127.0.0.1:7474", true);
        check("[::ffff:127.0.0.1]:7474", "127.0.0.1:7474", true);
        check("ivs-vcr:7474", "127.0.0.1:7474", true);
        check("ivs-vcr", "127.0.0.1:7474", false);
        check("proxy.internal:8080", "127.0.0.1:7474", true);
        // DNS rebinding: the attacker's name, our port.
        check("rebind.attacker.example:7474", "127.0.0.1:7474", false);
        check("localhost.attacker.example:7474", "127.0.0.1:7474", false);
        check("127.0.0.1.nip.io:7474", "127.0.0.1:7474", false);
        // Another port, or none (80), or a malformed one.
        check("127.0.0.1:7475", "127.0.0.1:7474", false);
        check("127.0.0.1", "127.0.0.1:7474", false);
        check("127.0.0.1", "127.0.0.1:80", true);
        check("127.0.0.1:+7474", "127.0.0.1:7474", false);
        check("127.0.0.1:7474:1", "127.0.0.1:7474", false);
        check("[::1:7474", "127.0.0.1:7474", false);
        check(":7474", "127.0.0.1:7474", false);
        check("x", "127.0.0.1:7474", false);
        // A specific address, and every interface: IP literals, never other names.
        check("192.168.1.5:7474", "192.168.1.5:7474", true);
        check("192.168.1.6:7474", "192.168.1.5:7474", false);
        check("192.168.1.6:7474", "0.0.0.0:7474", true);
        check("[fe80::1]:7474", "[::]:7474", true);
        check("myhost.lan:7474", "0.0.0.0:7474", false);
    }

    #[test]
    fn mapped_loopback_is_loopback() {
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(is_loopback("::1".parse().unwrap()));
        assert!(!is_loopback("::ffff:10.0.0.1".parse().unwrap()));
    }
}
