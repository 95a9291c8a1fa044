//! Fakes: a placeholder rendered in its secret's own format, so that a replayed stream key looks
//! like one (`sk_<region>_…`) and an SRT passphrase like a passphrase; and back, so that a fake a
//! client sends again matches and records as the placeholder it stands for.

use serde_json::Value;

use super::{is_hex, is_placeholder, REDACTED_PREFIX};
use crate::ivs::{self, arn};

/// What marks a fake: a placeholder rendered in its secret's own format (see [`render_fakes`]).
pub(super) const FAKE_MARK: &str = "ivsvcrFake";

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

/// A Real-Time ingest stream key in IVS's format (`rt_<account>_<region>_<id>_<secret>`, the
/// model's pattern `rt_[0-9]+_[a-z0-9-]+_[a-zA-Z0-9-]+_.+`) standing for a placeholder, with the
/// account, region and id of the ingest configuration it belongs to. That the id part is the
/// configuration's own id is inferred from the pattern and IVS's stream keys (`sk_<region>_<id>_…`
/// holds its key's id); the API reference documents only the pattern.
pub fn fake_ingest_key(placeholder: &str, account: &str, region: &str, id: &str) -> Option<String> {
    let hex = placeholder_hex(placeholder)?;
    Some(format!("rt_{account}_{region}_{id}_{hex}{FAKE_MARK}"))
}

/// The placeholder a fake stands for, when `text` is exactly one.
pub fn placeholder_of_fake(text: &str) -> Option<String> {
    if let Some(rest) = text.strip_prefix(FAKE_MARK) {
        return (is_hex(rest, 32) && rest[..16] == rest[16..])
            .then(|| format!("{REDACTED_PREFIX}{}", &rest[..16]));
    }
    if text.starts_with("eyJ") {
        return super::jwt::placeholder_of_fake_jwt(text);
    }
    if let Some(rest) = text.strip_prefix("rt_") {
        let rest = rest.strip_suffix(FAKE_MARK)?;
        let (head, hex) = rest.rsplit_once('_')?;
        let mut parts = head.splitn(3, '_');
        let (account, region, id) = (parts.next()?, parts.next()?, parts.next()?);
        let fits = !account.is_empty()
            && account.bytes().all(|b| b.is_ascii_digit())
            && arn::is_valid_region(region)
            && !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && is_hex(hex, 16);
        return fits.then(|| format!("{REDACTED_PREFIX}{hex}"));
    }
    let rest = text.strip_prefix("sk_")?.strip_suffix(FAKE_MARK)?;
    let mut parts = rest.rsplitn(3, '_');
    let (tail, head, region) = (parts.next()?, parts.next()?, parts.next()?);
    (!region.is_empty() && is_hex(head, 12) && is_hex(tail, 4))
        .then(|| format!("{REDACTED_PREFIX}{head}{tail}"))
}

/// Renders the placeholders of a recorded answer as fakes in their secrets' own formats: stream
/// key values (`streamKey.value`, `streamKeys.*.value`) as `sk_<region>_…` keys, in the region of
/// the key's own `channelArn`, else `region`; SRT passphrases as alphanumeric passphrases;
/// Real-Time ingest keys (`ingestConfiguration.streamKey`, and its redundant credentials') as
/// `rt_<account>_<region>_<id>_…` keys of the configuration's ARN; and every JWT placeholder,
/// wherever it is, as a JWT that decodes (`jwt`). So an application that checks a key's
/// format, hands it to an encoder, or decodes a participant token works on replay.
/// Returns whether anything changed. Other placeholders (PutMetadata payloads, private keys,
/// Chat's tokens) stay as they are.
pub fn render_fakes(body: &mut Value, region: &str) -> bool {
    let mut changed = false;
    for path in ivs::Service::ALL
        .iter()
        .flat_map(|service| service.catalog().secret_body_paths)
    {
        let Some((parent, member)) = path.rsplit_once('.') else {
            continue;
        };
        // The ARN of the resource the secret belongs to: the object the path starts at names it
        // (`ingestConfiguration.arn` for its redundant credentials' keys too).
        let owner = path
            .split('.')
            .next()
            .and_then(|first| body.get(first))
            .and_then(|owner| owner.get("arn"))
            .and_then(Value::as_str)
            .and_then(arn::parse)
            .map(|a| {
                (
                    a.account.to_owned(),
                    a.region.to_owned(),
                    a.resource_id.to_owned(),
                )
            });
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
                    "streamKey" => match &owner {
                        Some((account, region, id)) => fake_ingest_key(s, account, region, id),
                        // No ARN to take them from: the scrubbed account, and the key's own
                        // digits for the id.
                        None => placeholder_hex(s).and_then(|hex| {
                            fake_ingest_key(s, arn::ACCOUNT_PLACEHOLDER, region, &hex[..12])
                        }),
                    },
                    _ => None,
                };
                if let Some(fake) = fake {
                    *s = fake;
                    changed = true;
                }
            }
        });
    }
    render_jwts(body) || changed
}

/// Renders every JWT placeholder in `value` as a fake JWT (see `jwt`).
fn render_jwts(value: &mut Value) -> bool {
    match value {
        Value::String(s) => match super::jwt::fake_jwt(s) {
            Some(fake) => {
                *s = fake;
                true
            }
            None => false,
        },
        // Every element is rendered: a count, not `any`, which would stop at the first.
        Value::Array(items) => {
            items
                .iter_mut()
                .filter_map(|v| render_jwts(v).then_some(()))
                .count()
                > 0
        }
        Value::Object(map) => {
            map.values_mut()
                .filter_map(|v| render_jwts(v).then_some(()))
                .count()
                > 0
        }
        _ => false,
    }
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
