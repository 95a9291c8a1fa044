//! JWTs (IVS Real-Time participant tokens) kept out of cassettes with their shape: a token is
//! written as a placeholder that also holds a *skeleton* of the token, its header and claims
//! with every value faked, and replay renders that skeleton back as a JWT that decodes.
//!
//! The written form is `ivs-vcr-redacted:<16 hex> jwt <header> <claims>`: the 16 hex digits are
//! the token's own placeholder ([`super::secret_placeholder`]), then the header and the claims as
//! compact JSON (keys sorted). In the skeleton, claim names (and the names inside nested
//! objects, such as `attributes`) are kept, and so are the types, array lengths, booleans
//! (a capability flag is one bit, and also in the answer's `capabilities`) and nulls; every string
//! and number is replaced by a fake of the same type derived from the placeholder and the value's
//! place, never equal to the original: a string becomes `fake-<8 hex>`, an integer another
//! integer of as many digits (so `exp` still reads as a time of the same magnitude), a float
//! another float. The header keeps `alg` and `typ`, which say how to read the token; its other
//! members are faked like claims. So a reviewer sees what replay will hand out, and the recorded
//! values are not in the file.
//!
//! The rendered token is `base64url(header).base64url(claims).<signature>`, the signature made of
//! the fake mark, the placeholder's digits twice, and zeros, 128 characters (an ES384 signature's
//! length in base64url): it decodes, but verifies under no key. A fake token that a client sends
//! back turns into the placeholder it was rendered from ([`placeholder_of_fake_jwt`]), as
//! stream keys do.
//!
//! AWS says to treat tokens as opaque ("do not build functionality based on token contents",
//! RealTimeAPIReference, `ParticipantToken`); the shape is kept for clients that decode one
//! anyway, to read `exp` or the attributes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::fake::FAKE_MARK;
use super::{hmac_sha256, is_hex, secret_placeholder, PLACEHOLDER_KEY, REDACTED_PREFIX};

/// What separates a JWT placeholder's digits from its skeleton.
const JWT_TAG: &str = " jwt ";

/// The length of a rendered signature: an ES384 signature (96 bytes) in base64url.
const SIGNATURE_LEN: usize = 128;

/// The header and claims of a JWT, when `token` is one: three dot-separated base64url parts
/// (the signature may be empty), the first two JSON objects.
pub(super) fn decode(token: &str) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !signature
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
    {
        return None;
    }
    let object = |part: &str| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    };
    Some((object(header)?, object(claims)?))
}

/// The placeholder a JWT is written as: its digits and its skeleton (see the module doc), or
/// `None` when `token` is no JWT (it is then written as a plain placeholder).
pub(super) fn placeholder(token: &str) -> Option<String> {
    let (header, claims) = decode(token)?;
    let plain = secret_placeholder(token);
    let hex = &plain[REDACTED_PREFIX.len()..];
    let header = header
        .into_iter()
        .map(|(name, value)| {
            let value = if matches!(name.as_str(), "alg" | "typ") && value.is_string() {
                value
            } else {
                fake_value(hex, &format!("header/{name}"), &value)
            };
            (name, value)
        })
        .collect();
    let claims = fake_value(hex, "claims", &Value::Object(claims));
    Some(written(hex, &Value::Object(header), &claims))
}

fn written(hex: &str, header: &Value, claims: &Value) -> String {
    format!("{REDACTED_PREFIX}{hex}{JWT_TAG}{header} {claims}")
}

/// The digits, header and claims of a JWT placeholder, when `text` is exactly one: the form
/// [`placeholder`] writes, byte for byte (compact JSON objects, keys sorted), so that a value
/// merely starting like one is never taken for one.
pub(super) fn parse_placeholder(text: &str) -> Option<(&str, Value, Value)> {
    let rest = text.strip_prefix(REDACTED_PREFIX)?;
    let hex = rest.get(..16)?;
    let skeleton = rest.get(16..)?.strip_prefix(JWT_TAG)?;
    if !is_hex(hex, 16) {
        return None;
    }
    let mut values = serde_json::Deserializer::from_str(skeleton).into_iter::<Value>();
    let header = values.next()?.ok()?;
    let claims = values.next()?.ok()?;
    if values.next().is_some() || !header.is_object() || !claims.is_object() {
        return None;
    }
    (written(hex, &header, &claims) == text).then_some((hex, header, claims))
}

/// Whether `text` is a JWT placeholder (see [`parse_placeholder`]).
pub fn is_jwt_placeholder(text: &str) -> bool {
    text.starts_with(REDACTED_PREFIX) && parse_placeholder(text).is_some()
}

/// The skeleton of a JWT placeholder (its header and claims as written), for the scan, which
/// looks at it as at any text: nothing secret may hide in a value taken for a placeholder.
pub(super) fn skeleton(text: &str) -> Option<&str> {
    parse_placeholder(text)?;
    text.get(REDACTED_PREFIX.len() + 16 + JWT_TAG.len()..)
}

/// The JWT a placeholder renders as on replay: the skeleton's header and claims in base64url
/// and a signature carrying the fake mark (see the module doc).
pub fn fake_jwt(text: &str) -> Option<String> {
    let (hex, header, claims) = parse_placeholder(text)?;
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let mut signature = format!("{FAKE_MARK}{hex}{hex}");
    signature.extend(std::iter::repeat_n('0', SIGNATURE_LEN - signature.len()));
    Some(format!(
        "{}.{}.{signature}",
        encode(&header),
        encode(&claims)
    ))
}

/// The JWT placeholder a fake token was rendered from, when `text` is exactly one.
pub fn placeholder_of_fake_jwt(text: &str) -> Option<String> {
    let (header, claims) = decode(text)?;
    let signature = text.rsplit('.').next()?;
    let digits = signature.strip_prefix(FAKE_MARK)?;
    let (hex, zeros) = (digits.get(..16)?, digits.get(32..)?);
    if signature.len() != SIGNATURE_LEN
        || digits.get(16..32) != Some(hex)
        || !is_hex(hex, 16)
        || zeros.bytes().any(|b| b != b'0')
    {
        return None;
    }
    let placeholder = written(hex, &Value::Object(header), &Value::Object(claims));
    // Only what [`fake_jwt`] renders: a token whose parts are not the written form (keys out
    // of order, spaces) is no fake.
    (fake_jwt(&placeholder).as_deref() == Some(text)).then_some(placeholder)
}

/// A fake for `value` at `place` (a path inside the token), of the same type and shape.
fn fake_value(hex: &str, place: &str, value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(fake_string(hex, place, s)),
        Value::Number(n) => Value::Number(fake_number(hex, place, n)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| fake_value(hex, &format!("{place}/{i}"), item))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(name, item)| {
                    let place = format!("{place}/{}", name.replace('/', "~1"));
                    (name.clone(), fake_value(hex, &place, item))
                })
                .collect(),
        ),
        Value::Bool(_) | Value::Null => value.clone(),
    }
}

/// The bytes a fake at `place` is made from: keyed by the token's placeholder, so the same token
/// always gives the same skeleton.
fn seed(hex: &str, place: &str) -> [u8; 32] {
    hmac_sha256(PLACEHOLDER_KEY, format!("{hex}/{place}").as_bytes())
}

fn fake_string(hex: &str, place: &str, original: &str) -> String {
    let seed = seed(hex, place);
    let digits = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let fake = format!("fake-{}", digits(&seed[..4]));
    if fake != original {
        return fake;
    }
    format!("fake-{}", digits(&seed[4..8]))
}

fn fake_number(hex: &str, place: &str, original: &Number) -> Number {
    let seed = seed(hex, place);
    if let Some(n) = original.as_u64() {
        return Number::from(fake_digits(&seed, n));
    }
    if let Some(n) = original.as_i64() {
        // Negative: as many digits, still negative.
        let fake = fake_digits(&seed, n.unsigned_abs()).min(i64::MAX as u64);
        return Number::from(-(fake as i64));
    }
    let f = original.as_f64().unwrap_or_default();
    let mut fake =
        f64::from(u32::from_be_bytes([seed[0], seed[1], seed[2], seed[3]])) / 1000.0 + 0.5;
    if f.is_sign_negative() {
        fake = -fake;
    }
    if fake == f {
        fake += 1.0_f64.copysign(f);
    }
    Number::from_f64(fake).unwrap_or_else(|| Number::from(0))
}

/// A number with as many decimal digits as `n` (at most 18), from `seed`, never `n`.
fn fake_digits(seed: &[u8; 32], n: u64) -> u64 {
    let len = n.checked_ilog10().map_or(1, |l| l + 1).min(18) as usize;
    let mut fake = u64::from(1 + seed[0] % 9);
    for b in &seed[1..len] {
        fake = fake * 10 + u64::from(b % 10);
    }
    if fake == n {
        // The last digit moves on; a one-digit 9 becomes 0, still one digit and not 9.
        fake = fake - fake % 10 + (fake % 10 + 1) % 10;
    }
    fake
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn encode(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: &Value, claims: &Value, signature: &str) -> String {
        format!("{}.{}.{signature}", encode(header), encode(claims))
    }

    /// Same names, same types, same lengths, at every level.
    fn same_shape(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| same_shape(v, w)))
            }
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same_shape(v, w))
            }
            // Integers stay integers, of the same sign; floats stay floats.
            (Value::Number(a), Value::Number(b)) => {
                a.is_f64() == b.is_f64()
                    && a.as_f64().map(f64::is_sign_negative)
                        == b.as_f64().map(f64::is_sign_negative)
            }
            (Value::String(_), Value::String(_)) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Null, Value::Null) => true,
            _ => false,
        }
    }

    /// Every string and number of `original` differs from the one at its place in `fake`.
    fn no_value_survives(original: &Value, fake: &Value) -> bool {
        match (original, fake) {
            (Value::Object(a), Value::Object(b)) => {
                a.iter().all(|(k, v)| no_value_survives(v, &b[k]))
            }
            (Value::Array(a), Value::Array(b)) => {
                a.iter().zip(b).all(|(v, w)| no_value_survives(v, w))
            }
            (Value::String(a), Value::String(b)) => a != b,
            (Value::Number(a), Value::Number(b)) => a.as_f64() != b.as_f64(),
            _ => true,
        }
    }

    /// A participant token with the claims the Real-Time user guide lists for tokens.
    fn participant_token() -> (Value, Value, String) {
        let header = json!({"alg": "ES384", "typ": "JWT", "kid": "arn:aws:ivs:us-west-2:123456789012:public-key/abcdABCDefgh"});
        let claims = json!({
            "exp": 1_765_432_100u64, "iat": 1_765_388_900u64, "jti": "Xk2YjHjW8pQy",
            "resource": "arn:aws:ivs:us-west-2:123456789012:stage/AbCdEfGh1234",
            "topic": "AbCdEfGh1234", "user_id": "alice@example.com",
            "attributes": {"displayName": "Alice", "seat": "4"},
            "capabilities": {"allow_publish": true, "allow_subscribe": false},
            "events_url": "wss://global.events.live-video.net",
            "whip_url": "https://1a2b3c4d5e6f.global-bm.whip.live-video.net",
            "version": "1.0"
        });
        let jwt = token(&header, &claims, &"Ab_-9".repeat(25));
        (header, claims, jwt)
    }

    #[test]
    fn a_participant_token_is_written_as_its_skeleton_and_replayed_as_a_jwt_of_that_shape() {
        let (header, claims, jwt) = participant_token();
        let written = placeholder(&jwt).unwrap();
        assert!(is_jwt_placeholder(&written), "{written}");
        assert!(written.starts_with(&secret_placeholder(&jwt)), "{written}");
        for value in [
            "alice",
            "Alice",
            "AbCdEfGh1234",
            "123456789012",
            "1765432100",
            "Xk2Y",
            "1a2b3c",
        ] {
            assert!(!written.contains(value), "{value} survived in {written}");
        }
        assert_eq!(placeholder(&jwt), Some(written.clone()), "stable");

        let fake = fake_jwt(&written).unwrap();
        let (fake_header, fake_claims) = decode(&fake).expect("the fake decodes");
        let (fake_header, fake_claims) = (Value::Object(fake_header), Value::Object(fake_claims));
        assert!(same_shape(&claims, &fake_claims), "{fake_claims}");
        assert!(no_value_survives(&claims, &fake_claims), "{fake_claims}");
        assert_eq!(fake_header["alg"], "ES384");
        assert_eq!(fake_header["typ"], "JWT");
        assert_ne!(fake_header["kid"], header["kid"]);
        // `exp` is still a ten-digit number of seconds.
        assert_eq!(fake_claims["exp"].as_u64().unwrap().to_string().len(), 10);
        assert_eq!(fake_claims["capabilities"]["allow_publish"], true);
        let signature = fake.rsplit('.').next().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 96);

        assert_eq!(placeholder_of_fake_jwt(&fake), Some(written.clone()));
        assert_eq!(
            placeholder_of_fake_jwt(&jwt),
            None,
            "a real token is no fake"
        );
    }

    #[test]
    fn only_the_exact_written_form_is_a_jwt_placeholder() {
        let (_, _, jwt) = participant_token();
        let written = placeholder(&jwt).unwrap();
        let plain = secret_placeholder(&jwt);
        assert!(!is_jwt_placeholder(&plain));
        for bad in [
            written.replacen(" jwt ", " jwt  ", 1),
            written.replacen("\"alg\":", "\"alg\": ", 1),
            format!("{written} "),
            format!("{written} {{}}"),
            written.replacen(&plain[REDACTED_PREFIX.len()..], "0123456789ABCDEF", 1),
            format!("{plain} jwt [] {{}}"),
            format!("{plain} jwt {{\"b\":1,\"a\":2}} {{}}"),
        ] {
            assert!(!is_jwt_placeholder(&bad), "{bad}");
            assert_eq!(fake_jwt(&bad), None, "{bad}");
        }
        assert!(is_jwt_placeholder(&format!("{plain} jwt {{}} {{}}")));
    }

    #[test]
    fn what_is_no_jwt_gets_no_skeleton() {
        let claims = json!({"a": 1});
        for text in [
            "eyJhbGciOiJLTVMiLCJ0eXAiOiJKV1QifQ".to_owned(),
            format!("{}.{}", encode(&json!({"alg": "x"})), encode(&claims)),
            format!(
                "{}.{}.sig.more",
                encode(&json!({"alg": "x"})),
                encode(&claims)
            ),
            format!("{}.{}.s!g", encode(&json!({"alg": "x"})), encode(&claims)),
            format!("{}.{}.sig", encode(&json!([1])), encode(&claims)),
            format!("{}.not-json.sig", encode(&json!({"alg": "x"}))),
            "opaque participant token".to_owned(),
        ] {
            assert_eq!(placeholder(&text), None, "{text}");
        }
        // Unsigned: an empty signature is still a JWT.
        assert!(placeholder(&format!(
            "{}.{}.",
            encode(&json!({"alg": "none"})),
            encode(&claims)
        ))
        .is_some());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            "\\PC{0,16}".prop_map(Value::from),
            "fake-[0-9a-f]{8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z_/~]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any token's fake decodes, with the original's claim names, types and lengths, and
        /// none of its strings or numbers; the written form and the fake map onto each other.
        #[test]
        fn a_faked_token_decodes_with_the_claims_shape_and_none_of_the_values(
            claims in prop::collection::btree_map("[a-z_]{1,10}", json_value(), 0..8),
            kid in "\\PC{1,12}",
            signature in "[A-Za-z0-9_-]{0,90}",
        ) {
            let claims = Value::Object(claims.into_iter().collect());
            let header = json!({"alg": "ES384", "typ": "JWT", "kid": kid});
            let jwt = token(&header, &claims, &signature);
            let written = placeholder(&jwt).unwrap();
            prop_assert!(is_jwt_placeholder(&written));
            let fake = fake_jwt(&written).unwrap();
            let (fake_header, fake_claims) = decode(&fake).unwrap();
            let fake_claims = Value::Object(fake_claims);
            prop_assert!(same_shape(&claims, &fake_claims), "{} vs {}", claims, fake_claims);
            prop_assert!(no_value_survives(&claims, &fake_claims), "{} vs {}", claims, fake_claims);
            prop_assert_ne!(&fake_header["kid"], &header["kid"]);
            prop_assert!(!fake.contains(&jwt));
            prop_assert_eq!(placeholder_of_fake_jwt(&fake), Some(written));
        }
    }
}
