//! The benches' latency histogram (`benches/support/latencies.rs`), tested here: a bench target
//! runs no tests.

use std::time::Duration;

#[path = "../../benches/support/latencies.rs"]
#[allow(dead_code)]
mod latencies;

use proptest::prelude::*;

use latencies::{Latencies, SUB};

proptest! {
    /// Every percentile of latencies recorded into two histograms and merged is within 1.6%
    /// of the one a sorted list gives (exact below 64 ns), and the count is the count.
    #[test]
    fn percentiles_are_within_a_bucket_of_the_sorted_list(
        nanos in proptest::collection::vec(prop_oneof![0u64..200, 0u64..10_000_000], 1..400),
        p in 0.0f64..1.0,
    ) {
        let mut halves = [Latencies::default(), Latencies::default()];
        for (i, &ns) in nanos.iter().enumerate() {
            halves[i % 2].record(Duration::from_nanos(ns));
        }
        let [mut all, other] = halves;
        all.merge(&other);
        prop_assert_eq!(all.len(), nanos.len());
        let mut sorted = nanos.clone();
        sorted.sort_unstable();
        let exact = sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
        let got = u64::try_from(all.percentile(p).as_nanos()).unwrap();
        if exact < SUB {
            prop_assert_eq!(got, exact);
        } else {
            let error = got.abs_diff(exact) as f64 / exact as f64;
            prop_assert!(error <= 1.0 / SUB as f64, "exact {} got {}", exact, got);
        }
    }
}

#[test]
fn an_empty_histogram_reads_zero_and_a_huge_latency_lands_in_the_last_bucket() {
    let mut latencies = Latencies::default();
    assert_eq!(latencies.percentile(0.99), Duration::ZERO);
    latencies.record(Duration::from_secs(100_000));
    assert_eq!(latencies.len(), 1);
    assert!(latencies.percentile(0.5) >= Duration::from_secs(500));
}
