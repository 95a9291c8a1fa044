//! The events IVS sends through Amazon EventBridge, as the emulator makes them, and the seam to
//! where they go.
//!
//! Operations and the data plane push an [`Event`] into the operation's context
//! (`emulator::Ctx::events`); the emulator hands them to its [`EventSink`] once the state lock is
//! released, in the order they were made. The sink wraps each in EventBridge's envelope (`version`,
//! `id`, `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`), keeps the
//! recent ones for `GET /_ivs-vcr/events`, and posts them to `--events-url`. [`NoEvents`] is the
//! sink of an emulator that sends none.

use serde_json::Value;

/// One event, before its envelope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    /// `source`: `aws.ivs` for IVS and IVS Real-Time, `aws.ivschat` for Chat.
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

/// Where the emulator's events go.
pub(crate) trait EventSink: Send + Sync + std::fmt::Debug {
    /// Takes one event. Must not block: delivery to a URL happens on a task of the sink's own.
    fn emit(&self, account: &str, event: Event);
    /// Forgets the events kept (the control plane's reset).
    fn reset(&self) {}
}

/// The sink of an emulator whose events go nowhere.
#[derive(Debug)]
pub(crate) struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _account: &str, _event: Event) {}
}
