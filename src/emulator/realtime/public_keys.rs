//! Public keys imported to verify participant tokens an application signs itself.
//!
//! Documented: the key is an ECDSA P-384 public key in PEM ("generate an ECDSA public/private
//! key pair to sign the JWTs", with `openssl ecparam -name secp384r1`: the token distribution
//! guide); deleting one "invalidates future participant tokens generated using the key pair's
//! private key" (DeletePublicKey). Inferred: importing the same key twice is a ConflictException,
//! as for IVS's playback key pairs; the fingerprint is computed as for those (16 bytes of the
//! DER's SHA-256 in colon-separated hex, the form the guide's example shows); at most
//! [`MAX_PUBLIC_KEYS`] per region, the playback key pairs' quota (the Real-Time quotas page could
//! not be read in full here).

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{id_of, mint, quota, tags_of, wrap, PUBLIC_KEY};
use crate::emulator::resource;
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::jwt::p384_public_key;

/// Public keys per region (inferred; see the module doc).
const MAX_PUBLIC_KEYS: usize = 3;

pub(super) fn import(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let material = text(input, "publicKeyMaterial");
    let der = p384_public_key(material).map_err(|why| {
        ApiError::validation(format!(
            "publicKeyMaterial: {}",
            why.replace("IVS playback key pairs", "IVS Real-Time public keys")
        ))
    })?;
    let fingerprint = fingerprint(&der);
    if let Some(existing) = resource::all_of_type(ctx.region, PUBLIC_KEY)
        .find(|k| text(k, "fingerprint") == fingerprint)
    {
        return Err(ApiError::conflict(format!(
            "this public key is already imported as `{}`",
            text(existing, "arn")
        )));
    }
    if ctx.region.count(PUBLIC_KEY) >= MAX_PUBLIC_KEYS {
        return Err(quota("public keys", MAX_PUBLIC_KEYS));
    }
    let (arn, id) = mint(ctx, PUBLIC_KEY);
    let mut key = object();
    set(&mut key, "arn", Value::from(arn));
    set(
        &mut key,
        "name",
        input
            .get("name")
            .cloned()
            .unwrap_or_else(|| Value::from("")),
    );
    set(&mut key, "publicKeyMaterial", Value::from(material));
    set(&mut key, "fingerprint", Value::from(fingerprint));
    set(&mut key, "tags", tags_of(input));
    ctx.region.insert(PUBLIC_KEY, id, key.clone());
    Ok(wrap("publicKey", key))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let id = id_of(ctx, PUBLIC_KEY, text(input, "arn"))?.to_owned();
    ctx.region.remove(PUBLIC_KEY, &id);
    Ok(object())
}

/// 16 bytes of the SHA-256 of the key's DER in colon-separated hex, as IVS's playback key pairs
/// are fingerprinted here (`ops::key_pairs`).
fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
