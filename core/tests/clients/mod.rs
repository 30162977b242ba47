//! The sandbox, a client of it in either format and a report to post, for the client tests.
#![allow(dead_code)] // each test file uses its own part

use curbside_core::open311::*;
use curbside_sandbox::{Sandbox, SandboxConfig};

pub async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default(), 0).await.unwrap()
}

pub fn config(sandbox: &Sandbox, format: Format) -> ServerConfig {
    let mut config = ServerConfig::new(sandbox.endpoint());
    config.format = format;
    config.api_key = Some(ApiKey::new("sandbox-key"));
    config.app_name = Some("CurbsideTests/1.0".into());
    config
}

pub fn client(sandbox: &Sandbox, format: Format) -> Open311Client {
    Open311Client::new(config(sandbox, format)).unwrap()
}

pub fn pothole() -> NewRequest {
    NewRequest {
        service_code: "pothole".into(),
        position: Some((38.8893, -77.0502)),
        description: Some("Deep pothole, northbound bike lane".into()),
        attributes: vec![
            AttributeAnswer {
                code: "WHERE".into(),
                values: vec!["bike".into()],
                multiple: false,
            },
            AttributeAnswer {
                code: "DEPTH".into(),
                values: vec!["12".into()],
                multiple: false,
            },
            AttributeAnswer {
                code: "HAZARDS".into(),
                values: vec!["water".into(), "glass".into()],
                multiple: true,
            },
        ],
        email: Some("citizen@example.org".into()),
        first_name: Some("Ada".into()),
        ..Default::default()
    }
}
