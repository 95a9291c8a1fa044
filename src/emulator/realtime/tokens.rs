//! Participant tokens: CreateParticipantToken (and CreateStage's tokens) mint them as JWTs signed
//! with the emulator's own key in the shape IVS's own tokens have (`jwt::Signer::sign_minted`),
//! and a join verifies them, or verifies tokens an application
//! signed itself with the private half of a public key it imported (ImportPublicKey).
//!
//! Documented: `duration` is 720 minutes (12 hours) unless given, `capabilities` PUBLISH and
//! SUBSCRIBE unless given, `expirationTime` when the token expires, and `attributes` at most 1 KB
//! (the model); "Tokens always are scoped to the stage for which they are created"
//! (CreateParticipantToken). The token distribution guide
//! (<https://docs.aws.amazon.com/ivs/latest/RealTimeUserGuide/getting-started-distribute-tokens.html>)
//! documents self-signed tokens: an ECDSA P-384 key, signed ES384, the header's `kid` the ARN of
//! the imported public key, and the claims `exp`, `iat`, `jti` (the participant id), `resource`
//! (the stage ARN), `topic` (the stage id), `events_url` and `whip_url` (the stage's endpoints),
//! `user_id`, `attributes`, `capabilities` (`allow_publish`, `allow_subscribe`) and `version`.
//!
//! Real tokens IVS issued (repository SunilDevX/flutter_ivs_stage, `example/lib/main.dart`) show
//! the shape minted here: header `{"alg":"KMS","typ":"JWT"}` with no `kid`, claims in the order
//! `exp`, `iat`, `jti` (12 alphanumerics, the participant id), `resource`, `topic`, `events_url`,
//! `whip_url`, `user_id`, `capabilities`, `version` `"0.0"`, and no `attributes` claim when none
//! were given (inferred from those tokens, which had none: the claim is left out when empty).
//!
//! Inferred: a self-signed token must carry
//! `exp`, `jti` and `resource`, and a `topic` it carries must be the stage's id; a capability a
//! self-signed token leaves out is not granted; RevokeConnectionToken's connection tokens are
//! never presented to the emulator (no join path takes one), so a revocation is only kept.

use serde_json::{Map, Value};

use super::participants::stage_gone;
use super::{check_attributes, id_of, wrap, PUBLIC_KEY, STAGE};
use crate::clock;
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::{arn, ErrorType};
use crate::jwt;

/// "Default: 720 (12 hours)" (the model's `duration`).
const DEFAULT_DURATION_MINUTES: u64 = 720;

/// Revoked connection token ids kept per region, the oldest forgotten first (a bound).
const MAX_REVOCATIONS: usize = 10_000;

/// What a verified token grants.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub stage_id: String,
    pub participant_id: String,
    pub user_id: String,
    pub attributes: Map<String, Value>,
    pub allow_publish: bool,
    pub allow_subscribe: bool,
}

/// A participant token for `stage` as `configuration` (a `ParticipantTokenConfiguration` or a
/// CreateParticipantToken input) asks, as the `ParticipantToken` shape.
pub(super) fn issue(ctx: &mut Ctx<'_>, stage: &Value, configuration: &Value, now: u64) -> Value {
    let duration = configuration
        .get("duration")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_DURATION_MINUTES);
    let capabilities = configuration
        .get("capabilities")
        .filter(|c| c.is_array())
        .cloned()
        .unwrap_or_else(|| serde_json::json!(["PUBLISH", "SUBSCRIBE"]));
    let has = |name: &str| {
        capabilities
            .as_array()
            .is_some_and(|c| c.iter().any(|v| v.as_str() == Some(name)))
    };
    let attributes = configuration
        .get("attributes")
        .filter(|a| a.is_object())
        .cloned()
        .unwrap_or_else(object);
    let user_id = text(configuration, "userId").to_owned();
    let participant_id = ctx.ids.alnum(12);
    let iat = now / 1000;
    let exp = iat + duration * 60;
    let stage_arn = text(stage, "arn");
    let stage_id = arn::parse(stage_arn).map_or("", |a| a.resource_id);
    let endpoints = stage.get("endpoints").cloned().unwrap_or_else(object);
    let mut claims = Map::new();
    claims.insert("exp".into(), exp.into());
    claims.insert("iat".into(), iat.into());
    claims.insert("jti".into(), participant_id.clone().into());
    claims.insert("resource".into(), stage_arn.into());
    claims.insert("topic".into(), stage_id.into());
    claims.insert("events_url".into(), text(&endpoints, "events").into());
    claims.insert("whip_url".into(), text(&endpoints, "whip").into());
    if !user_id.is_empty() {
        claims.insert("user_id".into(), user_id.clone().into());
    }
    if attributes.as_object().is_some_and(|a| !a.is_empty()) {
        claims.insert("attributes".into(), attributes.clone());
    }
    claims.insert(
        "capabilities".into(),
        serde_json::json!({"allow_publish": has("PUBLISH"), "allow_subscribe": has("SUBSCRIBE")}),
    );
    claims.insert("version".into(), "0.0".into());
    let token = ctx.signer.sign_minted(&claims);
    let mut out = object();
    set(&mut out, "participantId", Value::from(participant_id));
    set(&mut out, "token", Value::from(token));
    set(&mut out, "userId", Value::from(user_id));
    set(&mut out, "attributes", attributes);
    set(&mut out, "duration", Value::from(duration));
    set(&mut out, "capabilities", capabilities);
    set(&mut out, "expirationTime", Value::from(clock::iso8601(exp)));
    out
}

pub(super) fn create(ctx: &mut Ctx<'_>, input: &Value, now: u64) -> Result<Value, ApiError> {
    let id = id_of(ctx, STAGE, text(input, "stageArn"))?.to_owned();
    check_attributes("attributes", input.get("attributes"))?;
    // Invariant: `id_of` found it.
    let stage = ctx.region.get(STAGE, &id).cloned().expect("found");
    Ok(wrap("participantToken", issue(ctx, &stage, input, now)))
}

pub(super) fn revoke_connection(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let revoked = &mut ctx.region.realtime.revoked_connection_tokens;
    revoked.push_back(text(input, "tokenId").to_owned());
    while revoked.len() > MAX_REVOCATIONS {
        revoked.pop_front();
    }
    Ok(object())
}

fn denied(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorType::AccessDeniedException, message)
}

fn malformed(err: &jwt::JwtError) -> ApiError {
    ApiError::validation(format!("token: {err}"))
}

/// The account, region and ARN of the stage a token is for, read before it is verified (the key that
/// verifies it lives in that region).
pub(crate) fn stage_of(token: &str) -> Result<(String, String, String), ApiError> {
    let decoded = jwt::decode(token).map_err(|e| malformed(&e))?;
    let resource = decoded.text("resource").unwrap_or("");
    arn::parse_ivs(resource)
        .filter(|a| {
            a.resource_type == STAGE
                && crate::normalize::is_valid_region(a.region)
                && crate::emulator::is_account_id(a.account)
        })
        .map(|a| (a.account.to_owned(), a.region.to_owned(), resource.to_owned()))
        .ok_or_else(|| {
            ApiError::validation(
                "token: its `resource` claim is not a stage ARN (arn:aws:ivs:<region>:<account>:stage/<id>)",
            )
        })
}

/// Verifies a participant token presented at join: signature (the emulator's key, or the
/// imported public key its `kid` names), expiry, and the stage it is for.
pub(crate) fn verify(ctx: &Ctx<'_>, token: &str, now: u64) -> Result<Grant, ApiError> {
    let decoded = jwt::decode(token).map_err(|e| malformed(&e))?;
    match decoded.key_id() {
        None => decoded.verify_minted(&ctx.signer.public_key_der()).map_err(|e| match e {
            jwt::JwtError::Signature => denied(
                "token: its signature does not verify with the emulator's key: it was altered, or signed by another key (a self-signed token names its public key's ARN in the header's `kid`)",
            ),
            other => malformed(&other),
        })?,
        Some(kid) => {
            let key = arn::parse_ivs(kid)
                .filter(|a| {
                    a.resource_type == PUBLIC_KEY
                        && a.region == ctx.region_name
                        && a.account == ctx.account
                })
                .and_then(|a| ctx.region.get(PUBLIC_KEY, a.resource_id))
                .ok_or_else(|| {
                    denied(format!(
                        "token: its `kid` `{}` names no public key imported in {} (ImportPublicKey; a deleted key signs nothing)",
                        crate::redact::printable(kid),
                        ctx.region_name
                    ))
                })?;
            let der = jwt::p384_public_key(text(key, "publicKeyMaterial"))
                .map_err(|why| denied(format!("token: the public key `{kid}` is unusable: {why}")))?;
            decoded.verify(&der).map_err(|e| match e {
                jwt::JwtError::Signature => denied(format!(
                    "token: its signature does not verify with public key `{kid}`: it was altered, or signed by another private key"
                )),
                other => malformed(&other),
            })?;
        }
    }
    let exp = decoded
        .seconds("exp")
        .ok_or_else(|| ApiError::validation("token: it has no numeric `exp` claim"))?;
    if now / 1000 >= exp {
        return Err(denied(format!(
            "token: it expired at {}; mint a new one (CreateParticipantToken)",
            clock::iso8601(exp)
        )));
    }
    let resource = decoded.text("resource").unwrap_or("");
    let stage = arn::parse_ivs(resource).filter(|a| a.resource_type == STAGE);
    let Some(stage) = stage else {
        return Err(ApiError::validation(
            "token: its `resource` claim is not a stage ARN",
        ));
    };
    if stage.region != ctx.region_name
        || stage.account != ctx.account
        || ctx.region.get(STAGE, stage.resource_id).is_none()
    {
        return Err(stage_gone(resource));
    }
    if let Some(topic) = decoded.text("topic") {
        if topic != stage.resource_id {
            return Err(denied(format!(
                "token: its `topic` `{}` is not the id of stage `{resource}`",
                crate::redact::printable(topic)
            )));
        }
    }
    let participant_id = decoded.text("jti").unwrap_or("");
    let id_ok = !participant_id.is_empty()
        && participant_id.len() <= 64
        && participant_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(ApiError::validation(
            "token: its `jti` claim (the participant id) must be 1 to 64 of a-z, A-Z, 0-9, `-` and `_`",
        ));
    }
    // What CreateParticipantToken would refuse, a self-signed token may not carry either
    // (inferred: the same limits hold for what IVS reads from either kind).
    check_attributes(
        "token: its `attributes` claim",
        decoded.claims.get("attributes"),
    )?;
    if decoded
        .text("user_id")
        .is_some_and(|u| u.chars().count() > 128)
    {
        return Err(ApiError::validation(
            "token: its `user_id` claim is longer than 128 characters",
        ));
    }
    let capability = |name: &str| {
        decoded
            .claims
            .get("capabilities")
            .and_then(|c| c.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    Ok(Grant {
        stage_id: stage.resource_id.to_owned(),
        participant_id: participant_id.to_owned(),
        user_id: decoded.text("user_id").unwrap_or("").to_owned(),
        attributes: decoded
            .claims
            .get("attributes")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        allow_publish: capability("allow_publish"),
        allow_subscribe: capability("allow_subscribe"),
    })
}
