//! Datetimes as the existing deployment writes them.
//!
//! The old layer wrote Python's `datetime.isoformat()`: naive or with an offset, with or
//! without microseconds, and some records carry a `Z`. Python code that still reads these
//! records compares naive with naive and aware with aware, so a rewrite must not change which
//! kind a stored value is. [`Timestamp`] therefore keeps the text it was read from and writes
//! it back unchanged; new timestamps are written aware, in UTC, with microseconds.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A point in time plus the exact text it is stored as.
#[derive(Clone, PartialEq, Eq)]
pub struct Timestamp {
    instant: DateTime<Utc>,
    text: String,
}

impl Timestamp {
    /// Now, in UTC.
    pub fn now() -> Self {
        Self::from_utc(Utc::now())
    }

    /// `instant`, written as `isoformat()` writes an aware UTC datetime.
    pub fn from_utc(instant: DateTime<Utc>) -> Self {
        // The text keeps microseconds; so must the instant, or a record would not equal
        // itself read back.
        let instant = instant.trunc_subsecs(6);
        let text = instant.to_rfc3339_opts(SecondsFormat::Micros, false);
        Timestamp { instant, text }
    }

    /// Parses every form `isoformat()` writes, plus a trailing `Z`. A naive value is UTC.
    pub fn parse(text: &str) -> Option<Self> {
        let instant = DateTime::parse_from_rfc3339(text)
            .map(|aware| aware.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc())
            })
            .ok()?;
        Some(Timestamp {
            instant,
            text: text.to_owned(),
        })
    }

    /// The instant, in UTC.
    pub fn instant(&self) -> DateTime<Utc> {
        self.instant
    }

    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| de::Error::custom(format_args!("`{text}` is not an ISO-8601 datetime")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_isoformat_form() {
        let forms = [
            ("2025-08-20T09:15:02.118734", 118_734_000),
            ("2025-08-20T09:15:02", 0),
            ("2025-08-20T09:15:02+00:00", 0),
            ("2025-08-20T09:15:02.118734+00:00", 118_734_000),
            ("2025-08-20T09:15:02.5Z", 500_000_000),
            ("2025-08-20T11:15:02+02:00", 0),
        ];
        for (text, nanos) in forms {
            let parsed = Timestamp::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(parsed.instant().timestamp(), 1_755_681_302, "{text}");
            assert_eq!(parsed.instant().timestamp_subsec_nanos(), nanos, "{text}");
            assert_eq!(parsed.as_str(), text);
        }
        assert!(Timestamp::parse("yesterday").is_none());
        assert!(Timestamp::parse("2025-13-01T00:00:00").is_none());
    }

    #[test]
    fn new_timestamps_are_aware_utc_with_microseconds() {
        let stamp = Timestamp::from_utc(DateTime::from_timestamp(1_755_681_302, 5_999).unwrap());
        assert_eq!(stamp.as_str(), "2025-08-20T09:15:02.000005+00:00");
        assert_eq!(Timestamp::parse(stamp.as_str()), Some(stamp));
    }

    #[test]
    fn json_round_trip_keeps_the_text() {
        let json = "\"2025-08-22T10:00:00.5Z\"";
        let stamp: Timestamp = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&stamp).unwrap(), json);
    }
}
