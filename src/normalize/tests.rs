//! Unit and property tests of normalization: operation names, regions, canonical JSON, fingerprints
//! and index keys (the flat key against the parsed one), and body paths.

use super::*;
use serde_json::json;

fn req(method: &str, path: &str, body: Option<Value>) -> RecordedRequest {
    RecordedRequest {
        service: Default::default(),
        method: method.into(),
        path: path.into(),
        query: BTreeMap::new(),
        region: "us-west-2".into(),
        headers: BTreeMap::new(),
        body,
    }
}

fn fp(r: &RecordedRequest) -> Fingerprint {
    fingerprint(&request(r, &Matching::default()))
}

/// The index key: it must tell requests apart exactly as [`fp`] does.
fn key(r: &RecordedRequest) -> MatchKey {
    match_key(&request(r, &Matching::default()))
}

#[test]
fn operation_names() {
    let check = |method: &str, path: &str, expected: &str| {
        assert_eq!(operation_name(method, path), expected, "{method} {path}");
    };
    check("POST", "/CreateChannel", "CreateChannel");
    check("POST", "/GetStreamSession", "GetStreamSession");
    check(
        "GET",
        "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A1%3Achannel%2Fx",
        "ListTagsForResource",
    );
    check("POST", "/tags/arn%3Aaws", "TagResource");
    check("DELETE", "/tags/arn%3Aaws", "UntagResource");
    check("PUT", "/tags/arn%3Aaws", "PUT /tags");
    check("POST", "/FutureOperation", "FutureOperation");
}

#[test]
fn regions() {
    let check = |region: &str, expected: bool| {
        assert_eq!(is_valid_region(region), expected, "{region:?}");
    };
    check("us-west-2", true);
    check("us-gov-east-1", true);
    check("eu-isoe-west-1", true);
    check("ap-southeast-5", true);
    check("us-west-2.evil.example", false);
    check("us-west-2/../x", false);
    check("a#b", false);
    check("user@us-west-2", false);
    check("us-west-２", false);
    check("", false);
    check("west-2", false);
    check("us-west-", false);
}

#[test]
fn region_from_credential_scope() {
    let check = |auth: &str, expected: Option<&str>| {
        assert_eq!(
            region_from_authorization(auth.as_bytes()),
            expected,
            "{auth}"
        );
    };
    check(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/eu-west-1/ivs/aws4_request, SignedHeaders=host, Signature=ab",
        Some("eu-west-1"),
    );
    check("AWS4-HMAC-SHA256 Credential=AKID/20261126", None);
    check("Bearer x", None);
    check("Credential=a/b/Credential=x", None);
    // Only the region must be text, and visible: it is printed.
    check(
        "Credential=a/b/us-west-2/ivs, Signature=\u{e9}",
        Some("us-west-2"),
    );
    check("Credential=a/b/us\u{1b}[31m/ivs", None);
    check("Credential=a/b/us-w\u{e9}st-2/ivs", None);
    check("Credential=a/b/c,Credential=x/y/z", Some("c"));
    check("Credential=a/b/us-west-2=x/ivs", Some("us-west-2=x"));
    check("Credential=a/b/usCredential=x/y/z", Some("us"));
}

/// [`region_from_authorization`] as its doc says it, with slice splits: what the one-pass scan
/// must equal.
fn region_by_splits(authorization: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"Credential=";
    let find = |hay: &[u8]| hay.windows(KEY.len()).position(|w| w == KEY);
    let rest = &authorization[find(authorization)? + KEY.len()..];
    let scope = rest.split(|b| *b == b',' || *b == b' ').next()?;
    let scope = &scope[..find(scope).unwrap_or(scope.len())];
    let region = scope.split(|b| *b == b'/').nth(2)?;
    let visible = !region.is_empty() && region.iter().all(u8::is_ascii_graphic);
    visible.then(|| std::str::from_utf8(region).expect("ASCII"))
}

/// One of `texts`, owned.
fn separator(texts: &[&'static str]) -> impl proptest::strategy::Strategy<Value = String> {
    proptest::strategy::Strategy::prop_map(proptest::sample::select(texts.to_vec()), str::to_owned)
}

proptest::proptest! {
    /// The one-pass scan of the credential scope finds the region the splits find, wherever a
    /// separator, a second key, a space or a byte beyond ASCII falls, and at any length.
    #[test]
    fn region_scan_equals_the_splits(
        prefix in proptest::sample::select(vec!["AWS4-HMAC-SHA256 ", "", "x ", "AWS4-HMAC-SHA256 Credential=k/d/r, "]),
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                6 => "[a-z0-9-]{0,12}",
                3 => separator(&["/", ",", " ", "=", "Credential=", "/aws4_request"]),
                1 => separator(&["\u{e9}", "\u{1b}", "\t", "\u{7f}"]),
            ],
            0..14,
        ),
        keyed in proptest::bool::weighted(0.9),
    ) {
        let mut header = prefix.to_owned();
        if keyed {
            header.push_str("Credential=");
        }
        header.extend(parts);
        let bytes = header.as_bytes();
        proptest::prop_assert_eq!(region_from_authorization(bytes), region_by_splits(bytes), "{:?}", header);
    }
}

/// A body as `flat_request_match_key` may meet it: mostly flat objects of strings, with any
/// JSON whitespace, member names that repeat or may hold secrets, values with escapes,
/// non-ASCII text or fakes, other JSON values, and broken JSON.
fn body_strategy() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let space = "[ \t\r\n]{0,2}";
    let name = prop_oneof![
        Just("arn".to_owned()),
        Just("name".to_owned()),
        Just("privateKey".to_owned()),
        Just("latencyMode".to_owned()),
        Just("a b".to_owned()),
        "[ -~&&[^\"\\\\]]{0,4}",
    ];
    let text = prop_oneof![
        24 => "[ -~&&[^\"\\\\]]{0,24}".prop_map(|t| format!("\"{t}\"")),
        1 => Just("\"a\\u0041\"".to_owned()),
        1 => Just("\"arn:aws:ivs:us-west-2:1\\/x\"".to_owned()),
        1 => Just("\"arn:aws:ivs:us-west-2:1:channel/é\"".to_owned()),
        1 => Just("\"\\\"\"".to_owned()),
        1 => Just("\"é\"".to_owned()),
        1 => Just("\"ivsvcrFake0123456789abcdef0123456789abcdef\"".to_owned()),
        1 => Just("\"sk_us-west-2_0123456789ab_cdefivsvcrFake\"".to_owned()),
        1 => Just("1".to_owned()),
        1 => Just("{}".to_owned()),
        1 => Just("\"unterminated".to_owned()),
    ];
    let member = (name, space, text, space)
        .prop_map(|(name, s1, value, s2)| format!("{s1}\"{name}\"{s2}:{s1}{value}{s2}"));
    let object = (
        space,
        proptest::collection::vec(member, 0..5),
        space,
        proptest::bool::weighted(0.05),
    )
        .prop_map(|(s1, members, s2, broken)| {
            let tail = if broken { ",}" } else { "}" };
            format!("{s1}{{{}{s2}{tail}{s1}", members.join(","))
        });
    prop_oneof![8 => object, 1 => Just(String::new()), 1 => "[ -~]{0,16}"]
}

proptest::proptest! {
    /// The word-at-a-time scan finds the first byte a plain string may not hold, as a byte
    /// loop would: an ASCII control character, DEL, `"`, `\\` or a byte beyond ASCII, wherever it
    /// falls in a word.
    #[test]
    fn plain_run_stops_where_a_byte_loop_stops(
        bytes in proptest::collection::vec(
            proptest::prop_oneof![
                24 => 0x20u8..0x7f,
                1 => proptest::sample::select(vec![0, b'\t', 0x1f, b'"', b'\\', 0x7f, 0x80, 0xff]),
                1 => proptest::num::u8::ANY,
            ],
            0..40,
        ),
    ) {
        let plain = |b: &u8| (0x20..0x7f).contains(b) && *b != b'"' && *b != b'\\';
        let expected = bytes.iter().position(|b| !plain(b)).unwrap_or(bytes.len());
        proptest::prop_assert_eq!(plain_run(&bytes), expected, "{:?}", bytes);
    }

    /// Whenever the flat key answers, it is the key of the parsed request.
    #[test]
    fn flat_key_equals_the_parsed_ones(
        body in body_strategy(),
        method in "(POST|GET|Post)",
        path in "(/GetChannel|/tags/arn%3Aaws|/ListChannels)",
        query in proptest::option::of("(|maxResults=1)"),
    ) {
        let region = "us-west-2";
        let fast = flat_request_match_key((Default::default(), &method, &path), query.as_deref(), region, body.as_bytes());
        if let Some(fast) = fast {
            let parsed = (!body.is_empty())
                .then(|| serde_json::from_str(&body).expect("the flat path takes only JSON"));
            let request = RecordedRequest {
                service: Default::default(),
                method,
                path,
                query: query.as_deref().map(parse_query).unwrap_or_default(),
                region: region.to_owned(),
                headers: Default::default(),
                body: parsed,
            };
            proptest::prop_assert_eq!(fast, request_match_key(&request, &Matching::default()));
        }
    }
}

#[test]
fn the_bodies_sdks_send_take_the_flat_path() {
    let flat = |body: &str| {
        flat_request_match_key(
            (Default::default(), "POST", "/GetChannel"),
            None,
            "us-west-2",
            body.as_bytes(),
        )
    };
    let boto3 = flat(r#"{"arn": "arn:aws:ivs:us-west-2:123456789012:channel/abcd"}"#);
    let compact = flat(r#"{"arn":"arn:aws:ivs:us-west-2:123456789012:channel/abcd"}"#);
    assert!(boto3.is_some());
    assert_eq!(boto3, compact);
    let two = flat(r#"{"name": "a", "latencyMode": "LOW"}"#);
    assert_eq!(two, flat(r#"{"latencyMode":"LOW","name":"a"}"#));
    assert!(two.is_some());
    assert!(flat("").is_some());
    assert_eq!(flat(""), flat("{}"));
    // Not flat: a number, an escape, a repeated name, a secret's member, a trailing comma.
    for body in [
        r#"{"maxResults": 1}"#,
        r#"{"name": "a\u0041"}"#,
        r#"{"name": "a", "name": "b"}"#,
        r#"{"privateKey": "x"}"#,
        r#"{"name": "a",}"#,
    ] {
        assert_eq!(flat(body), None, "{body}");
    }
}

#[test]
fn canonical_json_ignores_key_order_whitespace_and_escapes() {
    let check = |input: &str, expected: &str| {
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(canonical_json(&value), expected, "{input}");
    };
    check(
        r#"{"name": "w\u00f6rld", "latencyMode": "LOW"}"#,
        r#"{"latencyMode":"LOW","name":"wörld"}"#,
    );
    check(
        r#"{"tags":{"b":"2","a":"1"},"arns":["y","x"]}"#,
        r#"{"arns":["y","x"],"tags":{"a":"1","b":"2"}}"#,
    );
    check(
        r#"{"maxResults": 10, "x": null, "ok": true}"#,
        r#"{"maxResults":10,"ok":true,"x":null}"#,
    );
}

#[test]
fn fingerprint_ignores_what_clients_vary() {
    let boto = req(
        "POST",
        "/CreateChannel",
        Some(json!({"name": "c", "tags": {"a": "1", "b": "2"}})),
    );
    let rust = req(
        "POST",
        "/CreateChannel",
        Some(json!({"tags": {"b": "2", "a": "1"}, "name": "c"})),
    );
    assert_eq!(fp(&boto), fp(&rust));
    assert_eq!(key(&boto), key(&rust));
    let mut with_noise = rust.clone();
    with_noise
        .headers
        .insert("X-Amz-Date".into(), "20261126T020014Z".into());
    assert_eq!(fp(&boto), fp(&with_noise));
    assert_eq!(key(&boto), key(&with_noise));
    // An empty POST body asks the same as `{}`.
    assert_eq!(
        fp(&req("POST", "/ListChannels", None)),
        fp(&req("POST", "/ListChannels", Some(json!({}))))
    );
}

#[test]
fn in_place_key_equals_the_normalized_one() {
    let mut untag = req(
        "DELETE",
        "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A1%3Achannel%2Fx",
        None,
    );
    untag.query = parse_query("tagKeys=b&tagKeys=a&tagKeys=b");
    let mut one_key = untag.clone();
    one_key.query = parse_query("tagKeys=a");
    let cases = [
        req("POST", "/ListChannels", None),
        req(
            "POST",
            "/CreateChannel",
            Some(json!({"tags": {"b": "2", "a": "w\u{f6}rld"}, "name": "c"})),
        ),
        req(
            "GET",
            "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A1%3Achannel%2Fx",
            None,
        ),
        req("post", "/GetChannel", Some(json!({"arn": "a"}))),
        req(
            "POST",
            "/PutMetadata",
            Some(json!({"channelArn": "a", "metadata": "secret"})),
        ),
        untag,
        one_key,
    ];
    let with_options = Matching {
        ignore_body_paths: vec!["name".into()],
        ..Matching::default()
    };
    for case in &cases {
        for matching in [&Matching::default(), &with_options] {
            assert_eq!(
                request_match_key(case, matching),
                match_key(&request(case, matching)),
                "{case:?}"
            );
        }
    }
}

#[test]
fn fingerprint_sees_every_significant_difference() {
    let base = req("POST", "/GetChannel", Some(json!({"arn": "a"})));
    let mut other_region = base.clone();
    other_region.region = "eu-west-1".into();
    let variants = [
        req("POST", "/GetChannel", Some(json!({"arn": "b"}))),
        req("POST", "/GetStream", Some(json!({"arn": "a"}))),
        req("POST", "/GetChannel", Some(json!({"arn": "a", "x": 1}))),
        req("POST", "/GetChannel", Some(json!({"arn": ["a"]}))),
        other_region,
    ];
    for v in &variants {
        assert_ne!(fp(&base), fp(v), "{v:?}");
        assert_ne!(key(&base), key(v), "{v:?}");
    }
}

#[test]
fn nul_bytes_in_fields_cannot_make_two_requests_collide() {
    // Regression (review): with NUL-separated fields, `a`=`b\0c` and `a\0b`=`c` hashed alike.
    let mut a = req("DELETE", "/tags/x", None);
    a.query = parse_query("a=b%00c");
    let mut b = req("DELETE", "/tags/x", None);
    b.query = parse_query("a%00b=c");
    assert_ne!(fp(&a), fp(&b));
    assert_ne!(key(&a), key(&b));
    // With no separator at all, `a`=`bc` and `ab`=`c` would.
    a.query = parse_query("a=bc");
    b.query = parse_query("ab=c");
    assert_ne!(fp(&a), fp(&b));
    assert_ne!(key(&a), key(&b));
}

#[test]
fn query_string_signing_parameters_are_dropped() {
    // Regression (review): `X-Amz-Signature` and friends reached logs and the summary.
    let query =
        parse_query("tagKeys=a&X-Amz-Signature=abcd&x-amz-security-token=tok&X%2DAmz%2DDate=1");
    assert_eq!(
        query.into_iter().collect::<Vec<_>>(),
        [("tagKeys".to_owned(), vec!["a".to_owned()])]
    );
    // Regression, issue 11 §5: a `+` (a space to lenient parsers) or an encoded form slipped
    // past the filter, and was forwarded and recorded.
    for key in [
        "+X-Amz-Signature",
        "%2BX-Amz-Signature",
        "%20x-amz-credential",
        "%252558-Amz-Date",
        "X%252DAmz%252DSignature",
        "%09X-Amz-Security-Token",
    ] {
        assert!(is_signing_parameter(key), "{key}");
    }
    for key in ["tagKeys", "X-Amz", "xx-amz-signature", "%FF%FE"] {
        assert!(!is_signing_parameter(key), "{key}");
    }
}

#[test]
fn tag_keys_compare_as_a_set_and_arn_is_decoded() {
    let mut a = req(
        "DELETE",
        "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A1%3Achannel%2Fx",
        None,
    );
    a.query = parse_query("tagKeys=team&tagKeys=k%202&tagKeys=a%2Fb%3Ac");
    let mut b = req("DELETE", "/tags/arn:aws:ivs:us-west-2:1:channel/x", None);
    b.query = parse_query("tagKeys=a%2Fb%3Ac&tagKeys=team&tagKeys=k%202&tagKeys=team");
    assert_eq!(fp(&a), fp(&b));
    assert_eq!(a.query["tagKeys"], ["team", "k 2", "a/b:c"]);
    assert_eq!(
        decoded_path(&a.path),
        "/tags/arn:aws:ivs:us-west-2:1:channel/x"
    );
}

#[test]
fn body_paths_reach_members_elements_and_wildcards() {
    // (body, path, the values reached, in order)
    let cases: &[(Value, &str, &[Value])] = &[
        (json!({"name": "x", "a": 1}), "name", &[json!("x")]),
        (
            json!({"tags": {"run": "1", "k": "v"}}),
            "tags.run",
            &[json!("1")],
        ),
        (
            json!({"tags": {"run": "1", "k": "v"}}),
            "tags.*",
            &[json!("v"), json!("1")],
        ),
        (
            json!({"s": [{"id": "1", "c": "a"}, {"c": "b"}, {"id": "3"}]}),
            "s.*.id",
            &[json!("1"), json!("3")],
        ),
        (json!({"s": ["a", "b", "c"]}), "s.1", &[json!("b")]),
        (json!({"s": [{"id": 1}, {"id": 2}]}), "s.1.id", &[json!(2)]),
        (json!({"s": [{"id": 1}]}), "s.id", &[]),
        (json!({"s": ["a"]}), "s.7", &[]),
        (json!({"a": 1}), "missing.deeper", &[]),
        (json!({"a": "text"}), "a.b", &[]),
        (json!([{"k": 1}, {"k": 2}]), "*.k", &[json!(1), json!(2)]),
        (json!({"a": {"b": {"c": true}}}), "a.b.c", &[json!(true)]),
        (json!({"": 5}), "", &[json!(5)]),
    ];
    for (body, path, expected) in cases {
        let mut value = body.clone();
        let mut got = Vec::new();
        for_each_at(&mut value, path, |v| got.push(v.clone()));
        assert_eq!(got, *expected, "{body} at {path}");
        assert_eq!(value, *body, "visiting alone changes nothing");
    }
    let mut value = json!({"s": [{"id": "1"}, {"id": "2"}], "t": {"x": "3"}});
    for_each_at(&mut value, "s.*.id", |v| *v = json!("seen"));
    assert_eq!(
        value,
        json!({"s": [{"id": "seen"}, {"id": "seen"}], "t": {"x": "3"}})
    );
}

#[test]
fn ignored_body_paths() {
    // (body, path, the body after removing the path)
    let cases: &[(Value, &str, Value)] = &[
        (json!({"name": "x", "a": 1}), "name", json!({"a": 1})),
        (
            json!({"tags": {"run": "1", "k": "v"}}),
            "tags.run",
            json!({"tags": {"k": "v"}}),
        ),
        (
            json!({"viewerSessions": [{"viewerId": "1", "c": "a"}, {"viewerId": "2", "c": "b"}]}),
            "viewerSessions.*.viewerId",
            json!({"viewerSessions": [{"c": "a"}, {"c": "b"}]}),
        ),
        (json!({"a": 1}), "missing.deeper", json!({"a": 1})),
        (
            json!({"tags": {"a": "1"}, "b": 2}),
            "tags.*",
            json!({"tags": {}, "b": 2}),
        ),
        (json!({"s": [1, 2, 3]}), "s.*", json!({"s": []})),
        (json!({"s": [1, 2, 3]}), "s.1", json!({"s": [1, null, 3]})),
        (json!({"s": [1, 2, 3]}), "s.9", json!({"s": [1, 2, 3]})),
        (json!({"s": [1, 2, 3]}), "s.x", json!({"s": [1, 2, 3]})),
        (
            json!({"s": [{"a": 1, "b": 2}, {"a": 3}]}),
            "s.0.a",
            json!({"s": [{"b": 2}, {"a": 3}]}),
        ),
        (json!({"a": 1, "b": 2}), "*", json!({})),
        (json!("text"), "a", json!("text")),
    ];
    for (body, path, expected) in cases {
        let mut got = body.clone();
        remove_path(&mut got, path);
        assert_eq!(got, *expected, "{body} - {path}");
    }
}

#[test]
fn matched_headers_take_part_only_when_asked() {
    let mut a = req("POST", "/ListChannels", Some(json!({})));
    a.headers.insert("X-Tenant".into(), "blue".into());
    let mut b = a.clone();
    b.headers.insert("X-Tenant".into(), "green".into());
    assert_eq!(fp(&a), fp(&b));
    let matching = Matching {
        headers: vec!["x-tenant".into(), "authorization".into()],
        ..Matching::default()
    };
    assert_ne!(
        fingerprint(&request(&a, &matching)),
        fingerprint(&request(&b, &matching))
    );
}

#[test]
fn access_key_id_is_the_scope_s_first_field_from_the_header_or_the_query() {
    let header = b"AWS4-HMAC-SHA256 Credential=111111111111/20261126/us-west-2/ivs/aws4_request, SignedHeaders=host, Signature=ab";
    assert_eq!(
        access_key_id(Some(header), None).as_deref(),
        Some("111111111111")
    );
    // The header wins over the query; the query's value is percent-decoded.
    assert_eq!(
        access_key_id(Some(header), Some("X-Amz-Credential=AKIDQ%2F2026")).as_deref(),
        Some("111111111111")
    );
    assert_eq!(
        access_key_id(
            None,
            Some("a=1&X-Amz-Credential=AKIDQ%2F20261126%2Fus-west-2%2Fivs%2Faws4_request")
        )
        .as_deref(),
        Some("AKIDQ")
    );
    // No key, an empty one, a scope without a `/`, a non-ASCII or overlong key: none.
    assert_eq!(access_key_id(None, None), None);
    assert_eq!(access_key_id(Some(b"Credential=/2026/r/ivs"), None), None);
    assert_eq!(access_key_id(Some(b"Credential=AKID"), None), None);
    assert_eq!(
        access_key_id(Some("Credential=AK\u{e9}/d/r/s".as_bytes()), None),
        None
    );
    let long = format!("Credential={}/d/r/s", "A".repeat(129));
    assert_eq!(access_key_id(Some(long.as_bytes()), None), None);
    assert_eq!(access_key_id(None, Some("X-Amz-Credential=%FF%FE/x")), None);
}
