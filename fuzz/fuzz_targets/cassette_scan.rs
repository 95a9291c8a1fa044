//! Fuzz target for the loader's lexical scan, held to libyaml's own reading (the parser serde_yaml
//! uses): whatever libyaml reads as an anchor or alias, or as nesting deeper than the limit, the
//! scan refuses before the parser sees the file; and whatever parses with a core tag JSON has no
//! equivalent for (`!!binary`, `!!set`, … however the tag is spelled), the scan reports or refuses.
//! The scan may refuse more than that, never less.

#![no_main]

use std::mem::MaybeUninit;

use ivs_vcr::__private::cassette_scan;
use libfuzzer_sys::fuzz_target;
use unsafe_libyaml as yaml;

/// The loader's nesting limit.
const DEPTH: usize = 128;

/// The core tags whose values JSON holds as they are.
const JSON_CORE: &[&str] = &["str", "int", "float", "bool", "null", "map", "seq"];

/// What libyaml's events hold, up to the end or the first error.
#[derive(Debug, Default)]
struct Events {
    /// An anchor or alias, at this 1-based line.
    alias: Option<usize>,
    /// The deepest nesting of sequences and mappings.
    depth: usize,
    /// A core tag JSON has no equivalent for.
    tag: Option<String>,
    /// Whether the whole stream parsed.
    parsed: bool,
}

fn events(text: &str) -> Events {
    let mut seen = Events::default();
    // SAFETY: the parser is initialized before use and deleted once; each event is deleted after
    // it is read, and pointers are read only for the event type that sets them.
    unsafe {
        let mut parser = MaybeUninit::<yaml::yaml_parser_t>::uninit();
        if yaml::yaml_parser_initialize(parser.as_mut_ptr()).fail {
            return seen;
        }
        let parser = parser.as_mut_ptr();
        yaml::yaml_parser_set_input_string(parser, text.as_ptr(), text.len() as _);
        let mut depth = 0usize;
        loop {
            let mut event = MaybeUninit::<yaml::yaml_event_t>::uninit();
            if yaml::yaml_parser_parse(parser, event.as_mut_ptr()).fail {
                break;
            }
            let event = event.as_mut_ptr();
            let line = (*event).start_mark.line as usize + 1;
            let (anchor, tag) = match (*event).type_ {
                yaml::YAML_STREAM_END_EVENT => {
                    seen.parsed = true;
                    yaml::yaml_event_delete(event);
                    break;
                }
                yaml::YAML_ALIAS_EVENT => ((*event).data.alias.anchor, std::ptr::null_mut()),
                yaml::YAML_SCALAR_EVENT => ((*event).data.scalar.anchor, (*event).data.scalar.tag),
                yaml::YAML_SEQUENCE_START_EVENT => {
                    depth += 1;
                    (
                        (*event).data.sequence_start.anchor,
                        (*event).data.sequence_start.tag,
                    )
                }
                yaml::YAML_MAPPING_START_EVENT => {
                    depth += 1;
                    (
                        (*event).data.mapping_start.anchor,
                        (*event).data.mapping_start.tag,
                    )
                }
                yaml::YAML_SEQUENCE_END_EVENT | yaml::YAML_MAPPING_END_EVENT => {
                    depth = depth.saturating_sub(1);
                    (std::ptr::null_mut(), std::ptr::null_mut())
                }
                _ => (std::ptr::null_mut(), std::ptr::null_mut()),
            };
            seen.depth = seen.depth.max(depth);
            if !anchor.is_null() && seen.alias.is_none() {
                seen.alias = Some(line);
            }
            if !tag.is_null() && seen.tag.is_none() {
                let tag = std::ffi::CStr::from_ptr(tag.cast()).to_string_lossy();
                if let Some(core) = tag.strip_prefix("tag:yaml.org,2002:") {
                    if !JSON_CORE.contains(&core) {
                        seen.tag = Some(tag.into_owned());
                    }
                }
            }
            yaml::yaml_event_delete(event);
        }
        yaml::yaml_parser_delete(parser);
    }
    seen
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (refusal, tag) = cassette_scan(text, DEPTH);
    let seen = events(text);
    if seen.alias.is_some() || seen.depth > DEPTH {
        assert!(
            refusal.is_some(),
            "libyaml read {seen:?}, the scan found nothing:\n{text}"
        );
    }
    if seen.parsed && seen.tag.is_some() {
        assert!(
            refusal.is_some() || tag.is_some(),
            "libyaml read {seen:?}, the scan found no tag:\n{text}"
        );
    }
});
