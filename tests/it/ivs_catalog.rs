//! The generated IVS catalog (`ivs_vcr::ivs`): what `build.rs` must guarantee and a hand-kept
//! table could not. It is fresh: it says what `src/ivs/model/` says, so a model edit that did not
//! rerun the build (`cargo:rerun-if-changed` on both files) fails here. It is complete and
//! consistent: every id resolves and lookups work. And it holds the facts the emulator and the
//! redaction rely on: pagination, documented defaults, error statuses and the secret paths.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::model::{read_json, Model};
use ivs_vcr::ivs::{self, Default, ErrorType, Kind, Location, Route, ShapeId, SHAPES};

const MODEL: &str = "src/ivs/model/ivs.json";
const PAGINATORS: &str = "src/ivs/model/ivs-paginators.json";

#[test]
fn the_generated_catalog_says_what_the_model_files_say() {
    let file = Model::file(MODEL);
    let json = file.json().unwrap();
    let generated = Model::Current;
    let mut wrong = Vec::new();
    let (in_catalog, in_model) = (generated.shapes(), file.shapes());
    for name in in_catalog.symmetric_difference(&in_model) {
        wrong.push(format!("shape {name}: in only one of catalog and model"));
    }
    for name in in_catalog.intersection(&in_model).copied() {
        let (got, expected) = (generated.view(name), file.view(name));
        if got != expected {
            wrong.push(format!(
                "shape {name}: generated {got:?}, model {expected:?}"
            ));
        }
        let sensitive = json["shapes"][name]["sensitive"] == true;
        if ShapeId::by_name(name).unwrap().get().sensitive != sensitive {
            wrong.push(format!("shape {name}: sensitive should be {sensitive}"));
        }
    }
    let (in_catalog, in_model) = (generated.operations(), file.operations());
    for name in in_catalog.symmetric_difference(&in_model) {
        wrong.push(format!(
            "operation {name}: in only one of catalog and model"
        ));
    }
    let pages = &read_json(PAGINATORS)["pagination"];
    for op in ivs::OPERATIONS {
        let spec = &json["operations"][op.name];
        if spec.is_null() {
            continue;
        }
        let errors: Vec<&str> = spec["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["shape"].as_str().unwrap())
            .collect();
        let generated = (
            op.method,
            u64::from(op.success_status),
            op.errors.iter().map(|e| e.name()).collect::<Vec<_>>(),
            op.input.map(|s| s.get().name),
            op.output.map(|s| s.get().name),
        );
        let model = (
            spec["http"]["method"].as_str().unwrap(),
            spec["http"]["responseCode"].as_u64().unwrap_or(200),
            errors,
            spec["input"]["shape"].as_str(),
            spec["output"]["shape"].as_str(),
        );
        if generated != model {
            wrong.push(format!(
                "{}: generated {generated:?}, model {model:?}",
                op.name
            ));
        }
        if let Some(page) = pages.get(op.name) {
            let p = op.pagination.unwrap_or_else(|| panic!("{} pages", op.name));
            let got = [p.input_token, p.output_token, p.limit_key, p.result_key];
            let keys = ["input_token", "output_token", "limit_key", "result_key"];
            if keys.map(|k| page[k].as_str().unwrap()) != got {
                wrong.push(format!("{}: pagination {got:?}, model {page}", op.name));
            }
        }
    }
    for error in ErrorType::ALL {
        if json["shapes"][error.name()].is_null() {
            continue; // another service's error (the statuses agree: `build.rs` checks)
        }
        let status = json["shapes"][error.name()]["error"]["httpStatusCode"].as_u64();
        if status != Some(u64::from(error.status())) {
            wrong.push(format!(
                "{}: status {}, model {status:?}",
                error.name(),
                error.status()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the generated catalog is not the model's (stale build?):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn operations_are_the_46_of_the_api_sorted_for_binary_search() {
    assert_eq!(ivs::OPERATIONS.len(), 46);
    let unsorted: Vec<_> = ivs::OPERATIONS
        .windows(2)
        .filter(|w| w[0].name >= w[1].name)
        .map(|w| (w[0].name, w[1].name))
        .collect();
    assert!(unsorted.is_empty(), "out of order: {unsorted:?}");
    for op in ivs::OPERATIONS {
        assert_eq!(ivs::operation(op.name), Some(op), "{}", op.name);
    }
    let tags: Vec<(&str, &str)> = ivs::OPERATIONS
        .iter()
        .filter(|op| op.route == Route::Tags)
        .map(|op| (op.name, op.method))
        .collect();
    assert_eq!(
        tags,
        [
            ("ListTagsForResource", "GET"),
            ("TagResource", "POST"),
            ("UntagResource", "DELETE")
        ]
    );
    let not_post: Vec<_> = ivs::OPERATIONS
        .iter()
        .filter(|op| op.route == Route::Post && op.method != "POST")
        .collect();
    assert!(not_post.is_empty(), "{not_post:?}");
}

#[test]
fn every_shape_id_resolves_and_every_operation_has_its_shapes() {
    for (idx, shape) in SHAPES.iter().enumerate() {
        // Each service's shapes are a sorted segment of the one table.
        let service = ivs::Service::ALL
            .into_iter()
            .find(|s| {
                let (start, end) = s.catalog().shapes;
                (usize::from(start)..usize::from(end)).contains(&idx)
            })
            .expect("every shape is in a service's segment");
        assert_eq!(
            ShapeId::in_service(service, shape.name),
            Some(ShapeId(idx as u16))
        );
        let targets: Vec<ShapeId> = match shape.kind {
            Kind::Structure(members) => members.iter().map(|m| m.shape).collect(),
            Kind::List { member, .. } => vec![member],
            Kind::Map { key, value, .. } => vec![key, value],
            _ => vec![],
        };
        for target in targets {
            assert!(usize::from(target.0) < SHAPES.len(), "{}", shape.name);
        }
    }
    let is_structure = |id: ShapeId| matches!(id.get().kind, Kind::Structure(_));
    for op in ivs::OPERATIONS {
        let input = op
            .input
            .unwrap_or_else(|| panic!("{} has an input", op.name));
        assert!(is_structure(input), "{}", op.name);
        // The operations without output are exactly those answering 204.
        match op.output {
            Some(output) => {
                assert!(is_structure(output), "{}", op.name);
                assert_eq!(op.success_status, 200, "{}", op.name);
            }
            None => assert_eq!(op.success_status, 204, "{}", op.name),
        }
        assert!(!op.errors.is_empty(), "{} lists errors", op.name);
        for error in op.errors {
            let shape = error.shape().get();
            assert_eq!(shape.name, error.name());
            assert!(shape.member("exceptionMessage").is_some(), "{}", shape.name);
        }
    }
}

#[test]
fn pagination_covers_the_seven_paginators_and_the_two_they_omit() {
    let expected = BTreeMap::from([
        ("ListAdConfigurations", "adConfigurations"),
        ("ListChannels", "channels"),
        (
            "ListFailoverSlateConfigurations",
            "failoverSlateConfigurations",
        ),
        ("ListPlaybackKeyPairs", "keyPairs"),
        ("ListRecordingConfigurations", "recordingConfigurations"),
        ("ListStreamKeys", "streamKeys"),
        ("ListStreams", "streams"),
        // Not in the paginators file, but paging through the same members.
        (
            "ListPlaybackRestrictionPolicies",
            "playbackRestrictionPolicies",
        ),
        ("ListStreamSessions", "streamSessions"),
    ]);
    let got: BTreeMap<&str, &str> = ivs::OPERATIONS
        .iter()
        .filter_map(|op| Some((op.name, op.pagination?.result_key)))
        .collect();
    assert_eq!(got, expected);
    for op in ivs::OPERATIONS {
        let Some(p) = op.pagination else { continue };
        let (input, output) = (op.input.unwrap().get(), op.output.unwrap().get());
        assert_eq!(
            (p.input_token, p.output_token, p.limit_key),
            ("nextToken", "nextToken", "maxResults"),
            "{}",
            op.name
        );
        assert!(input.member(p.input_token).is_some(), "{}", op.name);
        assert!(output.member(p.output_token).is_some(), "{}", op.name);
        let limit = input.member(p.limit_key).unwrap().shape.get();
        assert!(matches!(limit.kind, Kind::Integer { .. }), "{}", op.name);
        let items = output.member(p.result_key).unwrap().shape.get();
        assert!(matches!(items.kind, Kind::List { .. }), "{}", op.name);
    }
}

#[test]
fn the_documented_defaults_the_emulator_relies_on_are_generated() {
    let default = |shape: &str, member: &str| {
        let shape = ShapeId::by_name(shape).unwrap_or_else(|| panic!("no shape {shape}"));
        let member = shape.get().member(member);
        member
            .unwrap_or_else(|| panic!("no member {member:?}"))
            .default
    };
    let cases = [
        ("ListStreamKeysRequest", "maxResults", Some(Default::Int(1))),
        ("ListChannelsRequest", "maxResults", Some(Default::Int(100))),
        // "your service quota or 100, whichever is smaller"
        (
            "ListPlaybackKeyPairsRequest",
            "maxResults",
            Some(Default::Int(100)),
        ),
        ("Channel", "latencyMode", Some(Default::Str("LOW"))),
        ("Channel", "authorized", Some(Default::Bool(false))),
        (
            "CreateChannelRequest",
            "type",
            Some(Default::Str("STANDARD")),
        ),
        (
            "CreateChannelRequest",
            "recordingConfigurationArn",
            Some(Default::Str("")),
        ),
        (
            "CreatePlaybackRestrictionPolicyRequest",
            "allowedCountries",
            Some(Default::EmptyList),
        ),
        // Prose that names no value of the member's type gives no default.
        ("CreateChannelRequest", "multitrackInputConfiguration", None),
        ("ThumbnailConfiguration", "resolution", None),
    ];
    for (shape, member, expected) in cases {
        assert_eq!(default(shape, member), expected, "{shape}.{member}");
    }
}

#[test]
fn secret_paths_are_every_body_path_to_a_sensitive_shape() {
    // Every path from an operation's input or output to a shape marked sensitive, as a body nests
    // it (lists and maps as `*`). Regression: GetStreamSession's `streamSession.channel.srt.passphrase`
    // was missing when the list compared member names only.
    fn walk(shape: ShapeId, path: &mut Vec<&'static str>, out: &mut BTreeSet<String>) {
        let spec = shape.get();
        if spec.sensitive {
            out.insert(path.join("."));
            return;
        }
        assert!(path.len() < 10, "a recursive shape at {path:?}");
        let mut step = |segment, target| {
            path.push(segment);
            walk(target, path, out);
            path.pop();
        };
        match spec.kind {
            Kind::Structure(members) => members
                .iter()
                .filter(|m| m.location == Location::Body)
                .for_each(|m| step(m.name, m.shape)),
            Kind::List { member, .. } => step("*", member),
            Kind::Map { value, .. } => step("*", value),
            _ => {}
        }
    }
    let mut in_model = BTreeSet::new();
    for op in ivs::OPERATIONS {
        for shape in [op.input, op.output].into_iter().flatten() {
            walk(shape, &mut Vec::new(), &mut in_model);
        }
    }
    for path in [
        "streamSession.channel.srt.passphrase",
        "streamKey.value",
        "streamKeys.*.value",
        "channel.srt.passphrase",
        "metadata",
    ] {
        assert!(
            in_model.contains(path),
            "{path} is not sensitive in the model"
        );
    }
    let mut listed: BTreeSet<String> = ivs::SECRET_BODY_PATHS
        .iter()
        .map(|p| p.to_string())
        .collect();
    // Not in the model: listed in case a request carries private key material.
    assert!(listed.remove("privateKey"));
    assert_eq!(listed, in_model);
}

#[test]
fn error_statuses_are_the_models() {
    let expected = BTreeMap::from([
        ("AccessDeniedException", 403),
        ("ChannelNotBroadcasting", 404),
        ("ConflictException", 409),
        ("InternalServerException", 500),
        ("PendingVerification", 403),
        ("ResourceNotFoundException", 404),
        ("ServiceQuotaExceededException", 402),
        ("ServiceUnavailable", 503),
        ("StreamUnavailable", 503),
        ("ThrottlingException", 429),
        ("ValidationException", 400),
    ]);
    let got: BTreeMap<&str, u16> = ErrorType::ALL
        .iter()
        .map(|e| (e.name(), e.status()))
        .collect();
    assert_eq!(got, expected);
}
