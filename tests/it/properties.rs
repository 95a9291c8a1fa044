//! Property tests of normalization: what the fingerprint and the index key ignore (key order,
//! whitespace, escapes, the order and repetition of `tagKeys`), what they never ignore (any
//! significant value), and that replay's in-place key always equals the normalized one.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ivs_vcr::__private::normalize::{
    self, canonical_json, fingerprint, match_key, request_match_key, Fingerprint, MatchKey,
};
use ivs_vcr::cassette::Matching;
use ivs_vcr::RecordedRequest;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Few enough cases that the whole file runs in a couple of seconds.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 192,
        ..ProptestConfig::default()
    }
}

/// Keys and strings: mostly IVS-like ASCII, with non-ASCII, astral and control characters mixed in.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_:/.-]{0,12}",
        1 => "[a-zé\u{263a}\u{1F600}\"\\\\\u{0}-\u{1f}\u{7f}\u{2028}]{0,8}",
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float().prop_map(|f| Value::Number(Number::from_f64(f).expect("finite"))),
        text().prop_map(Value::String),
    ]
}

/// Any finite float, full precision included: with serde_json's `float_roundtrip` every one reads
/// back exactly (see `full_precision_floats_keep_their_canonical_form`).
fn float() -> impl Strategy<Value = f64> {
    prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A request body: an object, like every IVS body, sometimes with members that hold secrets.
fn json_body() -> impl Strategy<Value = Value> {
    let secret_member = prop_oneof![
        text().prop_map(|s| ("metadata".to_owned(), Value::String(s))),
        text().prop_map(|s| ("privateKey".to_owned(), Value::String(s))),
        text().prop_map(|s| ("streamKey".to_owned(), serde_json::json!({ "value": s }))),
        text().prop_map(|s| (
            "channel".to_owned(),
            serde_json::json!({ "srt": { "passphrase": s } })
        )),
    ];
    (
        prop::collection::btree_map(text(), json_value(), 0..6),
        prop::option::of(secret_member),
    )
        .prop_map(|(members, secret)| {
            let mut map: Map<String, Value> = members.into_iter().collect();
            if let Some((k, v)) = secret {
                map.insert(k, v);
            }
            Value::Object(map)
        })
}

/// A raw path: a POST operation, or a `/tags/` route with a percent-encoded ARN.
fn raw_path() -> impl Strategy<Value = String> {
    prop_oneof![
        prop_oneof![
            Just("/GetChannel"),
            Just("/CreateChannel"),
            Just("/ListChannels"),
            Just("/PutMetadata"),
            Just("/ImportPlaybackKeyPair"),
            Just("/FutureOperation"),
        ]
        .prop_map(str::to_owned),
        "[a-zA-Z0-9:/._%-]{0,24}".prop_map(|arn| format!("/tags/{arn}")),
        "/[a-zA-Z0-9%/._-]{0,16}",
    ]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("POST".to_owned()),
        Just("GET".to_owned()),
        Just("DELETE".to_owned()),
        Just("post".to_owned()),
        Just("Get".to_owned()),
    ]
}

/// A raw query string with repeated keys and percent escapes, parsed as the server parses it.
fn query() -> impl Strategy<Value = BTreeMap<String, Vec<String>>> {
    prop::collection::vec(
        (
            prop_oneof![Just("tagKeys".to_owned()), "[a-z%0-9]{1,4}"],
            "[a-zA-Z0-9 %+/:=-]{0,6}",
        ),
        0..5,
    )
    .prop_map(|pairs| {
        let raw: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        normalize::parse_query(&raw.join("&"))
    })
}

fn region() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("us-west-2".to_owned()),
        Just("eu-west-1".to_owned()),
        "[a-z0-9-]{0,12}",
    ]
}

fn recorded_request() -> impl Strategy<Value = RecordedRequest> {
    (
        method(),
        raw_path(),
        query(),
        region(),
        prop::collection::btree_map(
            prop_oneof![Just("X-Tenant".to_owned()), Just("x-amz-date".to_owned())],
            "[a-z]{0,4}",
            0..2,
        ),
        prop::option::of(json_body()),
    )
        .prop_map(
            |(method, path, query, region, headers, body)| RecordedRequest {
                service: Default::default(),
                method,
                path,
                query,
                region,
                headers,
                body,
            },
        )
}

/// Matching options drawn from what cassettes use: ignored paths (some with `*`, some through a
/// secret member), matched headers, and the account scrub.
fn matching() -> impl Strategy<Value = Matching> {
    let ignore_path = prop_oneof![
        text(),
        Just("metadata".to_owned()),
        Just("tags.*".to_owned()),
        Just("*".to_owned()),
        Just("streamKey.value".to_owned()),
        Just("*.*".to_owned()),
        Just("0".to_owned()),
    ];
    (
        prop::collection::vec(ignore_path, 0..3),
        prop::collection::vec(
            prop_oneof![
                Just("x-tenant".to_owned()),
                Just("Authorization".to_owned())
            ],
            0..2,
        ),
        any::<bool>(),
    )
        .prop_map(|(ignore_body_paths, headers, scrub_account)| Matching {
            ignore_body_paths,
            headers,
            scrub_account,
        })
}

fn fp(req: &RecordedRequest) -> Fingerprint {
    fingerprint(&normalize::request(req, &Matching::default()))
}

/// The replay index's key of a request: it must tell requests apart exactly as [`fp`] does.
fn key(req: &RecordedRequest) -> MatchKey {
    match_key(&normalize::request(req, &Matching::default()))
}

fn post(body: Value) -> RecordedRequest {
    RecordedRequest {
        service: Default::default(),
        method: "POST".into(),
        path: "/CreateChannel".into(),
        query: BTreeMap::new(),
        region: "us-west-2".into(),
        headers: BTreeMap::new(),
        body: Some(body),
    }
}

/// A tiny deterministic generator, so one proptest seed drives every rendering choice.
struct Choices(u64);

impl Choices {
    fn next(&mut self) -> u64 {
        // xorshift64*; a zero state would stay zero.
        self.0 = self.0.max(1);
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Serializes `value` as a client might: members in a shuffled order, whitespace around every
/// token, and any character as a `\u` escape (non-ASCII ones mostly; astral ones as surrogate
/// pairs).
fn render(value: &Value, c: &mut Choices, out: &mut String) {
    fn ws(c: &mut Choices, out: &mut String) {
        for _ in 0..c.below(3) {
            out.push([' ', '\t', '\n', '\r'][c.below(4) as usize]);
        }
    }
    fn string(s: &str, c: &mut Choices, out: &mut String) {
        out.push('"');
        for ch in s.chars() {
            let must = ch == '"' || ch == '\\' || (ch as u32) < 0x20;
            let escape = must || c.below(if ch.is_ascii() { 8 } else { 2 }) == 0;
            if !escape {
                out.push(ch);
            } else if ch == '/' && c.below(2) == 0 {
                out.push_str("\\/");
            } else {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    if c.below(2) == 0 {
                        write!(out, "\\u{unit:04x}").unwrap();
                    } else {
                        write!(out, "\\u{unit:04X}").unwrap();
                    }
                }
            }
        }
        out.push('"');
    }
    ws(c, out);
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            for i in (1..entries.len()).rev() {
                entries.swap(i, c.below(i as u64 + 1) as usize);
            }
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(c, out);
                string(k, c, out);
                ws(c, out);
                out.push(':');
                render(v, c, out);
            }
            ws(c, out);
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render(item, c, out);
            }
            ws(c, out);
            out.push(']');
        }
        Value::String(s) => string(s, c, out),
        other => out.push_str(&other.to_string()),
    }
    ws(c, out);
}

/// JSON pointers to every leaf: scalars, and empty arrays and objects.
fn leaves(value: &Value, pointer: String, out: &mut Vec<String>) {
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                leaves(v, format!("{pointer}/{}", escape(k)), out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, format!("{pointer}/{i}"), out);
            }
        }
        _ => out.push(pointer),
    }
}

/// A leaf value that is never equal to `old`.
fn changed(old: &Value) -> Value {
    match old {
        Value::Null => Value::Bool(false),
        Value::Bool(b) => Value::Bool(!b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i.wrapping_add(1)),
            (None, _) if n.is_u64() => Value::from(n.as_u64().expect("is_u64").wrapping_add(1)),
            (None, Some(f)) if f != 0.0 => Value::from(-f),
            _ => Value::from(1.5),
        },
        Value::String(s) => Value::String(format!("{s}x")),
        Value::Array(_) => serde_json::json!([null]),
        Value::Object(_) => serde_json::json!({ "k": null }),
    }
}

/// Percent-encodes every byte of `s` or none, to vary the wire form of one query value.
fn encode(s: &str, all: bool) -> String {
    if all {
        s.bytes().map(|b| format!("%{b:02X}")).collect()
    } else {
        s.to_owned()
    }
}

/// Regression (issue 6): serde_json without its `float_roundtrip` feature read some 17-digit floats
/// one ULP off, so the canonical text of such a body parsed to another value and another
/// fingerprint, and a YAML cassette (read exactly) never matched the same number sent as JSON.
/// Found by `canonical_json_is_idempotent`; fixed by enabling `float_roundtrip`.
#[test]
fn full_precision_floats_keep_their_canonical_form() {
    for text in ["-5.066876085050178e+230", "1.0708438326037695e+179"] {
        let exact: f64 = text.parse().expect("a float");
        let parsed: Value = serde_json::from_str(text).expect("JSON number");
        assert_eq!(parsed.as_f64(), Some(exact), "{text}");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn canonical_json_is_idempotent(value in json_value()) {
        let canonical = canonical_json(&value);
        let reparsed: Value = serde_json::from_str(&canonical).expect("canonical JSON parses");
        prop_assert_eq!(canonical_json(&reparsed), canonical);
    }

    #[test]
    fn key_order_whitespace_and_escapes_never_change_the_fingerprint(
        body in json_body(),
        seed in any::<u64>(),
        pretty in any::<bool>(),
    ) {
        let mut text = String::new();
        render(&body, &mut Choices(seed), &mut text);
        if pretty {
            text = serde_json::to_string_pretty(&body).expect("Value serializes");
        }
        let reparsed: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("rendering does not parse: {e}\n{text}"));
        prop_assert_eq!(canonical_json(&reparsed), canonical_json(&body), "{}", text);
        prop_assert_eq!(key(&post(reparsed.clone())), key(&post(body.clone())), "{}", text);
        prop_assert_eq!(fp(&post(reparsed)), fp(&post(body)), "{}", text);
    }

    #[test]
    fn changing_any_body_leaf_changes_the_fingerprint(body in json_body(), pick in any::<prop::sample::Index>()) {
        let mut pointers = Vec::new();
        leaves(&body, String::new(), &mut pointers);
        let pointer = pick.get(&pointers);
        let mut other = body.clone();
        let leaf = other.pointer_mut(pointer).expect("pointer from leaves");
        *leaf = changed(leaf);
        prop_assert_ne!(key(&post(other.clone())), key(&post(body.clone())), "{} → {}", body, other);
        prop_assert_ne!(fp(&post(other.clone())), fp(&post(body.clone())), "{} → {}", body, other);
    }

    #[test]
    fn changing_method_path_query_value_or_region_changes_the_fingerprint(
        req in recorded_request(),
        what in 0..4u8,
        pick in any::<prop::sample::Index>(),
    ) {
        let mut other = req.clone();
        match what {
            0 => {
                let method = req.method.to_ascii_uppercase();
                other.method = if method == "PUT" { "PATCH".into() } else { "PUT".into() };
            }
            // Appending a whole segment changes the decoded path whatever escapes precede it.
            1 => other.path.push_str("/z"),
            2 => {
                prop_assume!(!req.query.is_empty());
                let keys: Vec<&String> = req.query.keys().collect();
                let key = pick.get(&keys);
                let values = &req.query[*key];
                // Every copy of the value is replaced, by one not already there: `tagKeys` is a
                // set, so replacing one copy of a repeated value would change nothing.
                let old = pick.get(values).clone();
                let mut new = format!("{old}x");
                while values.contains(&new) {
                    new.push('x');
                }
                for v in other.query.get_mut(*key).expect("key from keys") {
                    if *v == old {
                        *v = new.clone();
                    }
                }
            }
            _ => other.region.push('x'),
        }
        prop_assert_ne!(key(&other), key(&req), "{:?} → {:?}", req, other);
        prop_assert_ne!(fp(&other), fp(&req), "{:?} → {:?}", req, other);
    }

    #[test]
    fn in_place_key_always_equals_the_normalized_one(
        req in recorded_request(),
        matching in prop_oneof![Just(Matching::default()), matching()],
    ) {
        prop_assert_eq!(
            request_match_key(&req, &matching),
            match_key(&normalize::request(&req, &matching)),
            "{:?} {:?}", req, matching
        );
    }

    #[test]
    fn tag_keys_order_and_repetition_never_change_the_fingerprint(
        keys in prop::collection::btree_set("[a-zA-Z0-9 :/+=._@-]{1,8}", 1..6),
        seed in any::<u64>(),
    ) {
        let keys: Vec<String> = keys.into_iter().collect();
        let mut c = Choices(seed);
        // Another order, some keys sent more than once, and each value escaped or not.
        let mut wire: Vec<&String> = keys.iter().collect();
        for _ in 0..c.below(4) {
            wire.push(&keys[c.below(keys.len() as u64) as usize]);
        }
        for i in (1..wire.len()).rev() {
            wire.swap(i, c.below(i as u64 + 1) as usize);
        }
        let query = |values: &[&String], c: &mut Choices| {
            let pairs: Vec<String> = values
                .iter()
                .map(|v| format!("tagKeys={}", encode(v, c.below(2) == 0)))
                .collect();
            normalize::parse_query(&pairs.join("&"))
        };
        let in_order: Vec<&String> = keys.iter().collect();
        let untag = |query| RecordedRequest {
            service: Default::default(),
            method: "DELETE".into(),
            path: "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2Fx".into(),
            query,
            region: "us-west-2".into(),
            headers: BTreeMap::new(),
            body: None,
        };
        let a = untag(query(&in_order, &mut c));
        let b = untag(query(&wire, &mut c));
        prop_assert_eq!(fp(&a), fp(&b), "{:?} vs {:?}", a.query, b.query);
        prop_assert_eq!(request_match_key(&b, &Matching::default()), key(&a));
    }
}

/// Issue 11 §7: a secret record sees in an exchange never reaches the written cassette, wherever
/// upstream echoes it. The secret (a stream key, an SRT passphrase or a PutMetadata payload)
/// travels at its own member, so record knows it, and is also planted at a random place of a
/// random answer, whole or inside any longer string, or as a tag key; after `redact::exchange`,
/// the cassette as written holds it nowhere, and the pre-write scan finds nothing to refuse.
mod secrets_never_reach_the_cassette {
    use super::*;
    use ivs_vcr::__private::redact;
    use ivs_vcr::cassette::{Cassette, Interaction, Provenance, ProvenanceKind};
    use ivs_vcr::RecordedResponse;

    #[derive(Debug, Clone)]
    enum Secret {
        StreamKey(String),
        /// A stream key in no member of its own: only its shape tells (finding 3 of the
        /// security issue: its secret half, after the id's `_`, was written).
        UnmarkedStreamKey(String),
        Passphrase(String),
        Metadata(String),
    }

    /// A stream key of the real shape: `sk_<region>_<the key's 12-character id>_<secret>`.
    fn real_stream_key() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec![
                "us-west-2",
                "eu-central-1",
                "ap-northeast-1",
                "us-east-1",
            ]),
            "[a-zA-Z0-9]{12}",
            "[a-zA-Z0-9]{20,32}",
        )
            .prop_map(|(region, id, secret)| format!("sk_{region}_{id}_{secret}"))
    }

    fn secret() -> impl Strategy<Value = Secret> {
        prop_oneof![
            real_stream_key().prop_map(Secret::StreamKey),
            real_stream_key().prop_map(Secret::UnmarkedStreamKey),
            "[a-zA-Z0-9]{32,64}".prop_map(Secret::Passphrase),
            "[a-zA-Z0-9 ={}:,\"]{8,40}".prop_map(Secret::Metadata),
        ]
    }

    /// Plants `text` in `value` at the place `path` picks (indices wrap around each level).
    fn plant(value: &mut Value, path: &[usize], text: &str) {
        match (value, path.split_first()) {
            (Value::Object(map), Some((&i, rest))) if !map.is_empty() => {
                let key = map.keys().nth(i % map.len()).cloned().expect("a key");
                plant(map.get_mut(&key).expect("the key"), rest, text);
            }
            (Value::Array(items), Some((&i, rest))) if !items.is_empty() => {
                let n = items.len();
                plant(&mut items[i % n], rest, text);
            }
            (Value::Object(map), _) => {
                map.insert("echo".into(), Value::String(text.to_owned()));
            }
            (Value::Array(items), _) => items.push(Value::String(text.to_owned())),
            (leaf, _) => *leaf = Value::String(text.to_owned()),
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn wherever_upstream_echoes_it(
            secret in secret(),
            answer in json_value(),
            path in prop::collection::vec(any::<usize>(), 0..5),
            around in prop::option::of(("\\PC{0,8}", "\\PC{0,8}")),
            as_key in any::<bool>(),
        ) {
            let (text, request_body, own_member) = match &secret {
                Secret::StreamKey(key) => (key.clone(), serde_json::json!({"arn": "arn:aws:ivs:us-west-2:123456789012:stream-key/abcdABCDefgh"}), serde_json::json!({"streamKey": {"value": key}})),
                Secret::UnmarkedStreamKey(key) => (key.clone(), serde_json::json!({"arn": "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh", "tags": {"copy": format!("key={key}")}}), serde_json::json!({})),
                Secret::Passphrase(p) => (p.clone(), serde_json::json!({"arn": "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh"}), serde_json::json!({"channel": {"srt": {"passphrase": p}}})),
                Secret::Metadata(m) => (m.clone(), serde_json::json!({"channelArn": "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh", "metadata": m}), serde_json::json!({})),
            };
            let mut body = serde_json::json!({"answer": answer});
            let planted = match &around {
                Some((before, after)) => format!("{before}{text}{after}"),
                None => text.clone(),
            };
            plant(&mut body, &path, &planted);
            if as_key {
                body["tags"] = serde_json::json!({ planted.clone(): "v" });
            }
            if let (Value::Object(body), Value::Object(own)) = (&mut body, own_member) {
                body.extend(own);
            }
            let mut request = RecordedRequest {
                service: Default::default(),
                method: "POST".into(),
                path: "/GetStreamKey".into(),
                query: BTreeMap::new(),
                region: "us-west-2".into(),
                headers: BTreeMap::new(),
                body: Some(request_body),
            };
            let mut response = RecordedResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: Some(body),
                body_text: None,
            };
            redact::exchange(&mut request, &mut response, false);
            let mut cassette = Cassette::new("flow", Provenance {
                kind: ProvenanceKind::Recorded,
                source: "test".into(),
                model: None,
                recorded_on: None,
            });
            cassette.interactions.push(Interaction { request, response });
            let written = cassette.to_yaml();
            prop_assert!(!written.contains(&text), "the secret reached the cassette:\n{written}");
            if let Secret::StreamKey(key) | Secret::UnmarkedStreamKey(key) = &secret {
                let half = key.rsplit('_').next().unwrap();
                prop_assert!(!written.contains(half), "a key's secret half reached the cassette:\n{written}");
            }
            // What YAML escapes would hide from a plain search: look in the JSON form too.
            let as_json = serde_json::to_string(&cassette.interactions[0].response.body).unwrap();
            prop_assert!(!as_json.contains(&text), "{as_json}");
            prop_assert!(redact::scan(&cassette).is_empty(), "{:?}", redact::scan(&cassette));
        }
    }
}

/// Whatever a recording holds, the cassette `record` writes loads back as it was: text that
/// looks like YAML syntax (tags, comments, brackets, quotes, dates) never makes a file unloadable
/// or changes a value (two such bugs were found in review: `-[!!`, and quoted dates).
mod written_cassettes_load_back {
    use super::*;
    use ivs_vcr::cassette::{Cassette, Interaction, Provenance, ProvenanceKind};
    use ivs_vcr::RecordedResponse;

    fn yamlish() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z !#:,\\[\\]{}'\"\\\\&*|>%@`-]{0,12}",
            "2020-01-0[1-9]( [a-z\"\\\\:]{0,6})?",
            "!![a-z]{1,6}( [a-zA-Z=]{0,6})?",
            text(),
        ]
    }

    fn body() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            yamlish().prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
        ];
        let tree = leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(yamlish(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop::collection::btree_map(yamlish(), tree, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn as_they_were_written(request_body in body(), response_body in body(), text in yamlish()) {
            let mut cassette = Cassette::new("flow", Provenance {
                kind: ProvenanceKind::Recorded,
                source: "test".into(),
                model: None,
                recorded_on: Some("2026-11-26".into()),
            });
            cassette.interactions.push(Interaction {
                request: RecordedRequest {
                    service: Default::default(),
                    method: "POST".into(),
                    path: "/CreateChannel".into(),
                    query: BTreeMap::new(),
                    region: "us-west-2".into(),
                    headers: BTreeMap::new(),
                    body: Some(request_body),
                },
                response: RecordedResponse {
                    status: 502,
                    headers: BTreeMap::new(),
                    body: None,
                    body_text: Some(text),
                },
            });
            cassette.interactions.push(Interaction {
                request: cassette.interactions[0].request.clone(),
                response: RecordedResponse {
                    status: 200,
                    headers: BTreeMap::new(),
                    body: Some(response_body),
                    body_text: None,
                },
            });
            let yaml = cassette.to_yaml();
            let back = Cassette::from_yaml(&yaml, "flow.yaml".as_ref());
            prop_assert!(back.is_ok(), "{}\n{yaml}", back.unwrap_err());
            let back = back.unwrap();
            prop_assert_eq!(&back.interactions, &cassette.interactions, "{}", yaml);
        }
    }
}
