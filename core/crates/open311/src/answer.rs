//! What a server's answer means: a document, or the error its status and body say, classified
//! by what can be done about it (the table on [`answer`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::parse;
use super::transport::{Method, Response, Transport};
use super::*;

/// Turns a response into a document, or into the error its status and body say. A POST's
/// outcome is unknown wherever the backend may have acted on it:
///
/// | answer | POST | GET |
/// |---|---|---|
/// | 2xx with an Open311 document | the result | the result |
/// | 2xx that is not Open311 (a login page, an empty list, garbage) | `UnknownOutcome` | `Transient` |
/// | 401, 403, or any 4xx whose message names the api_key or the jurisdiction | `Auth` | `Auth` |
/// | 404, 410 | `NotFound` | `NotFound` |
/// | 409, or a 400/422 saying "duplicate" | `Duplicate` | `Rejected` |
/// | 408, 425, 429 (refused before processing) | `Transient` | `Transient` |
/// | any other 4xx | `Rejected` | `Rejected` |
/// | 3xx (never followed for a POST) | `UnknownOutcome` | `Config` |
/// | any 5xx: 500, 502, 503, 504 (a gateway may time out after the backend stored it) | `ServerFailed` | `Transient` |
///
/// Transport failures (in `transport.rs`): no connection (DNS, refused, TLS handshake) is
/// `Transient`; a reset, timeout or stall once the request left is `UnknownOutcome` for a POST.
pub(crate) fn answer(
    transport: &Transport,
    method: Method,
    response: Response,
) -> Result<Value, Open311Error> {
    let status = response.status;
    if status.is_success() {
        return parse::document(&response.body).map_err(|reason| not_protocol(method, reason));
    }
    let mut messages = parse::error_messages(&response.body);
    // Words that echo the request (the key in them, in any encoding) say nothing of the
    // settings, however they name the api_key.
    let mut own_words = Vec::new();
    for m in &mut messages {
        let redacted = transport.redact(&m.description);
        if redacted == m.description {
            own_words.push(m.clone());
        }
        m.description = redacted;
    }
    let retry_after = retry_after(&response.headers);
    let code = status.as_u16();
    Err(match code {
        401 | 403 => Open311Error::Auth {
            status: code,
            messages,
        },
        400..=499 if names_settings(&own_words) => Open311Error::Auth {
            status: code,
            messages,
        },
        404 | 410 => Open311Error::NotFound { messages },
        409 if method == Method::Post => Open311Error::Duplicate { messages },
        400 | 422
            if method == Method::Post
                && messages
                    .iter()
                    .any(|m| m.description.to_ascii_lowercase().contains("duplicate")) =>
        {
            Open311Error::Duplicate { messages }
        }
        408 | 425 | 429 => Open311Error::Transient {
            reason: format!("HTTP {status}"),
            retry_after,
        },
        300..=399 => match method {
            // A redirect we did not follow: a POST may well have been acted on before it.
            Method::Post => Open311Error::UnknownOutcome {
                reason: format!("the server answered a redirect (HTTP {status})"),
                answer: Unusable::Page,
            },
            Method::Get => Open311Error::Config {
                reason: format!(
                    "the server redirects elsewhere (HTTP {status}); check the endpoint URL"
                ),
            },
        },
        400..=499 => Open311Error::Rejected {
            status: code,
            messages,
        },
        500..=599 if method == Method::Post => Open311Error::ServerFailed {
            status: code,
            messages,
        },
        _ => Open311Error::Transient {
            reason: match messages.first() {
                Some(m) => format!("HTTP {status}: {}", m.description),
                None => format!("HTTP {status}"),
            },
            retry_after,
        },
    })
}

/// Whether a refusal is about the app's settings (the key or the jurisdiction), not the
/// report: servers answer a bad key with 400 (Helsinki) as often as with the spec's 403.
fn names_settings(messages: &[ServerMessage]) -> bool {
    messages.iter().any(|m| {
        let text = format!("{} {}", m.field.as_deref().unwrap_or(""), m.description)
            .to_ascii_lowercase()
            .replace(['-', ' '], "_");
        ["api_key", "apikey", "jurisdiction"]
            .iter()
            .any(|k| text.contains(k))
    })
}

/// A 2xx answer that is not Open311 (a Wi-Fi login page, a proxy's error, garbage).
pub(crate) fn not_protocol(method: Method, reason: String) -> Open311Error {
    match method {
        Method::Get => Open311Error::Transient {
            reason,
            retry_after: None,
        },
        Method::Post => Open311Error::UnknownOutcome {
            reason,
            answer: Unusable::Page,
        },
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&Utc) - Utc::now())
        .to_std()
        .ok()
        .or(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(method: Method, status: u16, body: &str) -> Result<Value, Open311Error> {
        let mut config = ServerConfig::new("https://311.city.example/open311/v2");
        config.api_key = Some(ApiKey::new("a-long-secret"));
        let transport = Transport::new(&config).unwrap();
        let response = Response {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.into(),
        };
        answer(&transport, method, response)
    }

    #[test]
    fn answers_are_classified_by_what_can_be_done() {
        use Method::{Get, Post};
        let spec_error = |text: &str| format!(r#"[{{"code":400,"description":"{text}"}}]"#);
        for status in [500, 502, 503, 504] {
            assert!(
                matches!(
                    answered(Post, status, "oops"),
                    Err(Open311Error::ServerFailed { .. })
                ),
                "a POST answered {status} may have been stored"
            );
            assert!(answered(Get, status, "oops").unwrap_err().is_transient());
        }
        assert!(matches!(
            answered(Post, 200, "[]"),
            Ok(v) if parse::submission(&v).is_err()
        ));
        for text in [
            "Invalid API key",
            "api_key: unknown client",
            "Unknown jurisdiction_id",
        ] {
            assert!(
                matches!(
                    answered(Post, 400, &spec_error(text)),
                    Err(Open311Error::Auth { status: 400, .. })
                ),
                "{text}"
            );
        }
        assert!(matches!(
            answered(Post, 404, &spec_error("jurisdiction not found")),
            Err(Open311Error::Auth { status: 404, .. })
        ));
        assert!(matches!(
            answered(Post, 400, &spec_error("lat is required")),
            Err(Open311Error::Rejected { .. })
        ));
        assert!(matches!(
            answered(
                Post,
                400,
                &spec_error("Invalid service request: base is a duplicate.")
            ),
            Err(Open311Error::Duplicate { .. })
        ));
        assert!(answered(Post, 429, "").unwrap_err().is_transient());
    }
}
