//! A reader of the interactions as cassettes are written, for the item-by-item load.
//!
//! serde_yaml spends most of a large start turning YAML into events and events into values:
//! about 16 µs of CPU for a 620-byte interaction. This reader takes the same text straight to
//! [`Interaction`]s: with it, 100,000 interactions are served after about 0.45 s instead of
//! 1.1 s (docs/BENCHMARKS.md, "tenth pass").
//!
//! Like [`super::chunked`], it is a fast path, never a second reading of the format. It reads a
//! subset of YAML in which every text means exactly what it means to serde_yaml (libyaml's scanner
//! and serde_yaml's scalar resolution, whose rules are cited where they are followed), and returns
//! `None` for anything outside it; the part is then parsed by serde_yaml as before, which gives
//! every error its usual message. The subset is what `record` writes and what people write by
//! hand:
//! - block mappings and block sequences (a sequence may sit at its key's column), with compact
//!   items (`- request:`);
//! - flow mappings and sequences on one line (`{arn: "…"}`, and JSON);
//! - plain scalars on one line, and single- and double-quoted scalars on one line, with every
//!   escape libyaml knows;
//! - literal block scalars (`|`, `|-`, `|+`), as serde_yaml writes a string of several lines (a
//!   PEM key);
//! - blank lines and comments.
//!
//! Refused, so read by serde_yaml: tabs, carriage returns and other characters libyaml treats
//! apart; folded block scalars (`>`), literal ones with an indentation indicator or a blank line
//! inside, other multi-line scalars and flow collections; tags, anchors and aliases; complex and
//! empty keys, empty values, explicit `null` bodies, `body_text`; integers past 64 bits; keys
//! longer than libyaml's simple-key limit; nesting beyond [`MAX_DEPTH`]; and any text serde_yaml
//! would refuse (a duplicate or unknown key, a missing field, a value of the wrong type).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::cassette::{Interaction, RecordedRequest, RecordedResponse};

/// The deepest nesting followed, counted from the part's sequence (1). That sequence sits one
/// level down in its document, and serde_yaml's limit is 128.
const MAX_DEPTH: usize = 120;

/// The longest key taken, in bytes: libyaml refuses a simple key that spans more than 1024
/// characters to its `:`.
const MAX_KEY_BYTES: usize = 1000;

/// The interactions of a part: the items of a block sequence, from its first line to the end of
/// `text`, or `None` when any of it is outside the subset (see the module doc).
pub(super) fn items(text: &str) -> Option<Vec<Interaction>> {
    if !plain_text(text) {
        return None;
    }
    let mut parser = Parser {
        text,
        lines: content_lines(text)?,
        i: 0,
        depth: 0,
        events: Vec::new(),
    };
    let column = parser.lines.first()?.indent;
    let mut interactions = Vec::new();
    parser.sequence(column, &mut |events| {
        let mut events = events.drain(..);
        interactions.push(interaction(&mut events)?);
        // An item is one node: its reading takes every event.
        events.next().is_none().then_some(())
    })?;
    (parser.i == parser.lines.len()).then_some(interactions)
}

/// Whether every character of `text` reads the same to libyaml as it does here: printable, with
/// `\n` the only line break and no tab or byte-order mark. libyaml also breaks lines at `\r`,
/// U+0085, U+2028 and U+2029, refuses control characters, and skips a byte-order mark.
fn plain_text(text: &str) -> bool {
    if text
        .bytes()
        .all(|b| b == b'\n' || (b' '..=b'~').contains(&b))
    {
        return true;
    }
    text.chars().all(|c| match c {
        '\n' | ' '..='~' => true,
        '\u{a0}'..='\u{d7ff}' => !matches!(c, '\u{2028}' | '\u{2029}'),
        '\u{e000}'..='\u{fffd}' => c != '\u{feff}',
        '\u{10000}'.. => true,
        _ => false,
    })
}

/// A line with something on it: where it starts and ends (before its `\n`), and its indent.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    indent: usize,
}

/// The lines of `text` that are neither blank nor only a comment, or `None` when one is a
/// document marker (`---` or `...` at the line's start), which ends or starts a document.
fn content_lines(text: &str) -> Option<Vec<Line>> {
    let mut lines = Vec::with_capacity(text.len() / 24);
    let mut start = 0;
    while start < text.len() {
        let end =
            memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |n| start + n);
        let line = &text.as_bytes()[start..end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        if indent < line.len() && line[indent] != b'#' {
            if indent == 0 && (line.starts_with(b"---") || line.starts_with(b"...")) {
                return None;
            }
            lines.push(Line { start, end, indent });
        }
        start = end + 1;
    }
    Some(lines)
}

/// A scalar as written: its text, and whether it was plain (then it may read as a number, a
/// boolean or null) rather than quoted (always a string).
#[derive(Debug)]
struct Scalar<'a> {
    text: Cow<'a, str>,
    plain: bool,
}

/// A node of the subset as the reader lists it, in one list an item's reading reuses: a
/// collection comes before its contents and says how many it has (a mapping's contents are key,
/// value, key, value…).
#[derive(Debug)]
enum Event<'a> {
    Scalar(Scalar<'a>),
    Seq(usize),
    Map(usize),
}

/// The events of one item, taken by its reading.
type Events<'d, 'a> = std::vec::Drain<'d, Event<'a>>;

struct Parser<'a> {
    text: &'a str,
    lines: Vec<Line>,
    /// The first line not yet read.
    i: usize,
    depth: usize,
    /// The current item's events.
    events: Vec<Event<'a>>,
}

impl<'a> Parser<'a> {
    fn line(&self) -> Option<&'a str> {
        let line = self.lines.get(self.i)?;
        Some(&self.text[line.start..line.end])
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// Lists the node that starts on the current line at `column` (its indent, or the column
    /// after a `- ` for a compact one), through the lines that belong to it.
    fn block(&mut self, column: usize) -> Option<()> {
        let line = self.line()?;
        let rest = &line.as_bytes()[column..];
        if is_item(rest) {
            return self.nested_sequence(column);
        }
        if let Some((key, after)) = key(line, column) {
            return self.mapping(column, key, after);
        }
        inline(line, column, self.depth, &mut self.events)?;
        self.i += 1;
        Some(())
    }

    /// Lists a block sequence inside an item, with its count.
    fn nested_sequence(&mut self, column: usize) -> Option<()> {
        let at = self.events.len();
        self.events.push(Event::Seq(0));
        let mut n = 0;
        self.sequence(column, &mut |_| {
            n += 1;
            Some(())
        })?;
        self.events[at] = Event::Seq(n);
        Some(())
    }

    /// A block sequence whose `-` entries stand at `column`, the first on the current line:
    /// `on_item` is called with the events once each item is listed.
    fn sequence(
        &mut self,
        column: usize,
        on_item: &mut dyn FnMut(&mut Vec<Event<'a>>) -> Option<()>,
    ) -> Option<()> {
        self.enter()?;
        loop {
            let line = self.line()?;
            if !is_item(&line.as_bytes()[column..]) {
                return None;
            }
            // `- ` then the item on the same line; an entry alone on its line (an item on the
            // lines below, or null) is refused.
            let at = column + 1 + leading_spaces(&line.as_bytes()[column + 1..]);
            if at == line.len() || line.as_bytes()[at] == b'#' {
                return None;
            }
            if line.as_bytes()[at] == b'|' {
                let scalar = self.literal(line, at, column)?;
                self.events.push(Event::Scalar(scalar));
            } else {
                self.block(at)?;
            }
            on_item(&mut self.events)?;
            let Some(next) = self.lines.get(self.i) else {
                break;
            };
            let next_rest = &self.text.as_bytes()[next.start + next.indent..next.end];
            if next.indent < column || (next.indent == column && !is_item(next_rest)) {
                break;
            }
            if next.indent > column {
                return None;
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// Lists a block mapping whose keys stand at `column`, the first on the current line,
    /// already read up to `after` (past its `:`).
    fn mapping(&mut self, column: usize, mut key_here: Scalar<'a>, mut after: usize) -> Option<()> {
        self.enter()?;
        let map_at = self.events.len();
        self.events.push(Event::Map(0));
        let mut n = 0;
        loop {
            let line = self.line()?;
            let at = after + leading_spaces(&line.as_bytes()[after..]);
            self.events.push(Event::Scalar(key_here));
            if at == line.len() || line.as_bytes()[at] == b'#' {
                // The value is on the lines below: deeper, or a sequence at the key's column.
                self.i += 1;
                let next = *self.lines.get(self.i)?;
                let next_rest = &self.text.as_bytes()[next.start + next.indent..next.end];
                if next.indent > column {
                    self.block(next.indent)?;
                } else if next.indent == column && is_item(next_rest) {
                    self.nested_sequence(column)?;
                } else {
                    return None;
                }
            } else if line.as_bytes()[at] == b'|' {
                let scalar = self.literal(line, at, column)?;
                self.events.push(Event::Scalar(scalar));
            } else {
                inline(line, at, self.depth, &mut self.events)?;
                self.i += 1;
            }
            n += 1;
            let Some(next) = self.lines.get(self.i) else {
                break;
            };
            if next.indent < column {
                break;
            }
            if next.indent > column {
                return None;
            }
            let line = self.line()?;
            (key_here, after) = key(line, column)?;
        }
        self.events[map_at] = Event::Map(n);
        self.depth -= 1;
        Some(())
    }
}

impl<'a> Parser<'a> {
    /// A literal block scalar (`key: |` or `- |`, as serde_yaml writes a string of several lines)
    /// whose header is at `at` on the current line, in a mapping or sequence at `parent`; the
    /// lines after it are
    /// read raw, since a `#` there is text. libyaml (`yaml_parser_scan_block_scalar`) takes the
    /// first line's indent as the block's, when it is deeper than `parent`, and ends the block at
    /// the first line indented less. Taken here: the headers `|`, `|-` and `|+` alone, blank
    /// lines only after the text (and not with `|+`, which keeps them), and text that ends with
    /// a line break.
    fn literal(&mut self, line: &str, at: usize, parent: usize) -> Option<Scalar<'a>> {
        let (clip, keep) = match line[at + 1..].trim_end_matches(' ') {
            "" => (true, false),
            "+" => (true, true),
            "-" => (false, false),
            _ => return None,
        };
        let text = self.text;
        let bytes = text.as_bytes();
        let mut at = self.lines[self.i].end + 1;
        let mut indent = None;
        let mut out = String::new();
        let mut n_lines = 0;
        let mut blank_after = false;
        while at < text.len() {
            let end = memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |n| at + n);
            let raw = &text[at..end];
            let spaces = leading_spaces(raw.as_bytes());
            if spaces == raw.len() {
                // A blank line before the text is refused; after it, clipping and stripping drop
                // it, unless it holds more spaces than the indent (then it would be text).
                match indent {
                    Some(block) if spaces <= block => blank_after = true,
                    _ => return None,
                }
                at = end + 1;
                continue;
            }
            let block = *indent.get_or_insert(spaces);
            if block <= parent {
                return None;
            }
            if spaces < block {
                break;
            }
            if blank_after || end == text.len() {
                // A blank line inside the text, or text that ends without a line break.
                return None;
            }
            if n_lines > 0 {
                out.push('\n');
            }
            out.push_str(&raw[block..]);
            n_lines += 1;
            at = end + 1;
        }
        if n_lines == 0 || (keep && blank_after) {
            return None;
        }
        if clip {
            out.push('\n');
        }
        while self.lines.get(self.i).is_some_and(|l| l.start < at) {
            self.i += 1;
        }
        Some(Scalar {
            text: Cow::Owned(out),
            plain: false,
        })
    }
}

/// The number of spaces `bytes` starts with.
fn leading_spaces(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|&&b| b == b' ').count()
}

/// Whether `rest` starts a block sequence entry: `-` then a space or the line's end.
fn is_item(rest: &[u8]) -> bool {
    rest.first() == Some(&b'-') && matches!(rest.get(1), None | Some(b' '))
}

/// A block mapping's key at `at` in `line`: the key and where its `:` ends, or `None` when the
/// line holds no simple key there.
fn key(line: &str, at: usize) -> Option<(Scalar<'_>, usize)> {
    let bytes = line.as_bytes();
    let (key, end) = scalar_at(line, at, false)?;
    // A plain key ends at its `:`; a quoted one must be followed by it.
    let colon = if key.plain {
        end + leading_spaces(&bytes[end..])
    } else {
        end
    };
    let key_ends = bytes.get(colon) == Some(&b':')
        && matches!(bytes.get(colon + 1), None | Some(b' '))
        && colon - at <= MAX_KEY_BYTES;
    key_ends.then_some((key, colon + 1))
}

/// The scalar at `at` (double-quoted, single-quoted or plain, in a flow collection or not) and
/// where it ends.
fn scalar_at(line: &str, at: usize, flow: bool) -> Option<(Scalar<'_>, usize)> {
    Some(match line.as_bytes().get(at)? {
        b'"' => {
            let (text, end) = double_quoted(line, at)?;
            (Scalar { text, plain: false }, end)
        }
        b'\'' => {
            let (text, end) = single_quoted(line, at)?;
            (Scalar { text, plain: false }, end)
        }
        _ => {
            let (text, end) = plain(line, at, flow)?;
            let text = Cow::Borrowed(text);
            (Scalar { text, plain: true }, end)
        }
    })
}

/// Lists a scalar or flow collection from `at` to the end of `line` (spaces and a comment may
/// follow).
fn inline<'a>(line: &'a str, at: usize, depth: usize, events: &mut Vec<Event<'a>>) -> Option<()> {
    let bytes = line.as_bytes();
    let end = match bytes[at] {
        b'{' | b'[' => {
            let mut flow = Flow {
                line,
                at,
                depth,
                events,
            };
            flow.collection()?;
            flow.at
        }
        _ => {
            let (scalar, end) = scalar_at(line, at, false)?;
            events.push(Event::Scalar(scalar));
            end
        }
    };
    let spaces = leading_spaces(&bytes[end..]);
    let rest = end + spaces;
    (rest == bytes.len() || (spaces > 0 && bytes[rest] == b'#')).then_some(())
}

/// A plain scalar from `at`: its text without trailing spaces, and where that ends. It ends at
/// the line's end, at a space followed by `#`, at a `:` followed by a space or the line's end,
/// and in a flow collection at `,[]{}` (libyaml's `yaml_parser_scan_plain_scalar`; a flow `:`
/// followed by `,?[]{}` is an error there, and refused here).
fn plain(line: &str, at: usize, flow: bool) -> Option<(&str, usize)> {
    let bytes = line.as_bytes();
    let first = bytes[at];
    // libyaml (`yaml_parser_fetch_next_token`) starts a plain scalar on any character but an
    // indicator, on `-` followed by something, and outside flow collections on `?` or `:`
    // followed by something; here that something must not be an indicator in a flow collection.
    let followed = || match bytes.get(at + 1) {
        None | Some(b' ') => false,
        Some(b',' | b'[' | b']' | b'{' | b'}') => !flow,
        Some(_) => true,
    };
    let starts = match first {
        b'-' => followed(),
        b'?' | b':' => !flow && followed(),
        b' ' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>'
        | b'\'' | b'"' | b'%' | b'@' | b'`' => false,
        _ => true,
    };
    if !starts {
        return None;
    }
    let mut i = at;
    let mut end = at;
    while i < bytes.len() {
        match bytes[i] {
            b' ' => {
                if bytes.get(i + 1) == Some(&b'#') {
                    break;
                }
                i += 1;
                continue;
            }
            b':' => match bytes.get(i + 1) {
                None | Some(b' ') => break,
                Some(b',' | b'?' | b'[' | b']' | b'{' | b'}') if flow => return None,
                Some(_) => {}
            },
            b',' | b'[' | b']' | b'{' | b'}' if flow => break,
            _ => {}
        }
        i += 1;
        end = i;
    }
    Some((&line[at..end], end))
}

/// A single-quoted scalar at `at` closed on the same line (`''` is a quote), and where it ends.
fn single_quoted(line: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
    let bytes = line.as_bytes();
    let start = at + 1;
    let close = start + memchr::memchr(b'\'', &bytes[start..])?;
    if bytes.get(close + 1) != Some(&b'\'') {
        return Some((Cow::Borrowed(&line[start..close]), close + 1));
    }
    let mut out = String::new();
    let mut i = start;
    loop {
        let quote = i + memchr::memchr(b'\'', &bytes[i..])?;
        out.push_str(&line[i..quote]);
        if bytes.get(quote + 1) == Some(&b'\'') {
            out.push('\'');
            i = quote + 2;
        } else {
            return Some((Cow::Owned(out), quote + 1));
        }
    }
}

/// A double-quoted scalar at `at` closed on the same line, its escapes read as libyaml reads
/// them (`yaml_parser_scan_flow_scalar`), and where it ends.
fn double_quoted(line: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
    let bytes = line.as_bytes();
    let start = at + 1;
    let stop = start + memchr::memchr2(b'"', b'\\', &bytes[start..])?;
    if bytes[stop] == b'"' {
        return Some((Cow::Borrowed(&line[start..stop]), stop + 1));
    }
    let mut out = String::with_capacity(stop - start + 16);
    let mut i = start;
    loop {
        let stop = i + memchr::memchr2(b'"', b'\\', &bytes[i..])?;
        out.push_str(&line[i..stop]);
        if bytes[stop] == b'"' {
            return Some((Cow::Owned(out), stop + 1));
        }
        let escape = *bytes.get(stop + 1)?;
        let digits = match escape {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => 0,
        };
        i = stop + 2;
        if digits > 0 {
            let hex = line.get(i..i + digits)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let code = u32::from_str_radix(hex, 16).ok()?;
            // Surrogates and values past U+10FFFF are errors in libyaml; `from_u32` refuses the
            // same ones.
            out.push(char::from_u32(code)?);
            i += digits;
            continue;
        }
        out.push(match escape {
            b'0' => '\0',
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\u{b}',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'e' => '\u{1b}',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            _ => return None,
        });
    }
}

/// A flow collection on one line, listed into `events`.
struct Flow<'a, 'e> {
    line: &'a str,
    at: usize,
    depth: usize,
    events: &'e mut Vec<Event<'a>>,
}

impl<'a> Flow<'a, '_> {
    fn skip_spaces(&mut self) {
        self.at += leading_spaces(&self.line.as_bytes()[self.at..]);
    }

    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.at).copied()
    }

    /// Lists `{…}` or `[…]` at the current position.
    fn collection(&mut self) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let open = self.peek()?;
        self.at += 1;
        self.skip_spaces();
        let event_at = self.events.len();
        self.events.push(Event::Seq(0));
        let mut n = 0;
        if open == b'{' {
            if self.peek() != Some(b'}') {
                loop {
                    let key_at = self.at;
                    let key = self.scalar()?;
                    if self.at - key_at > MAX_KEY_BYTES {
                        return None;
                    }
                    // A plain key ends at `: `; a quoted one may be followed by `:` at once, as
                    // in JSON (libyaml takes any `:` there as the value indicator).
                    if self.peek() != Some(b':') {
                        return None;
                    }
                    self.at += 1;
                    if key.plain && self.peek() != Some(b' ') {
                        return None;
                    }
                    self.skip_spaces();
                    self.events.push(Event::Scalar(key));
                    self.node()?;
                    n += 1;
                    if !self.separator(b'}')? {
                        break;
                    }
                }
            }
            self.events[event_at] = Event::Map(n);
        } else {
            if self.peek() != Some(b']') {
                loop {
                    self.node()?;
                    n += 1;
                    if !self.separator(b']')? {
                        break;
                    }
                }
            }
            self.events[event_at] = Event::Seq(n);
        }
        // The closing bracket, checked by `separator` or just seen.
        self.at += 1;
        self.depth -= 1;
        Some(())
    }

    /// After an entry: `Some(true)` past a `,` with another entry to come, `Some(false)` at the
    /// closing bracket, `None` for anything else (a trailing comma, a pair in a sequence, the
    /// line's end, a comment).
    fn separator(&mut self, close: u8) -> Option<bool> {
        self.skip_spaces();
        match self.peek()? {
            b',' => {
                self.at += 1;
                self.skip_spaces();
                (!matches!(self.peek()?, b'}' | b']' | b',')).then_some(true)
            }
            c if c == close => Some(false),
            _ => None,
        }
    }

    /// Lists a value in a flow collection.
    fn node(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' | b'[' => self.collection(),
            _ => {
                let scalar = self.scalar()?;
                self.events.push(Event::Scalar(scalar));
                Some(())
            }
        }
    }

    /// A scalar in a flow collection, with the spaces after it skipped.
    fn scalar(&mut self) -> Option<Scalar<'a>> {
        let (scalar, end) = scalar_at(self.line, self.at, true)?;
        self.at = end;
        self.skip_spaces();
        Some(scalar)
    }
}

/// What a plain scalar is to serde_yaml 0.9 (`de.rs`, `visit_untagged_scalar`).
#[derive(Debug, PartialEq)]
enum Plain {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    Float(f64),
    /// An integer past `u64` and `i64`: serde_yaml hands it over as a 128-bit one, which the
    /// loader's visitors refuse.
    Wide,
    String,
}

/// serde_yaml's reading of a plain scalar, rule for rule: null and boolean words, then
/// integers (`visit_int`: decimal, `0x`, `0o` and `0b`, with a sign), then finite floats, and
/// the rest are strings.
fn resolve(text: &str) -> Plain {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        _ => {}
    }
    // Every number starts with a digit, a sign or a point. Rust's float parsing also reads
    // `inf`, `infinity` and `nan`, but serde_yaml keeps only finite floats: those are strings.
    if !matches!(
        text.as_bytes().first(),
        Some(b'0'..=b'9' | b'-' | b'+' | b'.')
    ) {
        return Plain::String;
    }
    if let Some(n) = unsigned_int(text, u64::from_str_radix) {
        return Plain::U64(n);
    }
    if let Some(n) = negative_int(text, i64::from_str_radix) {
        return Plain::I64(n);
    }
    if unsigned_int(text, u128::from_str_radix).is_some()
        || negative_int(text, i128::from_str_radix).is_some()
    {
        return Plain::Wide;
    }
    if !digits_but_not_number(text) {
        if let Some(float) = float(text) {
            return Plain::Float(float);
        }
    }
    Plain::String
}

/// serde_yaml's `parse_unsigned_int`.
fn unsigned_int<T>(
    text: &str,
    radix: fn(&str, u32) -> Result<T, std::num::ParseIntError>,
) -> Option<T> {
    let unpositive = text.strip_prefix('+').unwrap_or(text);
    for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(n) = radix(rest, base) {
                return Some(n);
            }
        }
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(text) {
        return None;
    }
    radix(unpositive, 10).ok()
}

/// serde_yaml's `parse_negative_int`.
fn negative_int<T>(
    text: &str,
    radix: fn(&str, u32) -> Result<T, std::num::ParseIntError>,
) -> Option<T> {
    for (prefix, base) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = text.strip_prefix(prefix) {
            if let Ok(n) = radix(&format!("-{rest}"), base) {
                return Some(n);
            }
        }
    }
    if digits_but_not_number(text) {
        return None;
    }
    radix(text, 10).ok()
}

/// serde_yaml's `parse_f64`.
fn float(text: &str) -> Option<f64> {
    let unpositive = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => text,
    };
    if matches!(unpositive, ".inf" | ".Inf" | ".INF")
        || matches!(text, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
    {
        // Not finite: the loader refuses them, so they are never read here.
        return Some(f64::NAN);
    }
    unpositive.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// serde_yaml's `digits_but_not_number`: a leading zero followed by digits is a string.
fn digits_but_not_number(text: &str) -> bool {
    let text = text.strip_prefix(['-', '+']).unwrap_or(text);
    text.len() > 1 && text.starts_with('0') && text[1..].bytes().all(|b| b.is_ascii_digit())
}

/// A plain scalar as JSON (the loader's `JsonVisitor`), or `None` for what it refuses.
fn plain_json(text: &str) -> Option<Value> {
    Some(match resolve(text) {
        Plain::Null => Value::Null,
        Plain::Bool(b) => Value::Bool(b),
        Plain::U64(n) => Value::from(n),
        Plain::I64(n) => Value::from(n),
        Plain::Float(f) => Value::Number(serde_json::Number::from_f64(f)?),
        Plain::Wide => return None,
        Plain::String => Value::String(text.to_owned()),
    })
}

/// Whether a plain scalar is a string to serde_yaml, as a map key in a body or a header or query
/// map must be.
fn plain_is_string(text: &str) -> bool {
    resolve(text) == Plain::String
}

/// A map key that must be a string (the loader's `Key`).
fn string_key(key: Scalar<'_>) -> Option<String> {
    (!key.plain || plain_is_string(&key.text)).then(|| key.text.into_owned())
}

/// The next scalar, or `None` when the next node is a collection.
fn scalar<'a>(events: &mut Events<'_, 'a>) -> Option<Scalar<'a>> {
    match events.next()? {
        Event::Scalar(scalar) => Some(scalar),
        _ => None,
    }
}

/// A body as JSON (the loader's `JsonVisitor`).
fn json(events: &mut Events<'_, '_>) -> Option<Value> {
    let first = events.next()?;
    json_from(first, events)
}

/// The JSON of the node that `first` begins.
fn json_from<'a>(first: Event<'a>, events: &mut Events<'_, 'a>) -> Option<Value> {
    Some(match first {
        Event::Scalar(Scalar { text, plain: true }) => plain_json(&text)?,
        Event::Scalar(Scalar { text, plain: false }) => Value::String(text.into_owned()),
        Event::Seq(n) => Value::Array((0..n).map(|_| json(events)).collect::<Option<_>>()?),
        Event::Map(n) => {
            let mut object = Map::new();
            for _ in 0..n {
                match object.entry(string_key(scalar(events)?)?) {
                    serde_json::map::Entry::Vacant(slot) => slot.insert(json(events)?),
                    serde_json::map::Entry::Occupied(_) => return None,
                };
            }
            Value::Object(object)
        }
    })
}

/// A `body:`: serde_yaml reads a plain null as no body, which is refused here.
fn body(events: &mut Events<'_, '_>) -> Option<Value> {
    let first = events.next()?;
    if let Event::Scalar(Scalar { plain: true, text }) = &first {
        if resolve(text) == Plain::Null {
            return None;
        }
    }
    json_from(first, events)
}

/// A `String` field: serde_yaml's `deserialize_str` takes any scalar's text.
fn string(events: &mut Events<'_, '_>) -> Option<String> {
    Some(scalar(events)?.text.into_owned())
}

/// A string-keyed map with unique keys (the loader's `unique_keys`).
fn unique_map<'a, T>(
    events: &mut Events<'_, 'a>,
    value: impl Fn(&mut Events<'_, 'a>) -> Option<T>,
) -> Option<BTreeMap<String, T>> {
    let Event::Map(n) = events.next()? else {
        return None;
    };
    let mut out = BTreeMap::new();
    for _ in 0..n {
        match out.entry(string_key(scalar(events)?)?) {
            std::collections::btree_map::Entry::Vacant(slot) => slot.insert(value(events)?),
            std::collections::btree_map::Entry::Occupied(_) => return None,
        };
    }
    Some(out)
}

/// Sets a field read once: a second one is serde's "duplicate field" error.
fn once<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value?);
    Some(())
}

/// The fields of a mapping, each key given to `field` with the events at its value.
fn fields<'a>(
    events: &mut Events<'_, 'a>,
    mut field: impl FnMut(&str, &mut Events<'_, 'a>) -> Option<()>,
) -> Option<()> {
    let Event::Map(n) = events.next()? else {
        return None;
    };
    for _ in 0..n {
        let key = scalar(events)?;
        field(&key.text, events)?;
    }
    Some(())
}

fn interaction(events: &mut Events<'_, '_>) -> Option<Interaction> {
    let (mut request, mut response) = (None, None);
    fields(events, |key, events| match key {
        "request" => once(&mut request, recorded_request(events)),
        "response" => once(&mut response, recorded_response(events)),
        _ => None,
    })?;
    Some(Interaction {
        request: request?,
        response: response?,
    })
}

fn recorded_request(events: &mut Events<'_, '_>) -> Option<RecordedRequest> {
    let (mut method, mut path, mut query, mut region, mut headers, mut body_) =
        (None, None, None, None, None, None);
    let mut service = None;
    fields(events, |key, events| match key {
        // An unknown id is left to serde's reading, which words the error.
        "service" => once(
            &mut service,
            string(events).and_then(|id| crate::ivs::Service::from_id(&id)),
        ),
        "method" => once(&mut method, string(events)),
        "path" => once(&mut path, string(events)),
        "query" => once(
            &mut query,
            unique_map(events, |events| match events.next()? {
                Event::Seq(n) => (0..n).map(|_| string(events)).collect(),
                _ => None,
            }),
        ),
        "region" => once(&mut region, string(events)),
        "headers" => once(&mut headers, unique_map(events, string)),
        "body" => once(&mut body_, body(events)),
        _ => None,
    })?;
    Some(RecordedRequest {
        service: service.unwrap_or_default(),
        method: method?,
        path: path?,
        query: query.unwrap_or_default(),
        region: region?,
        headers: headers.unwrap_or_default(),
        body: body_,
    })
}

fn recorded_response(events: &mut Events<'_, '_>) -> Option<RecordedResponse> {
    let (mut status, mut headers, mut body_) = (None, None, None);
    fields(events, |key, events| match key {
        "status" => once(&mut status, self::status(events)),
        "headers" => once(&mut headers, unique_map(events, string)),
        "body" => once(&mut body_, body(events)),
        _ => None,
    })?;
    Some(RecordedResponse {
        status: status?,
        headers: headers.unwrap_or_default(),
        body: body_,
        body_text: None,
    })
}

/// A `status:`: serde_yaml reads a `u16` from a plain scalar only (`deserialize_u64`).
fn status(events: &mut Events<'_, '_>) -> Option<u16> {
    match scalar(events)? {
        Scalar { text, plain: true } => {
            u16::try_from(unsigned_int(&text, u64::from_str_radix)?).ok()
        }
        Scalar { plain: false, .. } => None,
    }
}

#[cfg(test)]
mod tests;
