//! What an app opens Curbside with: where its data lives, who it is, and its cities.

use std::collections::HashMap;

use curbside_photo::PhotoProfile;
use curbside_types::report::{Retention, RetryPolicy};

/// Everything Curbside is opened with, once per process.
///
/// Cities are configured only here: each profile document sets up its city's server under
/// the profile's id, and its key comes from `api_keys` (the app's build config, the Android
/// Keystore or the iOS Keychain). Keys are held in memory only, never written to disk: give
/// them at every open.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CurbsideConfig {
    /// A directory the app owns (`filesDir` on Android, Application Support on iOS); created
    /// if needed.
    pub data_dir: String,
    /// Names the app in the User-Agent sent to city servers, such as `Springfield311/2.3`.
    #[uniffi(default = None)]
    pub app_name: Option<String>,
    /// The city profiles (JSON documents, as in the README), loaded in order.
    #[uniffi(default)]
    pub profiles: Vec<String>,
    /// Each city's api_key by profile id; it replaces a key written in the profile.
    #[uniffi(default)]
    pub api_keys: HashMap<String, String>,
    /// Keep the reporter's contact details after a report is sent (off: they are removed
    /// from the device once the report is finished).
    #[uniffi(default = false)]
    pub keep_contact_after_send: bool,
    /// Photo limits for drafts without a city (a city's profile sets its own); `null`/`nil`
    /// for the defaults.
    #[uniffi(default = None)]
    pub photos: Option<PhotoProfile>,
    /// Retry timing; `null`/`nil` for the defaults (30 s doubling to 5 h).
    #[uniffi(default = None)]
    pub retry: Option<RetryPolicy>,
    /// How long finished reports are kept; `null`/`nil` for the defaults (90 days, 200
    /// reports, 50 history entries each).
    #[uniffi(default = None)]
    pub retention: Option<Retention>,
}
