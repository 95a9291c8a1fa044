//! The rule sentences of an AWS model: every operation's, shape's and member's `documentation`
//! HTML turned into text, cut into sentences, and kept when it says something an implementation
//! could honour or break. `fidelity` checks the ledgers in `docs/fidelity/` against what this finds.
//!
//! A sentence is a rule when it holds one of [`RULE_WORDS`] as whole words (case-insensitive).
//! The list is the issue's ("must", "required if", "cannot", "Default:", "at most", "per second",
//! "sorted by", …), tuned on the three models so the ledger is useful rather than noise:
//! - "required" alone would catch descriptions ("required by the video player", "required
//!   decoder performance"), so only "required if/when" and "is/are required" count;
//! - "per second" alone catches units ("bits per second"), so call rates are "requests per second";
//! - "unique" alone catches every "Unique identifier for …", so only "be unique" counts;
//! - "only for", "applicable only", "mutually exclusive", "limit", "empty string" and "allowed"
//!   were added: the models state mode-dependent members and deprecated-and-empty members that way.

use serde_json::Value;

/// The words and phrases that make a sentence a rule (see the module doc for why these).
pub const RULE_WORDS: &[&str] = &[
    "must",
    "required if",
    "required when",
    "is required",
    "are required",
    "(and required)",
    "only if",
    "only when",
    "only for",
    "applicable only",
    "cannot",
    "can not",
    "will cause",
    "will fail",
    "fails",
    "exception",
    "default",
    "defaults to",
    "at most",
    "at least",
    "maximum",
    "minimum",
    "up to",
    "requests per second",
    "transactions per second",
    "per account",
    "per region",
    "sorted",
    "order",
    "ignored",
    "deprecated",
    "reserved",
    "not supported",
    "valid values",
    "allowed",
    "mutually exclusive",
    "limit",
    "be unique",
    "empty string",
];

/// Abbreviations whose period does not end a sentence.
const ABBREVIATIONS: &[&str] = &["e.g.", "i.e.", "etc.", "vs.", "approx."];

/// Where a sentence was found, in the model's names: `Operation`, `Operation.member` (a member of
/// the operation's input), `Shape` or `Shape.member`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    pub place: String,
    pub quote: String,
}

/// The documentation HTML as text: tags dropped, entities decoded, one line per paragraph or
/// list item, whitespace inside a line collapsed.
pub fn text_of(html: &str) -> String {
    let mut raw = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        raw.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            // A lone `<` is text, not a tag.
            raw.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim_start_matches('/');
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if matches!(
            name.to_ascii_lowercase().as_str(),
            "p" | "li" | "ul" | "ol" | "br" | "note" | "important" | "dt" | "dd" | "dl"
        ) {
            raw.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    raw.push_str(rest);
    let decoded = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sentences of the documentation HTML, in order. A sentence ends at a paragraph's end, or
/// after `.`, `!` or `?` (closing quotes or brackets may follow) when the next word starts with a
/// capital or a digit, unless the word is an abbreviation (`e.g.`).
pub fn sentences(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text_of(html).lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let mut current: Vec<&str> = Vec::new();
        for (idx, word) in words.iter().enumerate() {
            current.push(word);
            let next_starts = words.get(idx + 1).is_some_and(|next| {
                next.trim_start_matches(['"', '(', '[', '“', '\''])
                    .starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit())
            });
            if next_starts && ends_sentence(word) {
                out.push(current.join(" "));
                current.clear();
            }
        }
        if !current.is_empty() {
            out.push(current.join(" "));
        }
    }
    out
}

/// Whether `sentence` states a rule: it holds one of [`RULE_WORDS`] as whole words.
pub fn is_rule(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    RULE_WORDS.iter().any(|word| holds_phrase(&lower, word))
}

/// The rule sentences of the documentation HTML: [`sentences`] kept by [`is_rule`].
pub fn rule_sentences(html: &str) -> Vec<String> {
    sentences(html).into_iter().filter(|s| is_rule(s)).collect()
}

/// Every rule sentence of a botocore model, with where it was found, in the order of the model's
/// operations then shapes (each shape's own text, then its members'). A member of an operation's
/// input shape is named after the operation (`CreateChannel.type`); other members after their
/// shape (`Channel.type`).
pub fn model_rules(model: &Value) -> Vec<Rule> {
    let names = Names::of(model);
    let mut out = Vec::new();
    let mut push = |place: String, doc: Option<&Value>| {
        for quote in rule_sentences(doc.and_then(Value::as_str).unwrap_or("")) {
            let rule = Rule {
                place: place.clone(),
                quote,
            };
            if !out.contains(&rule) {
                out.push(rule);
            }
        }
    };
    for (op, body) in object(&model["operations"]) {
        push(op.clone(), body.get("documentation"));
    }
    for (shape, body) in object(&model["shapes"]) {
        push(names.shape(shape), body.get("documentation"));
        for (member, spec) in object(&body["members"]) {
            push(names.member(shape, member), spec.get("documentation"));
        }
    }
    out
}

/// How the model's places are named: which shapes are an operation's input.
pub struct Names {
    /// Input shape → its one operation.
    input_of: std::collections::BTreeMap<String, String>,
}

impl Names {
    /// The names of `model`'s places.
    pub fn of(model: &Value) -> Names {
        let mut count = std::collections::BTreeMap::<String, Vec<String>>::new();
        for (op, body) in object(&model["operations"]) {
            if let Some(input) = body["input"]["shape"].as_str() {
                count.entry(input.to_owned()).or_default().push(op.clone());
            }
        }
        let input_of = count
            .into_iter()
            .filter(|(_, ops)| ops.len() == 1)
            .map(|(shape, mut ops)| (shape, ops.remove(0)))
            .collect();
        Names { input_of }
    }

    /// A shape's own place: its name.
    pub fn shape(&self, shape: &str) -> String {
        shape.to_owned()
    }

    /// A member's place: `Operation.member` for an operation's input, else `Shape.member`.
    pub fn member(&self, shape: &str, member: &str) -> String {
        let owner = self.input_of.get(shape).map_or(shape, String::as_str);
        format!("{owner}.{member}")
    }

    /// The operation whose input `shape` is, if only one.
    pub fn operation_of_input(&self, shape: &str) -> Option<&str> {
        self.input_of.get(shape).map(String::as_str)
    }
}

/// A JSON object's entries, or none.
pub fn object(value: &Value) -> impl Iterator<Item = (&String, &Value)> {
    value.as_object().into_iter().flatten()
}

/// Whether `word` ends a sentence (see [`sentences`]).
fn ends_sentence(word: &str) -> bool {
    let bare = word.trim_end_matches(['"', ')', ']', '”', '\'']);
    bare.ends_with(['.', '!', '?']) && !ABBREVIATIONS.contains(&bare.to_lowercase().as_str())
}

/// Whether `phrase` occurs in `text` with no letter, digit, `_` or `-` glued to either end.
fn holds_phrase(text: &str, phrase: &str) -> bool {
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        (phrase.starts_with('(') || !glued(before)) && (phrase.ends_with(')') || !glued(after))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `rule_sentences(html)` against the expected sentences, printing both on failure.
    fn check(html: &str, expected: &[&str]) {
        let got = rule_sentences(html);
        assert!(
            got == expected,
            "html:\n{html}\nexpected:\n{expected:#?}\ngot:\n{got:#?}"
        );
    }

    #[test]
    fn tags_are_dropped_and_entities_decoded() {
        check(
            "<p>Default: <code>\"\"</code> (empty &amp; off).</p>",
            &["Default: \"\" (empty & off)."],
        );
    }

    #[test]
    fn sentences_split_at_periods_before_capitals_only() {
        check(
            "<p>Channel type. Default: <code>STANDARD</code>. Version 1.5 is the latest.</p>",
            &["Default: STANDARD."],
        );
        check(
            "<p>At most 5 per channel, e.g. Foo must hold. Bar.</p>",
            &["At most 5 per channel, e.g. Foo must hold."],
        );
    }

    #[test]
    fn paragraphs_and_list_items_end_sentences() {
        check(
            "<p>Values must be <ul><li>short</li><li>unique, which must hold</li></ul></p>",
            &["Values must be", "unique, which must hold"],
        );
    }

    #[test]
    fn rule_words_count_only_as_whole_words() {
        assert!(is_rule("Names must be short."));
        assert!(!is_rule("A mustard-coloured field."));
        assert!(!is_rule("Unique identifier for the key pair."));
        assert!(!is_rule("The expected ingest bitrate (bits per second)."));
        assert!(is_rule("At most 5 requests per second per channel."));
        assert!(is_rule(
            "This is configurable (and required) only if the mode is INTERVAL."
        ));
        assert!(!is_rule("A non-default value."));
        assert!(is_rule("Default: LOW."));
    }

    #[test]
    fn members_of_an_operation_input_are_named_after_the_operation() {
        let model = serde_json::json!({
            "operations": {"Op": {"input": {"shape": "OpRequest"}, "documentation": "<p>Must be live.</p>"}},
            "shapes": {
                "OpRequest": {"members": {"a": {"shape": "S", "documentation": "<p>Default: 1.</p>"}}},
                "S": {"members": {"b": {"shape": "S", "documentation": "<p>Up to 5.</p>"}}}
            }
        });
        let got: Vec<(String, String)> = model_rules(&model)
            .into_iter()
            .map(|r| (r.place, r.quote))
            .collect();
        let want = [
            ("Op", "Must be live."),
            ("Op.a", "Default: 1."),
            ("S.b", "Up to 5."),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(p, q)| (p.to_string(), q.to_string()))
            .collect();
        assert_eq!(got, want);
    }
}
