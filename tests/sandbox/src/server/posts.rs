//! `POST requests`: the body read as a WSGI server or a proxy would, the key, the answers
//! checked against the service definition, media stored, and the modes that change the answer.

use super::*;

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

pub(super) async fn post_request(
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
