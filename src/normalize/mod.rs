//! Normalization: pure functions from a request to the form matching compares, and its fingerprint.
//!
//! Different clients send the same call as different bytes (CLIENTS.md): boto3 puts spaces after
//! `:` and escapes non-ASCII, the JS SDK and aws-sdk-rust send compact UTF-8, aws-sdk-rust orders
//! tag maps randomly per process, and every client adds per-call noise (signatures, dates,
//! invocation ids, user agents). A [`Normalized`] request keeps only what identifies the call:
//! method, operation, decoded path, query as a sorted set, region, the canonical JSON body with
//! the cassette's ignored paths removed, and the headers a cassette asks for. Nothing here does IO.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use percent_encoding::percent_decode_str;
use serde_json::Value;
use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::Xxh3Default;

use crate::cassette::{Matching, RecordedRequest};
use crate::ivs::{self, Route, Service};
use crate::redact;

pub use crate::body_path::for_each_at;

/// Request headers that never take part in matching, whatever a cassette says: they change on
/// every call (signatures, dates, ids, retries), differ between SDKs, or describe the connection.
pub const VOLATILE_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
    "user-agent",
    "x-amz-user-agent",
    "host",
    "content-length",
    "accept-encoding",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "expect",
    "te",
    "upgrade",
    "proxy-connection",
];

/// The form of a request that matching compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The service of the IVS family the request is for.
    pub service: Service,
    /// The IVS operation, or the path's first segment when the catalog does not know it.
    pub operation: String,
    /// HTTP method, uppercase.
    pub method: String,
    /// The path with the `/tags/` ARN percent-decoded.
    pub path: String,
    /// Query parameters, each key's values sorted and deduplicated (`tagKeys` is a set).
    pub query: BTreeMap<String, Vec<String>>,
    /// The AWS region.
    pub region: String,
    /// The JSON body with ignored paths removed; `None` when the request has no body.
    pub body: Option<Value>,
    /// Lowercase names and values of the headers the cassette matches on.
    pub headers: BTreeMap<String, String>,
}

/// A SHA-256 over a [`Normalized`] request: its stable identity, from which record derives the
/// request ids it writes and by which `diff` pairs interactions. It changes only when the bytes
/// hashed change, never with the hash the replay index uses ([`MatchKey`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

/// A 128-bit XXH3 over the same bytes as a [`Fingerprint`]: the key of the replay index, taken on
/// every replayed request, where SHA-256 of its three blocks cost about 130 ns and this about 20.
///
/// Equal requests get equal keys. Two different requests would have to collide on 128 bits of a
/// hash with no known way to aim a collision at a given key; it is not a cryptographic hash, and
/// need not be: a client that can reach the server may already ask it for every recorded answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MatchKey(pub u128);

impl MatchKey {
    /// The key of what `write` puts into the hash.
    fn of(write: impl FnOnce(&mut Xxh3Default)) -> MatchKey {
        let mut hasher = Xxh3Default::new();
        write(&mut hasher);
        MatchKey(hasher.digest128())
    }
}

impl std::hash::Hash for MatchKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // The key is a hash already: its low 64 bits are as good a hash as any.
        state.write_u64(self.0 as u64);
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Names the IVS operation of a request from its method and raw path.
///
/// `POST /<Operation>` names itself; the three `/tags/{resourceArn}` routes are told apart by
/// method. An unknown path keeps its first segment as the name, so that new operations can still
/// be recorded and replayed before the catalog learns them.
pub fn operation_name(method: &str, raw_path: &str) -> String {
    if raw_path.starts_with("/tags/") {
        return match ivs::tags_operation(method) {
            Some(op) => op.name.to_owned(),
            None => format!("{method} /tags"),
        };
    }
    let name = raw_path.trim_start_matches('/');
    match ivs::any_operation(name) {
        Some(op) if op.route == Route::Post => op.name.to_owned(),
        // Printed in logs and summaries: a path may hold bytes a terminal would obey.
        _ => redact::printable(name.split('/').next().unwrap_or_default()).into_owned(),
    }
}

/// The path that matching compares: the `/tags/` ARN is percent-decoded as one label.
///
/// Routing happens on the raw path first, because a decoded ARN contains `/` and `:`.
pub fn decoded_path(raw_path: &str) -> String {
    decoded_path_cow(raw_path).into_owned()
}

fn decoded_path_cow(raw_path: &str) -> Cow<'_, str> {
    match raw_path.strip_prefix("/tags/") {
        Some(arn) => Cow::Owned(format!(
            "/tags/{}",
            percent_decode_str(arn).decode_utf8_lossy()
        )),
        None => Cow::Borrowed(raw_path),
    }
}

/// True for a query parameter of query-string SigV4 signing (`X-Amz-Signature`,
/// `X-Amz-Security-Token`, `X-Amz-Credential`, …). IVS clients sign in headers, so these are never
/// part of a call: they are dropped on arrival, never matched, logged, recorded or forwarded.
///
/// The key is normalised first, as a lenient upstream would read it: `+` as a space, percent
/// escapes decoded (repeatedly, for double encoding), then surrounding whitespace and control
/// characters trimmed, so that `+X-Amz-Signature` or `%2BX-Amz-Signature` is still one.
pub fn is_signing_parameter(raw_key: &str) -> bool {
    let mut key = raw_key.replace('+', " ");
    for _ in 0..3 {
        let decoded = percent_decode_str(&key)
            .decode_utf8_lossy()
            .replace('+', " ");
        if decoded == key {
            break;
        }
        key = decoded;
    }
    let key = key.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    key.get(..6)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("x-amz-"))
}

/// Parses a raw query string into decoded key → values (`+` stays a `+`, as AWS encodes space as
/// `%20`), without the query-string signing parameters ([`is_signing_parameter`]).
pub fn parse_query(raw_query: &str) -> BTreeMap<String, Vec<String>> {
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if is_signing_parameter(k) {
            continue;
        }
        let k = percent_decode_str(k).decode_utf8_lossy().into_owned();
        let v = percent_decode_str(v).decode_utf8_lossy().into_owned();
        query.entry(k).or_default().push(v);
    }
    query
}

/// The key before a SigV4 credential scope, searched for once set up.
static CREDENTIAL_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"Credential="));

/// The region from a SigV4 `Authorization` header's credential scope
/// (`Credential=AKID/20261126/us-west-2/ivs/aws4_request`), if there is one and it is visible
/// ASCII. The header is taken as bytes: only the region needs to be text, so the rest (a
/// signature, say) is never checked.
pub fn region_from_authorization(authorization: &[u8]) -> Option<&str> {
    scope_from_authorization(authorization).map(|(region, _)| region)
}

/// The region and, when the scope goes on to one, the service (`ivs`, `ivschat`) of a SigV4
/// `Authorization` header's credential scope; see [`region_from_authorization`]. The service is
/// `None` unless it is visible ASCII.
pub fn scope_from_authorization(authorization: &[u8]) -> Option<(&str, Option<&str>)> {
    // On every replayed request: the scope runs from the first `Credential=` to the next `,`,
    // space or `Credential=`, and the region is its third `/`-separated field. `USUAL` is how
    // every SDK starts the header: the key is then found without a search.
    const USUAL: &[u8] = b"AWS4-HMAC-SHA256 Credential=";
    let start = if authorization.starts_with(USUAL) {
        USUAL.len()
    } else {
        CREDENTIAL_KEY.find(authorization)? + CREDENTIAL_KEY.needle().len()
    };
    let scope = &authorization[start..];
    let key = CREDENTIAL_KEY.needle();
    // One pass over the scope for the bytes that end a field or the scope: an SDK's scope
    // (`AKID/20261126/us-west-2/…`) holds three before the region's end.
    let is_mark = |b: u8| matches!(b, b'/' | b',' | b' ' | b'=');
    let marks = |w: u64| {
        words::equal(w, b'/')
            | words::equal(w, b',')
            | words::equal(w, b' ')
            | words::equal(w, b'=')
    };
    let mut slashes = [0; 2];
    let mut n_slashes = 0;
    let mut at = 0;
    let region_end = loop {
        let Some(found) = words::find(scope, at, marks, is_mark) else {
            break scope.len();
        };
        match scope[found] {
            b'/' if n_slashes < 2 => {
                slashes[n_slashes] = found;
                n_slashes += 1;
            }
            b'/' | b',' | b' ' => break found,
            // A second key ends the scope where it starts. `Credential` holds none of the
            // marks, so no mark was passed on the way through it.
            _ if scope[..=found].ends_with(key) => break found + 1 - key.len(),
            _ => {}
        }
        at = found + 1;
    };
    if n_slashes < 2 {
        return None;
    }
    // Printed in logs and miss reports: no control character, space or byte beyond ASCII.
    let region = &scope[slashes[1] + 1..region_end];
    let visible = !region.is_empty() && region.iter().all(u8::is_ascii_graphic);
    if !visible {
        return None;
    }
    // SAFETY: every byte of `region` is visible ASCII (checked just above), and ASCII is UTF-8.
    // `from_utf8` would check it again, at about 120 instructions on every replayed request.
    let region = unsafe { std::str::from_utf8_unchecked(region) };
    // The service is the next field, up to the next `/`, `,` or space: a few bytes.
    let service = (scope.get(region_end) == Some(&b'/'))
        .then(|| {
            let rest = &scope[region_end + 1..];
            let end = rest
                .iter()
                .position(|&b| matches!(b, b'/' | b',' | b' '))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|s| !s.is_empty() && s.iter().all(u8::is_ascii_graphic))
        // SAFETY: visible ASCII, checked just above.
        .map(|s| unsafe { std::str::from_utf8_unchecked(s) });
    Some((region, service))
}

/// The access key id a SigV4 credential scope starts with (`Credential=AKID/20261126/…`): the
/// key of the `Authorization` header, else of the `X-Amz-Credential` query parameter
/// (`raw_query`, as sent). Only the id, never the secret (which is not in a request); `None`
/// unless it is 1 to 128 visible ASCII bytes (IAM's `AccessKeyId` is 16 to 128 characters; the
/// emulator takes any, as LocalStack does). The emulator picks the account from it.
pub fn access_key_id<'a>(
    authorization: Option<&'a [u8]>,
    raw_query: Option<&'a str>,
) -> Option<Cow<'a, str>> {
    let valid = |key: &[u8]| (1..=128).contains(&key.len()) && key.iter().all(u8::is_ascii_graphic);
    if let Some(header) = authorization {
        let start = CREDENTIAL_KEY.find(header)? + CREDENTIAL_KEY.needle().len();
        let rest = &header[start..];
        let end = rest.iter().position(|&b| matches!(b, b'/' | b',' | b' '))?;
        let key = &rest[..end];
        if !valid(key) {
            return None;
        }
        // Visible ASCII is UTF-8.
        return std::str::from_utf8(key).ok().map(Cow::Borrowed);
    }
    let query = raw_query?;
    let value = query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.eq_ignore_ascii_case("X-Amz-Credential").then_some(v)
    })?;
    let decoded = percent_decode_str(value).decode_utf8().ok()?;
    let key = decoded.split('/').next()?;
    valid(key.as_bytes()).then(|| Cow::Owned(key.to_owned()))
}

/// Finding a byte of a kind eight bytes at a time, by masks with the high bit of each byte of a
/// word set where that byte is of the kind. A mask may also mark a byte after a true one (a
/// borrow carries upwards), never before, so its lowest mark is exact; the word is read
/// little-endian, so the lowest mark is the first such byte.
mod words {
    pub(super) const ONES: u64 = 0x0101_0101_0101_0101;
    pub(super) const HIGH: u64 = 0x8080_8080_8080_8080;

    /// Marks the zero bytes of `w`.
    pub(super) const fn zero(w: u64) -> u64 {
        w.wrapping_sub(ONES) & !w & HIGH
    }

    /// Marks the bytes of `w` equal to `byte`.
    pub(super) const fn equal(w: u64, byte: u8) -> u64 {
        zero(w ^ (ONES * byte as u64))
    }

    /// Where the first byte of `bytes` from `at` on is that `marks` marks in its word and `is`
    /// says is of the kind (the two must agree): eight bytes at a time, the last few one by one.
    #[inline(always)]
    pub(super) fn find(
        bytes: &[u8],
        mut at: usize,
        marks: impl Fn(u64) -> u64,
        is: impl Fn(u8) -> bool,
    ) -> Option<usize> {
        while let Some(chunk) = bytes.get(at..at + 8) {
            let w = u64::from_le_bytes(chunk.try_into().expect("a chunk of 8"));
            let found = marks(w);
            if found != 0 {
                return Some(at + (found.trailing_zeros() / 8) as usize);
            }
            at += 8;
        }
        let rest = bytes.get(at..)?;
        rest.iter().position(|&b| is(b)).map(|found| at + found)
    }
}

pub use crate::ivs::arn::is_valid_region;

/// Normalizes a request under a cassette's matching options.
pub fn request(req: &RecordedRequest, matching: &Matching) -> Normalized {
    let mut query = req.query.clone();
    for values in query.values_mut() {
        values.sort();
        values.dedup();
    }
    let mut body = req.body.clone();
    // An empty POST body and `{}` ask the same thing; SDKs send `{}` but hand-made calls may not.
    if req.method == "POST" && !req.path.starts_with("/tags/") && body.is_none() {
        body = Some(Value::Object(Default::default()));
    }
    if let Some(body) = body.as_mut() {
        // Cassettes hold placeholders for secret values, so incoming secrets are compared as
        // placeholders too (`redact` explains the transform); a fake that replay handed out
        // compares as the placeholder it stands for.
        redact::unfake(body);
        redact::redact_secrets_of(req.service, body);
        if matching.scrub_account {
            redact::scrub_account_json(body);
        }
        for path in &matching.ignore_body_paths {
            remove_path(body, path);
        }
    }
    let mut path = decoded_path(&req.path);
    if matching.scrub_account {
        path = redact::scrub_account(&path).into_owned();
        for values in query.values_mut() {
            for v in values.iter_mut() {
                *v = redact::scrub_account(v).into_owned();
            }
            values.sort();
            values.dedup();
        }
    }
    let headers = matching
        .headers
        .iter()
        .map(|name| name.to_ascii_lowercase())
        .filter(|name| !VOLATILE_HEADERS.contains(&name.as_str()))
        .filter_map(|name| {
            let value = req
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&name))
                .map(|(_, v)| v.clone())?;
            Some((name, value))
        })
        .collect();
    Normalized {
        service: req.service,
        operation: operation_name(&req.method, &req.path),
        method: req.method.to_ascii_uppercase(),
        path,
        query,
        region: req.region.clone(),
        body,
        headers,
    }
}

/// The fingerprint of a normalized request.
pub fn fingerprint(n: &Normalized) -> Fingerprint {
    let mut hasher = Sha256::new();
    hash_normalized(&mut hasher, n);
    Fingerprint(hasher.finalize().into())
}

/// The index key of a normalized request: equal for two requests exactly when their
/// [`fingerprint`]s are.
pub fn match_key(n: &Normalized) -> MatchKey {
    MatchKey::of(|hasher| hash_normalized(hasher, n))
}

fn hash_normalized(sink: &mut impl Sink, n: &Normalized) {
    let query = n
        .query
        .iter()
        .flat_map(|(k, values)| values.iter().map(move |v| (k.as_str(), v.as_str())));
    let headers = n.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    hash_parts(
        sink,
        (n.service, &n.method, &n.path),
        query,
        &n.region,
        n.body.as_ref().map_or(Body::Absent, Body::Json),
        headers,
    );
}

/// The index key of a request under a cassette's options: always equal to
/// `match_key(&request(req, matching))`, but computed from the request in place when nothing
/// needs rewriting, which is the common case on replay's per-request path.
pub fn request_match_key(req: &RecordedRequest, matching: &Matching) -> MatchKey {
    let in_place = matching.ignore_body_paths.is_empty()
        && !matching.scrub_account
        && matching.headers.is_empty()
        && !req.method.bytes().any(|b| b.is_ascii_lowercase())
        && req.query.values().all(|values| values.len() <= 1)
        && !req
            .body
            .as_ref()
            .is_some_and(|b| may_hold_secrets(b) || redact::has_fake(b));
    if !in_place {
        return match_key(&request(req, matching));
    }
    let empty = Value::Object(Default::default());
    let body = match &req.body {
        None if req.method == "POST" && !req.path.starts_with("/tags/") => Some(&empty),
        body => body.as_ref(),
    };
    let query = req
        .query
        .iter()
        .flat_map(|(k, values)| values.iter().map(move |v| (k.as_str(), v.as_str())));
    MatchKey::of(|hasher| {
        hash_parts(
            hasher,
            (req.service, &req.method, &decoded_path_cow(&req.path)),
            query,
            &req.region,
            body.map_or(Body::Absent, Body::Json),
            std::iter::empty(),
        );
    })
}

/// The most members [`flat_request_match_key`] takes in a body; a larger one is parsed.
const FLAT_MEMBERS: usize = 8;

/// The index key of a request as read, before its body is parsed, under the default matching
/// options (no ignored paths, no account scrubbing, no headers): equal to [`request_match_key`]
/// of the request parsed from the same parts, when it answers at all.
///
/// It answers for the shape nearly every IVS call has: no query, an uppercase method, a path
/// outside `/tags/`, and a body that is empty or a flat JSON object of up to `FLAT_MEMBERS` (eight)
/// members whose names and values are strings of printable ASCII without escapes, no two
/// members of one name, no member where a secret may sit and no value that may be a fake
/// (`{"arn": "arn:aws:ivs:…"}`). Its canonical form is then its members sorted by name and
/// written compactly, and it is hashed as such, with no `Value` built. For anything else it
/// returns `None`, and the caller parses the request.
pub fn flat_request_match_key(
    (service, method, path): (Service, &str, &str),
    query: Option<&str>,
    region: &str,
    body: &[u8],
) -> Option<MatchKey> {
    let plain = query.is_none_or(str::is_empty)
        && !method.bytes().any(|b| b.is_ascii_lowercase())
        && !path.starts_with("/tags/");
    if !plain || (body.is_empty() && method != "POST") {
        return None;
    }
    let mut members = [(&[][..], &[][..]); FLAT_MEMBERS];
    let n = if body.is_empty() {
        0
    } else {
        flat_members(body, &mut members)?
    };
    let members = &mut members[..n];
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let clean = members.windows(2).all(|pair| pair[0].0 != pair[1].0)
        && members
            .iter()
            .all(|(name, value)| !is_secret_member(name) && !redact::contains_mark(value));
    clean.then(|| {
        MatchKey::of(|hasher| {
            hash_parts(
                hasher,
                (service, method, path),
                std::iter::empty(),
                region,
                Body::Flat(members),
                std::iter::empty(),
            );
        })
    })
}

/// The value of `body`'s only member when `body` is a flat object of one plain string member
/// named `name` (`{"arn": "arn:aws:ivs:…"}`), as [`flat_request_match_key`] reads flat bodies;
/// `None` for any other body, valid JSON or not.
pub fn flat_only_member<'a>(body: &'a [u8], name: &str) -> Option<&'a str> {
    let mut members = [(&[][..], &[][..]); FLAT_MEMBERS];
    match flat_members(body, &mut members)? {
        // A plain string is printable ASCII, so it is text.
        1 if members[0].0 == name.as_bytes() => std::str::from_utf8(members[0].1).ok(),
        _ => None,
    }
}

/// The members of `body` when it is a flat object of plain strings (see
/// [`flat_request_match_key`]), in their order, and how many there are; `None` for any other
/// body, valid JSON or not.
fn flat_members<'a>(
    body: &'a [u8],
    out: &mut [(&'a [u8], &'a [u8]); FLAT_MEMBERS],
) -> Option<usize> {
    fn skip_space(body: &[u8], at: &mut usize) {
        while body
            .get(*at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            *at += 1;
        }
    }
    fn expect(body: &[u8], at: &mut usize, byte: u8) -> Option<()> {
        skip_space(body, at);
        (body.get(*at) == Some(&byte)).then(|| *at += 1)
    }
    fn string<'a>(body: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
        expect(body, at, b'"')?;
        let start = *at;
        let len = plain_run(&body[start..]);
        // Printable ASCII only, up to the closing quote: no escape, control character or byte
        // beyond ASCII to decode.
        (body.get(start + len) == Some(&b'"')).then(|| {
            *at = start + len + 1;
            &body[start..start + len]
        })
    }
    let mut at = 0;
    expect(body, &mut at, b'{')?;
    let mut n = 0;
    skip_space(body, &mut at);
    if body.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            let name = string(body, &mut at)?;
            expect(body, &mut at, b':')?;
            let value = string(body, &mut at)?;
            *out.get_mut(n)? = (name, value);
            n += 1;
            skip_space(body, &mut at);
            match body.get(at)? {
                b',' => at += 1,
                b'}' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    skip_space(body, &mut at);
    (at == body.len()).then_some(n)
}

/// How many bytes `bytes` starts with that may stand in a JSON string as themselves: printable
/// ASCII other than `"` and `\`, found eight bytes at a time ([`words`]).
fn plain_run(bytes: &[u8]) -> usize {
    use words::{equal, HIGH, ONES};
    // A byte below a space, and a byte of 0x7f or more, marked as `words` asks. A byte of 0x80
    // or more has its high bit already; 0x7f gains it by the increment, and the only carry out
    // of a byte comes from 0xff, itself marked.
    let below_space = |w: u64| w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let del_or_more = |w: u64| (w | w.wrapping_add(ONES)) & HIGH;
    let marks = |w: u64| below_space(w) | del_or_more(w) | equal(w, b'"') | equal(w, b'\\');
    let special = |b: u8| !(b' '..=b'~').contains(&b) || b == b'"' || b == b'\\';
    words::find(bytes, 0, marks, special).unwrap_or(bytes.len())
}

/// A request body as the fingerprint takes it.
enum Body<'a> {
    /// No body (a request other than a POST outside `/tags/`).
    Absent,
    /// A parsed body, written as canonical JSON.
    Json(&'a Value),
    /// A flat object's members, sorted by name: canonical JSON once written compactly.
    Flat(&'a [(&'a [u8], &'a [u8])]),
}

/// True when a body has a member where a secret may sit, so `redact` must rewrite it first.
fn may_hold_secrets(body: &Value) -> bool {
    let Value::Object(map) = body else {
        return false;
    };
    map.keys().any(|member| is_secret_member(member.as_bytes()))
}

/// True when a top-level member of this name is where a secret may sit.
fn is_secret_member(name: &[u8]) -> bool {
    // The top-level members of the secret paths, worked out once.
    static FIRST: std::sync::OnceLock<Vec<&'static [u8]>> = std::sync::OnceLock::new();
    let first = FIRST.get_or_init(|| {
        // Every service's: the flat key is taken before the body is parsed, for any service.
        let mut first: Vec<&'static [u8]> = Service::ALL
            .iter()
            .flat_map(|service| service.catalog().secret_body_paths)
            .map(|path| path.split('.').next().unwrap_or(path).as_bytes())
            .collect();
        first.sort_unstable();
        first.dedup();
        first
    });
    first.contains(&name)
}

/// Writes a request's parts into `sink`: the one byte layout both [`Fingerprint`] and [`MatchKey`]
/// hash.
fn hash_parts<'a>(
    sink: &mut impl Sink,
    (service, method, path): (Service, &str, &str),
    query: impl Iterator<Item = (&'a str, &'a str)>,
    region: &str,
    body: Body<'_>,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
) {
    // Each text field goes in with its length in front, so no two different requests can hash
    // the same input, whatever bytes (a decoded `%00` included) their fields hold. A length no
    // field can have marks the end of the query and an absent body. The body is canonical JSON,
    // which delimits itself.
    const END: u64 = u64::MAX;
    const NO_BODY: u64 = u64::MAX - 1;
    fn field(sink: &mut impl Sink, bytes: &[u8]) {
        sink.update(&(bytes.len() as u64).to_le_bytes());
        sink.update(bytes);
    }
    field(sink, method.as_bytes());
    field(sink, path.as_bytes());
    for (k, v) in query {
        field(sink, k.as_bytes());
        field(sink, v.as_bytes());
    }
    sink.update(&END.to_le_bytes());
    field(sink, region.as_bytes());
    match body {
        // Invariant: writing into a hasher cannot fail.
        Body::Json(body) => {
            write_canonical(body, &mut HashWriter(sink)).expect("hashing cannot fail");
        }
        Body::Flat(members) => {
            // What `write_canonical` writes for the same members: a plain string prints as
            // itself between quotes.
            sink.update(b"{");
            for (i, (name, value)) in members.iter().enumerate() {
                if i > 0 {
                    sink.update(b",");
                }
                for part in [&b"\""[..], name, b"\":\"", value, b"\""] {
                    sink.update(part);
                }
            }
            sink.update(b"}");
        }
        Body::Absent => sink.update(&NO_BODY.to_le_bytes()),
    }
    for (k, v) in headers {
        field(sink, k.as_bytes());
        field(sink, v.as_bytes());
    }
    // A service other than IVS goes in last, after a length no header can have: IVS requests
    // hash as they did before services, so the request ids of IVS cassettes do not change, and
    // the same path of two services (a `/tags/` ARN sent to either) never hashes alike.
    if !service.is_ivs() {
        const SERVICE: u64 = u64::MAX - 2;
        sink.update(&SERVICE.to_le_bytes());
        field(sink, service.id().as_bytes());
    }
}

/// A hash that [`hash_parts`] writes into.
trait Sink {
    fn update(&mut self, bytes: &[u8]);
}

impl Sink for Sha256 {
    fn update(&mut self, bytes: &[u8]) {
        Digest::update(self, bytes);
    }
}

impl Sink for Xxh3Default {
    fn update(&mut self, bytes: &[u8]) {
        Xxh3Default::update(self, bytes);
    }
}

/// Lets canonical JSON stream into a hash without an intermediate string.
struct HashWriter<'s, S>(&'s mut S);

impl<S: Sink> std::io::Write for HashWriter<'_, S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Compact JSON with object keys sorted at every level: the same value always gives the same text,
/// whatever key order, whitespace or `\u` escapes the client used.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    // Invariant: writing into a Vec cannot fail, and JSON output is UTF-8.
    write_canonical(value, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// [`canonical_json`] cut after `max_chars` characters (marked `…`), for diagnostics.
pub fn canonical_json_preview(value: &Value, max_chars: usize) -> String {
    let text = canonical_json(value);
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn write_canonical(value: &Value, out: &mut impl std::io::Write) -> std::io::Result<()> {
    match value {
        Value::Object(map) => {
            // serde_json's map iterates in key order unless a crate in the build turns on its
            // `preserve_order` feature; sort only then, so the common case allocates nothing.
            if map.keys().is_sorted() {
                write_members(map.iter(), out)
            } else {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                write_members(entries.into_iter(), out)
            }
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")
        }
        // Strings, numbers, booleans and null print canonically already.
        other => Ok(serde_json::to_writer(out, other)?),
    }
}

fn write_members<'a>(
    members: impl Iterator<Item = (&'a String, &'a Value)>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    out.write_all(b"{")?;
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, k)?;
        out.write_all(b":")?;
        write_canonical(v, out)?;
    }
    out.write_all(b"}")
}

/// Removes the value at a dotted path (see [`for_each_at`]): a member leaves its object, `*`
/// empties the object or list, and a list element becomes `null` so later indices keep their
/// meaning. A path that is not there is no error.
pub fn remove_path(value: &mut Value, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, path),
    };
    let remove = |parent: &mut Value| match parent {
        Value::Object(map) if last == "*" => map.clear(),
        Value::Object(map) => {
            map.remove(last);
        }
        Value::Array(items) if last == "*" => items.clear(),
        Value::Array(items) => {
            if let Some(item) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *item = Value::Null;
            }
        }
        _ => {}
    };
    match parent {
        Some(parent) => for_each_at(value, parent, remove),
        None => remove(value),
    }
}

#[cfg(test)]
mod tests;
