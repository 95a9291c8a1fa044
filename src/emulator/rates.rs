//! Call-rate quotas: each operation's documented transactions per second, enforced per account
//! and region when the operator turns them on (`--rate-limits`). Off by default, because a test
//! suite that creates twenty channels in a loop should not have to sleep; PutMetadata's own limits
//! are part of that operation's documented behaviour and apply always (`ops::streams`).
//!
//! The figures are the "API Call Rate Quotas" tables of each service's user guide, which also say
//! that all quotas are enforced per region and that call-rate quotas are not adjustable:
//! - IVS: <https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/service-quotas.html>
//! - IVS Chat: <https://docs.aws.amazon.com/ivs/latest/ChatUserGuide/service-quotas.html>
//! - IVS Real-Time: <https://docs.aws.amazon.com/ivs/latest/RealTimeUserGuide/service-quotas.html>
//!
//! An operation a table does not list (newer ones such as InsertAdBreak or Real-Time's
//! replication calls) has no documented rate and is not limited. IVS's five stream-key and three
//! tag rows (5 and 10 TPS) are read from the table's earlier edition
//! (<https://docs.aws.amazon.com/ivs/latest/userguide/service-quotas.html>), where the current
//! page's copy consulted was cut short. Inferred: a window of one second counted from the calls themselves
//! (AWS does not document its algorithm); and Real-Time's throttled answer, a 429
//! `ThrottlingException` as IVS and Chat model it, since Real-Time's model has no throttling
//! error.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::ivs::Service;

/// IVS (low-latency): operation and documented TPS.
const IVS: &[(&str, u32)] = &[
    ("BatchGetChannel", 5),
    ("CreateChannel", 5),
    ("DeleteChannel", 5),
    ("GetChannel", 5),
    ("ListChannels", 5),
    ("UpdateChannel", 5),
    ("CreatePlaybackRestrictionPolicy", 5),
    ("DeletePlaybackRestrictionPolicy", 5),
    ("GetPlaybackRestrictionPolicy", 5),
    ("ListPlaybackRestrictionPolicies", 5),
    ("UpdatePlaybackRestrictionPolicy", 5),
    ("DeletePlaybackKeyPair", 3),
    ("GetPlaybackKeyPair", 3),
    ("ImportPlaybackKeyPair", 3),
    ("ListPlaybackKeyPairs", 3),
    ("BatchStartViewerSessionRevocation", 2),
    ("StartViewerSessionRevocation", 10),
    ("CreateRecordingConfiguration", 3),
    ("DeleteRecordingConfiguration", 3),
    ("GetRecordingConfiguration", 3),
    ("ListRecordingConfigurations", 3),
    ("GetStream", 5),
    ("GetStreamSession", 5),
    ("ListStreams", 5),
    ("ListStreamSessions", 5),
    ("StopStream", 5),
    ("BatchGetStreamKey", 5),
    ("CreateStreamKey", 5),
    ("DeleteStreamKey", 5),
    ("GetStreamKey", 5),
    ("ListStreamKeys", 5),
    ("ListTagsForResource", 10),
    ("TagResource", 10),
    ("UntagResource", 10),
];

/// IVS Chat: operation and documented TPS.
const IVSCHAT: &[(&str, u32)] = &[
    ("DeleteMessage", 100),
    ("DisconnectUser", 100),
    ("SendEvent", 100),
    ("CreateChatToken", 200),
    ("CreateLoggingConfiguration", 3),
    ("DeleteLoggingConfiguration", 3),
    ("GetLoggingConfiguration", 3),
    ("ListLoggingConfigurations", 3),
    ("UpdateLoggingConfiguration", 3),
    ("CreateRoom", 5),
    ("DeleteRoom", 5),
    ("GetRoom", 5),
    ("ListRooms", 5),
    ("UpdateRoom", 5),
    ("ListTagsForResource", 10),
    ("TagResource", 10),
    ("UntagResource", 10),
];

/// IVS Real-Time: operation and documented TPS.
const IVSREALTIME: &[(&str, u32)] = &[
    ("GetComposition", 5),
    ("ListCompositions", 5),
    ("StartComposition", 5),
    ("StopComposition", 5),
    ("CreateIngestConfiguration", 5),
    ("DeleteIngestConfiguration", 5),
    ("GetIngestConfiguration", 5),
    ("ListIngestConfigurations", 5),
    ("UpdateIngestConfiguration", 5),
    ("CreateEncoderConfiguration", 5),
    ("DeleteEncoderConfiguration", 5),
    ("GetEncoderConfiguration", 5),
    ("ListEncoderConfigurations", 5),
    ("DeletePublicKey", 3),
    ("GetPublicKey", 3),
    ("ImportPublicKey", 3),
    ("ListPublicKeys", 3),
    ("CreateParticipantToken", 50),
    ("CreateStage", 5),
    ("DeleteStage", 5),
    ("DisconnectParticipant", 5),
    ("GetParticipant", 5),
    ("GetStage", 5),
    ("GetStageSession", 5),
    ("ListStages", 5),
    ("UpdateStage", 5),
    ("ListParticipants", 5),
    ("ListParticipantEvents", 5),
    ("ListStageSessions", 5),
    ("CreateStorageConfiguration", 5),
    ("DeleteStorageConfiguration", 5),
    ("GetStorageConfiguration", 5),
    ("ListStorageConfigurations", 5),
    ("ListTagsForResource", 10),
    ("TagResource", 10),
    ("UntagResource", 10),
];

/// The documented calls a second of `operation` of `service`, if its table lists it.
pub(crate) fn documented_tps(service: Service, operation: &str) -> Option<u32> {
    let table = match service {
        Service::Ivs => IVS,
        Service::IvsChat => IVSCHAT,
        Service::IvsRealTime => IVSREALTIME,
    };
    table
        .iter()
        .find(|(name, _)| *name == operation)
        .map(|(_, tps)| *tps)
}

/// Windows kept before the idle ones are dropped.
const MAX_WINDOWS: usize = 10_000;

/// Account, region, service and operation.
type WindowKey = (String, String, Service, &'static str);

/// The calls of the last second per account, region and operation, when rate limits are on.
#[derive(Debug, Default)]
pub(crate) struct Rates {
    /// When each (account, region, service, operation)'s recent calls came, by
    /// `clock::now_millis`. Bounded: past [`MAX_WINDOWS`] only the windows of the last second are
    /// kept, and each window holds at most its TPS.
    windows: Mutex<HashMap<WindowKey, VecDeque<u64>>>,
}

impl Rates {
    /// Counts one call; `Some(tps)` when it is over the documented rate and must be throttled
    /// (a throttled call is not counted, as AWS does not count rejected calls against the rate).
    pub fn take(
        &self,
        account: &str,
        region: &str,
        service: Service,
        operation: &'static str,
    ) -> Option<u32> {
        let tps = documented_tps(service, operation)?;
        let now = crate::clock::now_millis();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_WINDOWS {
            // Counted before the region and account are checked, so a client varying them could
            // add windows without end: past the cap, windows of the last second alone are kept
            // (an older one holds no call that could still count).
            windows.retain(|_, calls| calls.back().is_some_and(|t| now.saturating_sub(*t) < 1000));
        }
        let key = (account.to_owned(), region.to_owned(), service, operation);
        let calls = windows.entry(key).or_default();
        while calls
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= 1000)
        {
            calls.pop_front();
        }
        if calls.len() >= tps as usize {
            return Some(tps);
        }
        calls.push_back(now);
        None
    }

    /// Forgets every window (the control plane's reset).
    pub fn reset(&self) {
        self.windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_operation_is_in_its_services_model() {
        for (service, table) in [
            (Service::Ivs, IVS),
            (Service::IvsChat, IVSCHAT),
            (Service::IvsRealTime, IVSREALTIME),
        ] {
            for (name, tps) in table {
                assert!(
                    service.catalog().operation(name).is_some(),
                    "{service:?} has no operation {name}"
                );
                assert!(*tps > 0);
            }
            let mut names: Vec<_> = table.iter().map(|(n, _)| n).collect();
            names.sort();
            names.dedup();
            assert_eq!(
                names.len(),
                table.len(),
                "{service:?} lists an operation twice"
            );
        }
    }

    #[test]
    fn a_window_admits_its_rate_then_throttles_per_key() {
        let rates = Rates::default();
        for _ in 0..5 {
            assert_eq!(
                rates.take("1", "us-west-2", Service::Ivs, "GetChannel"),
                None
            );
        }
        assert_eq!(
            rates.take("1", "us-west-2", Service::Ivs, "GetChannel"),
            Some(5)
        );
        // Other regions, accounts and operations have windows of their own.
        assert_eq!(
            rates.take("1", "eu-west-1", Service::Ivs, "GetChannel"),
            None
        );
        assert_eq!(
            rates.take("2", "us-west-2", Service::Ivs, "GetChannel"),
            None
        );
        assert_eq!(
            rates.take("1", "us-west-2", Service::Ivs, "ListChannels"),
            None
        );
        // Undocumented operations are never limited.
        for _ in 0..100 {
            assert_eq!(
                rates.take("1", "us-west-2", Service::Ivs, "InsertAdBreak"),
                None
            );
        }
        rates.reset();
        assert_eq!(
            rates.take("1", "us-west-2", Service::Ivs, "GetChannel"),
            None
        );
    }

    #[test]
    fn windows_of_idle_keys_are_dropped_past_the_cap() {
        let rates = Rates::default();
        // Every call in one second: nothing is idle, so the map holds them all.
        for n in 0..MAX_WINDOWS + 10 {
            rates.take(&n.to_string(), "us-west-2", Service::Ivs, "GetChannel");
        }
        let held = rates.windows.lock().unwrap().len();
        assert!(held > MAX_WINDOWS, "{held}");
        // Idle windows go once the cap is reached again.
        rates
            .windows
            .lock()
            .unwrap()
            .values_mut()
            .for_each(|calls| {
                calls.iter_mut().for_each(|t| *t = t.saturating_sub(5_000));
            });
        rates.take("new", "us-west-2", Service::Ivs, "GetChannel");
        assert_eq!(rates.windows.lock().unwrap().len(), 1);
    }
}
