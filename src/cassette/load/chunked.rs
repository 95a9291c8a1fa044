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
    let head_findings = super::scan(head, limits.depth);
    if head_findings.refusal.is_some() {
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
    if !clean || head_findings.tag.is_some() {
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
        // Quotes, flow collections, comments and block scalars, much as `scan` sees them.
        let bytes = line.as_bytes();
        let mut content_end = bytes.len();
        let mut i = indent;
        loop {
            i = next_structural(bytes, i, quote);
            if i >= bytes.len() {
                break;
            }
            let c = bytes[i];
            // A `#` opens a comment after a blank, or (as libyaml scans it) right after a flow
            // indicator; after a `[`, `{` or `,` that is text of a plain scalar (`-{#: |`) it is
            // text too, and taking it for a comment hid the block scalar the line opens.
            let at_token_start = i == 0
                || matches!(bytes[i - 1], b' ' | b'\t')
                || (flow > 0 && matches!(bytes[i - 1], b'[' | b'{' | b','));
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
/// sequence), so that serde_yaml's nesting limit and the scan count alike. A part
/// begins at an item, where no quote, flow collection or block scalar is open, so the lexical
/// scan sees it as it sees the whole text. Nesting too deep, an anchor or alias, or a parse error gives up the
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
    let findings = super::scan(&doc, depth);
    if findings.refusal.is_some() {
        return None;
    }
    let interactions = match super::fast::items(text) {
        Some(interactions) => interactions,
        None => parse_part_by_serde(&doc)?,
    };
    let clean = findings.tag.is_none();
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
mod tests;
