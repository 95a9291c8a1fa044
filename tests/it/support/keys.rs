//! Keys the tests make for themselves, as an application would: a P-384 key pair whose public
//! half is imported as PEM (IVS's `ImportPlaybackKeyPair`, Real-Time's `ImportPublicKey`) and
//! which signs ES384 JWTs (IVS playback tokens, Real-Time participant tokens).

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P384_SHA384_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;

/// A new P-384 key pair, as the IVS user guides have one made (`openssl ecparam -name
/// secp384r1`).
pub struct P384(EcdsaKeyPair);

impl P384 {
    /// A key pair of its own: the emulator refuses points off the curve, so keys are made, not
    /// written out.
    pub fn new() -> P384 {
        P384(EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap())
    }

    /// The public half as a `PUBLIC KEY` PEM (DER `SubjectPublicKeyInfo`, 64 characters a line),
    /// as `openssl ec -pubout` writes it.
    pub fn public_pem(&self) -> String {
        let der = self.0.public_key().as_der().unwrap();
        let body = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    /// A compact ES384 JWT (RFC 7515) of `header` and `claims`.
    pub fn sign_jwt(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes())
        );
        let signature = self.0.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", base64url(signature.as_ref()))
    }
}

/// Base64url without padding, as JWTs are written.
pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The wall clock in whole seconds since the epoch, as JWTs' `exp` and `iat` count.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
