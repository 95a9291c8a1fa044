//! IVS Chat's API (2020-07-14), emulated: rooms, logging configurations, chat tokens, the three
//! messaging calls (SendEvent, DeleteMessage, DisconnectUser) and tags. Rooms and logging
//! configurations live in the region's stores beside IVS's resources, under their own resource
//! types (`room`, `logging-configuration`), so a room and a channel never meet.
//!
//! What reaches live connections (a token, a room's settings, events, disconnections) is not
//! delivered here: each operation queues an [`Effect`] in its context, and the emulator hands it
//! to its `ChatSink` once the state lock is released (`Emulator::with_region`).
//!
//! Sources, cited where used:
//! - the model (`src/ivs/model/ivschat.json`): shapes, constraints and the defaults its
//!   documentation states (`maximumMessageLength` 500, `maximumMessageRatePerSecond` 10,
//!   `fallbackResult` ALLOW, `sessionDurationInMinutes` 60, `maxResults` 50), applied from the
//!   generated catalog;
//! - the Chat API reference, <https://docs.aws.amazon.com/ivs/latest/ChatAPIReference/Welcome.html>;
//! - the Chat service quotas, <https://docs.aws.amazon.com/ivs/latest/ChatUserGuide/service-quotas.html>.
//!
//! Inferred, not documented: a room without a review handler has no `messageReviewHandler`
//! member; `name` is `""` and `loggingConfigurationIdentifiers` `[]` when not given; a logging
//! configuration is `ACTIVE` from its creation (the model's CreateLoggingConfiguration and
//! UpdateLoggingConfiguration answers allow no other state); deleting a logging configuration a
//! room uses succeeds and leaves the room's list as it was (Chat lists ConflictException for the
//! delete without saying when); the API call rate quotas are not applied.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::state::{object, set, text};
use super::{tagging, ApiError, Ctx};
use crate::clock;
use crate::ivs::{arn, Catalog, ErrorType, Operation, Service};
use crate::live::chat::{ChatEvent, ChatGrant, ChatLogging, ChatRoomConfig, ReviewHandler};

/// A room's resource type in its ARN (`arn:aws:ivschat:<region>:<account>:room/<id>`).
pub(crate) const ROOM: &str = "room";
/// A logging configuration's resource type in its ARN.
pub(crate) const LOGGING: &str = "logging-configuration";

/// Logging configurations per account and region: Chat's service quotas page ("Logging
/// configurations: 10").
const MAX_LOGGING_CONFIGURATIONS: usize = 10;

/// Rooms per account and region. Inferred: the quotas page lists no room quota where ivs-vcr can
/// cite it, so this is a bound on what the emulator keeps, at the concurrent connections quota
/// (50,000), rather than a documented limit.
const MAX_ROOMS: usize = 50_000;

/// How long a chat token opens a connection. The Chat API reference of CreateChatToken said "The
/// token is valid for one minute" (and still says that it becomes invalid at
/// `tokenExpirationTime`): <https://docs.aws.amazon.com/ivs/latest/ChatAPIReference/API_CreateChatToken.html>.
const TOKEN_VALIDITY_SECS: u64 = 60;

/// The most bytes of `attributes` (keys and values together) of CreateChatToken and SendEvent:
/// "The maximum length of this field is 1 KB total" (the model's documentation of both).
const MAX_ATTRIBUTE_BYTES: usize = 1024;

/// What a Chat operation asks of the data plane, delivered after the state lock is released.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// `ChatSink::token_issued`.
    Token(ChatGrant),
    /// `ChatSink::room_changed`.
    Room(ChatRoomConfig),
    /// `ChatSink::room_deleted`.
    RoomDeleted(String),
    /// `ChatSink::send_event`.
    Event(String, ChatEvent),
    /// `ChatSink::delete_message`.
    DeleteMessage(String, ChatEvent),
    /// `ChatSink::disconnect_user`: room, user, event.
    Disconnect(String, String, ChatEvent),
}

fn catalog() -> &'static Catalog {
    Service::IvsChat.catalog()
}

/// Runs one Chat operation on a region's state.
pub(crate) fn run(
    op: &'static Operation,
    ctx: &mut Ctx<'_>,
    input: &Value,
) -> Result<Value, ApiError> {
    match op.name {
        "CreateRoom" => create_room(ctx, op, input),
        "GetRoom" => get_room(ctx, input),
        "UpdateRoom" => update_room(ctx, op, input),
        "DeleteRoom" => delete_room(ctx, input),
        "ListRooms" => list_rooms(ctx, op, input),
        "CreateLoggingConfiguration" => create_logging(ctx, input),
        "GetLoggingConfiguration" => get_logging(ctx, input),
        "UpdateLoggingConfiguration" => update_logging(ctx, input),
        "DeleteLoggingConfiguration" => delete_logging(ctx, input),
        "ListLoggingConfigurations" => list_logging(ctx, op, input),
        "CreateChatToken" => create_token(ctx, op, input),
        "SendEvent" => send_event(ctx, input),
        "DeleteMessage" => delete_message(ctx, input),
        "DisconnectUser" => disconnect_user(ctx, input),
        "TagResource" => tag(ctx, input),
        "UntagResource" => untag(ctx, input),
        "ListTagsForResource" => list_tags(ctx, input),
        // A model newer than this file; `every_chat_operation_is_emulated` keeps this unreachable.
        other => Err(ApiError::new(
            ErrorType::InternalServerException,
            format!("ivs-vcr does not emulate IVS Chat's `{other}` yet; replay a recording of it instead"),
        )),
    }
}

/// Chat's ResourceNotFoundException, with the members its model requires (`resourceId`,
/// `resourceType`; the model's only resource type is `ROOM`).
fn not_found(what: &str, arn_text: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("{what} `{arn_text}` does not exist"))
        .with_field("resourceId", Value::String(id.to_owned()))
        .with_field("resourceType", Value::String("ROOM".to_owned()))
}

/// Chat's ValidationException, with its required `reason`.
fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::validation(message).with_field(
        "reason",
        Value::String("FIELD_VALIDATION_FAILED".to_owned()),
    )
}

/// The id of the `resource_type` resource an identifier (an ARN: "Currently this must be an
/// ARN") names in this region and account; an ARN of another region or account names nothing
/// here, as in IVS.
fn id_of<'a>(
    ctx: &Ctx<'_>,
    resource_type: &'static str,
    what: &str,
    identifier: &'a str,
) -> Result<&'a str, ApiError> {
    let parsed = arn::parse(identifier).filter(|a| {
        a.partition == "aws"
            && a.service == "ivschat"
            && a.resource_type == resource_type
            && !a.resource_id.is_empty()
    });
    match parsed {
        None => Err(invalid(format!(
            "`{identifier}` is not a {what} ARN (arn:aws:ivschat:<region>:<account>:{resource_type}/<id>)"
        ))),
        Some(a) if a.region != ctx.region_name || a.account != ctx.account => {
            Err(not_found(what, identifier, a.resource_id))
        }
        Some(a) if ctx.region.get(resource_type, a.resource_id).is_none() => {
            Err(not_found(what, identifier, a.resource_id))
        }
        Some(a) => Ok(a.resource_id),
    }
}

/// The resource type (`room` or `logging-configuration`) and id of a Chat ARN of this account,
/// with its region, if it is a well-formed one.
pub(crate) fn parse_resource<'a>(
    account: &str,
    resource_arn: &'a str,
) -> Option<(&'static str, &'a str, &'a str)> {
    let parsed = arn::parse_family(resource_arn)?;
    let resource_type = [ROOM, LOGGING]
        .into_iter()
        .find(|t| *t == parsed.resource_type)?;
    let ok = parsed.service == "ivschat"
        && parsed.account == account
        && crate::normalize::is_valid_region(parsed.region);
    ok.then_some((resource_type, parsed.region, parsed.resource_id))
}

/// Takes a room or logging configuration Chat answered (a replayed answer, or `verify`'s seed)
/// into the region: members the answer has replace those known, and a resource not known yet gets
/// the defaults its Create would have given for what the answer leaves out (a `RoomSummary` has no
/// `maximumMessageLength`). With `only_unknown`, a known resource is left as it is (a summary
/// holds less than what is known). A room's settings reach the data plane, as its Create's would.
pub(crate) fn learn(
    ctx: &mut Ctx<'_>,
    resource_type: &'static str,
    id: &str,
    resource: &Value,
    only_unknown: bool,
) {
    let known = ctx.region.get(resource_type, id).cloned();
    if only_unknown && known.is_some() {
        return;
    }
    let mut merged = known.unwrap_or_else(|| fresh(resource_type));
    if let (Value::Object(into), Value::Object(from)) = (&mut merged, resource) {
        into.extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if resource_type == ROOM {
        let config = room_config(ctx, &merged);
        ctx.chat.push(Effect::Room(config));
    }
    ctx.region.insert(resource_type, id.to_owned(), merged);
}

/// Forgets a room or logging configuration a replayed Delete removed; a room's connections are
/// closed, as its DeleteRoom's would be.
pub(crate) fn forget(ctx: &mut Ctx<'_>, resource_type: &'static str, id: &str) {
    if let Some(resource) = ctx.region.remove(resource_type, id) {
        if resource_type == ROOM {
            ctx.chat
                .push(Effect::RoomDeleted(text(&resource, "arn").to_owned()));
        }
    }
}

/// What a resource learned from an answer starts from: the members its Create gives whatever the
/// input, with their documented defaults.
fn fresh(resource_type: &'static str) -> Value {
    let mut resource = object();
    set(&mut resource, "tags", object());
    if resource_type == ROOM {
        set(&mut resource, "name", "".into());
        set(
            &mut resource,
            "loggingConfigurationIdentifiers",
            Value::Array(Vec::new()),
        );
        for member in ["maximumMessageRatePerSecond", "maximumMessageLength"] {
            if let Some(value) = default_of("CreateRoomRequest", member) {
                set(&mut resource, member, value);
            }
        }
    }
    resource
}

fn room_id<'a>(ctx: &Ctx<'_>, identifier: &'a str) -> Result<&'a str, ApiError> {
    id_of(ctx, ROOM, "room", identifier)
}

fn mint(ctx: &mut Ctx<'_>, resource_type: &'static str) -> (String, String) {
    loop {
        let id = ctx.ids.alnum(12);
        if ctx.region.get(resource_type, &id).is_none() {
            let arn = format!(
                "arn:aws:ivschat:{}:{}:{resource_type}/{id}",
                ctx.region_name, ctx.account
            );
            return (arn, id);
        }
    }
}

/// The documented default of `member` of `shape` (a structure of Chat's model), as JSON.
fn default_of(shape: &str, member: &str) -> Option<Value> {
    catalog()
        .shape(shape)?
        .get()
        .member(member)?
        .default
        .map(|d| d.to_json())
}

/// Checks that every logging configuration a room names exists (Chat lists
/// ResourceNotFoundException for CreateRoom and UpdateRoom).
fn check_logging(ctx: &Ctx<'_>, input: &Value) -> Result<(), ApiError> {
    for identifier in input
        .get("loggingConfigurationIdentifiers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        id_of(ctx, LOGGING, "logging configuration", identifier)?;
    }
    Ok(())
}

/// A review handler as stored: `fallbackResult` defaults to ALLOW ("Default: ALLOW", the model).
fn review_handler(handler: &Value) -> Value {
    let mut handler = handler.clone();
    if handler.get("fallbackResult").is_none() {
        if let Some(default) = default_of("MessageReviewHandler", "fallbackResult") {
            set(&mut handler, "fallbackResult", default);
        }
    }
    handler
}

fn create_room(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    if ctx.region.count(ROOM) >= MAX_ROOMS {
        return Err(ApiError::new(
            ErrorType::ServiceQuotaExceededException,
            format!("at most {MAX_ROOMS} rooms per region"),
        )
        .with_field("resourceId", Value::String(String::new()))
        .with_field("resourceType", Value::String("ROOM".to_owned()))
        .with_field("limit", Value::from(MAX_ROOMS)));
    }
    check_logging(ctx, input)?;
    let (arn, id) = mint(ctx, ROOM);
    let now = clock::now();
    let mut room = object();
    set(&mut room, "arn", Value::String(arn));
    set(&mut room, "id", Value::String(id.clone()));
    set(
        &mut room,
        "name",
        input.get("name").cloned().unwrap_or_else(|| "".into()),
    );
    set(&mut room, "createTime", Value::String(now.clone()));
    set(&mut room, "updateTime", Value::String(now));
    for member in ["maximumMessageRatePerSecond", "maximumMessageLength"] {
        let value = input
            .get(member)
            .filter(|v| !v.is_null())
            .cloned()
            .or_else(|| default_of("CreateRoomRequest", member));
        if let Some(value) = value {
            set(&mut room, member, value);
        }
    }
    if let Some(handler) = input.get("messageReviewHandler").filter(|h| h.is_object()) {
        set(&mut room, "messageReviewHandler", review_handler(handler));
    }
    set(
        &mut room,
        "tags",
        input.get("tags").cloned().unwrap_or_else(object),
    );
    set(
        &mut room,
        "loggingConfigurationIdentifiers",
        input
            .get("loggingConfigurationIdentifiers")
            .cloned()
            .unwrap_or_else(|| Value::Array(Vec::new())),
    );
    debug_assert!(op.output.is_some());
    let config = room_config(ctx, &room);
    ctx.region.insert(ROOM, id, room.clone());
    ctx.chat.push(Effect::Room(config));
    Ok(room)
}

/// Tells the data plane of every room of the region, as their creation did: after a restore
/// (`snapshot.rs`), so that the restored rooms accept connections with their settings.
pub(crate) fn announce_rooms(ctx: &mut Ctx<'_>) {
    let rooms: Vec<Value> = ctx
        .region
        .store(ROOM)
        .map(|s| s.values().cloned().collect())
        .unwrap_or_default();
    for room in rooms {
        let config = room_config(ctx, &room);
        ctx.chat.push(Effect::Room(config));
    }
}

/// A room's settings as the data plane needs them, its logging configurations resolved to their
/// destinations.
fn room_config(ctx: &Ctx<'_>, room: &Value) -> ChatRoomConfig {
    let number = |member: &str, default: u32| {
        room.get(member)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(default)
    };
    let review_handler = room
        .get("messageReviewHandler")
        .filter(|h| !text(h, "uri").is_empty())
        .map(|h| ReviewHandler {
            uri: text(h, "uri").to_owned(),
            fallback_result: match text(h, "fallbackResult") {
                "" => "ALLOW".to_owned(),
                other => other.to_owned(),
            },
        });
    let logging = room
        .get("loggingConfigurationIdentifiers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|identifier| {
            let id = arn::parse(identifier)?.resource_id;
            let configuration = ctx.region.get(LOGGING, id)?;
            Some(ChatLogging {
                arn: identifier.to_owned(),
                destination: configuration
                    .get("destinationConfiguration")
                    .cloned()
                    .unwrap_or_else(object),
            })
        })
        .collect();
    ChatRoomConfig {
        room_arn: text(room, "arn").to_owned(),
        maximum_message_length: number("maximumMessageLength", 500),
        maximum_message_rate_per_second: number("maximumMessageRatePerSecond", 10),
        review_handler,
        logging,
    }
}

fn get_room(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let id = room_id(ctx, text(input, "identifier"))?;
    // Invariant: `room_id` found it.
    Ok(ctx.region.get(ROOM, id).cloned().expect("found room"))
}

fn update_room(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let id = room_id(ctx, text(input, "identifier"))?.to_owned();
    check_logging(ctx, input)?;
    let input_shape = op.input.map(|s| s.get());
    // Invariant: `room_id` found it.
    let mut room = ctx.region.get(ROOM, &id).cloned().expect("found room");
    if let Value::Object(changes) = input {
        for (member, value) in changes {
            if member == "identifier"
                || value.is_null()
                || input_shape.is_none_or(|s| s.member(member).is_none())
            {
                continue;
            }
            if member == "messageReviewHandler" {
                // "Specify an empty uri string to disassociate a message review handler from the
                // specified room" (UpdateRoom's documentation).
                if text(value, "uri").is_empty() {
                    if let Value::Object(map) = &mut room {
                        map.remove("messageReviewHandler");
                    }
                } else {
                    set(&mut room, member, review_handler(value));
                }
                continue;
            }
            set(&mut room, member, value.clone());
        }
    }
    set(&mut room, "updateTime", Value::String(clock::now()));
    let config = room_config(ctx, &room);
    ctx.region.insert(ROOM, id, room.clone());
    ctx.chat.push(Effect::Room(config));
    Ok(room)
}

fn delete_room(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let identifier = text(input, "identifier");
    let id = room_id(ctx, identifier)?.to_owned();
    let room = ctx.region.remove(ROOM, &id);
    let arn = room
        .as_ref()
        .map_or(identifier, |r| text(r, "arn"))
        .to_owned();
    ctx.chat.push(Effect::RoomDeleted(arn));
    Ok(object())
}

/// The summary of a room (`RoomSummary`): the members the shape has.
fn summary(item: &Value, shape: &str) -> Value {
    let Some(shape) = catalog().shape(shape) else {
        return item.clone();
    };
    super::resource::project(item, shape)
}

/// The page size: the request's `maxResults`, else the documented default (50 for both List
/// calls, "Default: 50" in the model).
fn page_size(op: &Operation, input: &Value) -> usize {
    let default = op
        .input
        .and_then(|s| s.get().member("maxResults"))
        .and_then(|m| m.default)
        .and_then(|d| match d {
            crate::ivs::Default::Int(n) => Some(n),
            _ => None,
        })
        .unwrap_or(50);
    input
        .get("maxResults")
        .and_then(Value::as_i64)
        .unwrap_or(default)
        .max(1) as usize
}

fn check_token(token: &str) -> Result<(), ApiError> {
    if token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(invalid(format!(
            "nextToken: `{token}` is not a token this service issued"
        )))
    }
}

/// ListRooms: "Results are sorted in descending order of updateTime" (its documentation), then
/// by id; filtered by `name`, `messageReviewHandlerUri` and `loggingConfigurationIdentifier`. A
/// token is the id of the first room of its page.
fn list_rooms(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let token = text(input, "nextToken");
    check_token(token)?;
    let limit = page_size(op, input);
    let name = input.get("name").and_then(Value::as_str);
    let uri = input.get("messageReviewHandlerUri").and_then(Value::as_str);
    let logging = input
        .get("loggingConfigurationIdentifier")
        .and_then(Value::as_str);
    let keep = |room: &Value| {
        name.is_none_or(|n| text(room, "name") == n)
            && uri.is_none_or(|u| {
                text(
                    room.get("messageReviewHandler").unwrap_or(&Value::Null),
                    "uri",
                ) == u
            })
            && logging.is_none_or(|l| {
                room.get("loggingConfigurationIdentifiers")
                    .and_then(Value::as_array)
                    .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(l)))
            })
    };
    let mut rooms: Vec<&Value> = ctx
        .region
        .store(ROOM)
        .into_iter()
        .flat_map(BTreeMap::values)
        .filter(|room| keep(room))
        .collect();
    rooms.sort_by(|a, b| {
        text(b, "updateTime")
            .cmp(text(a, "updateTime"))
            .then_with(|| text(a, "id").cmp(text(b, "id")))
    });
    let start = match token {
        "" => 0,
        token => rooms
            .iter()
            .position(|r| text(r, "id") == token)
            .ok_or_else(|| invalid(format!("nextToken: `{token}` names no room of this list")))?,
    };
    let page: Vec<Value> = rooms[start..]
        .iter()
        .take(limit)
        .map(|room| summary(room, "RoomSummary"))
        .collect();
    let mut out = Map::new();
    out.insert("rooms".to_owned(), Value::Array(page));
    if let Some(next) = rooms.get(start + limit) {
        out.insert(
            "nextToken".to_owned(),
            Value::String(text(next, "id").to_owned()),
        );
    }
    Ok(Value::Object(out))
}

fn create_logging(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    if ctx.region.count(LOGGING) >= MAX_LOGGING_CONFIGURATIONS {
        return Err(ApiError::new(
            ErrorType::ServiceQuotaExceededException,
            format!("at most {MAX_LOGGING_CONFIGURATIONS} logging configurations per region"),
        )
        .with_field("resourceId", Value::String(String::new()))
        .with_field("resourceType", Value::String("ROOM".to_owned()))
        .with_field("limit", Value::from(MAX_LOGGING_CONFIGURATIONS)));
    }
    check_destination(input)?;
    let (arn, id) = mint(ctx, LOGGING);
    let now = clock::now();
    let mut configuration = object();
    set(&mut configuration, "arn", Value::String(arn));
    set(&mut configuration, "id", Value::String(id.clone()));
    set(&mut configuration, "createTime", Value::String(now.clone()));
    set(&mut configuration, "updateTime", Value::String(now));
    set(
        &mut configuration,
        "name",
        input.get("name").cloned().unwrap_or_else(|| "".into()),
    );
    set(
        &mut configuration,
        "destinationConfiguration",
        input["destinationConfiguration"].clone(),
    );
    set(
        &mut configuration,
        "state",
        Value::String("ACTIVE".to_owned()),
    );
    set(
        &mut configuration,
        "tags",
        input.get("tags").cloned().unwrap_or_else(object),
    );
    ctx.region.insert(LOGGING, id, configuration.clone());
    Ok(configuration)
}

/// "There can be only one type of destination (cloudWatchLogs, firehose, or s3) in a
/// destinationConfiguration" (the model: a union).
fn check_destination(input: &Value) -> Result<(), ApiError> {
    let Some(destination) = input.get("destinationConfiguration") else {
        return Ok(());
    };
    let n = destination
        .as_object()
        .map_or(0, |d| d.values().filter(|v| !v.is_null()).count());
    if n == 1 {
        Ok(())
    } else {
        Err(invalid(format!(
            "destinationConfiguration: exactly one of `s3`, `cloudWatchLogs` or `firehose` is required, got {n}"
        )))
    }
}

fn get_logging(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let id = id_of(
        ctx,
        LOGGING,
        "logging configuration",
        text(input, "identifier"),
    )?;
    // Invariant: `id_of` found it.
    Ok(ctx.region.get(LOGGING, id).cloned().expect("found"))
}

fn update_logging(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let identifier = text(input, "identifier");
    let id = id_of(ctx, LOGGING, "logging configuration", identifier)?.to_owned();
    check_destination(input)?;
    // Invariant: `id_of` found it.
    let mut configuration = ctx.region.get(LOGGING, &id).cloned().expect("found");
    for member in ["name", "destinationConfiguration"] {
        if let Some(value) = input.get(member).filter(|v| !v.is_null()) {
            set(&mut configuration, member, value.clone());
        }
    }
    set(
        &mut configuration,
        "updateTime",
        Value::String(clock::now()),
    );
    ctx.region.insert(LOGGING, id, configuration.clone());
    // The rooms that log to it deliver to the new destination from now on.
    let rooms: Vec<Value> = ctx
        .region
        .store(ROOM)
        .into_iter()
        .flat_map(BTreeMap::values)
        .filter(|room| {
            room.get("loggingConfigurationIdentifiers")
                .and_then(Value::as_array)
                .is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(identifier)))
        })
        .cloned()
        .collect();
    for room in rooms {
        let config = room_config(ctx, &room);
        ctx.chat.push(Effect::Room(config));
    }
    Ok(configuration)
}

fn delete_logging(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let id = id_of(
        ctx,
        LOGGING,
        "logging configuration",
        text(input, "identifier"),
    )?
    .to_owned();
    ctx.region.remove(LOGGING, &id);
    Ok(object())
}

/// ListLoggingConfigurations, in id order (Chat documents no order), `maxResults` default 50.
fn list_logging(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let token = text(input, "nextToken");
    check_token(token)?;
    let limit = page_size(op, input);
    let empty = BTreeMap::new();
    let store = ctx.region.store(LOGGING).unwrap_or(&empty);
    let start = match token {
        "" => std::ops::Bound::Unbounded,
        token => std::ops::Bound::Included(token),
    };
    let mut items = store.range::<str, _>((start, std::ops::Bound::Unbounded));
    let page: Vec<Value> = items
        .by_ref()
        .take(limit)
        .map(|(_, c)| summary(c, "LoggingConfigurationSummary"))
        .collect();
    let mut out = Map::new();
    out.insert("loggingConfigurations".to_owned(), Value::Array(page));
    if let Some((next, _)) = items.next() {
        out.insert("nextToken".to_owned(), Value::String(next.clone()));
    }
    Ok(Value::Object(out))
}

/// The bytes of a string map's keys and values.
fn attribute_bytes(attributes: Option<&Value>) -> usize {
    attributes.and_then(Value::as_object).map_or(0, |map| {
        map.iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum()
    })
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

fn check_attributes(input: &Value) -> Result<(), ApiError> {
    let n = attribute_bytes(input.get("attributes"));
    if n > MAX_ATTRIBUTE_BYTES {
        return Err(invalid(format!(
            "attributes: {n} bytes of keys and values, at most {MAX_ATTRIBUTE_BYTES} (1 KB)"
        )));
    }
    Ok(())
}

/// A chat token of Chat's own shape: KMS ciphertext in base64, which starts `AQICAH` (a KMS
/// ciphertext blob's header), 240 characters here, from the seeded generator. Long enough that
/// the redaction's chat-token shape (`AQICAH` and at least 40 base64 characters) takes it whole.
///
/// The alphabet is base64url's: clients pass the token as the WebSocket subprotocol, which must
/// be an HTTP token (RFC 6455 §4.1, RFC 7230 §3.2.6), and browsers and `ws` refuse a `/` or `=`
/// there before connecting, so a token IVS hands out cannot hold them (inferred from that rule).
///
/// The seventh character is one of `g` to `v`: a KMS blob opens `01 02 02 00 78`, so its base64
/// opens `AQICAH` and then, whatever the sixth byte, one of `g`…`v` (real tokens read `AQICAHgm5DC1…` and
/// `AQICAHj…`, as quoted in public READMEs; KMS ciphertexts in public Terraform files all read
/// `AQICAHg…`). The 240-character length is not from a real token (none was found whole).
fn mint_token(ctx: &mut Ctx<'_>) -> String {
    const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut token = String::from("AQICAH");
    token.push(char::from(BASE64[32 + (ctx.ids.next_u64() & 15) as usize]));
    while token.len() < 240 {
        let mut bits = ctx.ids.next_u64();
        for _ in 0..10 {
            token.push(char::from(BASE64[(bits & 63) as usize]));
            bits >>= 6;
        }
    }
    token.truncate(240);
    token
}

fn create_token(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let room_identifier = text(input, "roomIdentifier");
    let id = room_id(ctx, room_identifier)?.to_owned();
    check_attributes(input)?;
    let minutes = input
        .get("sessionDurationInMinutes")
        .and_then(Value::as_u64)
        .or_else(|| {
            op.input
                .and_then(|s| s.get().member("sessionDurationInMinutes"))
                .and_then(|m| m.default)
                .and_then(|d| match d {
                    crate::ivs::Default::Int(n) => u64::try_from(n).ok(),
                    _ => None,
                })
        })
        .unwrap_or(60);
    let now = clock::now_secs();
    let token_expires = now + TOKEN_VALIDITY_SECS;
    let session_expires = now + minutes * 60;
    let token = mint_token(ctx);
    // Invariant: `room_id` found it.
    let room_arn = text(ctx.region.get(ROOM, &id).expect("found room"), "arn").to_owned();
    ctx.chat.push(Effect::Token(ChatGrant {
        token: token.clone(),
        room_arn,
        user_id: text(input, "userId").to_owned(),
        attributes: string_map(input.get("attributes")),
        capabilities: input
            .get("capabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect(),
        token_expires_at_ms: token_expires * 1000,
        session_expires_at_ms: session_expires * 1000,
    }));
    Ok(serde_json::json!({
        "token": token,
        "tokenExpirationTime": clock::iso8601(token_expires),
        "sessionExpirationTime": clock::iso8601(session_expires),
    }))
}

/// The room an event goes to, by its `roomIdentifier`, as its ARN.
fn event_room(ctx: &Ctx<'_>, input: &Value) -> Result<String, ApiError> {
    let id = room_id(ctx, text(input, "roomIdentifier"))?;
    // Invariant: `room_id` found it.
    Ok(text(ctx.region.get(ROOM, id).expect("found room"), "arn").to_owned())
}

fn send_event(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let room = event_room(ctx, input)?;
    check_attributes(input)?;
    let id = ctx.ids.alnum(12);
    ctx.chat.push(Effect::Event(
        room,
        ChatEvent {
            id: id.clone(),
            event_name: text(input, "eventName").to_owned(),
            attributes: string_map(input.get("attributes")),
        },
    ));
    Ok(serde_json::json!({ "id": id }))
}

/// DeleteMessage: "This event's EventName is aws:DELETE_MESSAGE" (its documentation); its
/// attributes are the Messaging API's `MessageID` and, when given, `Reason`.
fn delete_message(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let room = event_room(ctx, input)?;
    let id = ctx.ids.alnum(12);
    let mut attributes = BTreeMap::new();
    attributes.insert("MessageID".to_owned(), text(input, "id").to_owned());
    if let Some(reason) = input.get("reason").and_then(Value::as_str) {
        attributes.insert("Reason".to_owned(), reason.to_owned());
    }
    ctx.chat.push(Effect::DeleteMessage(
        room,
        ChatEvent {
            id: id.clone(),
            event_name: "aws:DELETE_MESSAGE".to_owned(),
            attributes,
        },
    ));
    Ok(serde_json::json!({ "id": id }))
}

/// DisconnectUser: every connection of the user in the room gets `aws:DISCONNECT_USER` (the
/// Messaging API's event, attributes `UserId` and, when given, `Reason`) and is closed.
fn disconnect_user(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let room = event_room(ctx, input)?;
    let user = text(input, "userId").to_owned();
    let id = ctx.ids.alnum(12);
    let mut attributes = BTreeMap::new();
    attributes.insert("UserId".to_owned(), user.clone());
    if let Some(reason) = input.get("reason").and_then(Value::as_str) {
        attributes.insert("Reason".to_owned(), reason.to_owned());
    }
    ctx.chat.push(Effect::Disconnect(
        room,
        user,
        ChatEvent {
            id,
            event_name: "aws:DISCONNECT_USER".to_owned(),
            attributes,
        },
    ));
    Ok(object())
}

/// The resource a tag call's ARN names: a room or a logging configuration of this region. The
/// model's `ResourceArn` pattern matches no real ARN (the same bug as IVS's), so the type is
/// checked here.
fn tagged(ctx: &Ctx<'_>, arn_text: &str) -> Result<(&'static str, String), ApiError> {
    let resource_type = match arn::parse(arn_text).map(|a| (a.service, a.resource_type)) {
        Some(("ivschat", ROOM)) => ROOM,
        Some(("ivschat", LOGGING)) => LOGGING,
        _ => {
            return Err(invalid(format!(
                "resourceArn: `{arn_text}` is not the ARN of an IVS Chat resource (arn:aws:ivschat:<region>:<account>:<type>/<id>, type one of {})",
                catalog().resource_types.join(", ")
            )))
        }
    };
    let what = if resource_type == ROOM {
        "room"
    } else {
        "logging configuration"
    };
    let id = id_of(ctx, resource_type, what, arn_text)?.to_owned();
    Ok((resource_type, id))
}

fn tag(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let target = tagged(ctx, text(input, "resourceArn"))?;
    tagging::tag(ctx, &target, input)
}

fn untag(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let target = tagged(ctx, text(input, "resourceArn"))?;
    Ok(tagging::untag(ctx, &target, input))
}

fn list_tags(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let target = tagged(ctx, text(input, "resourceArn"))?;
    Ok(tagging::list(ctx, &target))
}

#[cfg(test)]
mod tests;
