//! TagResource, UntagResource and ListTagsForResource for Real-Time's resources, on the
//! `/tags/{resourceArn}` routes IVS shares (`Service::route` sends an ARN of a Real-Time resource
//! type here).
//!
//! The model's `ResourceArn` pattern matches no real ARN (as IVS's), so the type is checked here.
//! Documented: "At most 50 tags can be applied to a resource" (the model). Its service
//! documentation names only stages as taggable, but every Real-Time resource shape carries
//! `tags` and its create call takes them; inferred: each can be tagged.

use serde_json::{Map, Value};

use super::{id_of, MAX_TAGS, NOUNS};
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::arn;

fn locate(ctx: &Ctx<'_>, arn_text: &str) -> Result<(&'static str, String), ApiError> {
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

fn current(ctx: &Ctx<'_>, resource_type: &'static str, id: &str) -> Map<String, Value> {
    ctx.region
        .get(resource_type, id)
        .and_then(|r| r.get("tags"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn store(ctx: &mut Ctx<'_>, resource_type: &'static str, id: &str, tags: Map<String, Value>) {
    if let Some(resource) = ctx.region.get_mut(resource_type, id) {
        set(resource, "tags", Value::Object(tags));
    }
}

pub(super) fn tag(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let (resource_type, id) = locate(ctx, text(input, "resourceArn"))?;
    let mut tags = current(ctx, resource_type, &id);
    if let Some(new) = input.get("tags").and_then(Value::as_object) {
        tags.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::validation(format!(
            "tags: the resource would have {} tags, at most {MAX_TAGS}",
            tags.len()
        )));
    }
    store(ctx, resource_type, &id, tags);
    Ok(object())
}

pub(super) fn untag(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let (resource_type, id) = locate(ctx, text(input, "resourceArn"))?;
    let mut tags = current(ctx, resource_type, &id);
    for key in input
        .get("tagKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        tags.remove(key);
    }
    store(ctx, resource_type, &id, tags);
    Ok(object())
}

pub(super) fn list(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let (resource_type, id) = locate(ctx, text(input, "resourceArn"))?;
    Ok(serde_json::json!({ "tags": current(ctx, resource_type, &id) }))
}
