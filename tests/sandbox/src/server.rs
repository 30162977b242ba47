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

mod lists;
mod posts;

use lists::{get_requests, item_name, strict};
use posts::post_request;

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
