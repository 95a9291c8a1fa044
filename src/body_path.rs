//! Dotted paths into JSON bodies (`tags.run-id`, `viewerSessions.*.viewerId`): the one walker
//! behind a cassette's `ignore_body_paths` (`normalize::remove_path`) and the secret members
//! `redact` replaces. Pure.

use serde_json::Value;

/// Calls `f` on every value a dotted path reaches (`tags.run-id`, `viewerSessions.*.viewerId`).
/// `*` stands for every element of a list or every member of an object, a number for one element
/// of a list, any other segment for one member of an object. A path that is not there reaches
/// nothing. Shared by `ignore_body_paths` (`normalize::remove_path`) and the secret members
/// (`redact::redact_secrets`).
pub fn for_each_at(value: &mut Value, path: &str, mut f: impl FnMut(&mut Value)) {
    visit(value, path.split('.'), &mut f);
}

fn visit<'a>(
    value: &mut Value,
    mut segments: impl Iterator<Item = &'a str> + Clone,
    f: &mut impl FnMut(&mut Value),
) {
    let Some(first) = segments.next() else {
        return f(value);
    };
    match (value, first) {
        (Value::Object(map), "*") => map.values_mut().for_each(|v| visit(v, segments.clone(), f)),
        (Value::Array(items), "*") => items.iter_mut().for_each(|v| visit(v, segments.clone(), f)),
        (Value::Object(map), key) => {
            if let Some(v) = map.get_mut(key) {
                visit(v, segments, f);
            }
        }
        (Value::Array(items), index) => {
            if let Some(v) = index.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                visit(v, segments, f);
            }
        }
        _ => {}
    }
}
