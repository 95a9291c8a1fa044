//! TagResource, UntagResource and ListTagsForResource on a located resource, shared by every
//! service: each service finds the resource its `resourceArn` names (its own resource types, its
//! own errors for an ARN of none) and hands the store entry here.
//!
//! Documented by each model: a resource holds at most 50 tags (the `Tags` map's bound; Real-Time's
//! service documentation also says "At most 50 tags can be applied to a resource"), so tagging
//! past it is a ValidationException, checked before anything changes.

use serde_json::{Map, Value};

use super::state::{object, set};
use super::{ApiError, Ctx};

/// The most tags a resource holds, in every service's model.
pub(crate) const MAX_TAGS: usize = 50;

/// A resource a tag call names: its store (the ARN's resource type) and id.
pub(crate) type Located = (&'static str, String);

/// The tags of a located resource (an empty map when it has none).
fn current(ctx: &Ctx<'_>, (resource_type, id): &Located) -> Map<String, Value> {
    ctx.region
        .get(resource_type, id)
        .and_then(|r| r.get("tags"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn store(ctx: &mut Ctx<'_>, (resource_type, id): &Located, tags: Map<String, Value>) {
    if let Some(resource) = ctx.region.get_mut(resource_type, id) {
        set(resource, "tags", Value::Object(tags));
    }
}

/// TagResource: the input's `tags` added to the resource's, at most [`MAX_TAGS`] in all.
pub(crate) fn tag(ctx: &mut Ctx<'_>, target: &Located, input: &Value) -> Result<Value, ApiError> {
    let mut tags = current(ctx, target);
    if let Some(new) = input.get("tags").and_then(Value::as_object) {
        tags.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::validation(format!(
            "tags: the resource would have {} tags, at most {MAX_TAGS}",
            tags.len()
        )));
    }
    store(ctx, target, tags);
    Ok(object())
}

/// UntagResource: the input's `tagKeys` removed (keys the resource lacks are ignored).
pub(crate) fn untag(ctx: &mut Ctx<'_>, target: &Located, input: &Value) -> Value {
    let mut tags = current(ctx, target);
    for key in input
        .get("tagKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        tags.remove(key);
    }
    store(ctx, target, tags);
    object()
}

/// ListTagsForResource: `{"tags": {…}}`.
pub(crate) fn list(ctx: &Ctx<'_>, target: &Located) -> Value {
    serde_json::json!({ "tags": current(ctx, target) })
}
