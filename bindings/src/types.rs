//! Records and enums as Kotlin and Swift see them, with conversions to and from the core.
//! Times are `java.time.Instant` in Kotlin and `Date` in Swift.

use std::time::SystemTime;

use curbside_core as core;

use crate::AttributeAnswer;

/// How a position was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
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

/// A WGS 84 position attached to a report.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Location {
    /// Degrees north, -90 to 90.
    pub latitude: f64,
    /// Degrees east, -180 to 180.
    pub longitude: f64,
    /// Radius of the 68% confidence circle in metres, when the source reports one.
    pub accuracy_m: Option<f64>,
    /// How the position was obtained.
    pub source: LocationSource,
    /// When the position was taken (not when the draft was saved).
    pub captured_at: SystemTime,
}

/// The parts of a draft the user edits. Any of them may still be missing while drafting.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DraftFields {
    /// The city's `service_code` for the kind of problem, once chosen.
    #[uniffi(default = None)]
    pub service_code: Option<String>,
    /// Where the problem is, once known.
    #[uniffi(default = None)]
    pub location: Option<Location>,
    /// What the citizen wrote.
    #[uniffi(default = "")]
    pub description: String,
    /// An address, when there is no position (or to help the crew find it).
    #[uniffi(default = None)]
    pub address_string: Option<String>,
    /// Answers to the service definition's questions.
    #[uniffi(default = [])]
    pub attributes: Vec<AttributeAnswer>,
    /// Who to contact; null/nil (anonymous) unless the user chose to share.
    #[uniffi(default = None)]
    pub contact: Option<Contact>,
    /// Paths of the photos to send (already compressed).
    #[uniffi(default = [])]
    pub photos: Vec<String>,
    /// The city profile the report is for, once chosen (set by `service_form`).
    #[uniffi(default = None)]
    pub profile_id: Option<String>,
    /// The user confirmed a position that looks wrong (such as 0, 0).
    #[uniffi(default = false)]
    pub location_confirmed: bool,
}

/// The reporter's contact details, each shared only if the user chose to.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Contact {
    /// First name.
    #[uniffi(default = None)]
    pub first_name: Option<String>,
    /// Last name.
    #[uniffi(default = None)]
    pub last_name: Option<String>,
    /// E-mail address.
    #[uniffi(default = None)]
    pub email: Option<String>,
    /// Phone number.
    #[uniffi(default = None)]
    pub phone: Option<String>,
}

/// A saved draft.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Draft {
    /// Stable id (a UUID string), used to update or delete the draft.
    pub id: String,
    /// What the user entered.
    pub fields: DraftFields,
    /// When the draft was first saved.
    pub created_at: SystemTime,
    /// When it was last changed.
    pub updated_at: SystemTime,
}

impl From<LocationSource> for core::LocationSource {
    fn from(source: LocationSource) -> Self {
        match source {
            LocationSource::Gps => Self::Gps,
            LocationSource::Network => Self::Network,
            LocationSource::ManualPin => Self::ManualPin,
            LocationSource::PhotoExif => Self::PhotoExif,
            LocationSource::Address => Self::Address,
        }
    }
}

impl From<core::LocationSource> for LocationSource {
    fn from(source: core::LocationSource) -> Self {
        match source {
            core::LocationSource::Gps => Self::Gps,
            core::LocationSource::Network => Self::Network,
            core::LocationSource::ManualPin => Self::ManualPin,
            core::LocationSource::PhotoExif => Self::PhotoExif,
            core::LocationSource::Address => Self::Address,
        }
    }
}

impl From<Location> for core::Location {
    fn from(l: Location) -> Self {
        Self {
            latitude: l.latitude,
            longitude: l.longitude,
            accuracy_m: l.accuracy_m,
            source: l.source.into(),
            captured_at: l.captured_at.into(),
        }
    }
}

impl From<core::Location> for Location {
    fn from(l: core::Location) -> Self {
        Self {
            latitude: l.latitude,
            longitude: l.longitude,
            accuracy_m: l.accuracy_m,
            source: l.source.into(),
            captured_at: l.captured_at.into(),
        }
    }
}

impl From<DraftFields> for core::DraftFields {
    fn from(f: DraftFields) -> Self {
        Self {
            service_code: f.service_code,
            location: f.location.map(Into::into),
            description: f.description,
            address_string: f.address_string,
            attributes: f.attributes.into_iter().map(Into::into).collect(),
            contact: f.contact.map(Into::into).unwrap_or_default(),
            photos: f.photos,
            profile_id: f.profile_id,
            definition: None,
            location_confirmed: f.location_confirmed,
        }
    }
}

impl From<core::DraftFields> for DraftFields {
    fn from(f: core::DraftFields) -> Self {
        let anonymous = f.contact == core::Contact::default();
        Self {
            service_code: f.service_code,
            location: f.location.map(Into::into),
            description: f.description,
            address_string: f.address_string,
            attributes: f.attributes.into_iter().map(Into::into).collect(),
            contact: (!anonymous).then(|| f.contact.into()),
            photos: f.photos,
            profile_id: f.profile_id,
            location_confirmed: f.location_confirmed,
        }
    }
}

impl From<Contact> for core::Contact {
    fn from(c: Contact) -> Self {
        Self {
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            phone: c.phone,
        }
    }
}

impl From<core::Contact> for Contact {
    fn from(c: core::Contact) -> Self {
        Self {
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            phone: c.phone,
        }
    }
}

impl From<core::Draft> for Draft {
    fn from(d: core::Draft) -> Self {
        Self {
            id: d.id.to_string(),
            fields: d.fields.into(),
            created_at: d.created_at.into(),
            updated_at: d.updated_at.into(),
        }
    }
}

/// What the app wants from its photos.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotoProfile {
    /// Longest edge of the output in pixels.
    #[uniffi(default = 2048)]
    pub max_edge: u32,
    /// JPEG quality tried first.
    #[uniffi(default = 80)]
    pub quality: u8,
    /// Largest output in bytes.
    #[uniffi(default = 800000)]
    pub budget_bytes: u64,
    /// Lowest quality before the size is stepped down instead.
    #[uniffi(default = 55)]
    pub quality_floor: u8,
    /// Photos per report.
    #[uniffi(default = 3)]
    pub max_photos: u32,
}

/// A photo ready to travel, and what it told about where it was taken.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AddedPhoto {
    /// The draft, with the photo added.
    pub draft: Draft,
    /// The processed JPEG's path (in the app's photo directory).
    pub path: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
    /// JPEG quality used.
    pub quality: u8,
    /// True when the original's colour profile (such as Display P3) was kept.
    pub color_profile_kept: bool,
    /// Where and when the photo was taken (from EXIF), to offer when the device has no fix.
    pub location_candidate: Option<Location>,
}

impl From<PhotoProfile> for core::photo::PhotoProfile {
    fn from(p: PhotoProfile) -> Self {
        Self {
            max_edge: p.max_edge,
            quality: p.quality,
            budget_bytes: p.budget_bytes as usize,
            quality_floor: p.quality_floor,
            max_photos: p.max_photos as usize,
            ..Default::default()
        }
    }
}

impl AddedPhoto {
    pub(crate) fn new(draft: core::Draft, photo: core::photo::ProcessedPhoto) -> Self {
        Self {
            draft: draft.into(),
            path: photo.path.display().to_string(),
            width: photo.width,
            height: photo.height,
            bytes: photo.bytes as u64,
            quality: photo.quality,
            color_profile_kept: photo.color_profile_kept,
            location_candidate: photo.location.map(|l| Location {
                latitude: l.latitude,
                longitude: l.longitude,
                accuracy_m: l.accuracy_m,
                source: LocationSource::PhotoExif,
                captured_at: l
                    .captured_at
                    .map(Into::into)
                    .unwrap_or_else(SystemTime::now),
            }),
        }
    }
}
