//! Loading a cassette item by item, so that a large file never has all its YAML events in
//! memory at once, and every file's items go to the fast reader.
//!
//! serde_yaml builds the event list of a whole document before deserializing it, about 16 bytes
//! of events per byte of YAML: a 63 MB file peaked at 1 GB. Here the header (everything before
//! `interactions:`) is parsed on its own, and the `interactions` block sequence in groups of
//! items cut at their `- ` lines, so the peak is the final structures plus one group's events.
//! Each group is read by [`super::fast`] when it can be, by serde_yaml otherwise. Files of every
//! size take this path: a small one is one group, read several times faster than serde_yaml
//! reads the whole document.
//!
//! This is a fast path, never a second reading of the format: it returns a cassette only when
//! every part parsed with the same strict machinery (the same types, `deny_unknown_fields`, the
//! JSON visitors, the same nesting depth), or was read by [`super::fast`], which reads only what
//! it reads as that machinery does, and nothing in the file could make a part mean something
//! else than it does in the whole document. Anything else (flow style
//! `interactions: [...]`, directives, document markers, keys after the sequence, an alias to an
//! anchor in another part, any error at all) returns `None`, and the caller parses the whole
//! document as before, which gives every error with its usual message and line.
//!
//! Why a cut is safe: a line at the sequence's column that starts with `- ` outside quotes and
//! flow collections is an entry of that sequence (block scalars and plain scalars continue only
//! on lines indented deeper). The lexical scan may mistake the state (a quote it did not see
//! open); then the part before the first wrong cut ends inside a quoted scalar or a flow
//! collection, which fails to parse, and the whole document is parsed instead.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use serde::Deserialize;

use super::scan::{
    continues_block_scalar, lines_inclusive, next_structural, starts_block_scalar, step_quoted,
};
use super::Limits;
use crate::cassette::{Cassette, Interaction, FORMAT_VERSION};

/// In parts of what size a file is split, and when on two threads.
#[derive(Debug, Clone, Copy)]
pub(in crate::cassette) struct Chunking {
    /// About how much YAML one part holds: its events take about 16 times as much while it
    /// parses.
    part_bytes: usize,
    /// From this size on, the parts are parsed on two threads.
    threads_from_bytes: usize,
}

impl Chunking {
    pub(in crate::cassette) const DEFAULT: Chunking = Chunking {
        part_bytes: 128 * 1024,
        threads_from_bytes: 1024 * 1024,
    };
}

/// What [`load`] found in a file it could split.
#[derive(Debug, PartialEq)]
pub(super) enum Chunked {
    /// The cassette, every interaction of which passed its check (on the parts' threads).
    Loaded(Box<Cassette>),
    /// The cassette, with at least one interaction that fails its check: the caller's
    /// validation names the first.
    Invalid(Box<Cassette>),
    /// The file parsed, with this many interactions: more than the limit. The whole document
    /// parses to the same ones, so its verdict would be the same.
    TooMany(usize),
}

/// The cassette in `text`, parsed part by part, or `None` when the file is not in the plain
/// block form or anything fails (the caller then parses the whole document). `progress` is called
/// with the number of interactions parsed so far, on the calling thread.
///
/// A file with more interactions than `limits` allows is parsed all the same, so that it is
/// refused for its count only when the whole document would be (not when a part fails to parse),
/// and in memory proportional to its size: handing it to the whole-document parse instead would
/// take 16 to 40 times its size, which `limits.bytes` may have been raised to allow.
pub(super) fn load(
    text: &str,
    limits: Limits,
    tuning: Chunking,
    progress: &mut dyn FnMut(usize),
) -> Option<Chunked> {
    let two_threads = text.len() >= tuning.threads_from_bytes;
    let Parsed {
        header_end,
        interactions,
        clean,
        valid,
    } = split_and_parse(text, tuning.part_bytes, limits.depth, two_threads, progress)?;
    // The header is checked here, each part where it is parsed (see `parse_part`).
    let head = &text[..header_end];
    if super::find_deep_nesting(head, limits.depth).is_some() {
        return None;
    }
    // The header, with the sequence replaced by an empty one: a second `interactions` key
    // earlier in the file still makes it fail, as it makes the whole document fail.
    let header = format!("{head}interactions: []\n");
    let mut cassette: Cassette = serde_yaml::from_str(&header).ok()?;
    if cassette.format > FORMAT_VERSION || !cassette.interactions.is_empty() {
        return None;
    }
    if interactions.len() > limits.interactions {
        return Some(Chunked::TooMany(interactions.len()));
    }
    if !clean || super::find_core_tag(head).is_some() {
        return None;
    }
    cassette.interactions = interactions;
    Some(if valid {
        Chunked::Loaded(Box::new(cassette))
    } else {
        Chunked::Invalid(Box::new(cassette))
    })
}

/// Where the interactions are: the header ends where the `interactions:` line begins, and each
/// item begins at a byte offset; the last item runs to the end of the text.
#[cfg(test)]
#[derive(Debug, PartialEq)]
struct Split {
    header_end: usize,
    items: Vec<usize>,
}

/// [`split_with`], collecting the items.
#[cfg(test)]
fn split(text: &str) -> Option<Split> {
    let mut items = Vec::new();
    let header_end = split_with(text, &mut |item| items.push(item))?;
    Some(Split { header_end, items })
}

/// Finds the `interactions:` block sequence, calling `on_item` with the offset of each of its
/// items as it goes, and returns where the header ends; `None` when the file is not in the plain
/// block form: `interactions:` alone on its line at column 0, then `- ` items at one column, then
/// nothing but blank lines and comments (items already reported are then to be disregarded).
fn split_with(text: &str, on_item: &mut dyn FnMut(usize)) -> Option<usize> {
    enum Phase {
        Header,
        First,
        Items(usize),
    }
    let mut phase = Phase::Header;
    let mut header_end = 0;
    let mut n_items = 0usize;
    let mut quote: Option<u8> = None;
    let mut flow = 0usize;
    let mut block_indent: Option<usize> = None;
    let mut offset = 0;
    for raw in lines_inclusive(text) {
        let start = offset;
        offset += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let indent = line.len() - line.trim_start_matches(' ').len();
        if continues_block_scalar(line, indent, quote, &mut block_indent) {
            continue;
        }
        let rest = &line[indent..];
        let clean = quote.is_none() && flow == 0;
        let blank = rest.trim().is_empty() || rest.starts_with('#');
        if clean && !blank {
            match phase {
                Phase::Header => {
                    if indent == 0
                        && (rest.starts_with('%')
                            || rest.starts_with("---")
                            || rest.starts_with("..."))
                    {
                        return None;
                    }
                    if line.trim_end() == "interactions:" {
                        header_end = start;
                        phase = Phase::First;
                        continue;
                    }
                }
                Phase::First => {
                    if !is_item(rest) {
                        return None;
                    }
                    on_item(start);
                    n_items += 1;
                    phase = Phase::Items(indent);
                }
                Phase::Items(column) => {
                    if indent < column || (indent == column && !is_item(rest)) {
                        // Keys, documents or anything else after the sequence.
                        return None;
                    }
                    if indent == column {
                        on_item(start);
                        n_items += 1;
                    }
                }
            }
        }
        // Quotes, flow collections, comments and block scalars, as in `find_deep_nesting`.
        let bytes = line.as_bytes();
        let mut content_end = bytes.len();
        let mut i = indent;
        loop {
            i = next_structural(bytes, i, quote);
            if i >= bytes.len() {
                break;
            }
            let c = bytes[i];
            let at_token_start =
                i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'[' | b'{' | b',');
            match quote {
                None if (c == b'"' || c == b'\'') && at_node_start(&bytes[..i], flow > 0) => {
                    quote = Some(c);
                }
                Some(q) => i += step_quoted(bytes, i, q, &mut quote),
                None if at_token_start && c == b'#' => {
                    content_end = i;
                    break;
                }
                None if (c == b'[' || c == b'{')
                    && (flow > 0 || at_node_start(&bytes[..i], false)) =>
                {
                    flow += 1;
                }
                None if flow > 0 && (c == b']' || c == b'}') => flow -= 1,
                None => {}
            }
            i += 1;
        }
        if flow == 0 && quote.is_none() && starts_block_scalar(&line[..content_end]) {
            block_indent = Some(indent);
        }
    }
    // A quote or flow collection still open at the end is an error for the whole document.
    let closed = quote.is_none() && flow == 0;
    (closed && n_items > 0).then_some(header_end)
}

/// Whether a node may begin after `before` (its line): a quote there opens a quoted scalar and
/// a `[` or `{` a flow collection. That is the line's start, after `- `, `? `, `: `, a tag or an
/// anchor, or in a flow collection after `[`, `{`, `,` or `:`; elsewhere the character is part
/// of a plain scalar (`it's`, `-["`, `-- [`). Seeing a node where there is none would only cost
/// the split (see the module doc), but cassettes holding such text should still be split.
fn at_node_start(before: &[u8], in_flow: bool) -> bool {
    let head = before.trim_ascii_end();
    let spaced = head.len() < before.len();
    match head.last() {
        None => true,
        Some(b'[' | b'{' | b',' | b':') if in_flow => true,
        Some(_) if spaced => {
            let token = &head[head
                .iter()
                .rposition(|&b| b == b' ' || b == b'\t')
                .map_or(0, |p| p + 1)..];
            token == b"-"
                || token == b"?"
                || token.ends_with(b":")
                || token.starts_with(b"!")
                || token.starts_with(b"&")
        }
        Some(_) => false,
    }
}

/// Whether a line (from its first non-space) begins a block sequence entry.
fn is_item(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ")
}

/// One part, parsed and checked at the depth it has in the whole document (a mapping holding the
/// sequence), so that serde_yaml's nesting limit and `find_deep_nesting` count alike. A part
/// begins at an item, where no quote, flow collection or block scalar is open, so the lexical
/// scans see it as they see it in the whole text. Nesting too deep or a parse error gives up the
/// fast path (`None`); a core tag marks the part as not clean, which gives it up too unless the
/// file has too many interactions, a verdict the whole document gives before that one. Each
/// interaction is checked here too: when one fails, the caller validates the whole cassette,
/// which names the first that fails.
///
/// The part is read by [`super::fast::items`] when it is in the form that reader takes, else by
/// serde_yaml; both give the same interactions.
fn parse_part(text: &str, depth: usize) -> Option<Part> {
    let mut doc = String::with_capacity(text.len() + 14);
    doc.push_str("interactions:\n");
    doc.push_str(text);
    if super::find_deep_nesting(&doc, depth).is_some() {
        return None;
    }
    let interactions = match super::fast::items(text) {
        Some(interactions) => interactions,
        None => parse_part_by_serde(&doc)?,
    };
    let clean = super::find_core_tag(&doc).is_none();
    let valid = interactions.iter().all(|i| i.check().is_ok());
    Some(Part {
        interactions,
        clean,
        valid,
    })
}

/// A part's interactions, whether it holds no core tag, and whether each interaction passed its
/// check.
struct Part {
    interactions: Vec<Interaction>,
    clean: bool,
    valid: bool,
}

/// What [`split_and_parse`] found: where the header ends, the interactions, and whether every
/// part was clean and every interaction passed its check (see [`parse_part`]).
struct Parsed {
    header_end: usize,
    interactions: Vec<Interaction>,
    clean: bool,
    valid: bool,
}

/// The interactions of `doc`, a part after an `interactions:` line, read by serde_yaml.
pub(super) fn parse_part_by_serde(doc: &str) -> Option<Vec<Interaction>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        interactions: Vec<Interaction>,
    }
    Some(serde_yaml::from_str::<Doc>(doc).ok()?.interactions)
}

/// Splits the text (see [`split_with`]) into parts of consecutive items of about `part_bytes`,
/// and parses the parts in order as they are found: on two threads when the file is large and
/// the machine has them, one parsing while the other is still splitting.
fn split_and_parse(
    text: &str,
    part_bytes: usize,
    depth: usize,
    two_threads: bool,
    progress: &mut dyn FnMut(usize),
) -> Option<Parsed> {
    let two_threads =
        two_threads && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    // Parts as `(number, start, end)`, sent as the split finds them.
    let (parts, to_parse) = mpsc::channel::<(usize, usize, usize)>();
    let to_parse = Mutex::new(to_parse);
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let unclean = AtomicBool::new(false);
    let invalid = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Vec<Interaction>)>> = Mutex::new(Vec::new());
    // Each thread takes the next part not yet taken, until none is left or one fails.
    let work = |report: &mut dyn FnMut(usize)| {
        let mut mine = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            // Invariant: no thread panics while holding either lock (they only receive a
            // message or extend a vector).
            let Ok((number, start, end)) = to_parse.lock().expect("not poisoned").recv() else {
                break;
            };
            match parse_part(&text[start..end], depth) {
                Some(Part {
                    interactions: items,
                    clean,
                    valid,
                }) => {
                    if !clean {
                        unclean.store(true, Ordering::Relaxed);
                    }
                    if !valid {
                        invalid.store(true, Ordering::Relaxed);
                    }
                    let total = done.fetch_add(items.len(), Ordering::Relaxed) + items.len();
                    report(total);
                    mine.push((number, items));
                }
                None => {
                    failed.store(true, Ordering::Relaxed);
                    break;
                }
            }
        }
        results.lock().expect("not poisoned").extend(mine);
    };
    // Sends the parts, then drops the sender, which ends the work once they are taken.
    let split = |parts: mpsc::Sender<(usize, usize, usize)>| -> Option<(usize, usize)> {
        let mut n_parts = 0;
        let mut part_start = None;
        let header_end = split_with(text, &mut |item| match part_start {
            None => part_start = Some(item),
            Some(start) if item - start >= part_bytes => {
                let _ = parts.send((n_parts, start, item));
                n_parts += 1;
                part_start = Some(item);
            }
            Some(_) => {}
        });
        match (header_end, part_start) {
            (Some(header_end), Some(start)) => {
                let _ = parts.send((n_parts, start, text.len()));
                Some((header_end, n_parts + 1))
            }
            _ => {
                failed.store(true, Ordering::Relaxed);
                None
            }
        }
    };
    let split = if two_threads {
        std::thread::scope(|scope| {
            let helper = std::thread::Builder::new()
                .name("cassette-load".into())
                .spawn_scoped(scope, || work(&mut |_| {}));
            let split = split(parts);
            work(progress);
            if let Ok(helper) = helper {
                // A panic in the helper (none is expected) fails the fast path, not the load.
                if helper.join().is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
            }
            split
        })
    } else {
        let split = split(parts);
        work(progress);
        split
    };
    let (header_end, n_parts) = split?;
    if failed.load(Ordering::Relaxed) {
        return None;
    }
    let mut results = results.into_inner().ok()?;
    if results.len() != n_parts {
        return None;
    }
    results.sort_unstable_by_key(|(number, _)| *number);
    let mut interactions = Vec::with_capacity(done.load(Ordering::Relaxed));
    for (_, items) in results {
        interactions.extend(items);
    }
    Some(Parsed {
        header_end,
        interactions,
        clean: !unclean.load(Ordering::Relaxed),
        valid: !invalid.load(Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large file is split, parsed on two threads, and its progress reported as it goes.
    #[test]
    fn large_files_load_by_parts_with_progress() {
        let mut text = String::from("format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: test}\nname: t\ninteractions:\n");
        let n = 20_000;
        for i in 0..n {
            text.push_str(&format!("  - request: {{method: POST, path: /GetChannel, region: us-west-2, body: {{arn: \"arn:aws:ivs:us-west-2:123456789012:channel/c{i:07}\"}}}}\n    response: {{status: 200, body: {{channel: {{name: n{i}}}}}}}\n"));
        }
        assert!(text.len() > Chunking::DEFAULT.threads_from_bytes);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, &text).unwrap();
        let mut reports = Vec::new();
        let c = Cassette::load_with_progress(&path, &mut |n| reports.push(n)).unwrap();
        assert_eq!(c.interactions.len(), n);
        assert_eq!(
            c,
            Cassette::parse_within(&text, &path, Limits::DEFAULT, None, &mut |_| {}).unwrap()
        );
        assert!(reports.len() > 2, "{reports:?}");
        assert!(reports.windows(2).all(|w| w[0] < w[1]), "{reports:?}");
        assert!(*reports.last().unwrap() <= n);
    }

    /// A large file with one body nested too deep (block or flow), a core tag or an invalid
    /// interaction in a late part gets the whole document's error, line included.
    #[test]
    fn findings_in_a_late_part_get_the_whole_documents_error() {
        let item = |i: usize| {
            format!("  - request: {{method: POST, path: /GetChannel, region: us-west-2, body: {{arn: \"c{i:07}\"}}}}\n    response: {{status: 200, body: {{name: n{i}}}}}\n")
        };
        let head = "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: test}\nname: t\ninteractions:\n";
        let deep_block: String = (0..140).fold(String::from("  - request:\n      method: POST\n      path: /GetChannel\n      region: us-west-2\n      body:\n"), |mut acc, level| {
            acc.push_str(&" ".repeat(8 + 2 * level));
            acc.push_str("k:\n");
            acc
        }) + &" ".repeat(8 + 2 * 140) + "v: 1\n    response: {status: 200}\n";
        let deep_flow = format!("  - request: {{method: POST, path: /GetChannel, region: us-west-2, body: {}{}}}\n    response: {{status: 200}}\n", "[".repeat(140), "]".repeat(140));
        let tagged = "  - request: {method: POST, path: /GetChannel, region: us-west-2, body: {b: !!binary aGk=}}\n    response: {status: 200}\n".to_owned();
        let invalid = "  - request: {method: POST, path: GetChannel, region: us-west-2}\n    response: {status: 200}\n".to_owned();
        for (what, odd, expected) in [
            (
                "deep block",
                deep_block,
                "at line 18136: nested deeper than the limit of 128 levels",
            ),
            (
                "deep flow",
                deep_flow,
                "at line 18007: nested deeper than the limit of 128 levels",
            ),
            (
                "tag",
                tagged,
                "at line 18007: YAML tag `!!binary` has no JSON equivalent",
            ),
            (
                "invalid",
                invalid,
                "interaction 9000: path `GetChannel` must start with `/`",
            ),
        ] {
            let mut text = String::from(head);
            for i in 0..9_000 {
                text.push_str(&item(i));
            }
            text.push_str(&odd);
            for i in 9_000..9_100 {
                text.push_str(&item(i));
            }
            assert!(text.len() > Chunking::DEFAULT.threads_from_bytes, "{what}");
            let path = std::path::Path::new("t.yaml");
            let whole = Cassette::parse_within(&text, path, Limits::DEFAULT, None, &mut |_| {})
                .expect_err(what)
                .to_string();
            let chunked = Cassette::from_yaml_within(&text, path, Limits::DEFAULT, &mut |_| {})
                .expect_err(what)
                .to_string();
            assert_eq!(chunked, whole, "{what}");
            assert!(whole.contains(expected), "{what}: {whole}");
        }
    }

    #[test]
    fn splits_the_plain_block_form_only() {
        let head = "format: 1\nname: t\n";
        let text =
            format!("{head}interactions:\n  - a: 1\n    b: [1,\n  - 2]\n\n  # c\n  - a: 2\n");
        let found = split(&text).unwrap();
        assert_eq!(found.header_end, head.len());
        let items: Vec<&str> = found.items.iter().map(|&i| &text[i..i + 8]).collect();
        assert_eq!(items, ["  - a: 1", "  - a: 2"]);
        // The sequence at its key's column, and an item with its node on the next line.
        let text = format!("{head}interactions:\n- a: 1\n-\n  a: 2\n# end\n");
        assert_eq!(split(&text).unwrap().items.len(), 2);
        // Quoted text and block scalars that look like items are not items.
        let text = format!(
            "{head}interactions:\n  - a: \"x\n  - y\"\n    b: |\n      - z\n  - c: '\n  - '\n"
        );
        assert_eq!(split(&text).unwrap().items.len(), 2);
        for text in [
            format!("{head}interactions: []\n"),
            format!("{head}interactions:\n  [a]\n"),
            format!("{head}interactions:\n  - a: 1\nafter: 1\n"),
            format!("---\n{head}interactions:\n  - a: 1\n"),
            format!("%YAML 1.1\n---\n{head}interactions:\n  - a: 1\n"),
            format!("{head}interactions:\n  - a: 1\n---\n"),
            format!("{head}interactions: # c\n  - a: 1\n"),
            format!("{head}interactions:\n  - a: 1\n b: 2\n"),
            format!("{head}interactions:\n  - a: \"1\n"),
            format!("{head}interactions:\n"),
            head.to_owned(),
        ] {
            assert_eq!(split(&text), None, "{text}");
        }
    }
}

#[cfg(test)]
mod properties {
    use std::collections::BTreeMap;
    use std::path::Path;

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::cassette::{
        CassetteError, Matching, Provenance, ProvenanceKind, RecordedRequest, RecordedResponse,
    };

    /// Text that YAML writes plain, quoted or as a block scalar, with what looks like items,
    /// comments, flow collections, tags and anchors inside.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-zA-Z0-9_:/.-]{0,10}",
            2 => "[- #:'\"\\[\\]{},!&*|>a\n]{0,16}",
            1 => Just("line one\n- line two\n  # three\n".to_owned()),
            1 => Just("- not an item".to_owned()),
            1 => any::<String>().prop_map(|s| s.chars().take(6).collect()),
        ]
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(text(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A drawn request, in us-west-2 and with no headers kept.
    fn request(
        method: &str,
        path: String,
        query: BTreeMap<String, Vec<String>>,
        body: Option<Value>,
    ) -> RecordedRequest {
        RecordedRequest {
            method: method.to_owned(),
            path,
            query,
            region: "us-west-2".to_owned(),
            headers: BTreeMap::new(),
            body,
        }
    }

    fn interaction() -> impl Strategy<Value = Interaction> {
        (
            prop_oneof![Just("POST"), Just("GET"), Just("B AD")],
            prop_oneof![Just("/GetChannel".to_owned()), "/[a-z%:]{0,8}", text()],
            prop::collection::btree_map("[a-z]{1,3}", prop::collection::vec(text(), 1..3), 0..2),
            prop::option::of(json()),
            prop_oneof![Just(200u16), Just(404), Just(99)],
            prop::collection::btree_map("[A-Za-z-]{1,8}", "[ -~]{0,8}", 0..3),
            prop::option::of(json()),
            prop::option::of(text()),
        )
            .prop_map(
                |(method, path, query, body, status, headers, res_body, body_text)| Interaction {
                    request: request(method, path, query, body),
                    response: RecordedResponse {
                        status,
                        headers,
                        body: res_body,
                        body_text,
                    },
                },
            )
    }

    /// An empty cassette named `t`, recorded from AWS, that the generators fill.
    fn recorded_cassette() -> Cassette {
        Cassette::new(
            "t",
            Provenance {
                kind: ProvenanceKind::Recorded,
                source: "https://ivs.us-west-2.amazonaws.com".into(),
                model: None,
                recorded_on: None,
            },
        )
    }

    fn cassette() -> impl Strategy<Value = Cassette> {
        (
            prop::option::of(text()),
            any::<bool>(),
            prop::collection::vec(interaction(), 0..12),
        )
            .prop_map(|(description, scrub, interactions)| {
                let mut c = recorded_cassette();
                c.description = description;
                c.matching = Matching {
                    scrub_account: scrub,
                    ..Matching::default()
                };
                c.interactions = interactions;
                c
            })
    }

    /// How the text written by `to_yaml` is restyled by hand before loading.
    #[derive(Debug, Clone)]
    enum Style {
        AsWritten,
        /// The sequence indented under its key.
        Indented,
        /// Every item as one line of JSON (flow style).
        Flow,
        /// Comments and blank lines between items and at the end.
        Commented,
        /// An anchor on the first item, and the second replaced by an alias to it.
        Alias,
        /// A key after the sequence.
        KeyAfter,
        /// One byte inserted somewhere.
        Insert(usize, char),
        /// One line dropped.
        DropLine(usize),
    }

    fn style() -> impl Strategy<Value = Style> {
        prop_oneof![
            2 => Just(Style::AsWritten),
            2 => Just(Style::Indented),
            1 => Just(Style::Flow),
            1 => Just(Style::Commented),
            1 => Just(Style::Alias),
            1 => Just(Style::KeyAfter),
            2 => (any::<usize>(), prop::sample::select(vec!['-', ' ', '"', '\'', '#', '[', '{', '\n', ':', '&', '*', '!', '|']))
                .prop_map(|(at, c)| Style::Insert(at, c)),
            1 => any::<usize>().prop_map(Style::DropLine),
        ]
    }

    fn restyle(c: &Cassette, style: &Style) -> String {
        let text = c.to_yaml();
        let (head, items) = text
            .split_once("interactions:\n")
            .unwrap_or((text.as_str(), ""));
        let item_texts = || -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for line in items.lines() {
                if line.starts_with("- ") || out.is_empty() {
                    out.push(String::new());
                }
                let last = out.last_mut().expect("pushed");
                last.push_str(line);
                last.push('\n');
            }
            out
        };
        match style {
            Style::AsWritten => text.clone(),
            Style::Indented => {
                let indented: String = items.lines().map(|l| format!("  {l}\n")).collect();
                format!("{head}interactions:\n{indented}")
            }
            Style::Flow => {
                let flow: String = c
                    .interactions
                    .iter()
                    .map(|i| format!("- {}\n", serde_json::to_string(i).expect("json")))
                    .collect();
                format!("{head}interactions:\n{flow}")
            }
            Style::Commented => {
                let joined = item_texts().join("\n# between\n\n");
                format!("{head}interactions:\n# first\n{joined}  # end\n\n")
            }
            Style::Alias => {
                let mut parts = item_texts();
                if parts.len() >= 2 {
                    parts[0] = parts[0].replacen("- ", "- &first\n  ", 1);
                    parts[1] = "- *first\n".to_owned();
                }
                format!("{head}interactions:\n{}", parts.concat())
            }
            Style::KeyAfter => format!("{text}description: after\n"),
            Style::Insert(at, ch) => {
                let mut t = text.clone();
                let mut at = at % (t.len() + 1);
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                t.insert(at, *ch);
                t
            }
            Style::DropLine(n) => {
                let lines: Vec<&str> = text.lines().collect();
                let n = n % lines.len().max(1);
                lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != n)
                    .map(|(_, l)| format!("{l}\n"))
                    .collect()
            }
        }
    }

    /// A cassette as recordings are: bodies are objects of strings, integers, booleans, nulls,
    /// arrays and objects; no floats, no `body_text`.
    fn realistic_cassette() -> impl Strategy<Value = Cassette> {
        let word = "[a-zA-Z0-9_:/. +-]{0,12}";
        // Several lines (a PEM key, say), which serde_yaml writes as a literal block scalar.
        let lines =
            "([a-zA-Z0-9#:/.-][a-zA-Z0-9 #:/.-]{0,8}[a-zA-Z0-9#:/.-]\n){1,3}[a-zA-Z0-9#:/.-]{0,6}";
        let leaf = prop_oneof![
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::Bool),
            1 => any::<i64>().prop_map(Value::from),
            1 => any::<u64>().prop_map(Value::from),
            3 => word.prop_map(Value::String),
            1 => lines.prop_map(Value::String),
        ];
        let json = leaf.prop_recursive(4, 32, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(word, inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        let object = prop::collection::btree_map(word, json, 0..6)
            .prop_map(|m| Value::Object(m.into_iter().collect()));
        let interaction = (
            "/[A-Za-z]{1,12}",
            prop::collection::btree_map("[a-z]{1,3}", prop::collection::vec(word, 0..3), 0..2),
            prop::option::of(object.clone()),
            100u16..600,
            prop::collection::btree_map("[A-Za-z-]{1,8}", "[ -~]{0,8}", 0..3),
            prop::option::of(object),
        )
            .prop_map(
                |(path, query, body, status, headers, res_body)| Interaction {
                    request: request("POST", path, query, body),
                    response: RecordedResponse {
                        status,
                        headers,
                        body: res_body,
                        body_text: None,
                    },
                },
            );
        prop::collection::vec(interaction, 1..6).prop_map(|interactions| Cassette {
            interactions,
            ..recorded_cassette()
        })
    }

    /// The items of a restyled cassette, as `parse_part` gets them.
    fn part_of(text: &str) -> &str {
        text.split_once("interactions:\n")
            .map_or(text, |(_, part)| part)
    }

    /// A change to a part: a character put in, taken out, or put in place of another.
    fn mutation() -> impl Strategy<Value = (usize, Option<char>, bool)> {
        let chars = prop::sample::select(vec![
            '-', ' ', '"', '\'', '#', '[', ']', '{', '}', ',', '\n', ':', '&', '*', '!', '|', '>',
            '?', '\\', '\t', '\r', '0', '.', '~', 'x', '\u{85}', '\u{2028}', '\u{feff}', 'é',
        ]);
        (any::<usize>(), prop::option::of(chars), any::<bool>())
    }

    fn mutate(text: &mut String, (at, insert, replace): (usize, Option<char>, bool)) {
        if text.is_empty() {
            return;
        }
        let mut at = at % text.len();
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        if insert.is_none() || replace {
            text.remove(at);
        }
        if let Some(c) = insert {
            text.insert(at, c);
        }
    }

    fn outcome(result: Result<Cassette, CassetteError>) -> Result<Cassette, String> {
        result.map_err(|err| err.to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// What `record` writes, by hand restyled or as JSON, is read by the fast reader, and
        /// as serde_yaml reads it.
        #[test]
        fn recorded_forms_are_read_by_the_fast_reader(
            c in realistic_cassette(),
            style in prop_oneof![Just(Style::AsWritten), Just(Style::Indented), Just(Style::Flow), Just(Style::Commented)],
        ) {
            let text = restyle(&c, &style);
            let part = part_of(&text);
            let fast = super::super::fast::items(part);
            prop_assert_eq!(fast.as_ref(), Some(&c.interactions), "{}", part);
        }

        /// Whatever a part holds, the fast reader reads it as serde_yaml reads it, or leaves it
        /// to serde_yaml.
        #[test]
        fn the_fast_reader_agrees_with_serde_yaml_or_refuses(
            c in prop_oneof![cassette(), realistic_cassette()],
            style in style(),
            mutations in prop::collection::vec(mutation(), 0..4),
        ) {
            let mut part = part_of(&restyle(&c, &style)).to_owned();
            for m in mutations {
                mutate(&mut part, m);
            }
            if let Some(fast) = super::super::fast::items(&part) {
                let serde = parse_part_by_serde(&format!("interactions:\n{part}"));
                prop_assert_eq!(Some(fast), serde, "{}", part);
            }
        }

        /// Item by item or as one document, a text loads to the same cassette or fails with the
        /// same error, the interaction limit's included; a cassette as written is always split.
        #[test]
        fn chunked_load_equals_whole_document_load(
            c in cassette(),
            style in style(),
            part_bytes in 1usize..600,
            threads in any::<bool>(),
            max_interactions in prop_oneof![3 => Just(Limits::DEFAULT.interactions), 1 => 0usize..14],
        ) {
            let text = restyle(&c, &style);
            let tuning = Chunking {
                part_bytes,
                threads_from_bytes: if threads { 0 } else { usize::MAX },
            };
            let path = Path::new("t.yaml");
            let limits = Limits { interactions: max_interactions, ..Limits::DEFAULT };
            let whole = outcome(Cassette::parse_within(&text, path, limits, None, &mut |_| {}));
            let mut reported = 0;
            let chunked = outcome(Cassette::parse_within(
                &text,
                path,
                limits,
                Some(tuning),
                &mut |n| reported = n,
            ));
            prop_assert_eq!(&chunked, &whole, "{}", text);
            if matches!(style, Style::AsWritten | Style::Indented | Style::Commented)
                && !c.interactions.is_empty()
                && super::super::find_core_tag(&text).is_none()
            {
                let fast = load(&text, limits, tuning, &mut |_| {});
                prop_assert!(fast.is_some(), "not split:\n{}", text);
                match &whole {
                    Ok(whole) => prop_assert_eq!(fast, Some(Chunked::Loaded(Box::new(whole.clone())))),
                    Err(_) if c.interactions.len() > max_interactions => {
                        prop_assert_eq!(fast, Some(Chunked::TooMany(c.interactions.len())));
                    }
                    Err(_) => {}
                }
                if !threads {
                    prop_assert_eq!(reported, c.interactions.len());
                }
            }
        }
    }
}
