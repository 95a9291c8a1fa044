//! Wall-clock dates and times as ivs-vcr writes them: the day a cassette is first recorded
//! (`provenance.recorded_on`, `YYYY-MM-DD`) and the times the emulator answers with, as IVS
//! writes them (ISO-8601 in UTC to the second, `2020-05-05T21:55:38Z`). One calendar conversion
//! for both, without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    now_millis() / 1000
}

/// Milliseconds since the Unix epoch: the one wall-clock read (the emulator's times, recording
/// durations and S3 prefixes all come from it).
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The UTC calendar minute of a time in seconds since the epoch: year, month, day, hour, minute
/// (an IVS recording's S3 prefix is made of them).
pub(crate) fn civil_minute(secs: u64) -> (i64, u32, u32, u32, u32) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    (y, m, d, (rem / 3600) as u32, (rem % 3600 / 60) as u32)
}

/// Today, as `YYYY-MM-DD` (UTC).
pub(crate) fn today() -> String {
    let (y, m, d) = civil_from_days((now_secs() / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Now, as IVS writes a time.
pub(crate) fn now() -> String {
    iso8601(now_secs())
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn iso8601(secs: u64) -> String {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (chat frames' `SendTime`).
pub(crate) fn iso8601_millis(ms: u64) -> String {
    let secs = iso8601(ms / 1000);
    format!("{}.{:03}Z", &secs[..secs.len() - 1], ms % 1000)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let check = |days: i64, expected: (i64, u32, u32)| {
            assert_eq!(civil_from_days(days), expected, "{days}");
        };
        check(0, (1970, 1, 1));
        check(19_782, (2024, 2, 29));
        check(20_788, (2026, 12, 1));
    }

    #[test]
    fn times_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_588_715_738), "2020-05-05T21:55:38Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(civil_minute(1_592_943_156), (2020, 6, 23, 20, 12));
    }
}
