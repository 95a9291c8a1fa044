//! The lexical scan a cassette's text goes through before serde_yaml sees it ([`scan`]): nesting
//! deeper than the limit, anchors and aliases, and YAML core tags JSON cannot hold, found where
//! libyaml's scanner finds tokens; and the line helpers the item-by-item loader's split shares
//! with it. The loader runs the scan on the whole text, or per part.

/// The core tags whose values JSON holds as they are.
const JSON_CORE_TAGS: &[&str] = &[
    "!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq",
];

/// What [`scan`] found in a cassette's text.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Findings {
    /// The first thing that refuses the file before it is parsed: nesting past the limit, an
    /// anchor or alias, or a `%TAG` directive. The scan stops there.
    pub(super) refusal: Option<Refusal>,
    /// The first YAML core tag JSON has no equivalent for (`!!binary`, `!!timestamp`, `!!set`, a
    /// verbatim `!<…>` or a named handle `!e!…`), and its line (1-based). serde_yaml reads such a
    /// node as a plain string or map and drops the tag, so `!!binary aGk=` would replay as the
    /// text `aGk=`; local tags (`!Ref`) reach the body visitor and are refused there with their
    /// path. The loader reports it once the file has parsed, after the parser's own errors.
    pub(super) tag: Option<(usize, String)>,
}

/// Why [`scan`] refuses a file before it is parsed, with the line (1-based).
#[derive(Debug, PartialEq)]
pub(super) enum Refusal {
    /// Mappings and sequences nest deeper than the limit.
    TooDeep { line: usize },
    /// An anchor (`&name`) or alias (`*name`): each alias is expanded into a copy of its anchor's
    /// value, so a few KB of them make GB of values. ivs-vcr never writes them.
    Alias { line: usize, sigil: char },
    /// A `%TAG` directive, which renames tag handles (`!!` included) and would let a refused tag
    /// pass under another name. ivs-vcr never writes directives.
    TagDirective { line: usize },
}

/// Block mappings and sequences open at a column, as the YAML scanner tracks them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Seq,
    Map,
}

/// Where a line's scan is: where a token may begin, inside a plain scalar, or inside a quoted
/// one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum At {
    Token,
    Plain,
    Quoted(u8),
}

/// A block scalar (`key: |`, `- >-`) whose text lines the scan skips: lines indented at least as
/// far as its content, and blank lines.
struct BlockScalar {
    /// The column of the innermost block collection holding it, -1 at the top.
    parent: isize,
    /// The content's indentation: given by an indicator (`|2`), else set by the first line with
    /// text.
    indent: Option<usize>,
    /// The most spaces on a blank line before the first text line.
    max_blank: usize,
}

impl BlockScalar {
    /// Whether a line with `indent` leading spaces (and nothing else when `blank`) is text of the
    /// scalar. libyaml's rule (`yaml_parser_scan_block_scalar_breaks`): without an indicator
    /// the content's indentation is the first text line's, but at least one more than the
    /// parent's, at least 1, and at least that of the blank lines before it; a line indented
    /// less ends the scalar, and is read as YAML.
    fn holds(&mut self, indent: usize, blank: bool) -> bool {
        match self.indent {
            Some(content) => blank || indent >= content,
            None if blank => {
                self.max_blank = self.max_blank.max(indent);
                true
            }
            None => {
                let least = self.max_blank.max((self.parent + 1).max(1) as usize);
                self.indent = Some(indent.max(least));
                indent >= least
            }
        }
    }
}

/// The lexical checks a cassette's text goes through before serde_yaml sees it: the nesting of
/// mappings and sequences against `limit`, anchors and aliases, `%TAG` directives, and the tags
/// JSON has no equivalent for (see [`Findings`]).
///
/// The scan follows the token rules of libyaml's scanner (`yaml_parser_fetch_next_token`), the
/// parser serde_yaml uses, so that it sees what the parser sees and nothing else: a token may
/// begin at a line's start (unless a plain or quoted scalar continues there), after an
/// indicator (`- `, `? `, `: `, and in flow `[`, `{`, `,`, `?`, `:`), after a tag or anchor, and
/// right after a quoted scalar or a flow collection (so `{"arn":!!binary x}` holds a tag, and
/// `a !!b` or `a&b` is text of a plain scalar). Quoted scalars and plain scalars continue over
/// lines as they do there, block scalars hold the lines indented past the collection that holds
/// them (the key's column in `- key: |`, not the line's), and comments end at the line. Block
/// collections are tracked by the column they start at (a sequence may sit at its parent key's
/// column, as serde_yaml writes them); the nesting is that count plus the open flow collections,
/// an upper bound of the parser's. Every other line break libyaml knows (a lone `\r`, U+0085,
/// U+2028, U+2029) is one here too, and a byte-order mark at a line's start takes a column.
///
/// The scan is linear in the text, and it is all that stands between a file and the parser: the
/// parser's time grows with the square of the nesting, and a few KB of aliases expand to GB.
pub(super) fn scan(text: &str, limit: usize) -> Findings {
    match with_plain_breaks(text) {
        Some(copy) => scan_lines(&copy, limit),
        None => scan_lines(text, limit),
    }
}

/// `text` with every line break libyaml knows written as `\n` (`\r\n` kept), a byte-order mark
/// at its start dropped (libyaml's reader skips it) and one at a line's start written as a space
/// (the scanner skips it, counting a column); `None` when there is nothing to change, as in
/// nearly every file.
fn with_plain_breaks(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let lone_cr = memchr::memchr_iter(b'\r', bytes).any(|at| bytes.get(at + 1) != Some(&b'\n'));
    let special = !text.is_ascii() && text.contains(['\u{85}', '\u{2028}', '\u{2029}', '\u{feff}']);
    if !lone_cr && !special {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut line_start = true;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\r' if chars.peek().is_some_and(|&(_, next)| next == '\n') => out.push('\r'),
            '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\u{feff}' if at == 0 => {}
            '\u{feff}' if line_start => out.push(' '),
            c => out.push(c),
        }
        line_start = matches!(out.as_bytes().last(), Some(b'\n')) || (at == 0 && c == '\u{feff}');
    }
    Some(out)
}

fn scan_lines(text: &str, limit: usize) -> Findings {
    let mut found = Findings::default();
    let mut block: Vec<(usize, Kind)> = Vec::new();
    let mut flow = 0usize;
    let mut quote: Option<u8> = None;
    // The last line ended inside a plain scalar, which the next line may continue.
    let mut plain = false;
    let mut scalar: Option<BlockScalar> = None;
    for (line_idx, line) in lines(text).enumerate() {
        let line_no = line_idx + 1;
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        if let Some(open) = &mut scalar {
            if open.holds(indent, indent == bytes.len()) {
                continue;
            }
            scalar = None;
        }
        let (mut at, mut i) = match quote {
            Some(q) => (At::Quoted(q), 0),
            None => {
                let Some(first) = bytes.iter().position(|&b| b != b' ' && b != b'\t') else {
                    // A blank line changes nothing, not even a plain scalar's continuation.
                    continue;
                };
                if bytes[first] == b'#' {
                    // A comment ends a plain scalar.
                    plain = false;
                    continue;
                }
                let marker = indent == 0
                    && (line.starts_with("---") || line.starts_with("..."))
                    && matches!(bytes.get(3), None | Some(b' ' | b'\t'));
                if plain && !marker && (flow > 0 || indent as isize > top(&block)) {
                    (At::Plain, first)
                } else if indent == 0 && bytes[0] == b'%' {
                    if line.starts_with("%TAG") && matches!(bytes.get(4), Some(b' ' | b'\t')) {
                        found.refusal = Some(Refusal::TagDirective { line: line_no });
                        return found;
                    }
                    plain = false;
                    continue;
                } else if marker {
                    block.clear();
                    (At::Token, 3)
                } else {
                    if flow == 0 {
                        while block.last().is_some_and(|&(col, _)| col > first) {
                            block.pop();
                        }
                    }
                    (At::Token, first)
                }
            }
        };
        let mut comment = false;
        // Where the current node began, at flow level 0: a key's column once its `:` is seen.
        let mut node_col: Option<usize> = None;
        while i < bytes.len() {
            match at {
                At::Quoted(q) => {
                    i = next_structural(bytes, i, Some(q));
                    if i >= bytes.len() {
                        break;
                    }
                    let mut closed = Some(q);
                    i += 1 + step_quoted(bytes, i, q, &mut closed);
                    if closed.is_none() {
                        at = At::Token;
                    }
                }
                At::Plain => {
                    let rest = &bytes[i..];
                    let next = if flow > 0 {
                        rest.iter().position(|&b| ENDS_FLOW_PLAIN[usize::from(b)])
                    } else {
                        memchr::memchr2(b':', b'#', rest)
                    };
                    let Some(n) = next else {
                        break;
                    };
                    let j = i + n;
                    let after = bytes.get(j + 1).copied();
                    match bytes[j] {
                        b':' if matches!(after, None | Some(b' ' | b'\t'))
                            || (flow > 0
                                && matches!(
                                    after,
                                    Some(b',' | b'?' | b'[' | b']' | b'{' | b'}')
                                )) =>
                        {
                            if flow == 0 {
                                let col = node_col.take().unwrap_or(j);
                                if open(&mut block, Kind::Map, col, limit) {
                                    found.refusal = Some(Refusal::TooDeep { line: line_no });
                                    return found;
                                }
                            }
                            at = At::Token;
                            i = j + 1;
                        }
                        b'#' if matches!(bytes[j - 1], b' ' | b'\t') => {
                            comment = true;
                            break;
                        }
                        b':' | b'#' => i = j + 1,
                        // A flow indicator ends the scalar and is a token of its own.
                        _ => {
                            at = At::Token;
                            i = j;
                        }
                    }
                }
                At::Token => {
                    let c = bytes[i];
                    let after = bytes.get(i + 1).copied();
                    let blank_after = matches!(after, None | Some(b' ' | b'\t'));
                    match c {
                        b' ' | b'\t' => i += 1,
                        b'#' => break,
                        b'[' | b'{' => {
                            if flow == 0 {
                                node_col.get_or_insert(i);
                            }
                            flow += 1;
                            if block.len() + flow > limit {
                                found.refusal = Some(Refusal::TooDeep { line: line_no });
                                return found;
                            }
                            i += 1;
                        }
                        b']' | b'}' => {
                            flow = flow.saturating_sub(1);
                            i += 1;
                        }
                        b',' => i += 1,
                        b'-' | b'?' | b':' if blank_after || (flow > 0 && c != b'-') => {
                            if flow == 0 {
                                let (kind, col) = match c {
                                    b'-' => (Kind::Seq, i),
                                    b'?' => (Kind::Map, i),
                                    _ => (Kind::Map, node_col.unwrap_or(i)),
                                };
                                node_col = None;
                                if open(&mut block, kind, col, limit) {
                                    found.refusal = Some(Refusal::TooDeep { line: line_no });
                                    return found;
                                }
                            }
                            i += 1;
                        }
                        b'&' | b'*' => {
                            found.refusal = Some(Refusal::Alias {
                                line: line_no,
                                sigil: char::from(c),
                            });
                            return found;
                        }
                        b'!' => {
                            if flow == 0 {
                                node_col.get_or_insert(i);
                            }
                            let end = property_end(bytes, i);
                            let tag = &line[i..end];
                            let named = !tag.starts_with("!!") && tag[1..].contains('!');
                            if found.tag.is_none()
                                && ((tag.starts_with("!!") && !JSON_CORE_TAGS.contains(&tag))
                                    || tag.starts_with("!<")
                                    || named)
                            {
                                found.tag = Some((line_no, tag.to_owned()));
                            }
                            i = end;
                        }
                        b'|' | b'>' if flow == 0 => {
                            let header = &bytes[i + 1..];
                            let digit = header
                                .iter()
                                .take(2)
                                .find(|b| b.is_ascii_digit())
                                .map(|b| usize::from(b - b'0'));
                            let parent = top(&block);
                            scalar = Some(BlockScalar {
                                parent,
                                // libyaml: the parent's column plus the indicator's digit.
                                indent: digit.map(|d| parent.max(0) as usize + d),
                                max_blank: 0,
                            });
                            break;
                        }
                        b'"' | b'\'' => {
                            if flow == 0 {
                                node_col.get_or_insert(i);
                            }
                            at = At::Quoted(c);
                            i += 1;
                        }
                        _ => {
                            if flow == 0 {
                                node_col.get_or_insert(i);
                            }
                            at = At::Plain;
                            i += 1;
                        }
                    }
                }
            }
        }
        // A plain scalar that reached the line's end may go on; a comment ended it.
        plain = at == At::Plain && !comment;
        quote = match at {
            At::Quoted(q) => Some(q),
            _ => None,
        };
    }
    found
}

/// The column of the innermost open block collection, -1 when none is.
fn top(block: &[(usize, Kind)]) -> isize {
    block.last().map_or(-1, |&(col, _)| col as isize)
}

/// Opens (or goes on with) a block collection of `kind` at `col`, as the YAML parser does:
/// another entry of the collection already there, a sequence at its key's column (one more
/// level), or a new collection. Returns whether that passes `limit`.
fn open(block: &mut Vec<(usize, Kind)>, kind: Kind, col: usize, limit: usize) -> bool {
    match block.last().copied() {
        Some((c, k)) if c == col && k == kind => {}
        Some((c, Kind::Seq)) if c == col => {
            // A key at a sequence's column ends the sequence (`key:\n- a\nnext:`).
            block.pop();
            if block.last() != Some(&(col, kind)) {
                block.push((col, kind));
            }
        }
        _ => block.push((col, kind)),
    }
    block.len() > limit
}

/// Where a tag, anchor or alias starting at `i` ends: at a blank or a flow indicator, or after
/// the `>` of a verbatim tag (`!<tag:yaml.org,2002:binary>`, which holds a comma).
fn property_end(bytes: &[u8], i: usize) -> usize {
    if bytes.get(i + 1) == Some(&b'<') {
        if let Some(n) = memchr::memchr(b'>', &bytes[i..]) {
            return i + n + 1;
        }
    }
    bytes[i..]
        .iter()
        .position(|b| matches!(b, b' ' | b'\t' | b',' | b'[' | b']' | b'{' | b'}'))
        .map_or(bytes.len(), |n| i + n)
}

/// Bytes at which a plain scalar in a flow collection may end: `: `, ` #`, and the flow
/// indicators.
const ENDS_FLOW_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut k = 0;
    let bytes = b":#,[]{}";
    while k < bytes.len() {
        table[bytes[k] as usize] = true;
        k += 1;
    }
    table
};

/// The split's view of block scalars (see `chunked`): whether a line is text of a block scalar
/// opened above it, blank or indented past the line that opened it, outside quotes; otherwise the
/// block scalar, if any, has ended. This takes at least the lines libyaml takes (the line's
/// indent is at most the column of the collection holding the scalar), so the split never cuts
/// inside one; [`scan`] takes exactly libyaml's.
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

/// Where a line scan (the split's and [`scan`]'s) next has something to do, from
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
    }
}
