//! Where a report is: a position with its accuracy, where it came from, and when it was taken.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How a position was obtained. Cities weigh a GPS fix differently from a pin dropped on a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LocationSource {
    /// Satellite fix from the device.
    Gps,
    /// Network (cell or Wi-Fi) position from the device.
    Network,
    /// A pin the user placed on a map.
    ManualPin,
    /// The GPS tags of a photo attached to the report.
    PhotoExif,
    /// Geocoded from an address the user typed.
    Address,
}

impl LocationSource {
    /// Stable name used in storage, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            LocationSource::Gps => "gps",
            LocationSource::Network => "network",
            LocationSource::ManualPin => "manual_pin",
            LocationSource::PhotoExif => "photo_exif",
            LocationSource::Address => "address",
        }
    }

    /// Parses a name produced by [`LocationSource::as_str`].
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "gps" => LocationSource::Gps,
            "network" => LocationSource::Network,
            "manual_pin" => LocationSource::ManualPin,
            "photo_exif" => LocationSource::PhotoExif,
            "address" => LocationSource::Address,
            _ => {
                return Err(Error::invalid(
                    "location.source",
                    "expected one of gps, network, manual_pin, photo_exif, address",
                ))
            }
        })
    }
}

/// A WGS 84 position attached to a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Location {
    /// Degrees north, -90 to 90.
    pub latitude: f64,
    /// Degrees east, -180 to 180.
    pub longitude: f64,
    /// Radius of the 68% confidence circle in metres, when the source reports one.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub accuracy_m: Option<f64>,
    /// How the position was obtained.
    pub source: LocationSource,
    /// When the position was taken (not when the draft was saved).
    pub captured_at: DateTime<Utc>,
}

impl Location {
    /// Checks that the numbers describe a real place; NaN and out-of-range values are refused.
    pub fn validate(&self) -> Result<()> {
        if !self.latitude.is_finite() || !(-90.0..=90.0).contains(&self.latitude) {
            return Err(Error::invalid(
                "location.latitude",
                "must be a number from -90 to 90",
            ));
        }
        if !self.longitude.is_finite() || !(-180.0..=180.0).contains(&self.longitude) {
            return Err(Error::invalid(
                "location.longitude",
                "must be a number from -180 to 180",
            ));
        }
        if let Some(accuracy) = self.accuracy_m {
            if !accuracy.is_finite() || accuracy < 0.0 {
                return Err(Error::invalid(
                    "location.accuracy_m",
                    "must be a finite number of metres, 0 or more",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(latitude: f64, longitude: f64, accuracy_m: Option<f64>) -> Location {
        Location {
            latitude,
            longitude,
            accuracy_m,
            source: LocationSource::Gps,
            captured_at: Utc::now(),
        }
    }

    fn field_of(location: Location) -> &'static str {
        match location.validate() {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_edges_of_the_globe() {
        for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0), (52.52, 13.405)] {
            at(lat, lon, Some(0.0)).validate().unwrap();
        }
        at(1.0, 1.0, None).validate().unwrap();
    }

    #[test]
    fn names_the_field_that_is_wrong() {
        assert_eq!(field_of(at(200.0, 0.0, None)), "location.latitude");
        assert_eq!(field_of(at(f64::NAN, 0.0, None)), "location.latitude");
        assert_eq!(field_of(at(0.0, -180.5, None)), "location.longitude");
        assert_eq!(field_of(at(0.0, f64::INFINITY, None)), "location.longitude");
        assert_eq!(field_of(at(1.0, 1.0, Some(-3.0))), "location.accuracy_m");
        assert_eq!(
            field_of(at(1.0, 1.0, Some(f64::NAN))),
            "location.accuracy_m"
        );
    }

    #[test]
    fn source_names_round_trip() {
        use LocationSource::*;
        for source in [Gps, Network, ManualPin, PhotoExif, Address] {
            assert_eq!(LocationSource::parse(source.as_str()).unwrap(), source);
        }
        assert!(LocationSource::parse("satellite").is_err());
    }
}
