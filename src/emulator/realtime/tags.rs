//! TagResource, UntagResource and ListTagsForResource for Real-Time's resources, on the
//! `/tags/{resourceArn}` routes IVS shares (`Service::route` sends an ARN of a Real-Time resource
//! type here).
//!
//! The model's `ResourceArn` pattern matches no real ARN (as IVS's), so the type is checked here.
//! Documented: "At most 50 tags can be applied to a resource" (the model). Its service
//! documentation names only stages as taggable, but every Real-Time resource shape carries
//! `tags` and its create call takes them; inferred: each can be tagged.

use serde_json::Value;

use super::{id_of, NOUNS};
use crate::emulator::state::text;
use crate::emulator::{tagging, ApiError, Ctx};
use crate::ivs::arn;

fn locate(ctx: &Ctx<'_>, arn_text: &str) -> Result<tagging::Located, ApiError> {
    let resource_type = arn::parse_ivs(arn_text)
        .and_then(|a| NOUNS.iter().find(|(t, _)| *t == a.resource_type))
        .map(|(t, _)| *t)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "resourceArn: `{}` is not the ARN of an IVS Real-Time resource (arn:aws:ivs:<region>:<account>:<type>/<id>, type one of {})",
                crate::redact::printable(arn_text),
                NOUNS.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
            ))
        })?;
    let id = id_of(ctx, resource_type, arn_text)?.to_owned();
    Ok((resource_type, id))
}

pub(super) fn tag(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let target = locate(ctx, text(input, "resourceArn"))?;
    tagging::tag(ctx, &target, input)
}

pub(super) fn untag(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let target = locate(ctx, text(input, "resourceArn"))?;
    Ok(tagging::untag(ctx, &target, input))
}

pub(super) fn list(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let target = locate(ctx, text(input, "resourceArn"))?;
    Ok(tagging::list(ctx, &target))
}
