//! A server's time zone: the times some servers send (and some want in queries) carry none,
//! so they are read in the server's zone, with daylight saving where it has it.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The zone a server's zone-less times are in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServerZone {
    /// A fixed offset (older profiles' `utc_offset_seconds`; UTC by default).
    Fixed(FixedOffset),
    /// An IANA zone, such as `America/Chicago`.
    Named(Tz),
}

impl From<FixedOffset> for ServerZone {
    fn from(offset: FixedOffset) -> Self {
        ServerZone::Fixed(offset)
    }
}

impl ServerZone {
    /// The IANA zone `name`; an unknown name says so.
    pub fn named(name: &str) -> Result<Self, String> {
        name.trim()
            .parse::<Tz>()
            .map(ServerZone::Named)
            .map_err(|_| format!("{name:?} is not an IANA time zone such as \"America/Chicago\""))
    }

    /// The moment a local time of the server names. An hour that happens twice (clocks going
    /// back) is taken the first time; an hour that is skipped (clocks going forward) is read
    /// as the moment after the jump, as a wall clock would show it.
    pub fn to_utc(self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            ServerZone::Fixed(offset) => offset
                .from_local_datetime(&local)
                .single()
                .map(|t| t.with_timezone(&Utc)),
            ServerZone::Named(tz) => tz
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                        .earliest()
                })
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    /// The server's local time at moment `t`.
    pub fn local(self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            ServerZone::Fixed(offset) => t.with_timezone(&offset).naive_local(),
            ServerZone::Named(tz) => t.with_timezone(&tz).naive_local(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    #[test]
    fn a_named_zone_follows_daylight_saving() {
        let chicago = ServerZone::named("America/Chicago").unwrap();
        let winter = chicago.to_utc(local("2026-01-15T10:00:00")).unwrap();
        let summer = chicago.to_utc(local("2026-07-15T10:00:00")).unwrap();
        assert_eq!(
            winter.to_rfc3339(),
            "2026-01-15T16:00:00+00:00",
            "CST, UTC-6"
        );
        assert_eq!(
            summer.to_rfc3339(),
            "2026-07-15T15:00:00+00:00",
            "CDT, UTC-5"
        );
        // 2026-03-08 02:30 does not exist in Chicago; 2026-11-01 01:30 happens twice.
        assert_eq!(
            chicago
                .to_utc(local("2026-03-08T02:30:00"))
                .unwrap()
                .to_rfc3339(),
            "2026-03-08T08:30:00+00:00"
        );
        assert_eq!(
            chicago
                .to_utc(local("2026-11-01T01:30:00"))
                .unwrap()
                .to_rfc3339(),
            "2026-11-01T06:30:00+00:00"
        );
        assert_eq!(chicago.local(winter), local("2026-01-15T10:00:00"));
        assert!(ServerZone::named("Mars/Olympus_Mons").is_err());
    }
}
