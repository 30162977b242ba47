//! A request found near a place (open data from the city's server).

use serde::{Deserialize, Serialize};

use curbside_open311::ServiceRequest;

/// A request near the place asked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NearbyRequest {
    /// The request as the city reports it.
    pub request: ServiceRequest,
    /// Distance from the place, in metres.
    pub distance_m: f64,
}

/// How much of the server's open data one fetch read, and how far it can be trusted: said
/// with every map and every "already reported?" list, so that none pretends to be complete.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Coverage {
    /// Queries (`GET requests`) made to the server by this fetch.
    pub queries: u32,
    /// Requests the server listed in their answers, before filtering on the device.
    pub listed: u32,
    /// Part of the window was not read: pages or date windows left at the bound of a fetch,
    /// or a window still at the server's cap when it could not be split further.
    pub partial: bool,
    /// The server's answers contradicted the query (filters or pages ignored): what is shown
    /// is filtered on the device from what the server chose to list.
    pub contradicted: bool,
    /// The server's date filters are unreliable (applied backwards, times in another zone):
    /// its window could not be walked by date, so older requests may be missing.
    pub dates_unreliable: bool,
}

/// A way a server differs from the spec that Curbside learnt from its answers (not set in a
/// profile): kept per server with when it was learnt, and tried again after a while.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LearntQuirk {
    /// The server (a profile's id, or an endpoint).
    pub server_id: String,
    /// What was learnt, in words.
    pub quirk: String,
    /// When it was learnt (milliseconds since the epoch); 0 for measures kept up to date.
    pub since_ms: i64,
}
