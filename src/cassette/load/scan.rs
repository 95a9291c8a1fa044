//! The lexical scans a cassette's text goes through before serde_yaml sees it: YAML core tags JSON
//! cannot hold, nesting deeper than the limit, and where block scalars begin. They skip quoted
//! text, comments and block scalars; the item-by-item loader runs them per part.

/// The core tags whose values JSON holds as they are.
const JSON_CORE_TAGS: &[&str] = &[
    "!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq",
];

/// The first line (1-based) holding a YAML core tag JSON has no equivalent for (`!!binary`,
/// `!!timestamp`, `!!set`, a verbatim `!<…>`), and the tag.
///
/// serde_yaml reads such a node as a plain string or map and drops the tag, so `!!binary aGk=`
/// would replay as the text `aGk=`; local tags (`!Ref`) reach the body visitor and are refused
/// there with their path. This is a lexical scan: it skips quoted text, comments and block
/// scalars, and looks for a tag only where a node can begin: at a line's start, after `- `, `? `
/// or a mapping's `: `, and in a flow collection after `[`, `{` and `,`.
pub(super) fn find_core_tag(text: &str) -> Option<(usize, &str)> {
    // Every tag begins with `!`; most cassettes hold none, and a byte search is much faster
    // than the scan.
    if !text.as_bytes().contains(&b'!') {
        return None;
    }
    let mut quote: Option<u8> = None;
    let mut block_indent: Option<usize> = None;
    // Open `[`/`{` collections: inside them `,` starts a node too.
    let mut flow = 0usize;
    for (line_idx, line) in lines(text).enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if continues_block_scalar(line, indent, quote, &mut block_indent) {
            continue;
        }
        let bytes = line.as_bytes();
        let mut content_end = bytes.len();
        // Whether the next non-blank character begins a node (where a tag may stand): at a line's
        // start, after `- `, `? ` or a mapping's `: `, and in a flow collection after `[`, `{`
        // and `,`. Anywhere else a `!` or a quote is text of a plain scalar (`-[!!`, `a !!b`).
        let mut node_start = quote.is_none();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let next = bytes.get(i + 1).copied();
            let blank_next = matches!(next, None | Some(b' ' | b'\t'));
            match quote {
                Some(q) => i += step_quoted(bytes, i, q, &mut quote),
                None if c == b' ' || c == b'\t' => {}
                None if c == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t')) => {
                    content_end = i;
                    break;
                }
                None if node_start && (c == b'"' || c == b'\'') => {
                    quote = Some(c);
                    node_start = false;
                }
                None if node_start && c == b'!' => {
                    let end = line[i..]
                        .find([' ', '\t', ',', ']', '}'])
                        .map_or(line.len(), |n| i + n);
                    let tag = &line[i..end];
                    if (tag.starts_with("!!") && !JSON_CORE_TAGS.contains(&tag))
                        || tag.starts_with("!<")
                    {
                        return Some((line_idx + 1, tag));
                    }
                    // A tag is followed by its node.
                    i = end;
                    continue;
                }
                None if node_start && (c == b'[' || c == b'{') => flow += 1,
                None if node_start && matches!(c, b'-' | b'?') && blank_next => {}
                None if flow > 0 && c == b',' => node_start = true,
                None if flow > 0 && (c == b']' || c == b'}') => {
                    flow -= 1;
                    node_start = false;
                }
                None if c == b':'
                    && (blank_next || (flow > 0 && matches!(next, Some(b',' | b']' | b'}')))) =>
                {
                    node_start = true;
                }
                None => node_start = false,
            }
            i += 1;
        }
        // A block scalar (`key: |`, `- >-`) holds text, not nodes, on its more indented lines.
        if quote.is_none() && starts_block_scalar(&line[..content_end]) {
            block_indent = Some(indent);
        }
    }
    None
}

/// The first line (1-based) where the nesting of mappings and sequences exceeds `limit`.
///
/// A lexical upper bound, linear in the text: block nodes are tracked by the column they start
/// at (a sequence may sit at its parent key's column, as serde_yaml writes them), each compact
/// `- ` on a line opens one more level, and every `[` or `{` outside quotes opens a flow level.
/// Quoted text, comments and block scalars are skipped as in [`find_core_tag`]. A multi-line
/// plain scalar may count as one level too many, never fewer.
pub(super) fn find_deep_nesting(text: &str, limit: usize) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Seq,
        Map,
    }
    let mut block: Vec<(usize, Kind)> = Vec::new();
    let mut flow = 0usize;
    let mut quote: Option<u8> = None;
    let mut block_indent: Option<usize> = None;
    for (line_idx, line) in lines(text).enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if continues_block_scalar(line, indent, quote, &mut block_indent) {
            continue;
        }
        let bytes = line.as_bytes();
        let rest = &line[indent..];
        if quote.is_none() && flow == 0 && !rest.is_empty() && !rest.starts_with('#') {
            if indent == 0 && (rest.starts_with("---") || rest.starts_with("...")) {
                block.clear();
            }
            while block.last().is_some_and(|&(col, _)| col > indent) {
                block.pop();
            }
            // The nodes this line opens, left to right: compact `- ` entries, then maybe a key.
            let mut col = indent;
            let mut first = true;
            loop {
                let here = &line[col..];
                let kind = if here.starts_with(['[', '{']) {
                    break;
                } else if here == "-" || here.starts_with("- ") || here.starts_with("? ") {
                    Kind::Seq
                } else if holds_key_indicator(here.as_bytes()) {
                    Kind::Map
                } else {
                    break;
                };
                let top = block.last().copied();
                match top {
                    Some((c, k)) if first && c == col && k == kind => {}
                    Some((c, Kind::Seq)) if first && c == col => {
                        // A key at a sequence's column ends the sequence (`key:\n- a\nnext:`).
                        block.pop();
                        if block.last() != Some(&(col, kind)) {
                            block.push((col, kind));
                        }
                    }
                    _ => block.push((col, kind)),
                }
                first = false;
                if block.len() > limit {
                    return Some(line_idx + 1);
                }
                if kind == Kind::Map {
                    break;
                }
                col += 1 + here[1..].len() - here[1..].trim_start_matches(' ').len();
                if col >= line.len() {
                    break;
                }
            }
        }
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
                Some(q) => i += step_quoted(bytes, i, q, &mut quote),
                None if at_token_start && (c == b'"' || c == b'\'') => quote = Some(c),
                None if at_token_start && c == b'#' => {
                    content_end = i;
                    break;
                }
                None if (c == b'[' || c == b'{') && (flow > 0 || opens_flow(&bytes[..i])) => {
                    flow += 1;
                    if block.len() + flow > limit {
                        return Some(line_idx + 1);
                    }
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
    None
}

/// Whether `rest` of a line holds `: ` or ends with `:`, as a key's line does. (`str::contains`
/// with a two-byte pattern took a quarter of a large file's scan.)
fn holds_key_indicator(rest: &[u8]) -> bool {
    memchr::memchr_iter(b':', rest).any(|at| matches!(rest.get(at + 1), None | Some(b' ')))
}

/// Whether a line is text of a block scalar opened above it: blank, or indented past the line that
/// opened it, outside quotes. Otherwise the block scalar, if any, has ended.
pub(super) fn continues_block_scalar(
    line: &str,
    indent: usize,
    quote: Option<u8>,
    block_indent: &mut Option<usize>,
) -> bool {
    match *block_indent {
        Some(b) if quote.is_none() && (line.trim().is_empty() || indent > b) => true,
        _ => {
            *block_indent = None;
            false
        }
    }
}

/// `text.split_inclusive('\n')`, each line found with one `memchr` (the generic searcher's
/// set-up per line was a tenth of a large file's split).
pub(super) fn lines_inclusive(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let end =
            memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |n| start + n + 1);
        let line = &text[start..end];
        start = end;
        Some(line)
    })
}

/// `text.lines()`, through [`lines_inclusive`]: each line without its `\n` or `\r\n`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    lines_inclusive(text).map(|line| match line.strip_suffix('\n') {
        Some(line) => line.strip_suffix('\r').unwrap_or(line),
        None => line,
    })
}

/// Whether a byte may change a line scan's state outside quotes: a quote, a comment's `#`, or a
/// flow collection's bracket.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut k = 0;
    let bytes = b"\"'#[]{}";
    while k < bytes.len() {
        table[bytes[k] as usize] = true;
        k += 1;
    }
    table
};

/// Where a line scan (the split's and [`find_deep_nesting`]'s) next has something to do, from
/// byte `i`: inside quotes the closing quote or a `\` escape, elsewhere a [`STRUCTURAL`] byte;
/// the line's length when there is none. The bytes passed over would leave the scan's state as
/// it is, so skipping them only saves the time of looking at each.
pub(super) fn next_structural(bytes: &[u8], i: usize, quote: Option<u8>) -> usize {
    let rest = &bytes[i.min(bytes.len())..];
    let found = match quote {
        Some(b'"') => memchr::memchr2(b'"', b'\\', rest),
        Some(q) => memchr::memchr(q, rest),
        None => rest.iter().position(|&b| STRUCTURAL[usize::from(b)]),
    };
    found.map_or(bytes.len(), |n| i + n)
}

/// Steps over byte `i` of a line inside a scalar quoted with `q`: closes `quote` at the closing
/// quote, and returns how many more bytes to skip (one after a `\` escape in double quotes, or
/// the second `'` of a doubled `''` in single quotes).
pub(super) fn step_quoted(bytes: &[u8], i: usize, q: u8, quote: &mut Option<u8>) -> usize {
    match bytes[i] {
        b'\\' if q == b'"' => 1,
        b'\'' if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') => 1,
        c if c == q => {
            *quote = None;
            0
        }
        _ => 0,
    }
}

/// Whether a `[` or `{` after `before` (its line, outside flow) begins a flow collection: it
/// must be where a node begins (the line's start, or after `- `, `? ` or `: `); elsewhere it is
/// part of a plain scalar (`message: bad value [x`), which need not be balanced.
fn opens_flow(before: &[u8]) -> bool {
    let head = before.trim_ascii_end();
    match head.last() {
        None => true,
        Some(b'-' | b'?' | b':') => head.len() < before.len(),
        Some(_) => false,
    }
}

/// Whether a line (without its comment) ends with a block scalar indicator (`key: |`, `- >-`).
pub(super) fn starts_block_scalar(content: &str) -> bool {
    let head = content.trim_end();
    // Nearly every line ends with something no indicator ends with: no need to split it.
    if !matches!(
        head.as_bytes().last(),
        Some(b'|' | b'>' | b'-' | b'+' | b'0'..=b'9')
    ) {
        return false;
    }
    let indicator = head.rsplit([' ', ':']).next().unwrap_or_default();
    head.len() > indicator.len()
        && indicator.starts_with(['|', '>'])
        && indicator[1..]
            .bytes()
            .all(|b| matches!(b, b'-' | b'+' | b'0'..=b'9'))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The skip stops at the first byte that matters in the scan's state, as written out.
        #[test]
        fn the_skip_stops_at_the_first_byte_that_matters(
            line in "[a \"'#\\[\\]{}\\\\,:-]{0,16}",
            from in 0usize..18,
            quote in prop::sample::select(vec![None, Some(b'"'), Some(b'\'')]),
        ) {
            let bytes = line.as_bytes();
            let matters = |b: u8| match quote {
                None => matches!(b, b'"' | b'\'' | b'#' | b'[' | b']' | b'{' | b'}'),
                Some(b'"') => b == b'"' || b == b'\\',
                Some(q) => b == q,
            };
            let expected = (from..bytes.len()).find(|&i| matters(bytes[i])).unwrap_or(bytes.len());
            prop_assert_eq!(super::next_structural(bytes, from, quote), expected);
        }

        /// The early answer for a line that cannot end with a block scalar indicator agrees with
        /// the indicator's definition, written out.
        #[test]
        fn block_scalar_starts_as_defined(content in "[a :|>+0-9\"#-]{0,10}") {
            let head = content.trim_end();
            let indicator = head.rsplit([' ', ':']).next().unwrap_or_default();
            let defined = head.len() > indicator.len()
                && indicator.starts_with(['|', '>'])
                && indicator[1..].bytes().all(|b| matches!(b, b'-' | b'+' | b'0'..=b'9'));
            prop_assert_eq!(super::starts_block_scalar(&content), defined);
        }

        /// The lines are those of `split_inclusive` and `lines`.
        #[test]
        fn lines_are_the_standard_ones(text in "[a\r\n ]{0,12}") {
            prop_assert_eq!(
                super::lines_inclusive(&text).collect::<Vec<_>>(),
                text.split_inclusive('\n').collect::<Vec<_>>()
            );
            prop_assert_eq!(super::lines(&text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>());
        }

        /// The key indicator search says what `str::contains` and `ends_with` said before it.
        #[test]
        fn key_indicator_search_equals_the_substring_search(rest in "[a: \"'-]{0,12}") {
            prop_assert_eq!(
                super::holds_key_indicator(rest.as_bytes()),
                rest.contains(": ") || rest.ends_with(':')
            );
        }
    }
}
