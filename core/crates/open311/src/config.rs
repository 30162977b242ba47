//! How to talk to one Open311 server: its address, credentials and quirks.

use std::time::Duration;

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{Format, Open311Error, ServerZone};

/// An Open311 `api_key`. Its `Debug` never shows it, and it cannot be serialised: read from
/// a profile document, it is never written anywhere (settings are stored without it).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for the request only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with the key removed in every form a server may echo it: as given,
    /// form-encoded (`+` for spaces), percent-encoded (either case of hex digits) and
    /// JSON-escaped (with `/` escaped or not). Each becomes `***`.
    pub fn redact(&self, text: &str) -> String {
        let key = self.0.as_str();
        if key.is_empty() {
            return text.to_string();
        }
        let percent = |lower: bool| -> String {
            key.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ if lower => format!("%{b:02x}"),
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let json = serde_json::to_string(key).expect("a string");
        let json = json[1..json.len() - 1].to_string();
        let mut forms = vec![
            key.to_string(),
            form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>(),
            percent(false),
            percent(true),
            json.replace('/', "\\/"),
            json,
        ];
        // Longest first, so that no form is left half-replaced by a shorter one.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        forms.iter().fold(text.to_string(), |text, form| {
            text.replace(form.as_str(), "***")
        })
    }

    /// Tells a changed key from the same one without keeping it: 16 bytes of a SHA-256 over
    /// `context` (such as the server's id) and the key, in hex. Stored instead of the key.
    pub fn fingerprint(&self, context: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"curbside api_key fingerprint\0")
            .chain_update(context.as_bytes())
            .chain_update(b"\0")
            .chain_update(self.0.as_bytes())
            .finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// How a multivaluelist answer is encoded in the POST body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MultiValueStyle {
    /// `attribute[code][]=a&attribute[code][]=b`, as the spec says.
    #[default]
    Brackets,
    /// `attribute[code]=a&attribute[code]=b` (mySociety's Open311::Endpoint, FixMyStreet).
    Repeated,
}

/// How a server pages `GET requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Pagination {
    /// `page` and `page_size` (Chicago, Helsinki, Bloomington, ...).
    PageSize {
        /// Number of the first page: 1 on most servers, 0 on some.
        first_page: u32,
    },
    /// `limit` and `offset` (Mark-a-Spot, Accela); `page` is translated to an offset.
    LimitOffset,
    /// No paging: one answer holds everything the server will give.
    None,
}

impl Default for Pagination {
    fn default() -> Self {
        Pagination::PageSize { first_page: 1 }
    }
}

/// How photos reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MediaUpload {
    /// Only `media_url` (the spec): photos must be hosted elsewhere first.
    #[default]
    MediaUrl,
    /// Multipart `media` parts in the POST (v2.1 draft, Bloomington, Helsinki).
    Multipart,
}

/// A position filter a server takes on `GET requests` (an extension; the spec has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PositionFilter {
    /// None: requests near a place are found by paging through recent ones.
    #[default]
    None,
    /// `bbox=west,south,east,north` in degrees (the GeoJSON order).
    Bbox,
    /// `lat`, `long` and `radius` in metres.
    Radius,
}

/// What a server does differently from the spec.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Quirks {
    /// Encoding of multivaluelist answers.
    pub multivalue: MultiValueStyle,
    /// Paging style of `GET requests`.
    pub pagination: Pagination,
    /// Send `api_key` on GETs too (the spec needs it only on POST).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub api_key_on_get: bool,
    /// How photos are sent.
    pub media: MediaUpload,
    /// Attribute code that carries Curbside's report UUID, when the server has one.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub client_reference_attribute: Option<String>,
    /// Send `start_date`/`end_date` without a zone (Chicago), in the server's zone.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub omit_timezone_in_queries: bool,
    /// The server's zone as an IANA name (`America/Chicago`), for times it sends without a
    /// zone and zone-less queries, daylight saving included. Replaces `utc_offset_seconds`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub time_zone: Option<String>,
    /// A fixed UTC offset in seconds, from older profiles; used only without `time_zone`
    /// (wrong for half the year wherever there is daylight saving).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub utc_offset_seconds: i32,
    /// The server takes `extensions=true` (notes and extended attributes; Chicago, Helsinki).
    /// Off by default: strict servers refuse parameters outside the spec.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub extensions: bool,
    /// The position filter the server takes, if any (`curbside check` finds out).
    pub position_filter: PositionFilter,
    /// The city's own status values mapped to `open` / `closed` (such as `{"3": "open",
    /// "7": "closed"}`); values not in the table are kept as the server sends them.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub status_map: std::collections::HashMap<String, String>,
}

impl Quirks {
    /// A status as the app shows it: mapped by `status_map`, else as sent (lower-cased).
    pub fn map_status(&self, status: &str) -> String {
        let key = status.trim().to_ascii_lowercase();
        self.status_map
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(&key))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
            .unwrap_or(key)
    }

    /// The server's zone, for times without one: `time_zone`, else the fixed offset. An
    /// unknown zone name is a settings error.
    pub fn zone(&self) -> Result<ServerZone, Open311Error> {
        match &self.time_zone {
            Some(name) => ServerZone::named(name).map_err(|reason| Open311Error::Config {
                reason: format!("time_zone: {reason}"),
            }),
            None => Ok(ServerZone::Fixed(
                FixedOffset::east_opt(self.utc_offset_seconds)
                    .unwrap_or(FixedOffset::east_opt(0).unwrap()),
            )),
        }
    }
}

/// Everything needed to talk to one GeoReport v2 endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// Base URL, such as `https://311.example.gov/open311/v2/` (the path before `services.json`).
    pub endpoint: String,
    /// Response format.
    #[serde(default = "json")]
    pub format: Format,
    /// For endpoints that serve several jurisdictions.
    #[serde(default)]
    pub jurisdiction_id: Option<String>,
    /// The city's key for this app; needed to POST. Read from a profile, never written.
    #[serde(default, skip_serializing)]
    pub api_key: Option<ApiKey>,
    /// Differences from the spec.
    #[serde(default)]
    pub quirks: Quirks,
    /// Allow plain `http://` to a host other than loopback (development servers only).
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Names the app in the User-Agent, such as `Springfield311/2.3`.
    #[serde(default)]
    pub app_name: Option<String>,
    /// Limits of every exchange.
    #[serde(default)]
    pub limits: Limits,
}

fn json() -> Format {
    Format::Json
}

/// Time and size limits of every exchange with a server.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Longest wait for a connection (TCP and TLS).
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    #[serde(with = "secs")]
    pub read_timeout: Duration,
    /// Longest time an upload may make no progress before it is abandoned.
    #[serde(with = "secs")]
    pub stall_timeout: Duration,
    /// Largest response body read; larger ones are refused before parsing.
    pub max_response_bytes: usize,
    /// Longest a whole GET may take, answer read included (a server trickling a byte a
    /// second gets no further than this).
    #[serde(with = "secs")]
    pub total_timeout: Duration,
    /// Longest a whole POST may take, photos uploaded and answer read included.
    #[serde(with = "secs")]
    pub upload_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(30),
            max_response_bytes: 8 * 1024 * 1024,
            total_timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(300),
        }
    }
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

impl ServerConfig {
    /// A configuration with the spec's defaults for `endpoint`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        ServerConfig {
            endpoint: endpoint.into(),
            format: Format::Json,
            jurisdiction_id: None,
            api_key: None,
            quirks: Quirks::default(),
            allow_insecure_http: false,
            app_name: None,
            limits: Limits::default(),
        }
    }

    /// A configuration for the endpoint that discovery chose, in the format it prefers.
    pub fn from_discovery(endpoint: &super::DiscoveryEndpoint) -> Self {
        ServerConfig {
            format: endpoint.preferred_format(),
            ..ServerConfig::new(endpoint.url.clone())
        }
    }

    /// The endpoint as a base URL (with a trailing slash), checked for TLS: `https`, or `http`
    /// only to loopback or with `allow_insecure_http`.
    pub fn base_url(&self) -> Result<Url, Open311Error> {
        let mut url = Url::parse(self.endpoint.trim()).map_err(|e| Open311Error::Config {
            reason: format!("endpoint is not a URL: {e}"),
        })?;
        check_transport_security(&url, self.allow_insecure_http)?;
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        url.set_query(None);
        Ok(url)
    }
}

/// HTTPS is required, except to loopback (a sandbox on this device) or when explicitly allowed.
pub(crate) fn check_transport_security(
    url: &Url,
    allow_insecure_http: bool,
) -> Result<(), Open311Error> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(url) => Ok(()),
        "http" => Err(Open311Error::Config {
            reason: "endpoint must use https (plain http is allowed only to loopback or with allow_insecure_http)".into(),
        }),
        other => Err(Open311Error::Config {
            reason: format!("endpoint scheme {other} is not http or https"),
        }),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_required_except_for_loopback_or_when_allowed() {
        assert!(ServerConfig::new("https://311.example.gov/open311/v2")
            .base_url()
            .is_ok());
        assert!(ServerConfig::new("http://127.0.0.1:8080/")
            .base_url()
            .is_ok());
        assert!(ServerConfig::new("http://[::1]:8080/").base_url().is_ok());
        assert!(ServerConfig::new("http://localhost/v2").base_url().is_ok());
        assert!(matches!(
            ServerConfig::new("http://311.example.gov/").base_url(),
            Err(Open311Error::Config { .. })
        ));
        let mut dev = ServerConfig::new("http://10.0.2.2:8080/");
        dev.allow_insecure_http = true;
        assert!(dev.base_url().is_ok());
        assert!(ServerConfig::new("ftp://x/").base_url().is_err());
    }

    #[test]
    fn base_url_gets_a_trailing_slash_so_paths_append() {
        let url = ServerConfig::new("https://h.example/open311/v2")
            .base_url()
            .unwrap();
        assert_eq!(
            url.join("services.json").unwrap().as_str(),
            "https://h.example/open311/v2/services.json"
        );
    }

    #[test]
    fn api_key_is_never_printed() {
        let mut config = ServerConfig::new("https://h.example/");
        config.api_key = Some(ApiKey::new("s3cr3t-key"));
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }
}
