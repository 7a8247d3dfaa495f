//! Instants and durations as operators type them on the command line
//! ([`InstantArg`], [`DurationArg`], named so as not to be taken for `std::time`'s
//! types), and the command's [`Clock`].
//!
//! An instant is RFC 3339 with an offset (`2026-01-17T00:00:00Z`), a bare date
//! (`2026-01-17`, midnight UTC) or `now`; it must fall on a whole second, because the
//! manifest stores whole seconds. A duration is jiff's friendly or ISO 8601 form in
//! units up to weeks (`90d`, `12h`, `2w`, `1w 3d`, `P90D`), with days of 24 hours:
//! months and years have no fixed length, so they are refused. Nothing here reads
//! the clock except [`Clock::now`], and `--now` replaces even that. Instants are shown
//! as every CAIO command shows them ([`caio_keyring::view`]): [`format_instant`] is
//! that spelling.

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp};

/// Seconds in a day: policy values are whole days of 24 hours.
pub const DAY: i64 = 86_400;

/// An instant on the command line, resolved against the clock when used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstantArg {
    /// `now`: whatever the clock says when the command runs.
    Now,
    /// A fixed instant, in unix seconds.
    At(i64),
}

/// A non-negative duration on the command line, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg(i64);

/// The command's notion of the current time: the system clock, or `--now`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    fixed: Option<i64>,
}

impl InstantArg {
    /// Unix seconds, with `now` taken from `clock`.
    pub fn resolve(self, clock: Clock) -> i64 {
        match self {
            Self::Now => clock.now(),
            Self::At(t) => t,
        }
    }
}

impl FromStr for InstantArg {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        if s == "now" {
            return Ok(Self::Now);
        }
        let ts = match s.parse::<Timestamp>() {
            Ok(ts) => ts,
            // Only a bare date: jiff would also read a date out of a datetime.
            Err(e) => match s
                .parse::<jiff::civil::Date>()
                .ok()
                .filter(|_| s.len() == 10)
            {
                Some(date) => jiff::tz::Offset::UTC
                    .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
                    .context("date out of range")?,
                None => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "{s:?} is not an instant; use RFC 3339 like 2026-01-17T00:00:00Z, a date like 2026-01-17, or `now`"
                    )));
                }
            },
        };
        if ts.subsec_nanosecond() != 0 {
            bail!("{s:?} has a fraction of a second; the manifest stores whole seconds");
        }
        Ok(Self::At(ts.as_second()))
    }
}

impl DurationArg {
    /// Whole days.
    pub const fn days(days: u32) -> Self {
        Self(days as i64 * DAY)
    }

    /// Seconds.
    pub const fn seconds(self) -> i64 {
        self.0
    }
}

impl FromStr for DurationArg {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let hint = "use units up to weeks, like 90d, 12h, 2w";
        let span: Span = s
            .parse()
            .with_context(|| format!("{s:?} is not a duration; {hint}"))?;
        let duration: SignedDuration = span
            .to_duration(SpanRelativeTo::days_are_24_hours())
            .with_context(|| format!("{s:?} has no fixed length; {hint}"))?;
        if duration.is_negative() {
            bail!("{s:?} is negative; a duration here is a length of time");
        }
        if duration.subsec_nanos() != 0 {
            bail!("{s:?} has a fraction of a second; use whole seconds");
        }
        Ok(Self(duration.as_secs()))
    }
}

impl fmt::Display for DurationArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % DAY == 0 {
            write!(f, "{}d", self.0 / DAY)
        } else {
            write!(f, "{}s", self.0)
        }
    }
}

impl Clock {
    /// The system clock, or the fixed instant given with `--now`.
    pub fn new(fixed: Option<InstantArg>) -> Self {
        let system = Self { fixed: None };
        Self {
            fixed: fixed.map(|i| i.resolve(system)),
        }
    }

    /// Now, in whole unix seconds.
    pub fn now(self) -> i64 {
        self.fixed.unwrap_or_else(|| Timestamp::now().as_second())
    }
}

/// Formats unix seconds as the manifest writes them, `2026-01-17T00:00:00Z`: the one
/// spelling of an instant, with `none` for an open end and `unix:<seconds>` for an
/// instant RFC 3339 cannot show.
pub use caio_keyring::view::instant_text as format_instant;

/// Formats unix seconds as a date, `2026-01-17`, for charts; an open end and an
/// instant out of range as [`format_instant`] shows them.
pub fn format_date(t: i64) -> String {
    match Timestamp::from_second(t) {
        Ok(ts) => jiff::tz::Offset::UTC.to_datetime(ts).date().to_string(),
        // The open end is out of range too.
        Err(_) => format_instant(t),
    }
}

/// Formats a length of time in days, with one decimal when it is not whole.
pub fn format_days(seconds: i64) -> String {
    if seconds % DAY == 0 {
        format!("{}d", seconds / DAY)
    } else {
        // Display only; the value is never parsed back.
        #[allow(clippy::cast_precision_loss)]
        let days = seconds as f64 / DAY as f64;
        format!("{days:.1}d")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_duration(input: &str, expected: Option<i64>) {
        assert_eq!(
            input.parse::<DurationArg>().ok().map(DurationArg::seconds),
            expected,
            "{input}"
        );
    }

    fn check_instant(input: &str, expected: Option<InstantArg>) {
        assert_eq!(input.parse::<InstantArg>().ok(), expected, "{input}");
    }

    #[test]
    fn durations() {
        check_duration("90d", Some(90 * DAY));
        check_duration("12h", Some(12 * 3600));
        check_duration("2w", Some(14 * DAY));
        check_duration("1w 3d", Some(10 * DAY));
        check_duration("P90D", Some(90 * DAY));
        check_duration("0d", Some(0));
        check_duration("1y", None);
        check_duration("3mo", None);
        check_duration("-5d", None);
        check_duration("1.5s", None);
        check_duration("soon", None);
    }

    #[test]
    fn instants() {
        check_instant("now", Some(InstantArg::Now));
        check_instant("2026-01-17T00:00:00Z", Some(InstantArg::At(1_768_608_000)));
        check_instant(
            "2026-01-17T02:00:00+02:00",
            Some(InstantArg::At(1_768_608_000)),
        );
        check_instant("2026-01-17", Some(InstantArg::At(1_768_608_000)));
        check_instant("2026-01-17T00:00:00.5Z", None);
        check_instant("2026-01-17T00:00:00", None);
        check_instant("tomorrow", None);
    }

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_instant(1_768_608_000), "2026-01-17T00:00:00Z");
        assert_eq!(format_date(1_768_608_000), "2026-01-17");
        assert_eq!(format_date(caio_keyring::OPEN_END), "none");
        assert_eq!(format_date(i64::MIN), "unix:-9223372036854775808");
        assert_eq!(format_days(90 * DAY), "90d");
        assert_eq!(format_days(DAY / 2), "0.5d");
    }
}
