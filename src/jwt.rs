//! JSON Web Tokens signed ES384 (ECDSA on P-384 with SHA-384), the kind IVS deals in: Real-Time
//! participant tokens (signed by IVS, or by the application with a key whose public half was
//! imported with `ImportPublicKey`) and private channels' playback tokens (signed by the
//! application with the private half of an imported playback key pair).
//!
//! RFC 7515/7519 in compact form: `base64url(header) . base64url(claims) . base64url(signature)`,
//! no padding; an ES384 signature is `r || s`, 48 bytes each (RFC 7518 §3.4), which is aws-lc-rs's
//! `FIXED` encoding. The crypto is aws-lc-rs's, already in the build through rustls.
//!
//! Tokens IVS itself mints (CreateParticipantToken's) are not ES384 JWTs: their header is
//! `{"alg":"KMS","typ":"JWT"}` and their signature an ECDSA P-384 signature in ASN.1 DER
//! (`30 66 02 31 …`, 102 to 104 bytes), as real tokens decode (repository SunilDevX/flutter_ivs_stage,
//! `example/lib/main.dart`: three CreateParticipantToken tokens of stage `uAVDFdSTytHE`, expired
//! 2025-09-03). [`Signer::sign_minted`] makes that shape with the emulator's
//! key and [`Decoded::verify_minted`] checks it.
//!
//! What this module does not do is decide whether a token is *accepted*: expiry, the claims a
//! service requires and which key may sign which token are the callers' rules, each cited there.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P384_SHA384_ASN1,
    ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P384_SHA384_FIXED, ECDSA_P384_SHA384_FIXED_SIGNING,
};
use serde_json::{Map, Value};

/// The longest token decoded. IVS's own tokens are about 1 KB; attributes are bounded by the
/// model (at most 1 KB in all for Real-Time), so 16 KB leaves room without letting a caller make
/// the decoder allocate without end.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The DER `SubjectPublicKeyInfo` prefix of every P-384 public key (id-ecPublicKey, secp384r1,
/// a 97-byte BIT STRING), up to and including the `04` of the uncompressed point.
const P384_SPKI_PREFIX: [u8; 24] = [
    0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
    0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00, 0x04,
];

/// Why a token could not be decoded or verified. The texts say what was expected, so that they
/// can be answered to the caller as they are; none of them quotes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwtError {
    /// Not three base64url parts of JSON objects, or too long.
    #[error("the token is not a JWT: {0}")]
    Malformed(&'static str),
    /// The header names another algorithm.
    #[error("the token is signed `{0}`; IVS tokens are signed ES384")]
    Algorithm(String),
    /// The signature does not verify with the key.
    #[error("the token's signature does not verify")]
    Signature,
}

/// A token split and decoded, not yet verified.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    /// The JOSE header (`alg`, `typ`, `kid`, …).
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// `header.claims` as it came, which the signature covers.
    signing_input: String,
    /// The signature's bytes.
    signature: Vec<u8>,
}

impl Decoded {
    /// The header's `kid`, if it has one.
    pub fn key_id(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// A numeric claim in whole seconds (`exp`, `iat`, `nbf`); a fraction is cut.
    pub fn seconds(&self, claim: &str) -> Option<u64> {
        let value = self.claims.get(claim)?;
        value
            .as_u64()
            .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
    }

    /// A string claim.
    pub fn text(&self, claim: &str) -> Option<&str> {
        self.claims.get(claim).and_then(Value::as_str)
    }

    /// Whether the signature verifies with `public_key`, a P-384 key as DER `SubjectPublicKeyInfo`
    /// (what [`p384_public_key`] returns). Refuses any `alg` but ES384 first, so that a token
    /// cannot choose a weaker check (`none`, HS384 with the public key as secret).
    pub fn verify(&self, public_key: &[u8]) -> Result<(), JwtError> {
        match self.header.get("alg").and_then(Value::as_str) {
            Some("ES384") => {}
            Some(other) => {
                return Err(JwtError::Algorithm(
                    crate::redact::printable(other).into_owned(),
                ))
            }
            None => return Err(JwtError::Malformed("its header has no `alg`")),
        }
        let point = public_key
            .strip_prefix(&P384_SPKI_PREFIX[..P384_SPKI_PREFIX.len() - 1])
            .ok_or(JwtError::Signature)?;
        UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JwtError::Signature)
    }

    /// Whether this is a token the emulator minted as IVS mints them (header `alg` `KMS`, the
    /// signature in ASN.1 DER; see the module doc) and its signature verifies with `public_key`
    /// (DER `SubjectPublicKeyInfo`). Any other `alg` is refused before the signature is read.
    pub fn verify_minted(&self, public_key: &[u8]) -> Result<(), JwtError> {
        match self.header.get("alg").and_then(Value::as_str) {
            Some(MINTED_ALG) => {}
            Some(other) => {
                return Err(JwtError::Algorithm(
                    crate::redact::printable(other).into_owned(),
                ))
            }
            None => return Err(JwtError::Malformed("its header has no `alg`")),
        }
        let point = public_key
            .strip_prefix(&P384_SPKI_PREFIX[..P384_SPKI_PREFIX.len() - 1])
            .ok_or(JwtError::Signature)?;
        UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, point)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JwtError::Signature)
    }
}

/// The `alg` of the tokens IVS mints itself (see the module doc).
pub(crate) const MINTED_ALG: &str = "KMS";

/// Splits and decodes a compact JWT, without verifying it.
pub(crate) fn decode(token: &str) -> Result<Decoded, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed("it is longer than 16 KiB"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed(
            "expected three base64url parts joined by dots",
        ));
    };
    let object = |part: &str, what: &'static str| -> Result<Map<String, Value>, JwtError> {
        let bytes = base64url_decode(part).ok_or(JwtError::Malformed(what))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(JwtError::Malformed(what)),
        }
    };
    let header_map = object(header, "its header is not base64url JSON object")?;
    let claims_map = object(claims, "its claims are not a base64url JSON object")?;
    let signature =
        base64url_decode(signature).ok_or(JwtError::Malformed("its signature is not base64url"))?;
    Ok(Decoded {
        header: header_map,
        claims: claims_map,
        signing_input: token[..header.len() + 1 + claims.len()].to_owned(),
        signature,
    })
}

/// An ES384 signing key: the emulator's own (generated at start), or a test's.
pub(crate) struct Signer {
    key: EcdsaKeyPair,
    /// The same key, signing in ASN.1 DER, for the tokens minted as IVS mints them.
    minted: EcdsaKeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    /// The signer of `key`, with its ASN.1 twin.
    fn from_key(key: EcdsaKeyPair) -> Signer {
        // Invariant: a key aws-lc-rs holds always exports as PKCS#8, and that PKCS#8 reads back
        // under the same curve and digest whatever the signature encoding.
        let der = key.to_pkcs8v1().expect("a held key exports as PKCS#8");
        let minted = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, der.as_ref())
            .expect("the key's own PKCS#8 reads back");
        Signer { key, minted }
    }

    /// A new random key.
    pub fn generate() -> Signer {
        // Invariant: generating a P-384 key fails only when the system has no randomness, which
        // nothing in this process could recover from.
        let key = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING)
            .expect("the system random source works");
        Signer::from_key(key)
    }

    /// The key from a PKCS#8 `PRIVATE KEY` PEM, or from a SEC1 `EC PRIVATE KEY` PEM (what
    /// `openssl ecparam -genkey` writes).
    pub fn from_pem(pem: &str) -> Result<Signer, String> {
        let (label, der) = pem_body(pem)?;
        let key = match label {
            "PRIVATE KEY" => EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &der),
            "EC PRIVATE KEY" => {
                EcdsaKeyPair::from_private_key_der(&ECDSA_P384_SHA384_FIXED_SIGNING, &der)
            }
            _ => return Err(format!("expected a PRIVATE KEY PEM, found {label}")),
        }
        .map_err(|_| "not an ECDSA P-384 private key".to_owned())?;
        Ok(Signer::from_key(key))
    }

    /// The public half as DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> Vec<u8> {
        let mut der = P384_SPKI_PREFIX[..P384_SPKI_PREFIX.len() - 1].to_vec();
        der.extend_from_slice(self.key.public_key().as_ref());
        der
    }

    /// The public half as a `PUBLIC KEY` PEM, as ImportPlaybackKeyPair and ImportPublicKey take it.
    pub fn public_key_pem(&self) -> String {
        let body = base64_encode(&self.public_key_der());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            // Base64 output is ASCII.
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The key as PKCS#8 DER: what a state file keeps (`emulator::state_file`), so that tokens
    /// signed before a restart verify after it.
    pub fn pkcs8_der(&self) -> Vec<u8> {
        self.key
            .to_pkcs8v1()
            .map(|d| d.as_ref().to_vec())
            .unwrap_or_default()
    }

    /// The key from PKCS#8 DER ([`Signer::pkcs8_der`]).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Signer, String> {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, der)
            .map(Signer::from_key)
            .map_err(|_| "not an ECDSA P-384 private key in PKCS#8".to_owned())
    }

    /// The private half as a PKCS#8 `PRIVATE KEY` PEM (for tests that hand a key to a client).
    #[allow(dead_code)] // Used by tests; kept beside its inverse.
    pub fn private_key_pem(&self) -> String {
        let der = self.pkcs8_der();
        let body = base64_encode(&der);
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        pem
    }

    /// A compact JWT of `claims`, with header `{"alg":"ES384","typ":"JWT"}` and `kid` when given.
    pub fn sign(&self, key_id: Option<&str>, claims: &Map<String, Value>) -> String {
        let mut header = Map::new();
        header.insert("alg".into(), "ES384".into());
        header.insert("typ".into(), "JWT".into());
        if let Some(kid) = key_id {
            header.insert("kid".into(), kid.into());
        }
        // Invariant: maps of JSON values always serialize.
        let header = serde_json::to_vec(&header).expect("JSON serializes");
        let claims = serde_json::to_vec(claims).expect("JSON serializes");
        let mut token = base64url_encode(&header);
        token.push('.');
        token.push_str(&base64url_encode(&claims));
        // Invariant: signing with a valid key fails only without randomness (as in `generate`).
        let signature = self
            .key
            .sign(&SystemRandom::new(), token.as_bytes())
            .expect("the system random source works");
        token.push('.');
        token.push_str(&base64url_encode(signature.as_ref()));
        token
    }

    /// A compact JWT of `claims` in the shape IVS mints its own tokens: header
    /// `{"alg":"KMS","typ":"JWT"}`, signature in ASN.1 DER (see the module doc).
    pub fn sign_minted(&self, claims: &Map<String, Value>) -> String {
        let header = format!(r#"{{"alg":"{MINTED_ALG}","typ":"JWT"}}"#);
        // Invariant: maps of JSON values always serialize.
        let claims = serde_json::to_vec(claims).expect("JSON serializes");
        let mut token = base64url_encode(header.as_bytes());
        token.push('.');
        token.push_str(&base64url_encode(&claims));
        // Invariant: signing with a valid key fails only without randomness (as in `generate`).
        let signature = self
            .minted
            .sign(&SystemRandom::new(), token.as_bytes())
            .expect("the system random source works");
        token.push('.');
        token.push_str(&base64url_encode(signature.as_ref()));
        token
    }
}

/// The DER of a PEM `PUBLIC KEY` holding a P-384 key, or why it is not one. Used by
/// ImportPlaybackKeyPair and ImportPublicKey, and by [`Decoded::verify`]'s callers.
pub(crate) fn p384_public_key(pem: &str) -> Result<Vec<u8>, String> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PUBLIC KEY-----")
        .and_then(|rest| rest.trim_end().strip_suffix("-----END PUBLIC KEY-----"))
        .ok_or(
            "expected a PEM public key (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)",
        )?;
    let der = base64_decode(body).ok_or("the PEM body is not base64")?;
    if der.len() != P384_SPKI_PREFIX.len() + 96 || !der.starts_with(&P384_SPKI_PREFIX) {
        return Err("not an ECDSA P-384 public key".to_owned());
    }
    // The DER has the right shape; refuse a point that is not on the curve here, once, rather
    // than have every later verification fail.
    let point = &der[P384_SPKI_PREFIX.len() - 1..];
    if aws_lc_rs::signature::ParsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point).is_err() {
        return Err("not an ECDSA P-384 public key (its point is not on the curve)".to_owned());
    }
    Ok(der)
}

/// The label and DER of a one-block PEM.
fn pem_body(pem: &str) -> Result<(&str, Vec<u8>), String> {
    let pem = pem.trim();
    let rest = pem
        .strip_prefix("-----BEGIN ")
        .ok_or("expected a PEM block (-----BEGIN …-----)")?;
    let (label, rest) = rest
        .split_once("-----")
        .ok_or("a PEM label ends with -----")?;
    let end = format!("-----END {label}-----");
    let body = rest
        .trim_end()
        .strip_suffix(end.as_str())
        .ok_or_else(|| format!("expected {end} at the end"))?;
    let der = base64_decode(body).ok_or("the PEM body is not base64")?;
    Ok((label, der))
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Base64url without padding (RFC 4648 §5), as JWTs use it.
pub(crate) fn base64url_encode(bytes: &[u8]) -> String {
    encode(bytes, URL, false)
}

/// Standard base64 with padding.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    encode(bytes, STD, true)
}

/// Base64url without padding; `None` on any other character, on padding, or on a length no
/// encoder writes.
pub(crate) fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    decode_with(text.bytes(), |c| match c {
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    })
}

/// Standard base64 with padding, ignoring whitespace (PEM wraps lines).
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut padding = 0;
    let mut body = Vec::with_capacity(text.len());
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            padding += 1;
        } else if padding > 0 {
            return None;
        } else {
            body.push(c);
        }
    }
    if padding > 2 {
        return None;
    }
    decode_with(body.into_iter(), |c| match c {
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    })
}

fn decode_with(
    text: impl Iterator<Item = u8>,
    extra: impl Fn(u8) -> Option<u8>,
) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            _ => extra(c)?,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claims() -> Map<String, Value> {
        let Value::Object(map) = serde_json::json!({"exp": 1_900_000_000u64, "user_id": "ana"})
        else {
            unreachable!()
        };
        map
    }

    #[test]
    fn a_signed_token_decodes_and_verifies_with_its_key_only() {
        let signer = Signer::generate();
        let token = signer.sign(Some("kid-1"), &claims());
        let decoded = decode(&token).unwrap();
        assert_eq!(decoded.key_id(), Some("kid-1"));
        assert_eq!(decoded.seconds("exp"), Some(1_900_000_000));
        assert_eq!(decoded.text("user_id"), Some("ana"));
        assert_eq!(decoded.header["alg"], "ES384");
        decoded.verify(&signer.public_key_der()).unwrap();
        let other = Signer::generate();
        assert_eq!(
            decoded.verify(&other.public_key_der()),
            Err(JwtError::Signature)
        );
    }

    #[test]
    fn a_changed_claim_or_algorithm_is_refused() {
        let signer = Signer::generate();
        let token = signer.sign(None, &claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = base64url_encode(br#"{"exp":1900000000,"user_id":"eve"}"#);
        parts[1] = &forged;
        let decoded = decode(&parts.join(".")).unwrap();
        assert_eq!(
            decoded.verify(&signer.public_key_der()),
            Err(JwtError::Signature)
        );
        let none = base64url_encode(br#"{"alg":"none"}"#);
        parts[0] = &none;
        let decoded = decode(&parts.join(".")).unwrap();
        assert_eq!(
            decoded.verify(&signer.public_key_der()),
            Err(JwtError::Algorithm("none".into()))
        );
    }

    #[test]
    fn malformed_tokens_say_what_is_wrong() {
        for (token, expected) in [
            ("abc", "expected three base64url parts joined by dots"),
            ("a.b.c.d", "expected three base64url parts joined by dots"),
            ("!!.e30.AA", "its header is not base64url JSON object"),
            ("e30.W10.AA", "its claims are not a base64url JSON object"),
            ("e30.e30.A*", "its signature is not base64url"),
        ] {
            assert_eq!(decode(token), Err(JwtError::Malformed(expected)), "{token}");
        }
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(decode(&long), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn keys_round_trip_through_pem() {
        let signer = Signer::generate();
        assert_eq!(
            p384_public_key(&signer.public_key_pem()).unwrap(),
            signer.public_key_der()
        );
        let again = Signer::from_pem(&signer.private_key_pem()).unwrap();
        assert_eq!(again.public_key_der(), signer.public_key_der());
        assert!(Signer::from_pem(&signer.public_key_pem()).is_err());
    }

    #[test]
    fn only_p384_public_keys_are_accepted() {
        let p384 = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEL2vCI2b105eiZ8DgKtNR8vm3F/bbYeVx
7b8ZLFX9y/ESYRoXmleLzAXmeMbGshCk5K1fBYsXQ3eZ6CoCLNB0d3wY9eJAOWFN
j0zy99Ub31TKWXMPGkBk+xauVmSUM9RF
-----END PUBLIC KEY-----";
        assert_eq!(p384_public_key(p384).unwrap().len(), 120);
        let p256 = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEVvVVvv8b1kD4q1kZ0gZ6n0N2g2k0\nQm9wJ8Yb3e0X9n9fD5dKJ0u3a7cS5kq2Cq0aV8H5o7cR9g4i1b2f3e4d5g==\n-----END PUBLIC KEY-----";
        assert_eq!(
            p384_public_key(p256).unwrap_err(),
            "not an ECDSA P-384 public key"
        );
        // The right DER shape, a point off the curve.
        let mut der = P384_SPKI_PREFIX.to_vec();
        der.extend([7u8; 96]);
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            base64_encode(&der)
        );
        assert!(p384_public_key(&pem)
            .unwrap_err()
            .ends_with("not on the curve)"));
        assert!(p384_public_key("hello")
            .unwrap_err()
            .starts_with("expected a PEM public key"));
        assert_eq!(
            p384_public_key("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----")
                .unwrap_err(),
            "the PEM body is not base64"
        );
    }

    proptest! {
        #[test]
        fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(base64url_decode(&base64url_encode(&bytes)), Some(bytes.clone()));
            prop_assert_eq!(base64_decode(&base64_encode(&bytes)), Some(bytes.clone()));
            prop_assert!(!base64url_encode(&bytes).contains(['=', '+', '/']));
        }

        #[test]
        fn decoding_never_panics(text in "[A-Za-z0-9_.\\-=]{0,120}") {
            let _ = decode(&text);
        }
    }
}
