//! Fuzz target for the cassette loader: any text given to `Cassette::from_yaml` is either refused
//! with an error or loads into a cassette that saves and loads back equal, whose every
//! interaction can be keyed (in place and normalized, with the same result) and served.

#![no_main]

use ivs_vcr::__private::normalize::{match_key, request, request_match_key};
use ivs_vcr::Cassette;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cassette) = Cassette::from_yaml(text, "fuzz.yaml".as_ref()) else {
        return;
    };
    for interaction in &cassette.interactions {
        let req = &interaction.request;
        assert_eq!(
            request_match_key(req, &cassette.matching),
            match_key(&request(req, &cassette.matching)),
            "in-place and normalized keys differ for {req:?}"
        );
        let _ = interaction.response.body_bytes();
    }
    // What the recorder writes must load back: a cassette that saves but does not load would be
    // lost at the next replay.
    let saved = cassette.to_yaml();
    let reloaded = Cassette::from_yaml(&saved, "fuzz.yaml".as_ref())
        .unwrap_or_else(|e| panic!("a saved cassette does not load back: {e}\n{saved}"));
    assert_eq!(
        reloaded, cassette,
        "cassette changed through save and load:\n{saved}"
    );
});
