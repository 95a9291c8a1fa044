//! The fast reader against serde_yaml: hand-picked texts it must read alike or leave alone, and
//! properties over plain words and quoted scalars. The properties over whole cassettes, restyled
//! and changed, are with the item-by-item loader's (`chunked/tests.rs`), whose generators they
//! share.

use super::*;
use crate::cassette::load::chunked::parse_part_by_serde;

/// serde_yaml's reading of the items in `part`.
fn by_serde(part: &str) -> Option<Vec<Interaction>> {
    parse_part_by_serde(&format!("interactions:\n{part}"))
}

/// `part` is read, and as serde_yaml reads it.
#[track_caller]
fn read_alike(part: &str) -> Vec<Interaction> {
    let fast = items(part).unwrap_or_else(|| panic!("refused:\n{part}"));
    assert_eq!(Some(&fast), by_serde(part).as_ref(), "{part}");
    fast
}

/// `part` is refused, and so left to serde_yaml.
#[track_caller]
fn refused(part: &str) {
    assert_eq!(items(part), None, "read:\n{part}");
}

fn item(request_body: &str, response: &str) -> String {
    format!("- request:\n    method: POST\n    path: /GetChannel\n    region: us-west-2\n    body:{request_body}\n  response:\n{response}")
}

/// The bundled cassettes are read as serde_yaml reads them, comments and block scalars (a PEM
/// key) and all: every one of them, since none holds an anchor (the loader refuses them).
#[test]
fn the_bundled_cassettes_are_read_as_serde_yaml_reads_them() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes");
    let mut read = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (_, part) = text.split_once("interactions:\n").unwrap();
        let part = part.trim_start_matches('\n');
        assert!(!read_alike(part).is_empty(), "{}", path.display());
        read += 1;
    }
    assert!(read >= 20, "{read} read");
}

/// What `record` writes (serde_yaml's own output) and the flow form of the benchmarks and
/// hand-written cassettes are read.
#[test]
fn written_and_flow_forms_are_read() {
    let c = crate::cassette::Cassette {
        interactions: read_alike(&item(
            "\n      arn: \"arn:aws:ivs:us-west-2:123456789012:channel/abc\"\n      x: [1, -2, true, ~, 'it''s', \"tab\\there \\u00e9\\x41\\/\"]",
            "    status: 200\n    headers:\n      Content-Type: application/json\n      x-amzn-RequestId: \"0123\"\n    body:\n      channel: {}\n      tags: []\n      n: 18446744073709551615\n",
        )),
        ..crate::cassette::Cassette::new("t", crate::cassette::Provenance {
            kind: crate::cassette::ProvenanceKind::Recorded,
            source: "s".into(),
            model: None,
            recorded_on: None,
        })
    };
    let written = c.to_yaml();
    let (_, part) = written.split_once("interactions:\n").unwrap();
    assert_eq!(read_alike(part), c.interactions);
    read_alike(
        "  - request: {method: POST, path: /GetChannel, region: us-west-2, body: {arn: \"arn:aws:ivs:us-west-2:123456789012:channel/bench0000001\"}}\n    response: {status: 200, headers: {Content-Type: application/json, x-amzn-RequestId: 0f0e0d0c-0b0a-4908-000000000001}, body: {\"channel\":{\"arn\":\"a\",\"authorized\":false,\"tags\":{}}}}\n",
    );
    read_alike("- {request: {method: GET, path: /p, region: r, query: {a: [x, 'y']}}, response: {status: 404}} # done\n\n# end\n");
    // Numbers as serde_yaml reads them, and strings that only start like one.
    read_alike(&item(
        "\n      a: [1.5, 0x10, -0o7, 0123, -0, +1, 1e3, 0A, 2nd, -x, .5, 1_000, 0b2]",
        "    status: 0xC8\n",
    ));
    // Literal block scalars, as serde_yaml writes strings of several lines: the text after
    // the block's indent, `#` lines and deeper lines included; clipped, stripped or kept.
    for header in ["|", "|-", "|+", "|  "] {
        read_alike(&item(
            &format!(" {{}}\n    headers:\n      k: {header}\n        -----BEGIN-----\n        # not a comment\n          deeper: [x]\n        end\n      j: x"),
            "    status: 200\n    body:\n      pem: |-\n        a\n        b\n",
        ));
    }
    // Blank lines after a clipped or stripped block, which drop them.
    read_alike(&item(
        " {}",
        "    status: 200\n    body:\n      a: |\n        x\n\n      b: |-\n        y\n  \n",
    ));
    // A sequence at its key's column, and nested compact items.
    read_alike("- request:\n    method: POST\n    path: /p\n    region: r\n    body:\n      a:\n      - - 1\n        - 2\n      - b: c\n        d: e\n  response:\n    status: 200\n");
}

/// What serde_yaml reads differently than a plain look suggests, or refuses, is left to it.
#[test]
fn what_might_read_otherwise_is_refused() {
    let with_body = |body: &str| item(body, "    status: 200\n");
    for body in [
        " 18446744073709551616", // past u64
        " .inf",                 // not a JSON number
        " ~",                    // no body
        " null",                 // no body
        " \"two\n      lines\"",
        " plain\n      continued",
        " {a: 1,\n      b: 2}", // a flow collection over lines
        " &anchor {a: 1}",
        " !!binary aGk=",
        " {a: 1,}",                 // a trailing comma
        " [a: 1]",                  // a pair in a sequence
        " {a:1}",                   // a key `a:1` without a value
        " {? a: 1}",                // an explicit key
        " \"\\q\"",                 // an unknown escape
        " \"\\ud800\"",             // a surrogate
        "\n      a: 1\n      a: 2", // a duplicate key
        "\n      1: a",             // a key that is a number
        "\n      true: a",
        "\n      a: b: c",
        "\n      a: 1\n       b: 2", // a deeper line after a value
        "\n      a:\n      b: 1",    // an empty value
        "\n      a:\tb",
        "\n      a: b\r",
        "\n      a: \u{2028}",
        "\n      a: \u{85}",
        "\n      ? a\n      : b",
    ] {
        refused(&with_body(body));
    }
    for block in [
        "|2\n        text\n",          // an indentation indicator
        ">\n        text\n",           // a folded scalar
        "| # c\n        text\n",       // a comment after the header
        "|\n        a\n\n        b\n", // a blank line inside
        "|+\n        a\n\n",           // a blank line kept
        "|\n        a\n          \n",  // a blank line that would be text
        "|\n      a\n",                // not deeper than its key
        "|\n        a",                // no line break at the end
    ] {
        refused(&item(
            " {}",
            &format!("    status: 200\n    body:\n      k: {block}"),
        ));
    }
    refused(&item(" {}", "    status: \"200\"\n"));
    refused(&item(" {}", "    status: 70000\n"));
    refused(&item(" {}", "    status: 200\n    body_text: hi\n"));
    refused(&item(" {}", "    status: 200\n    extra: 1\n"));
    refused(&item(" {}", "    status: 200\n    status: 201\n"));
    refused("- request: {method: POST, path: /p, region: r}\n");
    refused("- request: {method: POST, path: /p, region: r}\n  response: {status: 200}\n---\n");
    refused(&format!("- request: {{method: POST, path: /p, region: r, body: {{{}: 1}}}}\n  response: {{status: 200}}\n", "k".repeat(1100)));
    let deep = format!("{}1{}", "[".repeat(130), "]".repeat(130));
    refused(&format!("- request: {{method: POST, path: /p, region: r, body: {deep}}}\n  response: {{status: 200}}\n"));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Words that may read as null, a boolean or a number, or only start like one.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[-+.0-9a-fA-FxobeE_~nulTRUEFASrsi:]{1,8}",
            1 => prop::sample::select(vec![
                "~", "null", "Null", "NULL", "nULL", "true", "True", "TRUE", "tRUE", "false",
                "False", "FALSE", "yes", "no", "on", "off", ".inf", "-.Inf", "+.INF", ".nan",
                ".NaN", "inf", "nan", "infinity", "-0", "+0", "00", "-00", "0x", "0x-1", "+-1",
                "-0x1F", "0o17", "-0b101", "1e400", "-1e400", "1.0e+3", "18446744073709551616",
                "-9223372036854775809", "340282366920938463463374607431768211456",
            ])
            .prop_map(str::to_owned),
        ]
    }

    /// The inside of a double-quoted scalar: text, and every escape libyaml knows, a few it
    /// refuses, and a surrogate.
    fn double_quoted_text() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "a",
            " ",
            "'",
            "#",
            ": ",
            "é",
            "\\0",
            "\\a",
            "\\b",
            "\\t",
            "\\n",
            "\\v",
            "\\f",
            "\\r",
            "\\e",
            "\\ ",
            "\\\"",
            "\\/",
            "\\\\",
            "\\N",
            "\\_",
            "\\L",
            "\\P",
            "\\x41",
            "\\xe9",
            "\\x7F",
            "\\u00e9",
            "\\u2028",
            "\\U0001F600",
            "\\ud800",
            "\\q",
            "\\x4",
            "\\U00110000",
        ]);
        prop::collection::vec(token, 0..8).prop_map(|tokens| tokens.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// A double-quoted scalar reads as serde_yaml reads it, escapes and all, and is read
        /// whenever serde_yaml reads it; so is a single-quoted one.
        #[test]
        fn quoted_scalars_read_as_serde_yaml_reads_them(
            inside in double_quoted_text(),
            single in "[a' #:\\\"é]{0,8}",
        ) {
            let single = single.replace('\'', "''");
            for part in [
                format!("- request:\n    method: POST\n    path: /p\n    region: r\n    body:\n      \"{inside}\": \"{inside}\"\n  response:\n    status: 200\n"),
                format!("- request: {{method: POST, path: /p, region: r, body: {{'{single}': ['{single}']}}}}\n  response: {{status: 200}}\n"),
            ] {
                prop_assert_eq!(items(&part), by_serde(&part), "{}", part);
            }
        }

        /// A plain word as a value and as a key, in block and flow style, reads as serde_yaml
        /// reads it; `status` too. A word without `:` that is not a lone `-` is always read
        /// when serde_yaml reads it.
        #[test]
        fn plain_words_read_as_serde_yaml_reads_them(word in word()) {
            let always = !word.contains(':') && word != "-";
            let parts = [
                format!("- request:\n    method: POST\n    path: /p\n    region: r\n    body:\n      k: {word}\n  response:\n    status: 200\n"),
                format!("- request:\n    method: POST\n    path: /p\n    region: r\n    body:\n      {word}: 1\n  response:\n    status: 200\n"),
                format!("- request: {{method: POST, path: /p, region: r, body: {{k: [{word}]}}}}\n  response: {{status: 200}}\n"),
                format!("- request: {{method: POST, path: /p, region: r, body: {{k: 1}}}}\n  response: {{status: {word}}}\n"),
            ];
            for part in parts {
                let (fast, serde) = (items(&part), by_serde(&part));
                if fast.is_some() || always {
                    prop_assert_eq!(fast, serde, "{}", part);
                }
            }
        }
    }
}
