//! Latencies as a histogram, for the load generators. Its tests are in
//! `tests/it/bench_latencies.rs`, which includes this file: a bench target runs no tests.

use std::time::Duration;

/// Latencies as a log-linear histogram (as wrk and HdrHistogram keep them): 64 buckets per
/// power of two of nanoseconds, so a percentile is within 1.6% of the true one. A connection
/// records into a few kilobytes that stay in cache, where a list of every latency would write
/// 16 bytes per request (12 MB a round) through the cache the servers share with the load.
#[derive(Debug, Clone)]
pub struct Latencies {
    counts: Vec<u64>,
    n: u64,
}

/// Sub-buckets per power of two, as a number of bits.
const SUB_BITS: u32 = 6;
pub(crate) const SUB: u64 = 1 << SUB_BITS;

impl Default for Latencies {
    fn default() -> Latencies {
        // Nanoseconds up to 2^40 (about 18 minutes): the linear range, then 34 powers of two.
        Latencies {
            counts: vec![0; ((40 - SUB_BITS as usize) + 1) * SUB as usize],
            n: 0,
        }
    }
}

impl Latencies {
    /// The bucket of `ns`: its value itself below [`SUB`], else its power of two and the
    /// [`SUB_BITS`] bits that follow the leading one.
    fn bucket(ns: u64) -> usize {
        if ns < SUB {
            return ns as usize;
        }
        let exp = 63 - ns.leading_zeros();
        let mantissa = (ns >> (exp - SUB_BITS)) & (SUB - 1);
        ((exp - SUB_BITS + 1) as u64 * SUB + mantissa) as usize
    }

    /// The smallest value of bucket `idx`.
    fn lowest(idx: usize) -> u64 {
        let (row, mantissa) = (idx as u64 / SUB, idx as u64 % SUB);
        if row == 0 {
            mantissa
        } else {
            (SUB + mantissa) << (row - 1)
        }
    }

    /// Counts one latency.
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let idx = Self::bucket(ns).min(self.counts.len() - 1);
        self.counts[idx] += 1;
        self.n += 1;
    }

    /// Adds another histogram's counts to this one.
    pub fn merge(&mut self, other: &Latencies) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.n += other.n;
    }

    /// How many latencies were recorded.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    /// The latency at fraction `p` (0.5 for the median) of those recorded, as the middle of its
    /// bucket; zero when none was.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.n == 0 {
            return Duration::ZERO;
        }
        // The same rank as indexing a sorted list at `n * p`.
        let rank = ((self.n as f64 * p) as u64).min(self.n - 1);
        let mut seen = 0;
        for (idx, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen > rank {
                let (low, high) = (Self::lowest(idx), Self::lowest(idx + 1));
                return Duration::from_nanos(low + (high - low) / 2);
            }
        }
        Duration::ZERO
    }
}
