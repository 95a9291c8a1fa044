//! Time as ivs-vcr tells it: the emulator's clock, which tests can move, and the calendar.
//!
//! The emulator's clock ([`now_millis`]) is the wall clock plus an offset that only the control
//! plane changes (`POST /_ivs-vcr/clock`): moving it forward moves every time-driven behaviour at
//! once (token and session expiry, rate windows, composition timeouts, recording configurations
//! settling, the times answers carry), so a test of a 30-minute timeout takes milliseconds. It
//! never goes back while the process runs, except to the wall clock on reset. It is read from a
//! monotonic source anchored to the wall clock at first use, so a wall-clock step (NTP) during a
//! run moves nothing; every timed behaviour reads it, never `SystemTime` directly.
//!
//! One clock per process: a server is one process, and the clock is part of its emulated world.
//! Unit tests never move it; the black-box tests, each with its own server process, do.
//!
//! Dates and times are written as IVS writes them (ISO-8601 in UTC to the second,
//! `2020-05-05T21:55:38Z`), and the day a cassette is first recorded (`provenance.recorded_on`,
//! `YYYY-MM-DD`, from the real wall clock), with one calendar conversion and no date crate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How far the emulator's clock is ahead of the wall clock, in milliseconds.
static OFFSET_MS: AtomicU64 = AtomicU64::new(0);

/// The wall clock at first use, and the monotonic instant it was read at.
fn anchor() -> &'static (Instant, u64) {
    static ANCHOR: OnceLock<(Instant, u64)> = OnceLock::new();
    ANCHOR.get_or_init(|| (Instant::now(), wall_millis()))
}

/// Tells the waiters of [`until`] that the clock moved.
fn moved() -> &'static tokio::sync::watch::Sender<u64> {
    static MOVED: OnceLock<tokio::sync::watch::Sender<u64>> = OnceLock::new();
    MOVED.get_or_init(|| tokio::sync::watch::channel(0).0)
}

fn wall_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The emulator's time, in milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> u64 {
    let (at, wall) = anchor();
    wall.saturating_add(at.elapsed().as_millis() as u64)
        .saturating_add(OFFSET_MS.load(Ordering::Relaxed))
}

/// The emulator's time, in whole seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    now_millis() / 1000
}

/// Moves the emulator's clock forward by `by`; the new time, in milliseconds.
pub(crate) fn advance(by: Duration) -> u64 {
    OFFSET_MS.fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    moved().send_modify(|n| *n += 1);
    now_millis()
}

/// Sets the emulator's clock to `epoch_millis`, which must not be before its time now (the
/// clock only moves forward: answers already given must stay in the past).
pub(crate) fn set(epoch_millis: u64) -> Result<u64, String> {
    let now = now_millis();
    let Some(ahead) = epoch_millis.checked_sub(now) else {
        return Err(format!(
            "{} is before the emulator's time, {}: the clock only moves forward (POST /_ivs-vcr/reset returns it to the wall clock)",
            iso8601(epoch_millis / 1000),
            iso8601(now / 1000)
        ));
    };
    Ok(advance(Duration::from_millis(ahead)))
}

/// Returns the emulator's clock to the wall clock.
pub(crate) fn reset() {
    OFFSET_MS.store(0, Ordering::Relaxed);
    moved().send_modify(|n| *n += 1);
}

/// How far the emulator's clock is ahead of the wall clock.
pub(crate) fn offset() -> Duration {
    Duration::from_millis(OFFSET_MS.load(Ordering::Relaxed))
}

/// Completes when the emulator's clock reaches `epoch_millis`: by waiting, or at once when the
/// clock is moved past it.
pub(crate) async fn until(epoch_millis: u64) {
    let mut moves = moved().subscribe();
    loop {
        let now = now_millis();
        if now >= epoch_millis {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(epoch_millis - now)) => {}
            changed = moves.changed() => {
                if changed.is_err() {
                    // The sender lives in a static and is never dropped.
                    tokio::time::sleep(Duration::from_millis(epoch_millis - now)).await;
                }
            }
        }
    }
}

/// Today by the wall clock, as `YYYY-MM-DD` (UTC): the real day a cassette was recorded, which
/// the emulator's clock does not move.
pub(crate) fn today() -> String {
    let (y, m, d) = civil_from_days((wall_millis() / 86_400_000) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Now by the emulator's clock, as IVS writes a time.
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

/// Seconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SS` with an optional fraction and `Z`
/// (the form every IVS time takes), or `None`.
pub(crate) fn parse_iso8601(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let time = time.split_once('.').map_or(time, |(whole, _)| whole);
    let num = |s: &str, len: usize| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    let mut t = time.split(':');
    let (h, min, sec) = (num(t.next()?, 2)?, num(t.next()?, 2)?, num(t.next()?, 2)?);
    if d.next().is_some() || t.next().is_some() || !(1..=12).contains(&m) || day == 0 {
        return None;
    }
    if h > 23 || min > 59 || sec > 59 || y < 1970 {
        return None;
    }
    let days = days_from_civil(i64::from(y), m, day);
    // A day past the month's end (`02-30`) comes back as another date: refused.
    if civil_from_days(days) != (i64::from(y), m, day) {
        return None;
    }
    Some(days as u64 * 86_400 + u64::from(h) * 3600 + u64::from(min) * 60 + u64::from(sec))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn times_parse_back() {
        for secs in [0, 951_782_400, 1_588_715_738, 1_900_000_000] {
            assert_eq!(parse_iso8601(&iso8601(secs)), Some(secs));
        }
        assert_eq!(
            parse_iso8601("2020-05-05T21:55:38.123Z"),
            Some(1_588_715_738)
        );
        for bad in [
            "2020-02-30T00:00:00Z",
            "2020-13-01T00:00:00Z",
            "2020-05-05T24:00:00Z",
            "2020-05-05 21:55:38Z",
            "2020-05-05T21:55:38",
            "20-05-05T21:55:38Z",
            "",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn every_second_round_trips(secs in 0u64..8_000_000_000) {
            proptest::prop_assert_eq!(parse_iso8601(&iso8601(secs)), Some(secs));
        }
    }

    #[test]
    fn times_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_588_715_738), "2020-05-05T21:55:38Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }
}
