//! The events IVS sends through Amazon EventBridge, as the emulator makes them, and where they go.
//!
//! Operations and the data plane push an [`Event`] into the operation's context
//! (`emulator::Ctx::events`); the emulator hands them to its [`EventSink`] once the state lock is
//! released, in the order they were made. [`NoEvents`] is the sink of an emulator that sends none.
//!
//! The split:
//! - `mod.rs` (this file): the seam: [`Event`], [`EventSink`], [`NoEvents`].
//! - `bus.rs`: [`EventBus`], the sink a server attaches: it wraps each event in EventBridge's
//!   envelope, keeps the newest for `GET /_ivs-vcr/events`, hands recording events to the
//!   recorder (`live::recording`) and queues each for delivery.
//! - `delivery.rs`: the task that POSTs the envelopes to `--events-url`, retrying with backoff.
//!
//! What IVS sends is listed in "Using Amazon EventBridge with IVS Low-Latency Streaming"
//! (<https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/eventbridge.html>) and the
//! EventBridge event reference for IVS
//! (<https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ivs.html>): IVS Stream State
//! Change, IVS Stream Health Change, IVS Limit Breach, IVS Recording State Change, and the
//! Real-Time events (stage updates, composition and recording state changes), all with source
//! `aws.ivs`. IVS Chat sends no EventBridge events: the reference lists none for it.

mod bus;
mod delivery;

use serde_json::Value;

pub(crate) use bus::{EventBus, EventFilter, EventOptions};
pub(crate) use delivery::check_url;

/// `source` of every IVS and IVS Real-Time event.
pub(crate) const SOURCE_IVS: &str = "aws.ivs";

/// One event, before its envelope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    /// `source`: `aws.ivs` for IVS and IVS Real-Time.
    pub source: &'static str,
    /// `detail-type`, as IVS names it (`IVS Stream State Change`, `IVS Recording State Change`, …).
    pub detail_type: &'static str,
    /// The region the event is from.
    pub region: String,
    /// `resources`: the ARNs the event is about (the channel's, the stage's, …).
    pub resources: Vec<String>,
    /// `detail`, the event's own members.
    pub detail: Value,
}

impl Event {
    /// An `aws.ivs` event about `resources` in `region`.
    pub(crate) fn ivs(
        detail_type: &'static str,
        region: &str,
        resources: Vec<String>,
        detail: Value,
    ) -> Event {
        Event {
            source: SOURCE_IVS,
            detail_type,
            region: region.to_owned(),
            resources,
            detail,
        }
    }
}

/// Where the emulator's events go.
pub(crate) trait EventSink: Send + Sync + std::fmt::Debug {
    /// Takes one event. Must not block: delivery to a URL happens on a task of the sink's own.
    fn emit(&self, account: &str, event: Event);
    /// Takes one event to emit after `after`, unless [`EventSink::cancel`] names `key` before.
    /// A sink without timers emits it at once.
    fn emit_later(&self, account: &str, event: Event, after: std::time::Duration, key: String) {
        let _ = (after, key);
        self.emit(account, event);
    }
    /// Cancels the event scheduled under `key`, if it is still waiting.
    fn cancel(&self, key: &str) {
        let _ = key;
    }
    /// Forgets the events kept (the control plane's reset).
    fn reset(&self) {}
}

/// The sink of an emulator whose events go nowhere.
#[derive(Debug)]
pub(crate) struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _account: &str, _event: Event) {}
}
