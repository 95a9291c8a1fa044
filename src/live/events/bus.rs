//! [`EventBus`]: the event sink a server attaches to its emulator.
//!
//! Each event is wrapped in the envelope EventBridge delivers to a rule's target
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html>):
//! `version` ("0"), `id` (a UUID), `detail-type`, `source`, `account`, `time` (ISO-8601 in UTC, to
//! the second, as IVS's examples show), `region`, `resources` and `detail`. The newest
//! [`EventOptions::max_kept`] envelopes are kept for `GET /_ivs-vcr/events`, each numbered from 1
//! in the order made (again from 1 after the control plane's reset), so a caller can ask for those
//! after the last it saw (`?since=N`). A recording
//! event goes to the recorder (`live::recording`) when the server writes recordings, and every
//! event to the delivery task (`delivery.rs`) when the operator gave `--events-url`.
//!
//! An event sent later (a Recording End held for the recording's reconnect window) waits on a
//! timer task of its own and is made when it fires, unless cancelled under its key before, or the
//! control plane's reset came in between.
//!
//! Nothing here blocks: the ring is one short lock, and delivery takes an envelope with
//! `try_send` on a bounded queue; an event that finds the queue full is dropped, counted and
//! logged, as EventBridge itself delivers on a best-effort basis.
//! Inferred: the ids are UUID-shaped (version 4 layout) from a seeded generator, so a run's ids
//! repeat with its seed; EventBridge's are random.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::{json, Value};

use super::delivery::{self, Delivery};
use super::{Event, EventSink};
use crate::http::Side;
use crate::live::recording::Recorder;
use crate::seeded::SplitMix64;

/// How a server's events are kept and delivered.
#[derive(Debug, Clone)]
pub(crate) struct EventOptions {
    /// Where each envelope is POSTed (`--events-url`), if anywhere.
    pub url: Option<String>,
    /// How many envelopes `GET /_ivs-vcr/events` shows at most, the newest (`--max-events`).
    pub max_kept: usize,
    /// The seed of the envelopes' ids.
    pub seed: u64,
}

impl EventOptions {
    /// The default of [`EventOptions::max_kept`].
    pub const DEFAULT_MAX_KEPT: usize = 1_000;
}

impl Default for EventOptions {
    fn default() -> Self {
        EventOptions {
            url: None,
            max_kept: Self::DEFAULT_MAX_KEPT,
            seed: 0,
        }
    }
}

/// The newest envelopes, numbered.
#[derive(Debug, Default)]
struct Kept {
    /// (number, envelope), oldest first.
    envelopes: VecDeque<(u64, Arc<Value>)>,
    /// The number of the last envelope made (0 before the first).
    last: u64,
}

/// The sink of a server's emulator: envelopes, the kept ones, the recorder, the delivery queue.
#[derive(Debug)]
pub(crate) struct EventBus {
    kept: Mutex<Kept>,
    max_kept: usize,
    ids: Mutex<SplitMix64>,
    recorder: Option<Arc<Recorder>>,
    delivery: Option<Delivery>,
    /// Events not delivered because the delivery queue was full.
    dropped: AtomicU64,
    /// The bus itself, for the timers of events sent later.
    me: Weak<EventBus>,
    /// Events waiting to be sent later: key → the timer's token.
    scheduled: Mutex<HashMap<String, u64>>,
    /// Tokens of timers.
    next_token: AtomicU64,
}

impl EventBus {
    /// A bus; with a URL, its delivery task is spawned on the current tokio runtime.
    pub(crate) fn new(options: EventOptions, recorder: Option<Arc<Recorder>>) -> Arc<EventBus> {
        Arc::new_cyclic(|me| EventBus {
            kept: Mutex::new(Kept::default()),
            max_kept: options.max_kept,
            ids: Mutex::new(SplitMix64::new(options.seed ^ 0x6576_656E_7473)),
            recorder,
            delivery: options.url.map(delivery::start),
            dropped: AtomicU64::new(0),
            me: me.clone(),
            scheduled: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(0),
        })
    }

    fn scheduled(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.scheduled.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept envelopes numbered above `since`, oldest first, that pass `filter`; and the
    /// number of the last envelope made (of any account or type), for the next `since`.
    pub(crate) fn list(&self, since: u64, filter: EventFilter<'_>) -> (Vec<Arc<Value>>, u64) {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        // Numbers rise by one from the front, so the first one above `since` is found by offset.
        let skip = kept.envelopes.front().map_or(0, |(first, _)| {
            since.saturating_add(1).saturating_sub(*first)
        });
        let envelopes = kept
            .envelopes
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .filter(|(_, e)| filter.passes(e))
            .map(|(_, e)| e.clone())
            .collect();
        (envelopes, kept.last)
    }

    /// What delivery has done so far, for the control plane.
    pub(crate) fn delivery_counts(&self) -> Value {
        let mut counts = json!({"dropped": self.dropped.load(Ordering::Relaxed)});
        if let (Some(delivery), Some(map)) = (&self.delivery, counts.as_object_mut()) {
            map.insert("delivered".into(), delivery.delivered().into());
            map.insert("failed".into(), delivery.failed().into());
        }
        counts
    }

    /// A UUID-shaped id: 32 hex digits in 8-4-4-4-12, with the version 4 and variant bits set.
    fn next_id(&self) -> String {
        let (hi, lo) = {
            let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
            (ids.next_u64(), ids.next_u64())
        };
        let hi = (hi & !0xF000) | 0x4000;
        let lo = (lo & !(0xC << 60)) | (0x8 << 60);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }
}

/// Which kept envelopes a listing gives (`GET /_ivs-vcr/events?detail-type=…&account=…`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct EventFilter<'a> {
    /// Only those whose `detail-type` is this.
    pub detail_type: Option<&'a str>,
    /// Only those of this account: the envelope's `account`, the account of the request that
    /// made the event, so that each parallel worker signing as its own account sees its own.
    pub account: Option<&'a str>,
}

impl EventFilter<'_> {
    fn passes(&self, envelope: &Value) -> bool {
        let is = |member: &str, want: Option<&str>| {
            want.is_none_or(|want| envelope.get(member).and_then(Value::as_str) == Some(want))
        };
        is("detail-type", self.detail_type) && is("account", self.account)
    }
}

/// `event` in EventBridge's envelope.
pub(crate) fn envelope(id: String, account: &str, time: String, event: Event) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": event.detail_type,
        "source": event.source,
        "account": account,
        "time": time,
        "region": event.region,
        "resources": event.resources,
        "detail": event.detail,
    })
}

impl EventSink for EventBus {
    fn emit(&self, account: &str, event: Event) {
        let envelope = Arc::new(envelope(
            self.next_id(),
            account,
            crate::clock::now(),
            event,
        ));
        if let Some(recorder) = &self.recorder {
            recorder.on_event(&envelope);
        }
        {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            kept.last += 1;
            let number = kept.last;
            kept.envelopes.push_back((number, envelope.clone()));
            while kept.envelopes.len() > self.max_kept {
                kept.envelopes.pop_front();
            }
        }
        if let Some(delivery) = &self.delivery {
            if !delivery.offer(envelope) {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(side = %Side::Upstream, dropped = n, "the events URL is not keeping up: {} event(s) waiting; newer events are dropped, not delivered", delivery::QUEUE);
                }
            }
        }
    }

    fn emit_later(&self, account: &str, event: Event, after: Duration, key: String) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return self.emit(account, event);
        };
        // Weak: a server that stops drops its bus, and the timer then sends nothing.
        let me = self.me.clone();
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.scheduled().insert(key.clone(), token);
        let account = account.to_owned();
        // By the emulator's clock: moving it past the window sends the event at once.
        let due = crate::clock::now_millis().saturating_add(after.as_millis() as u64);
        runtime.spawn(async move {
            crate::clock::until(due).await;
            let Some(me) = me.upgrade() else { return };
            let still = {
                let mut scheduled = me.scheduled();
                let still = scheduled.get(&key) == Some(&token);
                if still {
                    scheduled.remove(&key);
                }
                still
            };
            if still {
                me.emit(&account, event);
            }
        });
    }

    fn cancel(&self, key: &str) {
        self.scheduled().remove(key);
    }

    fn reset(&self) {
        self.scheduled().clear();
        // Numbering starts again: after a reset, `since=N` skips the first N events made since.
        *self.kept.lock().unwrap_or_else(|e| e.into_inner()) = Kept::default();
        if let Some(recorder) = &self.recorder {
            recorder.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> Event {
        Event::ivs(
            if n.is_multiple_of(2) {
                "IVS Stream State Change"
            } else {
                "IVS Recording State Change"
            },
            "us-west-2",
            vec![format!("arn:aws:ivs:us-west-2:123456789012:channel/c{n}")],
            json!({"n": n}),
        )
    }

    #[test]
    fn envelopes_are_eventbridges() {
        let bus = EventBus::new(EventOptions::default(), None);
        bus.emit("123456789012", event(0));
        let (events, last) = bus.list(0, EventFilter::default());
        assert_eq!(last, 1);
        let e = &events[0];
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "account",
                "detail",
                "detail-type",
                "id",
                "region",
                "resources",
                "source",
                "time",
                "version"
            ]
        );
        assert_eq!(e["version"], "0");
        assert_eq!(e["source"], "aws.ivs");
        assert_eq!(e["account"], "123456789012");
        let id = e["id"].as_str().unwrap();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(&id[14..15], "4", "{id}");
        assert!("89ab".contains(&id[19..20]), "{id}");
        let time = e["time"].as_str().unwrap();
        assert_eq!(time.len(), 20, "{time}");
        assert!(time.ends_with('Z'));
    }

    #[test]
    fn the_newest_are_kept_and_listed_after_a_number() {
        let bus = EventBus::new(
            EventOptions {
                max_kept: 3,
                ..EventOptions::default()
            },
            None,
        );
        for n in 0..5 {
            bus.emit("123456789012", event(n));
        }
        let details = |since, detail_type| {
            let (events, last) = bus.list(
                since,
                EventFilter {
                    detail_type,
                    account: None,
                },
            );
            assert_eq!(last, 5);
            events
                .iter()
                .map(|e| e["detail"]["n"].as_u64().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(details(0, None), [2, 3, 4]);
        assert_eq!(details(3, None), [3, 4]);
        assert_eq!(details(5, None), Vec::<u64>::new());
        assert_eq!(details(0, Some("IVS Stream State Change")), [2, 4]);
        bus.reset();
        assert_eq!(bus.list(0, EventFilter::default()), (vec![], 0));
        bus.emit("123456789012", event(6));
        let (events, last) = bus.list(0, EventFilter::default());
        assert_eq!(
            (events.len(), last),
            (1, 1),
            "numbered from 1 again after a reset"
        );
    }

    #[test]
    fn listing_by_account_gives_that_accounts_events_only() {
        let bus = EventBus::new(EventOptions::default(), None);
        for n in 0..6 {
            let account = if n % 3 == 0 {
                "111111111111"
            } else {
                "222222222222"
            };
            bus.emit(account, event(n));
        }
        let details = |account, detail_type| {
            let (events, last) = bus.list(
                1,
                EventFilter {
                    detail_type,
                    account: Some(account),
                },
            );
            assert_eq!(last, 6, "`last` counts every account's events");
            events
                .iter()
                .map(|e| {
                    assert_eq!(e["account"], account);
                    e["detail"]["n"].as_u64().unwrap()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(details("111111111111", None), [3]);
        assert_eq!(details("222222222222", None), [1, 2, 4, 5]);
        assert_eq!(
            details("222222222222", Some("IVS Stream State Change")),
            [2, 4]
        );
        assert_eq!(details("333333333333", None), Vec::<u64>::new());
    }

    #[test]
    fn ids_differ() {
        let bus = EventBus::new(EventOptions::default(), None);
        let ids: std::collections::BTreeSet<String> = (0..100).map(|_| bus.next_id()).collect();
        assert_eq!(ids.len(), 100);
    }

    proptest::proptest! {
        /// `list(since)` gives the kept events numbered above `since`, in order, however many
        /// were made and kept.
        #[test]
        fn listing_after_a_number_gives_exactly_the_later_kept_events(
            made in 0u64..40, kept in 1usize..10, since in 0u64..45,
        ) {
            let bus = EventBus::new(EventOptions { max_kept: kept, ..EventOptions::default() }, None);
            for n in 0..made {
                bus.emit("123456789012", event(n));
            }
            let (events, last) = bus.list(since, EventFilter::default());
            let got: Vec<u64> = events.iter().map(|e| e["detail"]["n"].as_u64().unwrap()).collect();
            // Event n (from 0) is numbered n + 1.
            let oldest_kept = made.saturating_sub(kept as u64);
            let want: Vec<u64> = (oldest_kept.max(since)..made).collect();
            proptest::prop_assert_eq!(last, made);
            proptest::prop_assert_eq!(got, want);
        }
    }
}
