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
