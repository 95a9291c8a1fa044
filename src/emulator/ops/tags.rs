//! TagResource, UntagResource and ListTagsForResource, for every resource IVS names by ARN.
//!
//! The model's `ResourceArn` pattern matches no real ARN (a known model bug), so the ARN is
//! checked by resource type here instead: an ARN of no IVS resource type is a
//! ValidationException, one of no existing resource a ResourceNotFoundException. Documented: a
//! resource holds at most 50 tags (the `Tags` map's bound), so tagging past it is a
//! ValidationException.

use serde_json::{Map, Value};

use crate::emulator::resource::{self, family_of, Family};
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::arn;

const MAX_TAGS: usize = 50;

fn locate(ctx: &Ctx<'_>, arn_text: &str) -> Result<(Family, String), ApiError> {
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
    Ok((family, id))
}

/// The tags of a located resource, read without touching it (an empty map when it has none).
fn current_tags(ctx: &Ctx<'_>, family: Family, id: &str) -> Map<String, Value> {
    ctx.region
        .get(family.resource_type, id)
        .and_then(|r| r.get("tags"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn tags_mut<'r>(ctx: &'r mut Ctx<'_>, family: Family, id: &str) -> &'r mut Map<String, Value> {
    // Invariant: `locate` found the resource; every stored resource is an object.
    let resource = ctx
        .region
        .get_mut(family.resource_type, id)
        .expect("located resource");
    if !resource.get("tags").is_some_and(Value::is_object) {
        set(resource, "tags", object());
    }
    match resource.get_mut("tags") {
        Some(Value::Object(tags)) => tags,
        _ => unreachable!("tags were just made an object"),
    }
}

pub(super) fn tag(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let (family, id) = locate(ctx, text(input, "resourceArn"))?;
    let new = input
        .get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // Checked on a read of the tags, so that a refused call changes nothing.
    let current = current_tags(ctx, family, &id);
    let n_after = current.len() + new.keys().filter(|k| !current.contains_key(*k)).count();
    if n_after > MAX_TAGS {
        return Err(ApiError::validation(format!(
            "tags: the resource would have {n_after} tags, at most {MAX_TAGS}"
        )));
    }
    tags_mut(ctx, family, &id).extend(new);
    Ok(object())
}

pub(super) fn untag(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let (family, id) = locate(ctx, text(input, "resourceArn"))?;
    let keys: Vec<String> = input
        .get("tagKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    let tags = tags_mut(ctx, family, &id);
    for key in keys {
        tags.remove(&key);
    }
    Ok(object())
}

pub(super) fn list(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let (family, id) = locate(ctx, text(input, "resourceArn"))?;
    Ok(serde_json::json!({ "tags": current_tags(ctx, family, &id) }))
}
