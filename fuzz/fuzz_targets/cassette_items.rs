//! Fuzz target for the fast reader of cassettes' parts (the items of an `interactions`
//! sequence): for any text, it reads the interactions serde_yaml reads, or leaves the text to
//! serde_yaml.

#![no_main]

use ivs_vcr::__private::cassette_part_readings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(part) = std::str::from_utf8(data) else {
        return;
    };
    let (fast, serde) = cassette_part_readings(part);
    if let Some(fast) = fast {
        assert_eq!(Some(fast), serde, "the fast reader read otherwise:\n{part}");
    }
});
