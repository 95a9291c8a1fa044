//! Fakes: a placeholder rendered in its secret's own format, so that a replayed stream key looks
//! like one (`sk_<region>_…`) and an SRT passphrase like a passphrase; and back, so that a fake a
//! client sends again matches and records as the placeholder it stands for.

use serde_json::Value;

use super::{is_hex, is_placeholder, REDACTED_PREFIX};
use crate::ivs::{self, arn};

/// What marks a fake: a placeholder rendered in its secret's own format (see [`render_fakes`]).
const FAKE_MARK: &str = "ivsvcrFake";

/// The 16 hex digits of a placeholder.
fn placeholder_hex(placeholder: &str) -> Option<&str> {
    is_placeholder(placeholder).then(|| &placeholder[REDACTED_PREFIX.len()..])
}

/// A stream key in IVS's format (`sk_<region>_<12>_<tail>`, alphanumeric) standing for a
/// placeholder; the same placeholder always gives the same key, and [`placeholder_of_fake`]
/// gives the placeholder back.
pub fn fake_stream_key(placeholder: &str, region: &str) -> Option<String> {
    let hex = placeholder_hex(placeholder)?;
    Some(format!(
        "sk_{region}_{}_{}{FAKE_MARK}",
        &hex[..12],
        &hex[12..]
    ))
}

/// An SRT passphrase (alphanumeric, as IVS's are) standing for a placeholder.
pub fn fake_passphrase(placeholder: &str) -> Option<String> {
    let hex = placeholder_hex(placeholder)?;
    Some(format!("{FAKE_MARK}{hex}{hex}"))
}

/// The placeholder a fake stands for, when `text` is exactly one.
pub fn placeholder_of_fake(text: &str) -> Option<String> {
    if let Some(rest) = text.strip_prefix(FAKE_MARK) {
        return (is_hex(rest, 32) && rest[..16] == rest[16..])
            .then(|| format!("{REDACTED_PREFIX}{}", &rest[..16]));
    }
    let rest = text.strip_prefix("sk_")?.strip_suffix(FAKE_MARK)?;
    let mut parts = rest.rsplitn(3, '_');
    let (tail, head, region) = (parts.next()?, parts.next()?, parts.next()?);
    (!region.is_empty() && is_hex(head, 12) && is_hex(tail, 4))
        .then(|| format!("{REDACTED_PREFIX}{head}{tail}"))
}

/// Renders the placeholders of a recorded answer as fakes in their secrets' own formats: stream
/// key values (`streamKey.value`, `streamKeys.*.value`) as `sk_<region>_…` keys, in the region of
/// the key's own `channelArn`, else `region`; SRT passphrases as alphanumeric passphrases. So an
/// application that checks a stream key's format, or hands it to an encoder, works on replay.
/// Returns whether anything changed. Other placeholders (PutMetadata payloads, private keys) are
/// request members, never answered, and stay as they are.
pub fn render_fakes(body: &mut Value, region: &str) -> bool {
    let mut changed = false;
    for path in ivs::SECRET_BODY_PATHS {
        let Some((parent, member)) = path.rsplit_once('.') else {
            continue;
        };
        crate::body_path::for_each_at(body, parent, |object| {
            let key_region = object
                .get("channelArn")
                .and_then(Value::as_str)
                .and_then(arn::parse_ivs)
                .map(|a| a.region.to_owned())
                .unwrap_or_else(|| region.to_owned());
            if let Some(Value::String(s)) = object.get_mut(member) {
                let fake = match member {
                    "value" => fake_stream_key(s, &key_region),
                    "passphrase" => fake_passphrase(s),
                    _ => None,
                };
                if let Some(fake) = fake {
                    *s = fake;
                    changed = true;
                }
            }
        });
    }
    changed
}

/// Whether `s` holds the mark every fake carries (`FAKE_MARK`), by a substring search set up
/// once: on every flat value replay reads, where a loop over the bytes cost three times as much.
pub fn contains_mark(s: impl AsRef<[u8]>) -> bool {
    static MARK: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(FAKE_MARK));
    MARK.find(s.as_ref()).is_some()
}

/// Whether any string in `value` is a fake, so [`unfake`] has work to do.
pub fn has_fake(value: &Value) -> bool {
    match value {
        Value::String(s) => contains_mark(s) && placeholder_of_fake(s).is_some(),
        Value::Array(items) => items.iter().any(has_fake),
        Value::Object(map) => map.values().any(has_fake),
        _ => false,
    }
}

/// Turns every fake in `value` back into its placeholder: a request presenting a fake it was
/// given on replay matches, and is recorded, as the placeholder it stands for.
pub fn unfake(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(placeholder) = placeholder_of_fake(s) {
                *s = placeholder;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unfake),
        Value::Object(map) => map.values_mut().for_each(unfake),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The mark search finds what a substring search finds.
        #[test]
        fn mark_search_equals_substring_search(s in "(ivsvcr|Fake|ivsvcrFake|[a-z_ ]){0,12}") {
            proptest::prop_assert_eq!(contains_mark(&s), s.contains(FAKE_MARK));
        }
    }
}
