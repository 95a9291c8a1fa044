//! Where upstream requests go: [`Endpoint`], a URL template in which `{region}` is replaced.
//!
//! By default it is each service's own host, `https://<endpoint prefix>.<region>.amazonaws.com`
//! (`ivs`, `ivschat`, `ivsrealtime`, from the models); `--upstream` replaces it with a URL of
//! the operator's choosing (a local fake or moto for tests, a FIPS endpoint, another partition).
//! The region is checked with [`normalize::is_valid_region`] before it is substituted, so a request
//! can never choose the host the operator's credentials go to.

use http::Uri;

use super::UpstreamError;
use crate::ivs::Service;
use crate::normalize;

/// The default upstream, with `{region}` standing for the request's region.
pub const AWS_ENDPOINT: &str = "https://ivs.{region}.amazonaws.com";

/// Where upstream requests go: a URL template in which `{region}` is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    template: String,
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint {
            template: AWS_ENDPOINT.to_owned(),
        }
    }
}

impl Endpoint {
    /// An endpoint from a URL such as `http://127.0.0.1:5000` or
    /// `https://ivs-fips.{region}.amazonaws.com`: scheme `http` or `https`, a host, no path, query
    /// or user info.
    pub fn parse(url: &str) -> Result<Endpoint, UpstreamError> {
        let bad = |reason| UpstreamError::BadEndpoint {
            url: url.to_owned(),
            reason,
        };
        // A fragment is not sent, so it would silently drop whatever followed `#` (a `{region}`
        // of the host among others); refused rather than guessed at.
        if url.contains('#') {
            return Err(bad("a fragment (`#…`) is not allowed"));
        }
        let probe = url.trim_end_matches('/').replace("{region}", "us-west-2");
        let uri: Uri = probe.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err(bad("the scheme must be `http` or `https`")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user info is not allowed"));
        }
        // `host:` followed by anything but a port number would be read differently by clients.
        let after_host = authority.as_str().rsplit(']').next().unwrap_or("");
        if let Some((_, port)) = after_host.rsplit_once(':') {
            if port.is_empty()
                || !port.bytes().all(|b| b.is_ascii_digit())
                || port.parse::<u16>().is_err()
            {
                return Err(bad("the port must be a number"));
            }
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("a path or query is not allowed"));
        }
        Ok(Endpoint {
            template: url.trim_end_matches('/').to_owned(),
        })
    }

    /// Whether the endpoint names `addr`, a listening address, for any region: the same port,
    /// and the same IP, or `localhost` (or a loopback IP) when `addr` is loopback or every interface.
    pub(crate) fn is_address(&self, addr: std::net::SocketAddr) -> bool {
        let probe = self.template.replace("{region}", "us-west-2");
        let Ok(uri) = probe.parse::<Uri>() else {
            return false;
        };
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let Some(host) = uri.host() else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let local = addr.ip().is_loopback() || addr.ip().is_unspecified();
        let same_host = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip == addr.ip() || (local && (ip.is_loopback() || ip.is_unspecified())),
            Err(_) => local && (host == "localhost" || host.ends_with(".localhost")),
        };
        port == addr.port() && same_host
    }

    /// The template as given, for provenance and messages.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The base URL of `service` for `region`: `https://ivschat.us-west-2.amazonaws.com` for Chat
    /// by default, the operator's `--upstream` for every service otherwise.
    pub fn service_url(&self, service: Service, region: &str) -> Result<String, UpstreamError> {
        let base = self.base_url(region)?;
        if self.template != AWS_ENDPOINT {
            return Ok(base);
        }
        Ok(format!(
            "https://{}.{region}.amazonaws.com",
            service.catalog().endpoint_prefix
        ))
    }

    /// The base URL for `region` (`https://ivs.us-west-2.amazonaws.com`).
    ///
    /// Refuses a region that is not an AWS region name, whatever the template, so that what a
    /// request says can never change the host.
    pub fn base_url(&self, region: &str) -> Result<String, UpstreamError> {
        if !normalize::is_valid_region(region) {
            return Err(UpstreamError::BadRegion {
                region: region.to_owned(),
            });
        }
        Ok(self.template.replace("{region}", region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 24: each service goes to its own AWS host; the operator's `--upstream` serves all.
    #[test]
    fn each_service_goes_to_its_own_host_unless_the_operator_names_one() {
        let aws = Endpoint::default();
        let url = |e: &Endpoint, service| e.service_url(service, "eu-west-1").unwrap();
        assert_eq!(
            url(&aws, Service::Ivs),
            "https://ivs.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            url(&aws, Service::IvsChat),
            "https://ivschat.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            url(&aws, Service::IvsRealTime),
            "https://ivsrealtime.eu-west-1.amazonaws.com"
        );
        let local = Endpoint::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(url(&local, Service::IvsChat), "http://127.0.0.1:5000");
        assert!(aws.service_url(Service::IvsChat, "evil.com/x").is_err());
    }

    /// Issue 11 §5: the endpoints that name a listening address.
    #[test]
    fn an_endpoint_names_its_own_listening_address() {
        let mut failures = Vec::new();
        let mut check = |url: &str, addr: &str, expected: bool| {
            let got = Endpoint::parse(url)
                .unwrap()
                .is_address(addr.parse().unwrap());
            if got != expected {
                failures.push(format!("{url} at {addr}: expected {expected}, got {got}"));
            }
        };
        check("http://127.0.0.1:7474", "127.0.0.1:7474", true);
        check("http://localhost:7474", "127.0.0.1:7474", true);
        check("http://LOCALHOST.:7474", "[::1]:7474", true);
        check("http://[::1]:7474", "0.0.0.0:7474", true);
        check("http://127.0.0.1:7474", "0.0.0.0:7474", true);
        check("http://192.168.1.5:7474", "192.168.1.5:7474", true);
        check("http://127.0.0.1", "127.0.0.1:80", true);
        check("http://127.0.0.1:7475", "127.0.0.1:7474", false);
        check("https://127.0.0.1", "127.0.0.1:80", false);
        check("http://192.168.1.5:7474", "127.0.0.1:7474", false);
        check("http://localhost:7474", "192.168.1.5:7474", false);
        check("https://ivs.{region}.amazonaws.com", "127.0.0.1:443", false);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn endpoints() {
        let check = |url: &str, region: &str, expected: Result<&str, &str>| {
            let got = Endpoint::parse(url)
                .and_then(|e| e.base_url(region))
                .map_err(|e| e.to_string());
            assert_eq!(
                got.as_deref(),
                expected.map_err(str::to_owned).as_deref(),
                "{url} {region}"
            );
        };
        check(
            AWS_ENDPOINT,
            "eu-west-1",
            Ok("https://ivs.eu-west-1.amazonaws.com"),
        );
        check(
            "https://ivs-fips.{region}.amazonaws.com/",
            "us-gov-west-1",
            Ok("https://ivs-fips.us-gov-west-1.amazonaws.com"),
        );
        check(
            "http://127.0.0.1:5000",
            "us-west-2",
            Ok("http://127.0.0.1:5000"),
        );
        check(
            AWS_ENDPOINT,
            "us-west-2.evil.example",
            Err("`us-west-2.evil.example` is not an AWS region name"),
        );
        check(
            "http://127.0.0.1:5000",
            "a#b",
            Err("`a#b` is not an AWS region name"),
        );
        check(
            "ftp://x",
            "us-west-2",
            Err("invalid upstream URL `ftp://x`: the scheme must be `http` or `https`"),
        );
        check(
            "http://user@x",
            "us-west-2",
            Err("invalid upstream URL `http://user@x`: user info is not allowed"),
        );
        // Regression, issue 11 §5: these started without complaint and misrouted.
        check(
            "http://127.0.0.1:5000#{region}",
            "us-west-2",
            Err("invalid upstream URL `http://127.0.0.1:5000#{region}`: a fragment (`#…`) is not allowed"),
        );
        check(
            "http://127.0.0.1:{region}",
            "us-west-2",
            Err("invalid upstream URL `http://127.0.0.1:{region}`: the port must be a number"),
        );
        check(
            "http://127.0.0.1:99999",
            "us-west-2",
            Err("invalid upstream URL `http://127.0.0.1:99999`: the port must be a number"),
        );
        check("http://[::1]:5000", "us-west-2", Ok("http://[::1]:5000"));
        check(
            "http://x/prefix",
            "us-west-2",
            Err("invalid upstream URL `http://x/prefix`: a path or query is not allowed"),
        );
    }
}
