//! A server's settings as an app gives them: the key as a plain string (kept out of logs and
//! errors by the core), and the spec's behaviour when `format` or `quirks` are left out.

use std::time::Duration;

use curbside_open311::{ApiKey, Format, Quirks};

/// Everything needed to talk to one GeoReport v2 endpoint.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ServerConfig {
    /// Base URL, such as `https://311.example.gov/open311/v2/`.
    pub endpoint: String,
    /// Response format; `null`/`nil` for JSON.
    #[uniffi(default = None)]
    pub format: Option<Format>,
    /// For endpoints that serve several jurisdictions.
    #[uniffi(default = None)]
    pub jurisdiction_id: Option<String>,
    /// The city's key for this app; needed to POST. Never logged or shown in errors.
    #[uniffi(default = None)]
    pub api_key: Option<String>,
    /// Differences from the spec; `null`/`nil` for the spec's behaviour.
    #[uniffi(default = None)]
    pub quirks: Option<Quirks>,
    /// Allow plain `http://` to a host other than loopback (development servers only).
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
    /// Names the app in the User-Agent, such as `Springfield311/2.3`.
    #[uniffi(default = None)]
    pub app_name: Option<String>,
    /// Longest wait for the next bytes of an answer; `null`/`nil` for 30 s.
    #[uniffi(default = None)]
    pub read_timeout: Option<Duration>,
}

impl From<ServerConfig> for curbside_open311::ServerConfig {
    fn from(c: ServerConfig) -> Self {
        let mut config = curbside_open311::ServerConfig::new(c.endpoint);
        config.format = c.format.unwrap_or(Format::Json);
        config.jurisdiction_id = c.jurisdiction_id;
        config.api_key = c.api_key.map(ApiKey::new);
        config.quirks = c.quirks.unwrap_or_default();
        config.allow_insecure_http = c.allow_insecure_http;
        config.app_name = c.app_name;
        if let Some(read_timeout) = c.read_timeout {
            config.limits.read_timeout = read_timeout;
        }
        config
    }
}
