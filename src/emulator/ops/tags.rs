//! TagResource, UntagResource and ListTagsForResource, for every resource IVS names by ARN.
//!
//! The model's `ResourceArn` pattern matches no real ARN (a known model bug), so the ARN is
//! checked by resource type here instead: an ARN of no IVS resource type is a
//! ValidationException, one of no existing resource a ResourceNotFoundException. The tags
//! themselves are `emulator::tagging`'s, shared with Chat and Real-Time.

use serde_json::Value;

use crate::emulator::resource::{self, family_of};
use crate::emulator::state::text;
use crate::emulator::{tagging, ApiError, Ctx};
use crate::ivs::arn;

fn locate(ctx: &Ctx<'_>, arn_text: &str) -> Result<tagging::Located, ApiError> {
    let family = arn::parse_ivs(arn_text)
        .and_then(|a| family_of(a.resource_type))
        .ok_or_else(|| {
            ApiError::validation(format!(
                "resourceArn: `{arn_text}` is not the ARN of an IVS resource (arn:aws:ivs:<region>:<account>:<type>/<id>, type one of {})",
                arn::RESOURCE_TYPES.join(", ")
            ))
        })?;
    let id = resource::id_in(ctx, family, arn_text)?.to_owned();
    if ctx.region.get(family.resource_type, &id).is_none() {
        return Err(resource::not_found(family, arn_text));
    }
    Ok((family.resource_type, id))
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
