//! With `--write`: a POST with a wrong key, then one probe request with a photo, sent again
//! as the server's refusals ask (with the attribute a refusal names, as the client reference;
//! without the photo when multipart is refused), looked at by id and looked for in a list.

use super::*;

/// Runs the probes; what they prove goes into `quirks` (media, client reference).
pub(super) async fn probes(
    config: &ServerConfig,
    code: String,
    listed: &[ServiceRequest],
    report: &mut Report,
    quirks: &mut Quirks,
) {
    let position = listed
        .iter()
        .find_map(|r| r.lat.zip(r.long))
        .or(Some((38.8893, -77.0502)));
    let c = client(config);
    let mut probe = NewRequest {
        service_code: code.clone(),
        position,
        attributes: answers(&c, &code).await,
        description: Some(format!(
            "Curbside conformance probe {}: please ignore or close",
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        )),
        ..Default::default()
    };
    let mut reference = config.quirks.client_reference_attribute.clone();
    wrong_key(config, &probe, report).await;

    let photo = std::env::temp_dir().join(format!(
        "curbside-check-{}-{}.jpg",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let with_photo = write_photo(&photo).is_ok();
    if with_photo {
        probe.media = vec![MediaFile {
            path: photo.clone(),
            content_type: "image/jpeg".into(),
        }];
    }
    let mut sending = config.clone();
    sending.quirks.media = MediaUpload::Multipart;
    let started = Utc::now() - Duration::minutes(10);
    let mut outcome = None;
    for _ in 0..3 {
        if let Some(name) = &reference {
            probe.attributes.retain(|a| &a.code != name);
            probe.attributes.push(AttributeAnswer {
                code: name.clone(),
                values: vec![format!(
                    "curbside-check-{}",
                    Utc::now().timestamp_nanos_opt().unwrap_or_default()
                )],
                multiple: false,
            });
        }
        match client(&sending).submit(&probe).await {
            Err(Open311Error::Rejected { status, messages }) => {
                let named = messages.iter().find_map(|m| {
                    named_attribute(m.field.as_deref().unwrap_or_default())
                        .or_else(|| named_attribute(&m.description))
                });
                let answered = |n: &String| probe.attributes.iter().any(|a| &a.code == n);
                match named {
                    Some(name) if !answered(&name) => {
                        report.line(
                            "client reference",
                            Verdict::Quirk,
                            format!(
                                "refused without attribute {name}: Curbside's report id goes there"
                            ),
                        );
                        reference = Some(name);
                    }
                    _ if !probe.media.is_empty() => {
                        report.line(
                            "photos (multipart)",
                            Verdict::Quirk,
                            format!(
                                "refused (HTTP {status}: {}): media_url only, photos need hosting",
                                messages.first().map_or("", |m| m.description.as_str())
                            ),
                        );
                        probe.media.clear();
                        sending.quirks.media = config.quirks.media;
                    }
                    _ => {
                        outcome = Some(Err(Open311Error::Rejected { status, messages }));
                        break;
                    }
                }
            }
            other => {
                outcome = Some(other);
                break;
            }
        }
    }
    let _ = std::fs::remove_file(&photo);
    if let Some(name) = &reference {
        quirks.insert("client_reference_attribute".into(), json!(name));
    }
    let id = match outcome {
        Some(Ok(Submission::Created { id, .. })) => {
            report.line("POST requests", Verdict::Pass, format!("created {id}"));
            Some(id)
        }
        Some(Ok(Submission::Queued { token, .. })) => {
            report.line(
                "POST requests",
                Verdict::Pass,
                format!("queued with token {token}"),
            );
            None
        }
        Some(Ok(Submission::Accepted { .. })) => {
            report.line(
                "POST requests",
                Verdict::Quirk,
                "accepted without an id or a token",
            );
            None
        }
        Some(Err(e)) => {
            report.line("POST requests", Verdict::Fail, e.to_string());
            None
        }
        None => {
            report.line("POST requests", Verdict::Fail, "refused three times");
            None
        }
    };
    let Some(id) = id else {
        return;
    };
    let by_id = c.request(&id).await;
    match (&by_id, probe.media.is_empty()) {
        (_, true) => {}
        (Ok(r), false) if r.media_urls.iter().any(|u| !u.is_empty()) => {
            report.line(
                "photos (multipart)",
                Verdict::Pass,
                "taken: the new request shows a media_url",
            );
            quirks.insert("media".into(), json!("multipart"));
        }
        (Ok(_), false) => report.line(
            "photos (multipart)",
            Verdict::Quirk,
            "accepted, but the request shows no media_url: photos may be dropped",
        ),
        (Err(e), false) => report.line(
            "photos (multipart)",
            Verdict::Untried,
            format!("the new request could not be read: {e}"),
        ),
    }
    listed_at_once(&c, code, &id, started, by_id.is_ok(), report).await;
}

/// The service's required questions, answered with the first allowed value.
async fn answers(c: &Open311Client, code: &str) -> Vec<AttributeAnswer> {
    let Ok(definition) = c.service_definition(code).await else {
        return Vec::new();
    };
    definition
        .attributes
        .iter()
        .filter(|a| a.variable && a.required)
        .map(|a| AttributeAnswer {
            code: a.code.clone(),
            values: vec![match a.datatype {
                Datatype::SingleValueList | Datatype::MultiValueList => {
                    a.values.first().map(|v| v.key.clone()).unwrap_or_default()
                }
                Datatype::Number => "1".into(),
                Datatype::Datetime => Utc::now().to_rfc3339(),
                _ => "probe".into(),
            }],
            multiple: a.datatype == Datatype::MultiValueList,
        })
        .collect()
}

/// A POST with a wrong key must be refused, and recognisably so.
async fn wrong_key(config: &ServerConfig, probe: &NewRequest, report: &mut Report) {
    let mut wrong = config.clone();
    wrong.api_key = Some(ApiKey::new("curbside-check-wrong-key"));
    match client(&wrong).submit(probe).await {
        Err(Open311Error::Auth {
            status: 401 | 403, ..
        }) => report.line("wrong api_key", Verdict::Pass, "refused with 401/403"),
        Err(Open311Error::Auth { status, messages }) => report.line(
            "wrong api_key",
            Verdict::Quirk,
            format!(
                "refused with HTTP {status} ({}): Curbside reads it as a key problem",
                messages.first().map_or("", |m| m.description.as_str())
            ),
        ),
        Ok(_) => report.line(
            "wrong api_key",
            Verdict::Fail,
            "a wrong key was accepted (a probe request was created)",
        ),
        Err(e) => report.line(
            "wrong api_key",
            Verdict::Fail,
            format!("not recognisable as a key problem: {e}"),
        ),
    }
}

/// The new request, looked for by service and time at once; when it is missing, why: a list
/// at its cap, or a search index that lags (the request is there by id).
async fn listed_at_once(
    c: &Open311Client,
    code: String,
    id: &str,
    started: chrono::DateTime<Utc>,
    there_by_id: bool,
    report: &mut Report,
) {
    // By service and time, as a lost answer is searched for; by service alone where the
    // dates were seen applied wrongly (as the outbox then does).
    let query = RequestQuery {
        service_codes: vec![code],
        start: Some(started).filter(|_| !report.dates_wrong),
        ..Default::default()
    };
    let by = match report.dates_wrong {
        true => "service (its dates are applied wrongly)",
        false => "service and time",
    };
    let name = "new request listed";
    match c.requests(&query).await {
        Ok(page) if page.requests.iter().any(|r| r.id.as_deref() == Some(id)) => {
            report.line(name, Verdict::Pass, format!("found at once by {by}"))
        }
        Ok(page) if page.listed_ids.len() >= curbside_core::city::LIST_CAP => report.line(
            name,
            Verdict::Quirk,
            format!(
                "not in the answer, which holds {} rows: the list is capped (a lost answer is looked for by id and date)",
                page.listed_ids.len()
            ),
        ),
        Ok(_) if there_by_id => report.line(
            name,
            Verdict::Quirk,
            "not listed at once, though there by id: a search index that lags (the outbox waits for it)",
        ),
        Ok(_) => report.line(
            name,
            Verdict::Quirk,
            "not listed: a lost answer cannot be checked there",
        ),
        Err(e) => report.line(name, Verdict::Fail, e.to_string()),
    }
}

/// The attribute a refusal names, as in `attribute[curbside_id] is required`.
fn named_attribute(text: &str) -> Option<String> {
    let start = text.find("attribute[")? + "attribute[".len();
    let len = text[start..].find(']')?;
    Some(text[start..start + len].to_string()).filter(|n| !n.is_empty())
}

/// A small real JPEG, as a phone's photo would be after compression.
fn write_photo(path: &std::path::Path) -> image::ImageResult<()> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 128])
    });
    img.save_with_format(path, image::ImageFormat::Jpeg)
}
