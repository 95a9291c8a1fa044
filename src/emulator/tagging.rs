//! TagResource, UntagResource and ListTagsForResource on a located resource, shared by every
//! service: each service finds the resource its `resourceArn` names (its own resource types, its
//! own errors for an ARN of none) and hands the store entry here.
//!
//! Documented by each model: a resource holds at most 50 tags (the `Tags` map's bound; Real-Time's
//! service documentation also says "At most 50 tags can be applied to a resource"), so tagging
//! past it is a ValidationException, checked before anything changes.
//!
//! Documented for every service's tags (each model's `Tags` member points to "Tag naming limits
//! and requirements",
//! <https://docs.aws.amazon.com/tag-editor/latest/userguide/best-practices-and-strats.html>):
//! "The aws: prefix is prohibited for tags; it's reserved for AWS use. You can't edit or delete
//! tag keys or values with this prefix." So a key starting with `aws:` (any case, as AWS's
//! tagging pages spell it) is a ValidationException when a tag is set (create or TagResource) or
//! removed (UntagResource); [`check_reserved`] is the one check, which the emulator's request path
//! runs on every service's input (`Emulator::run`, after model validation). Inferred: only keys are checked; the pages disagree on
//! whether values are reserved too, and IVS's models say nothing of values.

use serde_json::{Map, Value};

use super::state::{object, set};
use super::{ApiError, Ctx};

/// The most tags a resource holds, in every service's model.
pub(crate) const MAX_TAGS: usize = 50;

/// The prefix AWS reserves for its own tag keys (compared without regard to case).
pub(crate) const RESERVED_PREFIX: &str = "aws:";

/// Refuses an input whose `tags` keys or `tagKeys` use the [`RESERVED_PREFIX`] (see the module
/// doc): a ValidationException naming the key.
pub(crate) fn check_reserved(input: &Value) -> Result<(), ApiError> {
    let set = input
        .get("tags")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|tags| tags.keys().map(String::as_str));
    let removed = input
        .get("tagKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    match set.chain(removed).find(|key| is_reserved(key)) {
        Some(key) => Err(ApiError::validation(format!(
            "tags: the key `{key}` starts with `{RESERVED_PREFIX}`, which AWS reserves for its own tags; choose a key without that prefix"
        ))),
        None => Ok(()),
    }
}

/// Whether `key` starts with [`RESERVED_PREFIX`], in any case.
fn is_reserved(key: &str) -> bool {
    key.get(..RESERVED_PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(RESERVED_PREFIX))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_prefix_is_refused_in_any_case_in_tags_and_tag_keys() {
        for input in [
            serde_json::json!({"tags": {"aws:team": "x"}}),
            serde_json::json!({"tags": {"ok": "x", "AWS:Team": "x"}}),
            serde_json::json!({"tagKeys": ["ok", "Aws:cost"]}),
        ] {
            let err = check_reserved(&input).expect_err("a reserved key is refused");
            assert!(err.message.contains("reserves"), "{}", err.message);
        }
        for input in [
            serde_json::json!({"tags": {"team": "aws:x", "awsome": "x", "aws": "x"}}),
            serde_json::json!({"tagKeys": ["my:aws:key"]}),
            serde_json::json!({}),
        ] {
            assert!(check_reserved(&input).is_ok(), "{input}");
        }
    }
}
