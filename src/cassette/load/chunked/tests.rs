//! The item-by-item loader's tests: examples, then properties against serde_yaml.

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
    let text = format!("{head}interactions:\n  - a: 1\n    b: [1,\n  - 2]\n\n  # c\n  - a: 2\n");
    let found = split(&text).unwrap();
    assert_eq!(found.header_end, head.len());
    let items: Vec<&str> = found.items.iter().map(|&i| &text[i..i + 8]).collect();
    assert_eq!(items, ["  - a: 1", "  - a: 2"]);
    // The sequence at its key's column, and an item with its node on the next line.
    let text = format!("{head}interactions:\n- a: 1\n-\n  a: 2\n# end\n");
    assert_eq!(split(&text).unwrap().items.len(), 2);
    // Quoted text and block scalars that look like items are not items.
    let text =
        format!("{head}interactions:\n  - a: \"x\n  - y\"\n    b: |\n      - z\n  - c: '\n  - '\n");
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
            service: Default::default(),
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
            let fast = super::super::super::fast::items(part);
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
            if let Some(fast) = super::super::super::fast::items(&part) {
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
                && super::super::super::scan(&text, 128).tag.is_none()
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
