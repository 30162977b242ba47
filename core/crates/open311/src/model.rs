//! GeoReport v2 as Curbside models it: every id, code, key and token is an opaque string,
//! everything a server "may not return" is optional, and empty text counts as absent.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The wire format of a server's responses, chosen by the URL suffix (`.json` / `.xml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Format {
    /// JSON, optional in the spec but served by most modern servers.
    Json,
    /// XML, the spec's required format; some cities serve nothing else.
    Xml,
}

impl Format {
    /// The URL suffix, without the dot.
    pub fn suffix(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Xml => "xml",
        }
    }
}

/// A server's discovery document (`discovery.{fmt}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    /// Sortable "last changed" string; a change invalidates cached services and definitions.
    pub changeset: Option<String>,
    /// Who runs the service, in words.
    pub contact: Option<String>,
    /// How to get an API key, in words.
    pub key_service: Option<String>,
    /// The endpoints the server lists.
    pub endpoints: Vec<DiscoveryEndpoint>,
}

/// One endpoint listed by discovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryEndpoint {
    /// Which specification it speaks, such as `http://wiki.open311.org/GeoReport_v2`.
    pub specification: String,
    /// Its base URL.
    pub url: String,
    /// Its own changeset, if given.
    pub changeset: Option<String>,
    /// `production` or `test`.
    pub kind: Option<String>,
    /// MIME types it serves, such as `text/xml` and `application/json`.
    pub formats: Vec<String>,
}

impl DiscoveryEndpoint {
    /// JSON when the endpoint lists it (or lists nothing), otherwise XML.
    pub fn preferred_format(&self) -> Format {
        let json = self.formats.iter().any(|f| f.contains("json"));
        if json || self.formats.is_empty() {
            Format::Json
        } else {
            Format::Xml
        }
    }
}

impl Discovery {
    /// The GeoReport v2 endpoint to use: production before test, v2 before the v2.1 draft.
    pub fn georeport_v2(&self) -> Option<&DiscoveryEndpoint> {
        let rank = |e: &DiscoveryEndpoint| {
            let spec = e.specification.to_ascii_lowercase();
            let v2 = spec.contains("georeport_v2") || spec.contains("georeport/v2");
            let exact_v2 = v2 && !spec.contains("2.1");
            let production = e
                .kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case("production"));
            (v2, production, exact_v2)
        };
        self.endpoints
            .iter()
            .filter(|e| rank(e).0)
            .max_by_key(|e| rank(e))
    }
}

/// How a service's requests get their id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ServiceType {
    /// The POST answers with the id.
    Realtime,
    /// The POST answers with a token; the id comes later from `tokens/{token}`.
    Batch,
    /// The POST answers with neither.
    Blackbox,
}

/// One kind of problem the city accepts (`services.{fmt}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Service {
    /// Its code, used in every request.
    pub code: String,
    /// Its name, for people.
    pub name: String,
    /// A longer explanation.
    pub description: Option<String>,
    /// True when the service has a definition (extra questions) to fetch.
    pub metadata: bool,
    /// How its requests get their id.
    pub kind: ServiceType,
    /// Search words.
    pub keywords: Vec<String>,
    /// Category, for grouping in a list.
    pub group: Option<String>,
}

/// The type of an answer to a service definition's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Datatype {
    /// One line of text.
    String,
    /// A number.
    Number,
    /// A date and time (sent as ISO 8601).
    Datetime,
    /// Several lines of text.
    Text,
    /// One key from `values`.
    SingleValueList,
    /// Any number of keys from `values`.
    MultiValueList,
}

/// One choice of a list question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AttributeValue {
    /// What is sent.
    pub key: String,
    /// What is shown.
    pub name: String,
}

/// One question of a service definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Attribute {
    /// Its code, sent as `attribute[code]`.
    pub code: String,
    /// False for information to show, with no answer to give.
    pub variable: bool,
    /// The type of answer.
    pub datatype: Datatype,
    /// True when an answer is required.
    pub required: bool,
    /// Help for the answer's format.
    pub datatype_description: Option<String>,
    /// Display position (1 first); questions are sorted by it.
    pub order: Option<u32>,
    /// The question or label.
    pub description: String,
    /// The choices, for list questions.
    pub values: Vec<AttributeValue>,
}

/// A service's extra questions (`services/{code}.{fmt}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ServiceDefinition {
    /// The service it defines.
    pub service_code: String,
    /// Its questions, in display order.
    pub attributes: Vec<Attribute>,
}

/// An update in a request's history (`extensions=true` notes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Note {
    /// When it happened.
    pub datetime: Option<DateTime<Utc>>,
    /// Its kind (`opened`, `activity`, `closed`, ...), as the server names it.
    pub kind: Option<String>,
    /// What happened.
    pub summary: Option<String>,
    /// More detail.
    pub description: Option<String>,
}

/// A service request as a server reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ServiceRequest {
    /// The city's id, once known.
    pub id: Option<String>,
    /// The token of a batch POST, while the id is not known.
    pub token: Option<String>,
    /// `open`, `closed`, or a server's own status, lower-cased.
    pub status: Option<String>,
    /// The city's explanation of the status.
    pub status_notes: Option<String>,
    /// The service's name.
    pub service_name: Option<String>,
    /// The service's code.
    pub service_code: Option<String>,
    /// What was reported.
    pub description: Option<String>,
    /// Who handles it.
    pub agency_responsible: Option<String>,
    /// What the city tells the reporter.
    pub service_notice: Option<String>,
    /// When it was reported.
    pub requested_at: Option<DateTime<Utc>>,
    /// When it last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// When the city expects to finish.
    pub expected_at: Option<DateTime<Utc>>,
    /// Address, as the city writes it.
    pub address: Option<String>,
    /// The city's address id.
    pub address_id: Option<String>,
    /// Postal code.
    pub zipcode: Option<String>,
    /// Latitude (WGS 84), when given and plausible.
    pub lat: Option<f64>,
    /// Longitude (WGS 84), when given and plausible.
    pub long: Option<f64>,
    /// Photos' URLs.
    pub media_urls: Vec<String>,
    /// History, with `extensions=true` on servers that keep it.
    pub notes: Vec<Note>,
    /// Answers to the service's questions, on servers that list them (this is where a
    /// server keeps a client reference).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub attributes: Vec<RequestAttribute>,
}

/// One answer listed on a request: the question's code and the value given. Stored as the
/// pair `[code, value]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "(String, String)", into = "(String, String)")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RequestAttribute {
    /// The question's code.
    pub code: String,
    /// The value given.
    pub value: String,
}

impl From<(String, String)> for RequestAttribute {
    fn from((code, value): (String, String)) -> Self {
        RequestAttribute { code, value }
    }
}

impl From<RequestAttribute> for (String, String) {
    fn from(a: RequestAttribute) -> Self {
        (a.code, a.value)
    }
}

/// What a server answered to a POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Submission {
    /// The request has its id.
    Created {
        /// The city's id.
        id: String,
        /// What the city tells the reporter.
        service_notice: Option<String>,
    },
    /// The request was queued (`type=batch`): resolve the token to an id later.
    Queued {
        /// The token to resolve with `tokens/{token}`.
        token: String,
        /// What the city tells the reporter.
        service_notice: Option<String>,
    },
    /// Accepted with neither id nor token (`type=blackbox`).
    Accepted {
        /// What the city tells the reporter.
        service_notice: Option<String>,
    },
}

/// An answer to one definition question. Single answers of list questions are one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AttributeAnswer {
    /// The question's code.
    pub code: String,
    /// The answer; several keys only for multivaluelist questions.
    pub values: Vec<String>,
    /// True for a multivaluelist question (encoded as a list even with one key).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub multiple: bool,
}

/// A photo to send with a request as a multipart `media` part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaFile {
    /// The file to send (already compressed and stripped of metadata).
    pub path: PathBuf,
    /// Its MIME type, such as `image/jpeg`.
    pub content_type: String,
}

/// A service request to POST. Give a position, an address, or an address id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewRequest {
    /// The service's code.
    pub service_code: String,
    /// Latitude and longitude (WGS 84).
    pub position: Option<(f64, f64)>,
    /// An address, most specific part first.
    pub address_string: Option<String>,
    /// The city's address id.
    pub address_id: Option<String>,
    /// Answers to the service definition's questions.
    pub attributes: Vec<AttributeAnswer>,
    /// What the citizen wrote (at most 4,000 characters).
    pub description: Option<String>,
    /// Contact: e-mail.
    pub email: Option<String>,
    /// Contact: first name.
    pub first_name: Option<String>,
    /// Contact: last name.
    pub last_name: Option<String>,
    /// Contact: phone number.
    pub phone: Option<String>,
    /// A device identifier, when the city wants one.
    pub device_id: Option<String>,
    /// The citizen's account with the city, when they have one.
    pub account_id: Option<String>,
    /// Media already hosted somewhere.
    pub media_urls: Vec<String>,
    /// Media to upload in the request (servers with multipart support).
    pub media: Vec<MediaFile>,
}

/// Filters for `GET requests`. Empty lists and `None` are left out of the URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestQuery {
    /// Specific ids (this overrides every other filter on the server).
    pub ids: Vec<String>,
    /// Services to include.
    pub service_codes: Vec<String>,
    /// Reported at or after.
    pub start: Option<DateTime<Utc>>,
    /// Reported at or before (at most 90 days after `start`).
    pub end: Option<DateTime<Utc>>,
    /// `open`, `closed`.
    pub statuses: Vec<String>,
    /// Ask for notes and extended attributes (`extensions=true`).
    pub extensions: bool,
    /// Page to fetch, counted from the profile's first page; `None` for the server's default.
    pub page: Option<u32>,
    /// Requests per page; `None` for the server's default.
    pub page_size: Option<u32>,
    /// Only requests in this area: sent to servers with a position filter (the profile's
    /// `position_filter`), checked on the device for every server.
    pub area: Option<Area>,
}

/// A part of the map, in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Area {
    /// Southern edge.
    pub south: f64,
    /// Western edge.
    pub west: f64,
    /// Northern edge.
    pub north: f64,
    /// Eastern edge.
    pub east: f64,
}

impl Area {
    /// The box around a circle of `radius_m` metres (a little larger, never smaller).
    pub fn around(latitude: f64, longitude: f64, radius_m: f64) -> Area {
        const METRES_PER_DEGREE: f64 = 111_320.0;
        let dlat = radius_m / METRES_PER_DEGREE * 1.01;
        let dlon = dlat / latitude.to_radians().cos().abs().max(0.01);
        Area {
            south: (latitude - dlat).max(-90.0),
            west: (longitude - dlon).max(-180.0),
            north: (latitude + dlat).min(90.0),
            east: (longitude + dlon).min(180.0),
        }
    }

    /// The centre and the distance to a corner in metres (a circle holding the box).
    pub fn circle(&self) -> (f64, f64, f64) {
        let (lat, long) = (
            (self.south + self.north) / 2.0,
            (self.west + self.east) / 2.0,
        );
        let dlat = (self.north - self.south) / 2.0 * 111_320.0;
        let dlon = (self.east - self.west) / 2.0 * 111_320.0 * lat.to_radians().cos().abs();
        (lat, long, (dlat * dlat + dlon * dlon).sqrt())
    }

    /// Whether the area holds the position.
    pub fn contains(&self, latitude: f64, longitude: f64) -> bool {
        (self.south..=self.north).contains(&latitude)
            && (self.west..=self.east).contains(&longitude)
    }
}

impl RequestQuery {
    /// Whether `r` passes every filter but the dates.
    pub fn admits_undated(&self, r: &ServiceRequest) -> bool {
        RequestQuery {
            start: None,
            end: None,
            ..self.clone()
        }
        .admits(r)
    }

    /// Whether `r` passes these filters, as the spec defines them (ids override the rest).
    /// What the server did not send cannot be checked and passes.
    pub fn admits(&self, r: &ServiceRequest) -> bool {
        if !self.ids.is_empty() {
            return r.id.as_ref().is_some_and(|id| self.ids.contains(id));
        }
        let slack = chrono::Duration::seconds(1);
        let service = |code: &String| self.service_codes.contains(code);
        // Only the spec's values can be checked; a city's own (unmapped) ones pass.
        let status = |s: &String| {
            !matches!(s.as_str(), "open" | "closed")
                || self.statuses.iter().any(|w| w.eq_ignore_ascii_case(s))
        };
        (self.service_codes.is_empty() || r.service_code.as_ref().is_none_or(service))
            && (self.statuses.is_empty() || r.status.as_ref().is_none_or(status))
            && self
                .start
                .zip(r.requested_at)
                .is_none_or(|(start, at)| at >= start - slack)
            && self
                .end
                .zip(r.requested_at)
                .is_none_or(|(end, at)| at <= end + slack)
            && self
                .area
                .zip(r.lat.zip(r.long))
                .is_none_or(|(area, (lat, long))| area.contains(lat, long))
    }
}

/// One page of `GET requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestPage {
    /// The requests that have an id or a token and match the query's filters (a server that
    /// ignores a filter is filtered on the device).
    pub requests: Vec<ServiceRequest>,
    /// The next page to ask for, when the server says or suggests there is one.
    pub next_page: Option<u32>,
    /// True when the answer contradicted the query: rows the filters exclude, or more rows
    /// than the page size asked. A server that does this cannot be searched reliably.
    #[serde(default)]
    pub contradicted: bool,
    /// Every request id the server listed on this page, before filtering on the device.
    #[serde(default)]
    pub listed_ids: Vec<String>,
    /// True when every row the filters exclude was excluded by its time alone (and the page
    /// was not oversized): the server's dates, not its filters, are in doubt (a clock or a
    /// zone off, a date filter applied backwards).
    #[serde(default)]
    pub dates_only: bool,
    /// The server's clock when it answered (its `Date` header), if it sent one.
    #[serde(default)]
    pub server_time: Option<DateTime<Utc>>,
}
