//! HTTP plumbing and the GeoReport v2 routes.
//!
//! Longer than 600 lines on purpose: every route of a GeoReport v2 server in both formats,
//! with the real servers' misbehaviours woven into each (modes.rs names them, faults.rs holds
//! the wire faults); a route read whole shows everything a client may meet on it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::modes::Active;
use crate::render::{render, Format};
use crate::store::{Filter, Store};
use crate::{catalog, Fault, Faults, Mode, Modes, SandboxConfig, Scope};

type Body = BoxBody<Bytes, std::io::Error>;

pub(crate) struct State {
    pub(crate) config: SandboxConfig,
    pub(crate) store: Store,
    pub(crate) faults: Faults,
    pub(crate) modes: Modes,
    pub(crate) addr: SocketAddr,
    /// POSTs of requests received, whatever became of them.
    pub(crate) posts: std::sync::atomic::AtomicUsize,
    /// The catalog's changeset in the discovery document.
    pub(crate) changeset: std::sync::Mutex<String>,
    /// Every protocol request received, as `METHOD path?query`.
    pub(crate) log: std::sync::Mutex<Vec<String>>,
}

const PREFIX: &str = "/open311/v2/";
const LARGEST_UPLOAD: usize = 20 * 1024 * 1024;

/// Accepts connections until aborted; the open connections are owned here, so stopping the
/// sandbox closes them too, as a server going away would.
pub(crate) async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let state = Arc::clone(&state);
        connections.spawn(async move {
            // Notified to close the connection without answering (Fault::CommitThenDrop).
            let hang_up = Arc::new(Notify::new());
            let signal = Arc::clone(&hang_up);
            let service = hyper::service::service_fn(move |req| {
                handle(Arc::clone(&state), req, Arc::clone(&signal))
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                () = hang_up.notified() => {}
            }
        });
    }
}

/// An answer before faults that act on the way out.
struct Answer {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn doc(format: Format, status: StatusCode, root: &str, item: &str, value: &Value) -> Answer {
        Answer {
            status,
            content_type: format.content_type(),
            body: render(format, root, item, value).into_bytes(),
            headers: vec![],
        }
    }

    /// The spec's `errors` list, or Django REST framework's `{"code", "detail"}` (in XML,
    /// `<root>` with `<list-item>`s) under [`Mode::BareErrors`].
    fn errors(format: Format, status: StatusCode, messages: &[String], modes: &Active) -> Answer {
        if modes.has(Mode::BareErrors) {
            let doc = json!({"code": status.as_u16(), "detail": messages});
            return Answer::doc(format, status, "root", "", &doc);
        }
        let list: Vec<Value> = messages
            .iter()
            .map(|m| json!({"code": status.as_u16(), "description": m}))
            .collect();
        Answer::doc(format, status, "errors", "error", &Value::Array(list))
    }

    /// A framework's debug page, as an unhandled exception renders it (Django with DEBUG on).
    fn debug_page(problems: &[String]) -> Answer {
        let frames: String = (0..200)
            .map(|i| format!("<tr><td>/srv/app/api/views.py, line {i}, in create</td></tr>"))
            .collect();
        let page = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><title>ValidationError at /open311/v2/requests.json</title>\
             <style>body {{ font: small sans-serif; }}</style></head><body><div id=\"summary\">\
             <h1>ValidationError at /open311/v2/requests.json</h1><pre class=\"exception_value\">{:?}</pre>\
             <table>{frames}</table></div></body></html>",
            problems
        );
        Answer::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/html; charset=utf-8",
            &page,
        )
    }

    fn text(status: StatusCode, content_type: &'static str, body: &str) -> Answer {
        Answer {
            status,
            content_type,
            body: body.as_bytes().to_vec(),
            headers: vec![],
        }
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
    hang_up: Arc<Notify>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sandbox/") {
        let answer = admin(&state, req).await;
        return Ok(respond(answer));
    }
    state
        .log
        .lock()
        .unwrap()
        .push(format!("{} {}", req.method(), req.uri()));
    // `/fault/{spec}/...` and `/mode/{m1,m2}/...` before `/open311/v2/`: that fault or those
    // modes on every request through this prefix, so a client that cannot call the admin
    // routes can still be given them.
    let mut path = path;
    let mut fault = None;
    let mut modes = Active(state.modes.current());
    loop {
        let bad = |e: String| {
            Ok(respond(Answer::text(
                StatusCode::BAD_REQUEST,
                "text/plain",
                &e,
            )))
        };
        if let Some((spec, rest)) = path.strip_prefix("/fault/").and_then(|r| r.split_once('/')) {
            match Fault::parse(&decode(spec)) {
                Ok(f) => fault = Some(f),
                Err(e) => return bad(e),
            }
            path = format!("/{rest}");
        } else if let Some((list, rest)) =
            path.strip_prefix("/mode/").and_then(|r| r.split_once('/'))
        {
            match Mode::parse_list(&decode(list)) {
                Ok(list) => modes.0.extend(list),
                Err(e) => return bad(e),
            }
            path = format!("/{rest}");
        } else {
            break;
        }
    }
    if fault.is_none() {
        fault = state.faults.take(req.method() == Method::POST);
    }
    match &fault {
        Some(Fault::ServerError(code)) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return Ok(respond(Answer::text(
                status,
                "text/plain",
                "Service temporarily unavailable",
            )));
        }
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut answer = Answer::text(
                StatusCode::TOO_MANY_REQUESTS,
                "text/plain",
                "Too many requests",
            );
            answer
                .headers
                .push(("retry-after", retry_after_secs.to_string()));
            return Ok(respond(answer));
        }
        Some(Fault::EmptyAnswer) => {
            return Ok(respond(Answer::text(
                StatusCode::OK,
                "application/json",
                "[{}]",
            )));
        }
        Some(Fault::CaptivePortal) => {
            let page = "<html><head><title>Free City Wi-Fi</title></head><body><form>Accept the terms to continue</form></body></html>";
            return Ok(respond(Answer::text(StatusCode::OK, "text/html", page)));
        }
        _ => {}
    }
    if let Some(Fault::Hold(wait)) = fault {
        tokio::time::sleep(wait).await;
    }
    let mut answer = route(&state, &path, req, &modes).await;
    if modes.skew() != chrono::Duration::zero() {
        // The server's clock is off: so is its Date header.
        let date = modes.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        answer.headers.push(("date", date));
    }
    Ok(match fault {
        Some(Fault::CommitThen(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::GATEWAY_TIMEOUT);
            respond(Answer::text(
                status,
                "text/html",
                "<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center><hr><center>nginx</center></body></html>",
            ))
        }
        Some(Fault::CommitThenDrop) => {
            hang_up.notify_one();
            std::future::pending::<()>().await;
            unreachable!()
        }
        Some(Fault::Stall(wait)) => {
            tokio::time::sleep(wait).await;
            respond(answer)
        }
        Some(Fault::ResetMidBody) => {
            let half = answer.body.len() / 2;
            let mut body = answer.body;
            body.truncate(half.max(1));
            let length = (half.max(1) * 2).to_string();
            let frames = futures_util::stream::iter(vec![
                Ok(Frame::data(Bytes::from(body))),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "sandbox reset",
                )),
            ]);
            let mut response = Response::new(BodyExt::boxed(StreamBody::new(frames)));
            *response.status_mut() = answer.status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from_str(&length).unwrap());
            response
        }
        Some(Fault::Trickle { bytes_per_sec }) => {
            let chunk = (bytes_per_sec / 10).max(1);
            let pieces: Vec<Bytes> = answer
                .body
                .chunks(chunk)
                .map(Bytes::copy_from_slice)
                .collect();
            let frames = futures_util::stream::unfold(pieces.into_iter(), |mut rest| async move {
                let next = rest.next()?;
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Ok::<_, std::io::Error>(Frame::data(next)), rest))
            });
            let mut response = Response::new(BodyExt::boxed(StreamBody::new(frames)));
            *response.status_mut() = answer.status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
            response
        }
        _ => respond(answer),
    })
}

fn respond(answer: Answer) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(answer.body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = answer.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    if answer.status == StatusCode::TOO_MANY_REQUESTS
        && !response.headers().contains_key(RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// Splits `name.json` into `("name", Json)`.
fn with_format(segment: &str) -> Option<(String, Format)> {
    let (name, suffix) = segment.rsplit_once('.')?;
    let format = match suffix {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    Some((name.to_string(), format))
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn query_pairs(req: &Request<Incoming>) -> Vec<(String, String)> {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn list(pairs: &[(String, String)], name: &str) -> Vec<String> {
    param(pairs, name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

async fn route(state: &State, path: &str, req: Request<Incoming>, modes: &Active) -> Answer {
    if let Some(wait) = modes.wait() {
        tokio::time::sleep(wait).await;
    }
    let view = modes.view();
    let not_found = || Answer::text(StatusCode::NOT_FOUND, "text/plain", "Not found");
    if let Some(rest) = path.strip_prefix("/media/") {
        return match rest.parse().ok().and_then(|id| state.store.media(id)) {
            Some((content_type, bytes)) => Answer {
                status: StatusCode::OK,
                content_type: if content_type == "image/png" {
                    "image/png"
                } else {
                    "image/jpeg"
                },
                body: bytes,
                headers: vec![],
            },
            None => not_found(),
        };
    }
    if let Some((name, format)) = path.strip_prefix('/').and_then(with_format) {
        if name == "discovery" {
            return discovery(state, format);
        }
    }
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return not_found();
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let Some((last, format)) = segments.last().and_then(|s| with_format(s)) else {
        return not_found();
    };
    let last = decode(&last);
    let method = req.method().clone();
    match (method, segments.len(), segments[0]) {
        (Method::GET, 1, _) if last == "services" => Answer::doc(
            format,
            StatusCode::OK,
            "services",
            "service",
            &catalog::services(),
        ),
        (Method::GET, 2, "services") => match catalog::definition(&last) {
            Some(def) => Answer::doc(format, StatusCode::OK, "service_definition", "", &def),
            None => Answer::errors(
                format,
                StatusCode::NOT_FOUND,
                &[format!("Service {last} has no definition")],
                modes,
            ),
        },
        (Method::GET, 1, _) if last == "requests" => get_requests(state, &req, format, modes),
        (Method::POST, 1, _) if last == "requests" => post_request(state, req, format, modes).await,
        (Method::GET, 2, "requests") => {
            let q = query_pairs(&req);
            if let Some(refused) = strict(modes, &q, format) {
                return refused;
            }
            let extensions = param(&q, "extensions") == Some("true");
            let view = crate::store::View {
                status_ids: view.status_ids || modes.has(Mode::SingleStatusIds),
                ..view
            };
            match state.store.get(&last) {
                Some(r) if !r.token_pending() => {
                    let name = service_name(&r.service_code);
                    Answer::doc(
                        format,
                        StatusCode::OK,
                        "service_requests",
                        item_name(modes),
                        &json!([r.to_json(&name, extensions, &view)]),
                    )
                }
                _ => Answer::errors(
                    format,
                    StatusCode::NOT_FOUND,
                    &[format!("Service request not found with id {last}")],
                    modes,
                ),
            }
        }
        (Method::GET, 2, "tokens") => match state.store.poll_token(&last) {
            Some(r) if r.token_pending() => Answer::doc(
                format,
                StatusCode::OK,
                "service_requests",
                item_name(modes),
                &json!([{"token": last}]),
            ),
            Some(r) => Answer::doc(
                format,
                StatusCode::OK,
                "service_requests",
                item_name(modes),
                &json!([{"service_request_id": r.id, "token": last}]),
            ),
            None => Answer::errors(
                format,
                StatusCode::NOT_FOUND,
                &[format!("Token {last} not found")],
                modes,
            ),
        },
        _ => not_found(),
    }
}

fn service_name(code: &str) -> String {
    catalog::service(code)
        .and_then(|s| s["service_name"].as_str().map(String::from))
        .unwrap_or_default()
}

fn discovery(state: &State, format: Format) -> Answer {
    let changeset = state.changeset.lock().unwrap().clone();
    let doc = json!({
        "changeset": changeset,
        "contact": "Curbside sandbox, on this machine only",
        "key_service": "The sandbox key is printed when it starts",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": format!("http://{}/open311/v2", state.addr),
            "changeset": changeset,
            "type": "test",
            "formats": ["application/json", "text/xml"]
        }]
    });
    Answer::doc(format, StatusCode::OK, "discovery", "", &doc)
}

/// Under [`Mode::StrictParams`], a 400 naming every parameter outside the spec.
fn strict(modes: &Active, q: &[(String, String)], format: Format) -> Option<Answer> {
    if !modes.has(Mode::StrictParams) {
        return None;
    }
    let unexpected: Vec<&str> = q
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !SPEC_PARAMS.contains(k))
        .collect();
    (!unexpected.is_empty()).then(|| {
        Answer::errors(
            format,
            StatusCode::BAD_REQUEST,
            &[format!(
                "Invalid parameters: found unexpected entries: {}",
                unexpected.join(", ")
            )],
            modes,
        )
    })
}

/// The element name of a listed request in XML.
fn item_name(modes: &Active) -> &'static str {
    match modes.has(Mode::ServiceRequestXml) {
        true => "service_request",
        false => "request",
    }
}

/// The spec's parameters of `GET requests`, the only ones [`Mode::SpecOnly`] hears.
const SPEC_PARAMS: &[&str] = &[
    "jurisdiction_id",
    "api_key",
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
];

/// The most requests a list holds, and its window when no start is given (the spec's).
const SPEC_CAP: usize = 1000;
const SPEC_DAYS: i64 = 90;

fn get_requests(state: &State, req: &Request<Incoming>, format: Format, modes: &Active) -> Answer {
    if modes.has(Mode::ListsRefused) {
        return Answer::errors(
            format,
            StatusCode::FORBIDDEN,
            &["Listing service requests is not allowed".into()],
            modes,
        );
    }
    let mut q = query_pairs(req);
    let spec_only = modes.has(Mode::SpecOnly);
    if spec_only {
        q.retain(|(k, _)| SPEC_PARAMS.contains(&k.as_str()));
    }
    if let Some(refused) = strict(modes, &q, format) {
        return refused;
    }
    let view = modes.view();
    let extensions = param(&q, "extensions") == Some("true");
    let doc = |rows: &[crate::StoredRequest]| {
        let shown: Vec<Value> = rows
            .iter()
            .map(|r| r.to_json(&service_name(&r.service_code), extensions, &view))
            .collect();
        Answer::doc(
            format,
            StatusCode::OK,
            "service_requests",
            item_name(modes),
            &Value::Array(shown),
        )
    };
    if let Some(cap) = modes.row_cap() {
        // Every filter and page ignored: the oldest rows, the same on every page.
        let all = state.store.list(&Filter::default());
        return doc(&all[..all.len().min(cap)]);
    }
    let time = |name: &str| {
        param(&q, name)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let status_filter = list(&q, "status")
        .into_iter()
        .map(|s| match (view.status_ids, s.as_str()) {
            (true, "3") => "open".to_string(),
            (true, "7") => "closed".to_string(),
            _ => s,
        })
        .collect();
    let filter = Filter {
        ids: list(&q, "service_request_id"),
        service_codes: list(&q, "service_code"),
        statuses: status_filter,
        start: time("start_date"),
        end: time("end_date"),
    };
    for name in ["start_date", "end_date"] {
        if param(&q, name).is_some() && time(name).is_none() {
            return Answer::errors(
                format,
                StatusCode::BAD_REQUEST,
                &[format!("{name} must be a W3C datetime with a zone")],
                modes,
            );
        }
    }
    let backwards = modes.has(Mode::BackwardsDates);
    let (start, end) = (filter.start, filter.end);
    let filter = match backwards {
        true => Filter {
            start: None,
            end: None,
            ..filter
        },
        false => filter,
    };
    let mut all = state.store.list(&filter);
    if backwards {
        // The comparison the wrong way round: a window lists what lies outside it at both ends.
        all.retain(|r| {
            start.is_none_or(|s| r.requested_at <= s) && end.is_none_or(|e| r.requested_at >= e)
        });
    }
    // Stored times are in the server's clock; the index sees a request `lag` after it.
    let seen_by = Utc::now() - modes.search_lag() + modes.skew();
    all.retain(|r| r.requested_at <= seen_by);
    match near(&q) {
        Ok(Some(inside)) => all.retain(|r| {
            let position = |key: &str| r.field(key).and_then(|v| v.parse::<f64>().ok());
            position("lat")
                .zip(position("long"))
                .is_some_and(|(lat, long)| inside(lat, long))
        }),
        Ok(None) => {}
        Err(problem) => return Answer::errors(format, StatusCode::BAD_REQUEST, &[problem], modes),
    }
    if modes.has(Mode::StrictParams) {
        return doc(&all); // no paging on such servers: every match
    }
    if spec_only {
        // The newest 1,000 of the window; 90 days back when no start is given.
        let end = end.unwrap_or(seen_by);
        let start = start.unwrap_or(end - chrono::Duration::days(SPEC_DAYS));
        all.retain(|r| r.requested_at >= start && r.requested_at <= end);
        all.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
        all.truncate(SPEC_CAP);
        return doc(&all);
    }
    let page_size = param(&q, "page_size")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 500);
    let page = param(&q, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let pages = all.len().div_ceil(page_size).max(1);
    let shown: Vec<crate::StoredRequest> = all
        .iter()
        .skip((page - 1) * page_size)
        .take(page_size)
        .cloned()
        .collect();
    let mut answer = doc(&shown);
    answer
        .headers
        .push(("x-result-count", all.len().to_string()));
    answer.headers.push(("x-page-count", pages.to_string()));
    answer.headers.push(("x-page-size", page_size.to_string()));
    if page < pages {
        answer.headers.push((
            "x-next-page-url",
            format!(
                "http://{}{}requests.json?page={}&page_size={page_size}",
                state.addr,
                PREFIX,
                page + 1
            ),
        ));
    }
    answer
}

/// The position filters some servers take on `GET requests` (extensions; uReport and
/// Mark-a-Spot list a `bbox`): here `bbox=west,south,east,north` in degrees, or `lat`, `long`
/// and `radius` in metres. A test of whether a request's position is inside, or what is wrong
/// with the parameters.
#[allow(clippy::type_complexity)]
fn near(q: &[(String, String)]) -> Result<Option<Box<dyn Fn(f64, f64) -> bool>>, String> {
    let numbers = |text: &str| -> Option<Vec<f64>> {
        text.split(',')
            .map(|n| n.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect()
    };
    if let Some(bbox) = param(q, "bbox") {
        return match numbers(bbox).as_deref() {
            Some(&[west, south, east, north]) if south <= north && west <= east => {
                Ok(Some(Box::new(move |lat, long| {
                    (south..=north).contains(&lat) && (west..=east).contains(&long)
                })))
            }
            _ => Err("bbox must be west,south,east,north in degrees".into()),
        };
    }
    let (Some(lat), Some(long), Some(radius)) =
        (param(q, "lat"), param(q, "long"), param(q, "radius"))
    else {
        return Ok(None);
    };
    match (
        numbers(lat).as_deref(),
        numbers(long).as_deref(),
        numbers(radius).as_deref(),
    ) {
        (Some(&[lat0]), Some(&[long0]), Some(&[radius])) if radius > 0.0 => {
            Ok(Some(Box::new(move |lat, long| {
                let dlat = (lat - lat0) * 111_320.0;
                let dlon = (long - long0) * 111_320.0 * lat0.to_radians().cos();
                (dlat * dlat + dlon * dlon).sqrt() <= radius
            })))
        }
        _ => Err("lat, long and radius (metres) must be numbers".into()),
    }
}

/// Reads a POST body: form-urlencoded, or multipart with `media` files (stored, given URLs).
async fn read_post(
    state: &State,
    req: Request<Incoming>,
    modes: &Active,
) -> Result<(Vec<(String, String)>, Vec<String>), String> {
    if modes.has(Mode::ContentLengthOnly) && !req.headers().contains_key(CONTENT_LENGTH) {
        // As a WSGI server: no Content-Length, no body (a chunked one is never read).
        return Ok((Vec::new(), Vec::new()));
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if let Ok(boundary) = multer::parse_boundary(&content_type) {
        let stream = req.into_body().into_data_stream();
        let constraints = multer::Constraints::new()
            .size_limit(multer::SizeLimit::new().whole_stream(LARGEST_UPLOAD as u64));
        let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
        let (mut fields, mut media) = (Vec::new(), Vec::new());
        while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
            let name = field.name().unwrap_or("").to_string();
            if name == "media" || name == "media[]" {
                let mime = field
                    .content_type()
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "image/jpeg".into());
                let bytes = field.bytes().await.map_err(|e| e.to_string())?;
                let id = state.store.add_media(&mime, &bytes);
                media.push(format!("http://{}/media/{id}", state.addr));
            } else {
                fields.push((name, field.text().await.map_err(|e| e.to_string())?));
            }
        }
        Ok((fields, media))
    } else {
        let body = http_body_util::Limited::new(req.into_body(), LARGEST_UPLOAD)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((
            form_urlencoded::parse(&body).into_owned().collect(),
            Vec::new(),
        ))
    }
}

async fn post_request(
    state: &State,
    req: Request<Incoming>,
    format: Format,
    modes: &Active,
) -> Answer {
    state
        .posts
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let (mut fields, uploaded) = match read_post(state, req, modes).await {
        Ok(read) => read,
        Err(e) => {
            return Answer::errors(
                format,
                StatusCode::BAD_REQUEST,
                &[format!("unreadable body: {e}")],
                modes,
            )
        }
    };
    let field = |name: &str| param(&fields, name).map(String::from);
    if modes.has(Mode::EchoBody) {
        // The body as received, as parsed (JSON) and as a query string with %20 for spaces.
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.extend_pairs(&fields);
        let parsed: serde_json::Map<String, Value> =
            fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let query: Vec<String> = fields
            .iter()
            .map(|(k, v)| {
                let e = |t: &str| {
                    percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)
                        .to_string()
                };
                format!("{}={}", e(k), e(v))
            })
            .collect();
        return Answer::errors(
            format,
            StatusCode::BAD_REQUEST,
            &[format!(
                "Could not process request body: {}; parsed: {}; as a query: {}",
                body.finish(),
                Value::Object(parsed),
                query.join("&")
            )],
            modes,
        );
    }
    if let Some(expected) = &state.config.api_key {
        if field("api_key").as_deref() != Some(expected.as_str()) {
            return match modes.has(Mode::KeyAs400) {
                true => Answer::errors(
                    format,
                    StatusCode::BAD_REQUEST,
                    &["Invalid API key".into()],
                    modes,
                ),
                false => Answer::errors(
                    format,
                    StatusCode::FORBIDDEN,
                    &["Invalid api_key received".into()],
                    modes,
                ),
            };
        }
    }
    let Some(code) = field("service_code") else {
        return Answer::errors(
            format,
            StatusCode::BAD_REQUEST,
            &["service_code is required".into()],
            modes,
        );
    };
    let Some(service) = catalog::service(&code) else {
        return Answer::errors(
            format,
            StatusCode::NOT_FOUND,
            &[format!("Service {code} not found")],
            modes,
        );
    };
    let mut problems = Vec::new();
    let coordinate = |name: &str, limit: f64| {
        field(name).map(|v| v.parse::<f64>().ok().filter(|x| x.abs() <= limit))
    };
    match (coordinate("lat", 90.0), coordinate("long", 180.0)) {
        (Some(Some(_)), Some(Some(_))) => {}
        (None, None) if field("address_string").is_some() || field("address_id").is_some() => {}
        (None, None) => {
            problems.push("lat and long, address_string or address_id is required".to_string())
        }
        _ => problems.push("lat and long must both be valid coordinates".to_string()),
    }
    if field("description").is_some_and(|d| d.chars().count() > 4000) {
        problems.push("description is longer than 4000 characters".into());
    }
    problems.extend(check_attributes(&code, &fields));
    if modes.has(Mode::RequiresReference) {
        let name = state
            .config
            .client_reference_attribute
            .as_deref()
            .unwrap_or("curbside_id");
        if field(&format!("attribute[{name}]")).is_none_or(|v| v.trim().is_empty()) {
            problems.push(format!("attribute[{name}] is required"));
        }
    }
    if !problems.is_empty() {
        if modes.has(Mode::RefuseWith500) {
            return Answer::debug_page(&problems);
        }
        return Answer::errors(format, StatusCode::BAD_REQUEST, &problems, modes);
    }
    if let Some(reference) = &state.config.client_reference_attribute {
        let key = format!("attribute[{reference}]");
        if let Some(value) = field(&key) {
            let seen = state
                .store
                .list(&Filter::default())
                .iter()
                .any(|r| r.field(&key) == Some(value.as_str()));
            if seen {
                return Answer::errors(
                    format,
                    StatusCode::BAD_REQUEST,
                    &["Invalid service request: base is a duplicate.".into()],
                    modes,
                );
            }
        }
    }
    fields.retain(|(k, _)| k != "api_key");
    let mut media_urls: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "media_url")
        .map(|(_, v)| v.clone())
        .collect();
    media_urls.extend(uploaded);
    let batch = service["type"] == "batch";
    if modes.has(Mode::NeighbourTwin) {
        // Another citizen at the same corner, same words, a moment earlier.
        let twin: Vec<(String, String)> = fields
            .iter()
            .filter(|(k, _)| !k.starts_with("attribute[") || !is_reference(state, k))
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "email" | "first_name" | "last_name" | "phone" | "device_id"
                )
            })
            .cloned()
            .collect();
        state
            .store
            .insert_at(&code, false, twin, Vec::new(), modes.now());
    }
    let stored = state
        .store
        .insert_at(&code, batch, fields, media_urls, modes.now());
    let notice = "Thank you. The city will look at this within 3 working days.";
    let answer = match &stored.token {
        _ if modes.has(Mode::EmptyObject) => json!([{}]),
        _ if modes.has(Mode::NoticeOnly) => json!([{"service_notice": notice}]),
        Some(token) => json!([{"token": token, "service_notice": notice}]),
        None => {
            json!([{"service_request_id": stored.id, "service_notice": notice, "account_id": ""}])
        }
    };
    Answer::doc(
        format,
        StatusCode::OK,
        "service_requests",
        item_name(modes),
        &answer,
    )
}

/// Whether form field `key` is the client-reference attribute.
fn is_reference(state: &State, key: &str) -> bool {
    state
        .config
        .client_reference_attribute
        .as_ref()
        .is_some_and(|r| key == format!("attribute[{r}]"))
}

/// Checks answers against the service definition; accepts both multivalue encodings.
fn check_attributes(code: &str, fields: &[(String, String)]) -> Vec<String> {
    let Some(definition) = catalog::definition(code) else {
        return vec![];
    };
    let mut problems = Vec::new();
    for attribute in definition["attributes"].as_array().into_iter().flatten() {
        if attribute["variable"] == false {
            continue;
        }
        let code = attribute["code"].as_str().unwrap_or_default();
        let (single, multi) = (format!("attribute[{code}]"), format!("attribute[{code}][]"));
        let values: Vec<&str> = fields
            .iter()
            .filter(|(k, _)| *k == single || *k == multi)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            if attribute["required"] == true {
                problems.push(format!("attribute[{code}] is required"));
            }
            continue;
        }
        let keys: Vec<&str> = attribute["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["key"].as_str())
            .collect();
        let ok = match attribute["datatype"].as_str().unwrap_or_default() {
            "singlevaluelist" => values.len() == 1 && keys.contains(&values[0]),
            "multivaluelist" => values.iter().all(|v| keys.contains(v)),
            "number" => values.len() == 1 && values[0].parse::<f64>().is_ok_and(f64::is_finite),
            "datetime" => values.len() == 1 && DateTime::parse_from_rfc3339(values[0]).is_ok(),
            _ => values.len() == 1,
        };
        if !ok {
            problems.push(format!("attribute[{code}] has an invalid value"));
        }
        // A rule the definition cannot express (GeoReport v2 has no ranges), which real
        // servers enforce anyway: the crews measure depth in centimetres, up to a metre.
        if code == "DEPTH" && values[0].parse::<f64>().is_ok_and(|cm| cm > 100.0) {
            problems.push("attribute[DEPTH] must be at most 100 (centimetres)".into());
        }
    }
    problems
}

async fn admin(state: &State, req: Request<Incoming>) -> Answer {
    let path = req.uri().path().to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Answer::text(StatusCode::BAD_REQUEST, "text/plain", "unreadable body"),
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let bad = |m: String| Answer::text(StatusCode::BAD_REQUEST, "text/plain", &m);
    if path == "/_sandbox/faults" {
        let scope = match param(&form, "scope").unwrap_or("any") {
            "post" => Scope::Post,
            "get" => Scope::Get,
            _ => Scope::Any,
        };
        match param(&form, "mode").unwrap_or("next") {
            "clear" => state.faults.clear(),
            mode => {
                let fault = match Fault::parse(param(&form, "fault").unwrap_or("")) {
                    Ok(f) => f,
                    Err(e) => return bad(e),
                };
                if mode == "always" {
                    state.faults.always(Some(fault));
                } else {
                    state.faults.next(scope, fault);
                }
            }
        }
        return Answer::text(StatusCode::OK, "text/plain", "ok");
    }
    if path == "/_sandbox/modes" {
        let name = param(&form, "mode").unwrap_or("");
        if name == "clear" {
            state.modes.clear();
            return Answer::text(StatusCode::OK, "text/plain", "ok");
        }
        let mode = match Mode::parse(name) {
            Ok(m) => m,
            Err(e) => return bad(e),
        };
        match param(&form, "on").unwrap_or("true") {
            "false" => state.modes.off(mode),
            _ => state.modes.on(mode),
        }
        return Answer::text(StatusCode::OK, "text/plain", "ok");
    }
    if let Some(id) = path
        .strip_prefix("/_sandbox/requests/")
        .and_then(|r| r.strip_suffix("/status"))
    {
        let status = param(&form, "status").unwrap_or("closed");
        let note = param(&form, "note").unwrap_or("Status changed");
        return match state.store.set_status(id, status, note) {
            Some(_) => Answer::text(StatusCode::OK, "text/plain", "ok"),
            None => Answer::text(StatusCode::NOT_FOUND, "text/plain", "no such request"),
        };
    }
    Answer::text(StatusCode::NOT_FOUND, "text/plain", "Not found")
}
