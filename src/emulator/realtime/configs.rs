//! Encoder and storage configurations, and the Get, Delete and List calls that every Real-Time
//! family answers alike (public keys' too).
//!
//! Documented: an account holds at most 20 encoder configurations (service quotas,
//! "EncoderConfigurations 20"); a video is 1280x720, 2,500 kbps, 30 fps unless given, its width
//! and height even and its pixels at most 2,073,600 (the model's `Video` documentation);
//! DeleteEncoderConfiguration "Ensures that no Compositions are using this template; otherwise,
//! returns an error", and a storage configuration "used by a Composition" answers 409 (the
//! operations' documentation). Inferred: a composition that has STOPPED uses nothing; `name` is
//! `""` when not given; storage configurations are bounded at [`MAX_STORAGE`] per region (the
//! quotas page lists none the emulator could cite).

use serde_json::Value;

use super::{
    fill_defaults, id_of, mint, quota, shape, tags_of, wrap, COMPOSITION, ENCODER, STORAGE,
};
use crate::emulator::resource;
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::Operation;

/// "EncoderConfigurations: 20" (service quotas).
const MAX_ENCODERS: usize = 20;
/// A bound on storage configurations per region (inferred; see the module doc).
const MAX_STORAGE: usize = 1_000;
/// "the maximum total pixels is 2073600 (1920x1080 or 1080x1920)" (the model's `Video`).
const MAX_PIXELS: i64 = 2_073_600;

/// The `Video` of an encoder configuration with its documented defaults, checked.
fn video(input: Option<&Value>) -> Result<Value, ApiError> {
    let mut video = input
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or_else(object);
    fill_defaults(shape("Video"), &mut video);
    // The documentation's defaults, where the catalog could not type them (a float framerate).
    for (member, default) in [
        ("width", Value::from(1280)),
        ("height", Value::from(720)),
        ("framerate", Value::from(30.0)),
        ("bitrate", Value::from(2_500_000)),
    ] {
        if video.get(member).is_none_or(Value::is_null) {
            set(&mut video, member, default);
        }
    }
    let width = video["width"].as_i64().unwrap_or(0);
    let height = video["height"].as_i64().unwrap_or(0);
    if width % 2 != 0 || height % 2 != 0 {
        return Err(ApiError::validation(format!(
            "video: width and height must be even numbers, got {width}x{height}"
        )));
    }
    if width * height > MAX_PIXELS {
        return Err(ApiError::validation(format!(
            "video: {width}x{height} is {} pixels, at most {MAX_PIXELS} (1920x1080 or 1080x1920)",
            width * height
        )));
    }
    Ok(video)
}

pub(super) fn create_encoder(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    if ctx.region.count(ENCODER) >= MAX_ENCODERS {
        return Err(quota("encoder configurations", MAX_ENCODERS));
    }
    let video = video(input.get("video"))?;
    let (arn, id) = mint(ctx, ENCODER);
    let mut config = object();
    set(&mut config, "arn", Value::from(arn));
    set(&mut config, "name", name_of(input));
    set(&mut config, "video", video);
    set(&mut config, "tags", tags_of(input));
    ctx.region.insert(ENCODER, id, config.clone());
    Ok(wrap("encoderConfiguration", config))
}

pub(super) fn create_storage(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    if ctx.region.count(STORAGE) >= MAX_STORAGE {
        return Err(quota("storage configurations", MAX_STORAGE));
    }
    let (arn, id) = mint(ctx, STORAGE);
    let mut config = object();
    set(&mut config, "arn", Value::from(arn));
    set(&mut config, "name", name_of(input));
    set(&mut config, "s3", input["s3"].clone());
    set(&mut config, "tags", tags_of(input));
    ctx.region.insert(STORAGE, id, config.clone());
    Ok(wrap("storageConfiguration", config))
}

fn name_of(input: &Value) -> Value {
    input
        .get("name")
        .filter(|n| n.is_string())
        .cloned()
        .unwrap_or_else(|| Value::from(""))
}

/// The Get call of a family: `{member: resource}`.
pub(super) fn get(
    ctx: &mut Ctx<'_>,
    resource_type: &'static str,
    member: &str,
    input: &Value,
) -> Result<Value, ApiError> {
    let id = id_of(ctx, resource_type, text(input, "arn"))?;
    // Invariant: `id_of` found it.
    let found = ctx.region.get(resource_type, id).cloned().expect("found");
    Ok(wrap(member, found))
}

/// The ARN of every composition that has not STOPPED and names `arn` anywhere in its
/// destinations.
fn compositions_using(ctx: &Ctx<'_>, arn: &str) -> Vec<String> {
    resource::all_of_type(ctx.region, COMPOSITION)
        .filter(|c| !matches!(text(c, "state"), "STOPPED" | "FAILED"))
        .filter(|c| {
            c.get("destinations")
                .is_some_and(|d| d.to_string().contains(&format!("\"{arn}\"")))
        })
        .map(|c| text(c, "arn").to_owned())
        .collect()
}

pub(super) fn delete(
    ctx: &mut Ctx<'_>,
    resource_type: &'static str,
    input: &Value,
) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = id_of(ctx, resource_type, arn)?.to_owned();
    if matches!(resource_type, ENCODER | STORAGE) {
        if let Some(user) = compositions_using(ctx, arn).first() {
            return Err(ApiError::conflict(format!(
                "{} `{arn}` is used by composition `{user}`; stop it (StopComposition) and wait for STOPPED first",
                super::noun(resource_type)
            )));
        }
    }
    ctx.region.remove(resource_type, &id);
    Ok(object())
}

/// The List call of a family, in id order, each item projected onto the summary shape.
pub(super) fn list(
    ctx: &mut Ctx<'_>,
    resource_type: &'static str,
    op: &Operation,
    input: &Value,
) -> Result<Value, ApiError> {
    let item = resource::item_shape(op);
    let empty = std::collections::BTreeMap::new();
    let store = ctx.region.store(resource_type).unwrap_or(&empty);
    resource::page(op, input, store, |_| true, |r| resource::project(r, item))
}
