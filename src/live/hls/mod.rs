//! HLS playback: each channel live through ingest, served at the path of its `playbackUrl`
//! (`/api/video/v1/<region>.<account>.channel.<id>.m3u8`) on the playback server's own port, as
//! a multivariant playlist naming one media playlist, whose MPEG-TS segments are those ingest
//! cut (RFC 8216).
//!
//! Paths, under `/api/video/v1/`:
//! - `<name>.m3u8`: the multivariant playlist;
//! - `<name>/media.m3u8`: the media playlist (a live window of `media::WINDOW_SEGMENTS`);
//! - `<name>/<sequence>.ts`: a segment.
//!
//! Documented (Amazon IVS Player SDK, `ErrorType`/`PlayerException`): playback of a channel that
//! does not exist or is offline answers 404; of a private channel without a valid token, 403.
//! Private channels (`authorized`) need a token (query `token`, as IVS's players pass it) signed
//! ES384 with the private half of one of the region's imported playback key pairs, with the claims
//! of the IVS user guide's "Generate and Sign IVS Playback Tokens": `aws:channel-arn` (this
//! channel), `exp` (in the future; at most 10 minutes ahead with `aws:viewer-id`),
//! `aws:access-control-allow-origin` (comma-separated, `*.` wildcards; checked on the
//! multivariant playlist, on every request with `aws:strict-origin-enforcement`), and
//! `aws:viewer-id` with `aws:viewer-session-version` (refused once StartViewerSessionRevocation
//! revoked that viewer's versions up to it). `exp` is compared with the emulator's clock, which
//! `POST /_ivs-vcr/clock` moves. The token is checked on every request, so a
//! revocation stops a viewer at its next playlist refresh.
//! A playback restriction policy's `allowedOrigins` applies as the token's origins do (its
//! `enableStrictOriginEnforcement` as the strict claim); `allowedCountries` cannot apply on
//! loopback. Inferred: the JSON bodies of refusals (IVS documents only their statuses).

pub(crate) mod ts;

use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::emulator::live::PlaybackRules;
use crate::emulator::Emulator;
use crate::http::{Handler, HttpResponse};
use crate::live::media::Media;

/// The playback server's handler.
#[derive(Debug)]
pub(crate) struct Playback {
    pub emulator: Arc<Emulator>,
    pub media: Arc<Media>,
}

/// Which document a path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked<'a> {
    Multivariant(&'a str),
    Media(&'a str),
    Segment(&'a str, u64),
}

const PREFIX: &str = "/api/video/v1/";

fn parse_path(path: &str) -> Option<Asked<'_>> {
    let rest = path.strip_prefix(PREFIX)?;
    if let Some((name, file)) = rest.split_once('/') {
        if file == "media.m3u8" {
            return Some(Asked::Media(name));
        }
        let seq = file.strip_suffix(".ts")?;
        if seq.is_empty() || seq.len() > 19 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(Asked::Segment(name, seq.parse().ok()?));
    }
    rest.strip_suffix(".m3u8").map(Asked::Multivariant)
}

impl Asked<'_> {
    fn name(&self) -> &str {
        match self {
            Asked::Multivariant(n) | Asked::Media(n) | Asked::Segment(n, _) => n,
        }
    }
}

fn refusal(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    let body = serde_json::json!({ "message": message.into() });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn ok(content_type: &'static str, cache: &'static str, body: Bytes) -> HttpResponse {
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The query's `token`, percent-decoded.
fn token_of(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "token").then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

impl Playback {
    fn answer(&self, req: &Request<Incoming>) -> HttpResponse {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                "playback takes GET (or HEAD) of a playlist or segment",
            );
        }
        let Some(asked) = parse_path(req.uri().path()) else {
            return refusal(
                StatusCode::NOT_FOUND,
                format!("not a playback path: playlists are at {PREFIX}<region>.<account>.channel.<id>.m3u8 (the channel's playbackUrl)"),
            );
        };
        let Some(rules) = self.emulator.playback_rules(asked.name()) else {
            return refusal(
                StatusCode::NOT_FOUND,
                "no such channel: the stream is invalid or not online",
            );
        };
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        let token = token_of(req.uri().query());
        if let Err(why) = admit(
            &rules,
            &asked,
            origin,
            token.as_deref(),
            crate::clock::now_secs(),
        ) {
            return refusal(StatusCode::FORBIDDEN, why);
        }
        let Some(live) = self.media.live(&rules.channel_arn) else {
            return refusal(
                StatusCode::NOT_FOUND,
                format!(
                    "channel `{}` is not live (publish to it over RTMP)",
                    rules.channel_arn
                ),
            );
        };
        // The token rides along on the URIs a playlist names, for the requests that follow.
        let suffix = token
            .as_deref()
            .map(|t| {
                format!(
                    "?token={}",
                    percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .unwrap_or_default();
        match asked {
            Asked::Multivariant(name) => {
                let snapshot = live.snapshot();
                let mut attributes = format!("BANDWIDTH={}", snapshot.bandwidth.max(1));
                if !snapshot.codecs.is_empty() {
                    attributes.push_str(&format!(",CODECS=\"{}\"", snapshot.codecs));
                }
                if let Some((w, h)) = snapshot.resolution {
                    attributes.push_str(&format!(",RESOLUTION={w}x{h}"));
                }
                let body = format!(
                    "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:{attributes}\n{name}/media.m3u8{suffix}\n"
                );
                ok("application/vnd.apple.mpegurl", "no-cache", Bytes::from(body))
            }
            Asked::Media(_) => {
                let snapshot = live.snapshot();
                let first = snapshot.segments.first().map_or(0, |s| s.sequence);
                let mut body = format!(
                    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{first}\n",
                    snapshot.target_duration.max(
                        snapshot.segments.iter().map(|s| s.duration.round() as u32).max().unwrap_or(0)
                    )
                );
                for segment in &snapshot.segments {
                    body.push_str(&format!("#EXTINF:{:.3},\n{}.ts{suffix}\n", segment.duration, segment.sequence));
                }
                ok("application/vnd.apple.mpegurl", "no-cache", Bytes::from(body))
            }
            Asked::Segment(_, sequence) => match live.segment(sequence) {
                Some(data) => ok("video/mp2t", "max-age=3600", data),
                None => refusal(
                    StatusCode::NOT_FOUND,
                    format!("segment {sequence} is not in the live window (it was never cut, or is older than the playlist's first)"),
                ),
            },
        }
    }
}

/// Whether a request may play: the channel's token rules, then its policy's origins.
fn admit(
    rules: &PlaybackRules,
    asked: &Asked<'_>,
    origin: Option<&str>,
    token: Option<&str>,
    now: u64,
) -> Result<(), String> {
    let multivariant = matches!(asked, Asked::Multivariant(_));
    if let Some((origins, strict)) = &rules.policy {
        check_origin(
            origins.iter().map(String::as_str),
            *strict,
            multivariant,
            origin,
        )
        .map_err(|why| format!("the channel's playback restriction policy: {why}"))?;
    }
    if !rules.authorized {
        return Ok(());
    }
    let token = token.ok_or(
        "this is a private channel (authorized): pass a playback token signed with a playback key pair's private key as ?token=",
    )?;
    if token.len() > crate::jwt::MAX_TOKEN_LEN {
        return Err("the playback token is too long".to_owned());
    }
    let decoded = crate::jwt::decode(token).map_err(|e| e.to_string())?;
    if rules.keys.is_empty() {
        return Err("no playback key pair is imported in this region: import the public key with ImportPlaybackKeyPair".to_owned());
    }
    if !rules.keys.iter().any(|key| decoded.verify(key).is_ok()) {
        return Err(
            "the playback token's signature verifies with none of the region's playback key pairs"
                .to_owned(),
        );
    }
    if decoded.text("aws:channel-arn") != Some(rules.channel_arn.as_str()) {
        return Err(format!(
            "the playback token's aws:channel-arn is not `{}`",
            rules.channel_arn
        ));
    }
    let exp = decoded
        .seconds("exp")
        .ok_or("the playback token has no exp")?;
    if exp <= now {
        return Err("the playback token has expired (exp is past)".to_owned());
    }
    let viewer = decoded.text("aws:viewer-id");
    if (viewer.is_some() || decoded.text("aws:single-use-uuid").is_some()) && exp > now + 600 {
        return Err(
            "with aws:viewer-id or aws:single-use-uuid, exp is at most 10 minutes ahead".to_owned(),
        );
    }
    if let Some(viewer) = viewer {
        let version = decoded
            .claims
            .get("aws:viewer-session-version")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        if rules
            .revoked
            .iter()
            .any(|(id, upto)| id == viewer && version <= *upto)
        {
            return Err(format!(
                "viewer `{}`'s session was revoked (StartViewerSessionRevocation)",
                crate::redact::printable(viewer)
            ));
        }
    }
    if let Some(allowed) = decoded.text("aws:access-control-allow-origin") {
        let strict = decoded
            .claims
            .get("aws:strict-origin-enforcement")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        check_origin(
            allowed.split(',').map(str::trim),
            strict,
            multivariant,
            origin,
        )
        .map_err(|why| format!("the playback token: {why}"))?;
    }
    Ok(())
}

/// Whether `origin` is among `allowed` (`*` for any; a host may begin with `*.`). Without
/// strictness only the multivariant playlist is checked, and a request without `Origin` (not a
/// browser) passes; with it, every request needs an allowed `Origin`.
fn check_origin<'a>(
    allowed: impl Iterator<Item = &'a str> + Clone,
    strict: bool,
    multivariant: bool,
    origin: Option<&str>,
) -> Result<(), String> {
    if allowed.clone().next().is_none() || (!strict && !multivariant) {
        return Ok(());
    }
    let Some(origin) = origin else {
        return if strict {
            Err(
                "strict origin enforcement: the request must carry an allowed Origin header"
                    .to_owned(),
            )
        } else {
            Ok(())
        };
    };
    if allowed
        .clone()
        .any(|pattern| origin_matches(pattern, origin))
    {
        Ok(())
    } else {
        Err(format!(
            "the origin `{}` is not allowed",
            crate::redact::printable(origin)
        ))
    }
}

fn origin_matches(pattern: &str, origin: &str) -> bool {
    let (pattern, origin) = (pattern.to_ascii_lowercase(), origin.to_ascii_lowercase());
    if pattern == "*" || pattern == origin {
        return true;
    }
    match (pattern.split_once("://*."), origin.split_once("://")) {
        (Some((scheme, suffix)), Some((o_scheme, o_host))) => {
            scheme == o_scheme
                && o_host.len() > suffix.len() + 1
                && o_host.ends_with(&format!(".{suffix}"))
        }
        _ => false,
    }
}

impl Handler for Playback {
    const NAME: &'static str = "playback";

    fn handle(
        self: &Arc<Self>,
        req: Request<Incoming>,
        _peer: std::net::SocketAddr,
    ) -> impl std::future::Future<Output = HttpResponse> + Send {
        let mut response = self.answer(&req);
        // IVS's playback answers any page (restrictions are by token and policy, checked above).
        response
            .headers_mut()
            .entry(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .or_insert(HeaderValue::from_static("*"));
        if req.method() == Method::HEAD {
            *response.body_mut() = Full::new(Bytes::new());
        }
        std::future::ready(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let name = "us-west-2.123456789012.channel.abcd";
        assert_eq!(
            parse_path(&format!("{PREFIX}{name}.m3u8")),
            Some(Asked::Multivariant(name))
        );
        assert_eq!(
            parse_path(&format!("{PREFIX}{name}/media.m3u8")),
            Some(Asked::Media(name))
        );
        assert_eq!(
            parse_path(&format!("{PREFIX}{name}/42.ts")),
            Some(Asked::Segment(name, 42))
        );
        assert_eq!(parse_path(&format!("{PREFIX}{name}/-1.ts")), None);
        assert_eq!(
            parse_path(&format!("{PREFIX}{name}/99999999999999999999.ts")),
            None
        );
        assert_eq!(parse_path("/other"), None);
    }

    #[test]
    fn origins_match_exactly_or_by_wildcard_host() {
        assert!(origin_matches(
            "https://*.example.com",
            "https://app.example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "https://example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "http://app.example.com"
        ));
        assert!(origin_matches(
            "https://App.example.com",
            "https://app.example.com"
        ));
        assert!(origin_matches("*", "https://x.y"));
        let allowed = ["https://a.test"];
        assert!(check_origin(allowed.iter().copied(), false, true, None).is_ok());
        assert!(check_origin(allowed.iter().copied(), true, false, None).is_err());
        assert!(check_origin(
            allowed.iter().copied(),
            false,
            false,
            Some("https://b.test")
        )
        .is_ok());
        assert!(
            check_origin(allowed.iter().copied(), false, true, Some("https://b.test")).is_err()
        );
    }

    #[test]
    fn the_token_is_read_from_the_query() {
        assert_eq!(token_of(Some("a=1&token=x%2Ey")).as_deref(), Some("x.y"));
        assert_eq!(token_of(Some("tokens=1")), None);
    }
}
