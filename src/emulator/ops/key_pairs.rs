//! Playback key pairs: the public half of an ECDSA P-384 key, imported as PEM.
//!
//! Documented: importing the same public key twice is a ConflictException; an account has at most
//! 3 playback key pairs per region (IVS service quotas), beyond which ServiceQuotaExceededException;
//! IVS's private channels use ECDSA P-384 keys (IVS user guide). Inferred: material that is not a
//! P-384 public key in PEM is a ValidationException, and the fingerprint is the first 16 bytes of
//! the SHA-256 of the key's DER, in IVS's colon-separated hex (IVS does not document its digest).

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::emulator::resource::{self, KEY_PAIR};
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::{ErrorType, Operation};

const KEY_PAIR_QUOTA: usize = 3;

pub(super) fn import(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let der = p384_public_key(text(input, "publicKeyMaterial"))
        .map_err(|why| ApiError::validation(format!("publicKeyMaterial: {why}")))?;
    let fingerprint = fingerprint(&der);
    if let Some(existing) =
        resource::all_of(ctx.region, KEY_PAIR).find(|k| text(k, "fingerprint") == fingerprint)
    {
        return Err(ApiError::conflict(format!(
            "this public key is already imported as `{}`",
            text(existing, "arn")
        )));
    }
    if ctx.region.count(KEY_PAIR.resource_type) >= KEY_PAIR_QUOTA {
        return Err(ApiError::new(
            ErrorType::ServiceQuotaExceededException,
            format!("at most {KEY_PAIR_QUOTA} playback key pairs per region; delete one first"),
        ));
    }
    let mut pair = resource::build(KEY_PAIR, op.input, input);
    let (arn, id) = resource::mint(ctx, KEY_PAIR);
    set(&mut pair, "arn", Value::from(arn));
    set(&mut pair, "fingerprint", Value::from(fingerprint));
    if pair.get("name").is_none() {
        set(&mut pair, "name", Value::from(""));
    }
    if pair.get("tags").is_none() {
        set(&mut pair, "tags", object());
    }
    // The key itself is kept beside the resource (never in it: no answer carries it), for the
    // playback server's check of private channels' tokens.
    ctx.region.public_keys.insert(id.clone(), der);
    ctx.region.insert(KEY_PAIR.resource_type, id, pair.clone());
    Ok(resource::wrap("keyPair", pair))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = resource::id_in(ctx, KEY_PAIR, arn)?.to_owned();
    ctx.region
        .remove(KEY_PAIR.resource_type, &id)
        .ok_or_else(|| resource::not_found(KEY_PAIR, arn))?;
    ctx.region.public_keys.remove(&id);
    // DeletePlaybackKeyPair answers 200 with an empty object (its output shape has no members).
    Ok(object())
}

/// The DER of a PEM `PUBLIC KEY` holding a P-384 key, or why it is not one.
pub(crate) fn p384_public_key(pem: &str) -> Result<Vec<u8>, String> {
    crate::jwt::p384_public_key(pem).map_err(|e| {
        if e.starts_with("not an ECDSA P-384 public key") {
            format!("{e}, which IVS playback key pairs must be")
        } else {
            e
        }
    })
}

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const P384: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEL2vCI2b105eiZ8DgKtNR8vm3F/bbYeVx
7b8ZLFX9y/ESYRoXmleLzAXmeMbGshCk5K1fBYsXQ3eZ6CoCLNB0d3wY9eJAOWFN
j0zy99Ub31TKWXMPGkBk+xauVmSUM9RF
-----END PUBLIC KEY-----";

    #[test]
    fn only_p384_public_keys_are_accepted() {
        assert_eq!(p384_public_key(P384).unwrap().len(), 120);
        let p256 = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEVvVVvv8b1kD4q1kZ0gZ6n0N2g2k0\nQm9wJ8Yb3e0X9n9fD5dKJ0u3a7cS5kq2Cq0aV8H5o7cR9g4i1b2f3e4d5g==\n-----END PUBLIC KEY-----";
        assert_eq!(
            p384_public_key(p256).unwrap_err(),
            "not an ECDSA P-384 public key, which IVS playback key pairs must be"
        );
        assert!(p384_public_key("hello")
            .unwrap_err()
            .starts_with("expected a PEM public key"));
        assert_eq!(
            p384_public_key("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----")
                .unwrap_err(),
            "the PEM body is not base64"
        );
    }
}
