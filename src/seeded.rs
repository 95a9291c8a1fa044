//! Seeded, reproducible randomness: splitmix64 (Steele, Lea and Flood, 2014), tiny, fast, and
//! the same sequence on every platform. The emulator's ids and secrets and the fault rules'
//! `rate` draws come from it, so the same seed and the same calls give the same run.

/// A splitmix64 generator. Its whole state is one number, which a state snapshot keeps
/// (`emulator::snapshot`) as a decimal string: JSON readers that hold numbers as doubles
/// (JavaScript's) would round a 64-bit integer, and the next id would differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl serde::Serialize for SplitMix64 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.state)
    }
}

impl<'de> serde::Deserialize<'de> for SplitMix64 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse::<u64>().map(SplitMix64::new).map_err(|_| {
            serde::de::Error::custom(
                "an id generator's state is a decimal string of a 64-bit unsigned integer",
            )
        })
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A draw in [0, 1) from the top 53 bits, so `rate: 1` always fires and `rate: 0` never does.
    pub(crate) fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` characters of `[A-Za-z0-9]`: resource ids are 12 of them, as in IVS's examples.
    pub(crate) fn alnum(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| ALNUM[(self.next_u64() % ALNUM.len() as u64) as usize] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Reference values of splitmix64 seeded with 0 (as in Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn state_round_trips_as_a_string_and_continues_the_sequence() {
        let mut rng = SplitMix64::new(u64::MAX - 3);
        rng.next_u64();
        let json = serde_json::to_value(&rng).unwrap();
        assert!(json.is_string(), "{json}");
        let mut back: SplitMix64 = serde_json::from_value(json).unwrap();
        assert_eq!(back.next_u64(), rng.next_u64());
        assert!(serde_json::from_value::<SplitMix64>(serde_json::json!(12)).is_err());
        assert!(serde_json::from_value::<SplitMix64>(serde_json::json!("-1")).is_err());
    }
}
