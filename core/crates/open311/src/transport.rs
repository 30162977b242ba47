//! HTTP for Open311: rustls TLS, timeouts, a stalled-upload watchdog, a response size cap,
//! redirects that never carry a POST body or the api_key to another origin, and errors that
//! say whether a request may have reached the server.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_LENGTH};
use reqwest::{redirect, Body, Client, StatusCode};
use url::Url;

use super::{
    config::check_transport_security, ApiKey, Limits, Open311Error, ServerConfig, Unusable,
};

/// A response, read whole within the size cap.
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

/// A POST body.
pub(crate) enum PostBody {
    /// `application/x-www-form-urlencoded`.
    Form(String),
    /// `multipart/form-data`: text fields, then files as `(field, file name, MIME type, bytes)`.
    Multipart {
        fields: Vec<(String, String)>,
        files: Vec<(String, String, String, Bytes)>,
    },
}

/// Whether a failed exchange could have changed anything on the server.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Safe to repeat.
    Get,
    /// Not idempotent: once bytes left, the outcome is unknown.
    Post,
}

pub(crate) struct Transport {
    get: Client,
    post: Client,
    limits: Limits,
    secret: Option<ApiKey>,
}

impl Transport {
    pub(crate) fn new(config: &ServerConfig) -> Result<Self, Open311Error> {
        let user_agent = match &config.app_name {
            Some(app) => format!("{app} Curbside/{}", env!("CARGO_PKG_VERSION")),
            None => format!("Curbside/{}", env!("CARGO_PKG_VERSION")),
        };
        let allow_insecure = config.allow_insecure_http;
        // An https endpoint never talks plain http, even after a redirect.
        let https_only = config.base_url()?.scheme() == "https";
        let tls = tls_config()?;
        let builder = || {
            Client::builder()
                .use_preconfigured_tls(tls.clone())
                .user_agent(user_agent.clone())
                .connect_timeout(config.limits.connect_timeout)
                .read_timeout(config.limits.read_timeout)
                .https_only(https_only)
        };
        // GET: follow redirects only within the same host and never down to plain http, so the
        // api_key in a query string stays with the server it was meant for.
        let same_origin = redirect::Policy::custom(move |attempt| {
            let first = &attempt.previous()[0];
            let next = attempt.url();
            let same_host = first.host_str() == next.host_str()
                && first.port_or_known_default() == next.port_or_known_default();
            if attempt.previous().len() > 5
                || !same_host
                || check_transport_security(next, allow_insecure).is_err()
            {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let config_error = |e: reqwest::Error| Open311Error::Config {
            reason: format!("cannot build the HTTP client: {}", chain(&e.without_url())),
        };
        Ok(Transport {
            get: builder()
                .redirect(same_origin)
                .build()
                .map_err(config_error)?,
            // POST: never follow; a redirect answer is handled by the caller.
            post: builder()
                .redirect(redirect::Policy::none())
                .build()
                .map_err(config_error)?,
            limits: config.limits,
            secret: config.api_key.clone(),
        })
    }

    /// Removes the api_key from text that may end up in logs or errors.
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.secret {
            Some(secret) => secret.redact(text),
            None => text.to_string(),
        }
    }

    /// A GET, answer read whole, within the overall `total_timeout`.
    pub(crate) async fn get(&self, url: Url) -> Result<Response, Open311Error> {
        let limit = self.limits.total_timeout;
        match tokio::time::timeout(limit, self.get_unbounded(url)).await {
            Ok(result) => result,
            Err(_) => Err(Open311Error::Transient {
                reason: format!("no complete answer within {} s", limit.as_secs()),
                retry_after: None,
            }),
        }
    }

    async fn get_unbounded(&self, url: Url) -> Result<Response, Open311Error> {
        let started = Instant::now();
        let path = url.path().to_string(); // never the query: it may hold the api_key
        let response = self
            .get
            .get(url)
            .header("Accept", "application/json, text/xml;q=0.9, */*;q=0.1")
            .send()
            .await
            .map_err(|e| self.failure(Method::Get, &e))
            .inspect_err(
                |e| tracing::debug!(target: "curbside::http", %path, error = %e, "GET failed"),
            )?;
        tracing::debug!(target: "curbside::http", %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "GET");
        self.read(Method::Get, response).await
    }

    /// A POST, within the overall `upload_timeout`; past it, the outcome is unknown.
    pub(crate) async fn post(&self, url: Url, body: PostBody) -> Result<Response, Open311Error> {
        let limit = self.limits.upload_timeout;
        match tokio::time::timeout(limit, self.post_unbounded(url, body)).await {
            Ok(result) => result,
            Err(_) => Err(Open311Error::UnknownOutcome {
                reason: format!("no complete answer within {} s", limit.as_secs()),
                answer: Unusable::CutOff,
            }),
        }
    }

    async fn post_unbounded(&self, url: Url, body: PostBody) -> Result<Response, Open311Error> {
        let watch = Arc::new(Progress::new());
        let url_path = url.path().to_string(); // never the query or the body
        let request = match body {
            // Many servers (WSGI, Perl's PSGI, unbuffered proxies) read a body by its
            // Content-Length only and see a chunked one as empty: the length is always sent.
            PostBody::Form(form) => self
                .post
                .post(url)
                .header(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .header(CONTENT_LENGTH, form.len())
                .body(watched_body(Bytes::from(form), &watch)),
            PostBody::Multipart { fields, files } => {
                let mut form = reqwest::multipart::Form::new();
                for (name, value) in fields {
                    form = form.text(name, value);
                }
                for (field, file_name, mime, bytes) in files {
                    let len = bytes.len() as u64;
                    let part = reqwest::multipart::Part::stream_with_length(
                        watched_body(bytes, &watch),
                        len,
                    )
                    .file_name(file_name)
                    .mime_str(&mime)
                    .map_err(|_| Open311Error::Config {
                        reason: format!("bad media type {mime}"),
                    })?;
                    form = form.part(field, part);
                }
                // Every part has a known length, so reqwest sends the total as Content-Length.
                self.post.post(url).multipart(form)
            }
        };
        let stall = self.limits.stall_timeout;
        let started = Instant::now();
        let path = url_path.clone();
        let response = tokio::select! {
            result = request.send() => result.map_err(|e| self.failure(Method::Post, &e))?,
            () = watch.stalled(stall) => {
                return Err(Open311Error::UnknownOutcome {
                    reason: format!("the upload made no progress for {} s", stall.as_secs()),
                    answer: Unusable::CutOff,
                })
            }
        };
        tracing::debug!(target: "curbside::http", %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "POST");
        self.read(Method::Post, response).await
    }

    /// Reads the body chunk by chunk, refusing more than the cap before any parsing.
    async fn read(
        &self,
        method: Method,
        mut response: reqwest::Response,
    ) -> Result<Response, Open311Error> {
        let status = response.status();
        let headers = response.headers().clone();
        let cap = self.limits.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len as usize > cap)
        {
            return Err(too_large(method, cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.failure(method, &e))?
        {
            if body.len() + chunk.len() > cap {
                return Err(too_large(method, cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Classifies a transport error: nothing can have reached the server when the connection
    /// was never made; otherwise a POST's outcome is unknown.
    fn failure(&self, method: Method, error: &reqwest::Error) -> Open311Error {
        // reqwest's messages include the URL, whose query may hold the api_key.
        let reason = self.redact(&chain(error));
        if error.is_connect() && !is_tls_refusal(error) {
            Open311Error::Unreachable { reason }
        } else if method == Method::Get || error.is_connect() {
            Open311Error::Transient {
                reason,
                retry_after: None,
            }
        } else {
            Open311Error::UnknownOutcome {
                reason,
                answer: Unusable::CutOff,
            }
        }
    }
}

/// TLS 1.2+ with Mozilla's root certificates (webpki-roots), built in so it works the same on
/// Android, iOS and desktops with no platform initialisation; rustls on ring; HTTP/1.1 (the
/// client speaks no HTTP/2, so ALPN offers none).
fn tls_config() -> Result<rustls::ClientConfig, Open311Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Open311Error::Config {
            reason: format!("TLS setup: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// True when the connection was made and TLS refused it (a bad certificate, a Wi-Fi portal
/// intercepting TLS): a server is there, so this is not "offline", and it is backed off.
fn is_tls_refusal(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return true;
            }
        }
        source = cause.source();
    }
    // hyper-util boxes the TLS error without its type: its words still say what it was. Only
    // the causes are read, never the top message, which holds the URL (a host may be "tls…").
    let text = std::error::Error::source(error)
        .map(chain)
        .unwrap_or_default()
        .to_ascii_lowercase();
    ["certificate", "tls", "handshake"]
        .iter()
        .any(|w| text.contains(w))
}

/// An error and its causes, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn too_large(method: Method, cap: usize) -> Open311Error {
    let reason = format!("the answer is larger than {} KiB", cap / 1024);
    match method {
        Method::Get => Open311Error::Transient {
            reason,
            retry_after: None,
        },
        Method::Post => Open311Error::UnknownOutcome {
            reason,
            answer: Unusable::CutOff,
        },
    }
}

/// Upload progress, for the stall watchdog.
struct Progress {
    start: Instant,
    last_ms: AtomicU64,
    /// Bodies not yet read to the end.
    unsent: AtomicUsize,
}

impl Progress {
    fn new() -> Self {
        Progress {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            unsent: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Resolves when the body has not been read for `limit` while still unsent.
    async fn stalled(&self, limit: Duration) {
        let tick = (limit / 4).max(Duration::from_millis(50));
        loop {
            tokio::time::sleep(tick).await;
            let idle = self
                .start
                .elapsed()
                .saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)));
            if self.unsent.load(Ordering::Relaxed) > 0 && idle >= limit {
                return;
            }
        }
    }
}

/// `bytes` as a streamed body in 16 KiB chunks, each read noted in `progress`. The caller
/// sends its length as `Content-Length`, so the stream never turns into chunked encoding.
fn watched_body(bytes: Bytes, progress: &Arc<Progress>) -> Body {
    const CHUNK: usize = 16 * 1024;
    let progress = Arc::clone(progress);
    let total = bytes.len();
    if total > 0 {
        progress.unsent.fetch_add(1, Ordering::Relaxed);
    }
    let chunks = (0..total.div_ceil(CHUNK)).map(move |i| {
        let end = ((i + 1) * CHUNK).min(total);
        progress.touch();
        if end == total {
            progress.unsent.fetch_sub(1, Ordering::Relaxed);
        }
        Ok::<_, std::io::Error>(bytes.slice(i * CHUNK..end))
    });
    Body::wrap_stream(futures_util::stream::iter(chunks))
}
