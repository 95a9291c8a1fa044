//! Fuzz target for the request normalizer. The input is split on newlines into the parts of a
//! request as `server::read_request` hands them over:
//!
//! ```text
//! flags \n method \n path \n query \n region-or-authorization \n ignored,body,paths \n body
//! ```
//!
//! `flags` bit 0 turns on the account scrub and bit 1 matches on the `x-tenant` header. The
//! target checks that nothing panics and that replay's in-place index key always equals the key
//! of the normalized request.

#![no_main]

use std::collections::BTreeMap;

use ivs_vcr::cassette::Matching;
use ivs_vcr::__private::normalize::{self, canonical_json, match_key, request_match_key};
use ivs_vcr::RecordedRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(7, |&b| b == b'\n');
    let mut next = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let flags = next().bytes().next().unwrap_or(0);
    let method = next();
    let raw_path = next();
    let raw_query = next();
    let region_or_auth = next();
    let ignored = next();
    let raw_body = parts.next().unwrap_or_default();

    // The server only ever sees an origin-form path, and only a body that parsed as JSON.
    let path = format!("/{}", raw_path.trim_start_matches('/'));
    let body = if raw_body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<serde_json::Value>(raw_body) {
            Ok(body) => Some(body),
            Err(_) => return,
        }
    };
    let region = normalize::region_from_authorization(region_or_auth.as_bytes())
        .unwrap_or(&region_or_auth)
        .to_owned();
    let _ = normalize::is_valid_region(&region);
    let _ = normalize::operation_name(&method, &path);

    let mut headers = BTreeMap::new();
    headers.insert("X-Tenant".to_owned(), raw_query.clone());
    headers.insert("Authorization".to_owned(), region_or_auth.clone());
    let req = RecordedRequest {
        service: Default::default(),
        method,
        path,
        query: normalize::parse_query(&raw_query),
        region,
        headers,
        body,
    };
    let matching = Matching {
        ignore_body_paths: ignored
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        headers: if flags & 2 != 0 {
            vec!["x-tenant".into(), "authorization".into()]
        } else {
            Vec::new()
        },
        scrub_account: flags & 1 != 0,
    };
    for matching in [&Matching::default(), &matching] {
        let normalized = normalize::request(&req, matching);
        assert_eq!(
            request_match_key(&req, matching),
            match_key(&normalized),
            "in-place and normalized keys differ for {req:?} under {matching:?}"
        );
        if let Some(body) = &normalized.body {
            let canonical = canonical_json(body);
            assert!(
                serde_json::from_str::<serde_json::Value>(&canonical).is_ok(),
                "canonical JSON does not parse: {canonical}"
            );
        }
    }
});
