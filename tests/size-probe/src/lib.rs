//! The size reference for the mobile library: every crate the project names (and rustls on
//! ring, as the product uses it), each used once, exported through uniffi. Built with the
//! `mobile` profile beside `curbside-ffi` by `tests/bench`: what the product adds over it is
//! its own.

uniffi::setup_scaffolding!();

/// What the probe can fail with.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ProbeError {
    /// Any failure, in words.
    #[error("{0}")]
    Failed(String),
}

#[derive(serde::Serialize)]
struct Answer {
    id: String,
    value: f64,
}

/// Uses each crate once: SQLite, geo, an image decode, a runtime and an HTTPS client, a uuid
/// and JSON.
#[uniffi::export]
pub fn probe(url: String, picture: Vec<u8>) -> Result<String, ProbeError> {
    use geo::Distance;
    let fail = |e: &dyn std::fmt::Display| ProbeError::Failed(e.to_string());
    let conn = rusqlite::Connection::open_in_memory().map_err(|e| fail(&e))?;
    let one: f64 = conn
        .query_row("SELECT 1.0", [], |r| r.get(0))
        .map_err(|e| fail(&e))?;
    let metres =
        geo::Haversine.distance(geo::Point::new(24.94, 60.17), geo::Point::new(24.95, 60.18));
    let width = image::load_from_memory(&picture)
        .map_err(|e| fail(&e))?
        .width();
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| fail(&e))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(&e))?;
    let body = runtime
        .block_on(async {
            let client = reqwest::Client::builder()
                .use_preconfigured_tls(tls)
                .build()?;
            client.get(&url).send().await?.text().await
        })
        .map_err(|e| fail(&e))?;
    let answer = Answer {
        id: uuid::Uuid::new_v4().to_string(),
        value: one + metres + f64::from(width) + body.len() as f64,
    };
    serde_json::to_string(&answer).map_err(|e| fail(&e))
}
