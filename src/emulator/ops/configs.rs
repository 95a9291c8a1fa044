//! Recording configurations, playback restriction policies, ad configurations and failover
//! slates: created from their input with IVS's documented defaults, read, listed, updated and
//! deleted alike. Also the shared Get and List of playback key pairs.
//!
//! Documented: deleting a recording configuration a channel uses is a ConflictException
//! (DeleteRecordingConfiguration's doc). Inferred: the same for the other three, whose Delete
//! operations list ConflictException without saying when.
//! Documented: a recording configuration is CREATING when made and ACTIVE once ready; here it is
//! ACTIVE from the next read on. Failover slates go CREATING → CREATED the same way (inferred).
//! Documented (the model's `RenditionConfiguration.renditionSelection`): "If CUSTOM is specified,
//! a set of renditions must be specified in the renditions field"; a CUSTOM selection with no
//! renditions is a ValidationException (the error the model lists for bad input).
//! Documented: a thumbnail `targetIntervalSeconds` is "configurable (and required) only if
//! recordingMode is INTERVAL" (`resource::check_thumbnail_interval`), and a playback restriction
//! policy's `allowedCountries` are "officially assigned ISO 3166-1 alpha-2 codes"
//! (`countries.rs`); either broken is a ValidationException.

use serde_json::Value;

use crate::emulator::resource::{self, Family, AD, CHANNEL, POLICY, RECORDING, SLATE};
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::{ErrorType, Operation};

/// Service quotas per region, from IVS's service-quotas page (not in the model): recording
/// configurations 20. The other families have no quota here (inferred: their quotas are not
/// documented where ivs-vcr can cite them).
fn quota(family: Family) -> Option<usize> {
    (family.resource_type == RECORDING.resource_type).then_some(20)
}

/// The state a new resource starts in, and the one it settles in, for the families that have one.
fn states(family: Family) -> Option<(&'static str, &'static str)> {
    match family.resource_type {
        "recording-configuration" => Some(("CREATING", "ACTIVE")),
        "failover-slate-configuration" => Some(("CREATING", "CREATED")),
        _ => None,
    }
}

/// The channel member that references a resource of `family`.
fn channel_reference(family: Family) -> &'static str {
    match family.resource_type {
        "recording-configuration" => "recordingConfigurationArn",
        "playback-restriction-policy" => "playbackRestrictionPolicyArn",
        "ad-configuration" => "adConfigurationArn",
        _ => "failoverSlateConfigurationArn",
    }
}

pub(super) fn create(
    ctx: &mut Ctx<'_>,
    family: Family,
    op: &Operation,
    input: &Value,
) -> Result<Value, ApiError> {
    if let Some(limit) = quota(family) {
        if ctx.region.count(family.resource_type) >= limit {
            return Err(ApiError::new(
                ErrorType::ServiceQuotaExceededException,
                format!("at most {limit} {}s per region", family.noun),
            ));
        }
    }
    check_renditions(input)?;
    resource::check_thumbnail_interval(
        "thumbnailConfiguration",
        input.get("thumbnailConfiguration"),
        "INTERVAL",
    )?;
    super::countries::check_allowed(input)?;
    let mut created = resource::build(family, op.input, input);
    let (arn, id) = resource::mint(ctx, family);
    set(&mut created, "arn", Value::String(arn));
    if created.get("tags").is_none() {
        set(&mut created, "tags", object());
    }
    if created.get("name").is_none() {
        set(&mut created, "name", Value::String(String::new()));
    }
    complete(family, &mut created);
    let answer = created.clone();
    if let Some((_, settled)) = states(family) {
        set(&mut created, "state", Value::String(settled.to_owned()));
    }
    ctx.region.insert(family.resource_type, id, created);
    Ok(resource::wrap(family.member, answer))
}

/// A recording configuration's CUSTOM rendition selection names at least one rendition (module
/// doc). Other families' inputs have no `renditionConfiguration`.
fn check_renditions(input: &Value) -> Result<(), ApiError> {
    let Some(renditions) = input.get("renditionConfiguration") else {
        return Ok(());
    };
    let custom = text(renditions, "renditionSelection") == "CUSTOM";
    let none = renditions
        .get("renditions")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if custom && none {
        return Err(ApiError::validation(
            "renditionConfiguration.renditions: a CUSTOM renditionSelection needs at least one rendition; list them, or select ALL or NONE",
        ));
    }
    Ok(())
}

/// The members IVS fills in that the create input cannot carry.
fn complete(family: Family, created: &mut Value) {
    if let Some((initial, _)) = states(family) {
        set(created, "state", Value::String(initial.to_owned()));
    }
    if family.resource_type == RECORDING.resource_type {
        // Defaults documented on ThumbnailConfiguration and RenditionConfiguration members.
        let mut thumbnails = created
            .get("thumbnailConfiguration")
            .cloned()
            .unwrap_or_else(object);
        for (member, default) in [
            ("recordingMode", Value::from("INTERVAL")),
            (
                "targetIntervalSeconds",
                Value::from(resource::DEFAULT_THUMBNAIL_INTERVAL),
            ),
            ("storage", serde_json::json!(["SEQUENTIAL"])),
        ] {
            if thumbnails.get(member).is_none() {
                set(&mut thumbnails, member, default);
            }
        }
        set(created, "thumbnailConfiguration", thumbnails);
        let mut renditions = created
            .get("renditionConfiguration")
            .cloned()
            .unwrap_or_else(object);
        if renditions.get("renditionSelection").is_none() {
            set(&mut renditions, "renditionSelection", Value::from("ALL"));
        }
        if renditions.get("renditions").is_none() {
            set(&mut renditions, "renditions", serde_json::json!([]));
        }
        set(created, "renditionConfiguration", renditions);
    }
    if family.resource_type == AD.resource_type && created.get("postRollConfiguration").is_none() {
        // Documented: "Default: disabled (enabled set to false, durationSeconds set to 15)".
        set(
            created,
            "postRollConfiguration",
            serde_json::json!({"enabled": false, "durationSeconds": 15}),
        );
    }
}

pub(super) fn get(ctx: &mut Ctx<'_>, family: Family, input: &Value) -> Result<Value, ApiError> {
    let found = resource::find(ctx, family, text(input, "arn"))?.clone();
    Ok(resource::wrap(family.member, found))
}

pub(super) fn list(
    ctx: &mut Ctx<'_>,
    family: Family,
    op: &Operation,
    input: &Value,
) -> Result<Value, ApiError> {
    let shape = resource::item_shape(op);
    let empty = Default::default();
    let store = ctx.region.store(family.resource_type).unwrap_or(&empty);
    resource::page(
        op,
        input,
        store,
        |_| true,
        |item| resource::project(item, shape),
    )
}

pub(super) fn update(
    ctx: &mut Ctx<'_>,
    family: Family,
    op: &Operation,
    input: &Value,
) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = resource::id_in(ctx, family, arn)?.to_owned();
    super::countries::check_allowed(input)?;
    let found = ctx
        .region
        .get_mut(family.resource_type, &id)
        .ok_or_else(|| resource::not_found(family, arn))?;
    resource::update(family, op.input, found, input);
    if family.resource_type == SLATE.resource_type {
        // Inferred from the state enum: an update answers UPDATING and is CREATED from the next
        // read on, as creation goes CREATING → CREATED.
        set(found, "state", Value::from("CREATED"));
        let mut answer = found.clone();
        set(&mut answer, "state", Value::from("UPDATING"));
        return Ok(resource::wrap(family.member, answer));
    }
    Ok(resource::wrap(family.member, found.clone()))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, family: Family, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = resource::id_in(ctx, family, arn)?.to_owned();
    if ctx.region.get(family.resource_type, &id).is_none() {
        return Err(resource::not_found(family, arn));
    }
    let member = channel_reference(family);
    if let Some(user) = resource::all_of(ctx.region, CHANNEL).find(|c| text(c, member) == arn) {
        return Err(ApiError::conflict(format!(
            "{} `{arn}` is used by channel `{}`; update the channel first",
            family.noun,
            text(user, "arn")
        )));
    }
    ctx.region.remove(family.resource_type, &id);
    Ok(object())
}

/// Every family a channel can reference, with its channel member.
pub(super) const REFERENCED: [(Family, &str); 4] = [
    (RECORDING, "recordingConfigurationArn"),
    (POLICY, "playbackRestrictionPolicyArn"),
    (AD, "adConfigurationArn"),
    (SLATE, "failoverSlateConfigurationArn"),
];
