//! Reading what real servers send: every envelope, ids as numbers or strings, string booleans
//! and coordinates, dates with or without zone, and error bodies of every dialect.
//! A response that cannot be read is an `Err(reason)`: "not the protocol".
//!
//! Public so that saved bodies (caches, tools, tests) are read exactly as live ones:
//! `parse::services(&parse::document(body)?)`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::tree::{flag, items, number, text, xml_to_value};
use super::*;

/// Parses a body by what it is, whatever format was asked for: JSON, XML, or (refused) HTML.
pub fn document(body: &str) -> Result<Value, String> {
    let trimmed = body.trim_start_matches('\u{feff}').trim_start();
    let head: String = trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return Err("the answer is an HTML page, not Open311".into());
    }
    match trimmed.chars().next() {
        Some('<') => xml_to_value(trimmed),
        Some('{') | Some('[') => {
            serde_json::from_str(trimmed).map_err(|e| format!("not valid JSON: {e}"))
        }
        Some(_) => Err("the answer is neither JSON nor XML".into()),
        None => Err("the answer is empty".into()),
    }
}

/// The records in `v`, through any of the `wrappers` (`{"requests": [...]}`, XML roots, a lone
/// object, an array). Something that is neither a record nor a known wrapper is an error.
fn records<'a>(
    v: &'a Value,
    wrappers: &[&str],
    is_record: fn(&Value) -> bool,
) -> Result<Vec<&'a Value>, String> {
    match v {
        Value::Array(list) => {
            let mut out = Vec::new();
            for item in list {
                if is_record(item) {
                    out.push(item);
                } else {
                    out.extend(records(item, wrappers, is_record)?);
                }
            }
            Ok(out)
        }
        Value::Object(_) if is_record(v) => Ok(vec![v]),
        Value::Object(map) => {
            let mut found = false;
            let mut out = Vec::new();
            for wrapper in wrappers {
                if let Some(inner) = map.get(*wrapper) {
                    found = true;
                    for item in items(Some(inner)) {
                        out.extend(records(item, wrappers, is_record)?);
                    }
                }
            }
            if found {
                Ok(out)
            } else {
                Err("the answer has none of the expected fields".into())
            }
        }
        Value::String(s) if s.trim().is_empty() => Ok(Vec::new()),
        _ => Err("the answer has an unexpected shape".into()),
    }
}

/// Element names real servers wrap requests in: the spec's `<service_requests><request>`, and
/// `<service_request>` (as some servers write it).
const REQUEST_WRAPPERS: &[&str] = &["service_requests", "requests", "request", "service_request"];

fn is_request(v: &Value) -> bool {
    [
        "service_request_id",
        "token",
        "service_code",
        "status",
        "requested_datetime",
        "service_notice",
    ]
    .iter()
    .any(|k| v.get(k).is_some_and(|f| !f.is_object() && !f.is_array()))
}

fn is_service(v: &Value) -> bool {
    v.get("service_code")
        .is_some_and(|f| !f.is_object() && !f.is_array())
}

/// Parses a date the way servers write them: RFC 3339 (with or without fractions), a `+0200`
/// zone without colon, or no zone at all (read in `zone`, the server's zone).
pub fn datetime(s: &str, zone: impl Into<ServerZone>) -> Option<DateTime<Utc>> {
    let zone = zone.into();
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for zoned in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, zoned) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for naive in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, naive) {
            return zone.to_utc(t);
        }
    }
    None
}

/// A discovery document.
pub fn discovery(v: &Value) -> Result<Discovery, String> {
    let root = v.get("discovery").unwrap_or(v);
    if !root.is_object() {
        return Err("discovery is not an object".into());
    }
    let endpoints = root
        .get("endpoints")
        .map(|e| e.get("endpoint").unwrap_or(e));
    let endpoints = items(endpoints)
        .into_iter()
        .filter_map(|e| {
            let formats = root_list(e.get("formats"), "format");
            Some(DiscoveryEndpoint {
                specification: text(e, "specification")?,
                url: text(e, "url")?,
                changeset: text(e, "changeset"),
                kind: text(e, "type"),
                formats,
            })
        })
        .collect();
    Ok(Discovery {
        changeset: text(root, "changeset"),
        contact: text(root, "contact"),
        key_service: text(root, "key_service"),
        endpoints,
    })
}

/// A list of strings in JSON (`["a","b"]`) or XML (`<formats><format>a</format>...`) shape.
fn root_list(v: Option<&Value>, inner: &str) -> Vec<String> {
    let v = v.map(|v| v.get(inner).unwrap_or(v));
    items(v)
        .into_iter()
        .filter_map(|f| match f {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// A service list.
pub fn services(v: &Value) -> Result<Vec<Service>, String> {
    Ok(records(v, &["services", "service"], is_service)?
        .into_iter()
        .filter_map(|s| {
            let code = text(s, "service_code")?;
            Some(Service {
                name: text(s, "service_name").unwrap_or_else(|| code.clone()),
                code,
                description: text(s, "description"),
                metadata: flag(s, "metadata").unwrap_or(false),
                kind: match text(s, "type").map(|t| t.to_ascii_lowercase()).as_deref() {
                    Some("batch") => ServiceType::Batch,
                    Some("blackbox") => ServiceType::Blackbox,
                    _ => ServiceType::Realtime,
                },
                keywords: text(s, "keywords")
                    .map(|k| {
                        k.split(',')
                            .map(str::trim)
                            .filter(|k| !k.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
                group: text(s, "group"),
            })
        })
        .collect())
}

/// A service definition; `requested_code` stands in when the body omits its code.
pub fn definition(v: &Value, requested_code: &str) -> Result<ServiceDefinition, String> {
    let root = v.get("service_definition").unwrap_or(v);
    let root = match root {
        Value::Array(list) if list.len() == 1 => &list[0],
        other => other,
    };
    if !root.is_object() {
        return Err("service definition is not an object".into());
    }
    // `attributes` as an array (JSON), as `<attributes><attribute>` (XML), or old XML with
    // `<attribute>` directly under the definition.
    let attributes = match root.get("attributes") {
        Some(a) => a.get("attribute").unwrap_or(a),
        None => root.get("attribute").unwrap_or(&Value::Null),
    };
    let mut parsed: Vec<Attribute> = items(Some(attributes))
        .into_iter()
        .filter_map(attribute)
        .collect();
    parsed.sort_by_key(|a| a.order.unwrap_or(u32::MAX));
    Ok(ServiceDefinition {
        service_code: text(root, "service_code").unwrap_or_else(|| requested_code.to_string()),
        attributes: parsed,
    })
}

fn attribute(a: &Value) -> Option<Attribute> {
    let raw_type = text(a, "datatype").unwrap_or_default().to_ascii_lowercase();
    // Boston's Salesforce server adds its own names; they map onto the spec's six.
    let (datatype, informational) = match raw_type.as_str() {
        "number" => (Datatype::Number, false),
        "datetime" => (Datatype::Datetime, false),
        "text" => (Datatype::Text, false),
        "singlevaluelist" | "picklist" => (Datatype::SingleValueList, false),
        "multivaluelist" => (Datatype::MultiValueList, false),
        "informational" => (Datatype::String, true),
        _ => (Datatype::String, false),
    };
    let values = a.get("values").map(|v| v.get("value").unwrap_or(v));
    Some(Attribute {
        code: text(a, "code")?,
        variable: !informational && flag(a, "variable").unwrap_or(true),
        datatype,
        required: flag(a, "required").unwrap_or(false),
        datatype_description: text(a, "datatype_description"),
        order: number(a, "order").filter(|o| *o >= 0.0).map(|o| o as u32),
        description: text(a, "description").unwrap_or_default(),
        values: items(values)
            .into_iter()
            .filter_map(|v| {
                let key = text(v, "key")?;
                Some(AttributeValue {
                    name: text(v, "name").unwrap_or_else(|| key.clone()),
                    key,
                })
            })
            .collect(),
    })
}

/// The requests in a list answer, and how many entries the list had (for paging).
pub fn requests(
    v: &Value,
    zone: impl Into<ServerZone>,
) -> Result<(Vec<ServiceRequest>, usize), String> {
    let zone = zone.into();
    let found = records(v, REQUEST_WRAPPERS, is_request)?;
    let count = found.len();
    let requests = found
        .into_iter()
        .map(|r| request(r, zone))
        // Chicago lists requests still being processed with neither id nor token.
        .filter(|r| r.id.is_some() || r.token.is_some())
        .collect();
    Ok((requests, count))
}

fn request(r: &Value, zone: ServerZone) -> ServiceRequest {
    let time = |key: &str| text(r, key).and_then(|t| datetime(&t, zone));
    let (lat, long) = match (number(r, "lat"), number(r, "long")) {
        (Some(lat), Some(long))
            if (-90.0..=90.0).contains(&lat)
                && (-180.0..=180.0).contains(&long)
                && (lat, long) != (0.0, 0.0) =>
        {
            (Some(lat), Some(long))
        }
        _ => (None, None),
    };
    let mut media_urls = urls(r.get("media_url"));
    if let Some(extended) = r.get("extended_attributes") {
        for url in urls(extended.get("media_urls")) {
            if !media_urls.contains(&url) {
                media_urls.push(url);
            }
        }
    }
    let notes = r.get("notes").map(|n| n.get("note").unwrap_or(n));
    ServiceRequest {
        id: text(r, "service_request_id"),
        token: text(r, "token"),
        status: text(r, "status").map(|s| s.to_ascii_lowercase()),
        status_notes: text(r, "status_notes"),
        service_name: text(r, "service_name"),
        service_code: text(r, "service_code"),
        description: text(r, "description"),
        agency_responsible: text(r, "agency_responsible").or_else(|| {
            // FixMyStreet: {"recipient": [...]}
            let names: Vec<String> = r
                .get("agency_responsible")
                .map(|a| root_list(Some(a), "recipient"))
                .unwrap_or_default();
            (!names.is_empty()).then(|| names.join(", "))
        }),
        service_notice: text(r, "service_notice"),
        requested_at: time("requested_datetime"),
        updated_at: time("updated_datetime"),
        expected_at: time("expected_datetime"),
        address: text(r, "address"),
        address_id: text(r, "address_id"),
        zipcode: text(r, "zipcode"),
        lat,
        long,
        media_urls,
        notes: items(notes)
            .into_iter()
            .filter(|n| n.is_object())
            .map(|n| Note {
                datetime: text(n, "datetime").and_then(|t| datetime(&t, zone)),
                kind: text(n, "type"),
                summary: text(n, "summary"),
                description: text(n, "description"),
            })
            .collect(),
        attributes: answers(r.get("attributes")),
    }
}

/// A request's answers: `{"CODE": "value"}` (Chicago), or a list of `{code, value}` (San
/// Francisco; XML `<attributes><attribute>`).
fn answers(v: Option<&Value>) -> Vec<RequestAttribute> {
    let Some(v) = v.map(|v| v.get("attribute").unwrap_or(v)) else {
        return Vec::new();
    };
    match v {
        Value::Object(map) if !map.contains_key("code") && !map.contains_key("name") => map
            .keys()
            .filter_map(|k| Some((k.clone(), text(v, k)?).into()))
            .collect(),
        _ => items(Some(v))
            .into_iter()
            .filter_map(|a| {
                Some(
                    (
                        text(a, "code").or_else(|| text(a, "name"))?,
                        text(a, "value")?,
                    )
                        .into(),
                )
            })
            .collect(),
    }
}

/// Media URLs as a string, a comma-free list of strings, or objects with `url` (Boston).
fn urls(v: Option<&Value>) -> Vec<String> {
    let v = v.map(|v| v.get("media_url").unwrap_or(v));
    items(v)
        .into_iter()
        .filter_map(|u| match u {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Object(_) => text(u, "url"),
            _ => None,
        })
        .collect()
}

/// The answer to a POST. An empty list is not an answer: nothing says the request exists.
pub fn submission(v: &Value) -> Result<Submission, String> {
    let found = records(v, REQUEST_WRAPPERS, is_request)?;
    let Some(first) = found.first() else {
        return Err("the answer lists no request".into());
    };
    let service_notice = text(first, "service_notice");
    Ok(
        match (text(first, "service_request_id"), text(first, "token")) {
            (Some(id), _) => Submission::Created { id, service_notice },
            (None, Some(token)) => Submission::Queued {
                token,
                service_notice,
            },
            (None, None) => Submission::Accepted { service_notice },
        },
    )
}

/// The id a token resolved to, or `None` while the server is still processing it.
pub fn token_id(v: &Value) -> Result<Option<String>, String> {
    Ok(records(v, REQUEST_WRAPPERS, is_request)?
        .into_iter()
        .find_map(|r| text(r, "service_request_id")))
}

/// Messages from an error body of any dialect: the spec's `errors/error` list, `{code,
/// detail}` (Django REST framework, also as `<root>` XML), `{field: [messages]}`, bare
/// `<error>text</error>`, a single unknown root wrapping any of these; HTML or plain text
/// becomes one short message (an HTML page: its title and first heading).
pub fn error_messages(body: &str) -> Vec<ServerMessage> {
    let mut out = Vec::new();
    if let Ok(v) = document(body) {
        collect_messages(&v, None, &mut out);
        if out.is_empty() {
            collect_leaves(&v, None, &mut out);
        }
    }
    if out.is_empty() {
        let plain = page_text(body);
        if !plain.is_empty() {
            out.push(ServerMessage {
                code: None,
                field: None,
                description: plain,
            });
        }
    }
    out
}

/// Keys that name a message's text.
const TEXT_KEYS: &[&str] = &["description", "message", "msg", "error_message", "text"];
/// Wrapper elements of error lists in the dialects seen (DRF's XML uses `list-item`).
const WRAPPERS: &[&str] = &["errors", "error", "root", "response", "list-item", "item"];

fn collect_messages(v: &Value, field: Option<&str>, out: &mut Vec<ServerMessage>) {
    let message = |description: String, code: Option<String>| ServerMessage {
        code,
        field: field.map(String::from),
        description,
    };
    match v {
        Value::String(s) if !s.trim().is_empty() => out.push(message(s.trim().to_string(), None)),
        Value::Array(list) => list.iter().for_each(|i| collect_messages(i, field, out)),
        Value::Object(map) => {
            for wrapper in WRAPPERS {
                if let Some(inner) = map.get(*wrapper) {
                    return collect_messages(inner, field, out);
                }
            }
            let code = text(v, "code");
            let description = TEXT_KEYS.iter().find_map(|k| text(v, k));
            match (
                description,
                map.get("detail").or_else(|| map.get("details")),
            ) {
                (Some(d), _) => out.push(message(d, code)),
                (None, Some(Value::Object(fields))) => {
                    let before = out.len();
                    for (name, detail) in fields {
                        let detail = detail.get("list-item").unwrap_or(detail);
                        collect_messages(detail, Some(name), out);
                    }
                    for m in &mut out[before..] {
                        m.code = m.code.take().or(code.clone());
                    }
                }
                (None, Some(detail)) => {
                    let before = out.len();
                    collect_messages(detail, field, out);
                    for m in &mut out[before..] {
                        m.code = m.code.take().or(code.clone());
                    }
                }
                (None, None) => {
                    // `{"field": ["message"]}` (Django REST framework), also with XML items
                    for (name, detail) in map {
                        if name == "code" || name == "status" {
                            continue;
                        }
                        let detail = detail
                            .get("list-item")
                            .or_else(|| detail.get("item"))
                            .unwrap_or(detail);
                        if detail.is_array() || detail.is_string() {
                            collect_messages(detail, Some(name), out);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// The last resort for an unknown dialect: every text in the document, with the element it
/// was in as its field (codes and statuses left out), at most ten.
fn collect_leaves(v: &Value, field: Option<&str>, out: &mut Vec<ServerMessage>) {
    match v {
        Value::String(s) if !s.trim().is_empty() && out.len() < 10 => out.push(ServerMessage {
            code: None,
            field: field
                .filter(|f| !TEXT_KEYS.contains(f) && !WRAPPERS.contains(f) && *f != "detail")
                .map(String::from),
            description: s.trim().chars().take(300).collect(),
        }),
        Value::Array(list) => list.iter().for_each(|i| collect_leaves(i, field, out)),
        Value::Object(map) => {
            for (name, inner) in map {
                if !matches!(name.as_str(), "code" | "status" | "status_code") {
                    collect_leaves(inner, Some(name), out);
                }
            }
        }
        _ => {}
    }
}

/// A page's text for an error message: an HTML page's `<title>` and first `<h1>` (a
/// framework's debug page is megabytes of it), else the text without tags; at most 200
/// characters, whitespace collapsed.
fn page_text(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    let element = |tag: &str| -> Option<String> {
        let open = lower.find(&format!("<{tag}"))?;
        let start = open + lower[open..].find('>')? + 1;
        let end = start + lower[start..].find(&format!("</{tag}"))?;
        Some(strip_tags(&body[start..end])).filter(|t| !t.is_empty())
    };
    let text = match (element("title"), element("h1")) {
        (Some(title), Some(h1)) if !title.contains(&h1) && !h1.contains(&title) => {
            format!("{title}: {h1}")
        }
        (Some(title), Some(h1)) => {
            if h1.len() > title.len() {
                h1
            } else {
                title
            }
        }
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => strip_tags(&without_code(body, &lower)),
    };
    text.chars().take(200).collect()
}

/// `body` without its `<script>` and `<style>` elements, in one pass (`lower` is `body`
/// lower-cased: the same byte offsets).
fn without_code(body: &str, lower: &str) -> String {
    let next = |from: usize, tag: &str| lower[from..].find(tag).map(|i| from + i);
    let (mut kept, mut at) = (String::new(), 0);
    let (mut script, mut style) = (next(0, "<script"), next(0, "<style"));
    while let Some(open) = script.into_iter().chain(style).min() {
        let end = if Some(open) == script {
            "</script>"
        } else {
            "</style>"
        };
        kept.push_str(&body[at..open]);
        kept.push(' ');
        at = next(open, end).map_or(body.len(), |close| close + end.len());
        if script.is_some_and(|p| p < at) {
            script = next(at, "<script");
        }
        if style.is_some_and(|p| p < at) {
            style = next(at, "<style");
        }
    }
    kept.push_str(&body[at..]);
    kept
}

/// Text without tags, whitespace collapsed.
fn strip_tags(body: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
