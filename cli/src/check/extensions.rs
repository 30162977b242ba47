//! The checks of what servers add to the spec, each ending in the profile quirk it
//! recommends: paging, `extensions=true`, and a position filter.

use super::*;

/// Paging: honoured, refused by name, ignored, or the same rows on every page.
pub(super) async fn paging(
    c: &Open311Client,
    listed: usize,
    report: &mut Report,
    quirks: &mut Quirks,
) {
    let pages = |page| RequestQuery {
        page: Some(page),
        page_size: Some(1),
        ..Default::default()
    };
    let Pagination::PageSize { first_page } = c.config().quirks.pagination else {
        return;
    };
    let first = c.requests(&pages(first_page)).await;
    let none = json!({"style": "none"});
    match first {
        Err(e) => report.line("paging (page, page_size)", Verdict::Fail, e.to_string()),
        Ok(_) if !c.refused_params().is_empty() => {
            report.line(
                "paging (page, page_size)",
                Verdict::Quirk,
                format!(
                    "refused ({}): every match in one answer; open data walked by date",
                    c.refused_params().join(", ")
                ),
            );
            quirks.insert("pagination".into(), none);
        }
        Ok(page) if page.contradicted => {
            report.line(
                "paging (page, page_size)",
                Verdict::Quirk,
                "page_size ignored: one answer is all it gives; open data walked by date",
            );
            quirks.insert("pagination".into(), none);
        }
        Ok(page) if listed >= 2 => match c.requests(&pages(first_page + 1)).await {
            Ok(next) if !next.listed_ids.is_empty() && next.listed_ids == page.listed_ids => {
                report.line(
                    "paging (page, page_size)",
                    Verdict::Quirk,
                    "the same rows on every page",
                );
                quirks.insert("pagination".into(), none);
            }
            Ok(_) => report.line(
                "paging (page, page_size)",
                Verdict::Pass,
                format!("pages from {first_page}"),
            ),
            Err(e) => report.line("paging (page, page_size)", Verdict::Fail, e.to_string()),
        },
        Ok(_) => report.line(
            "paging (page, page_size)",
            Verdict::Untried,
            "accepted; too few requests to turn a page",
        ),
    }
}

/// `extensions=true`: refused by strict servers, useful where it brings notes.
pub(super) async fn extensions(config: &ServerConfig, report: &mut Report, quirks: &mut Quirks) {
    let c = client(config);
    let query = RequestQuery {
        extensions: true,
        ..Default::default()
    };
    match c.requests(&query).await {
        Ok(_) if c.refused_params().iter().any(|p| p == "extensions") => {
            report.line("extensions", Verdict::Quirk, "refused by name: never sent");
            quirks.insert("extensions".into(), json!(false));
        }
        Ok(page) if page.requests.iter().any(|r| !r.notes.is_empty()) => {
            report.line(
                "extensions",
                Verdict::Pass,
                "notes come with extensions=true",
            );
            quirks.insert("extensions".into(), json!(true));
        }
        Ok(_) => report.line(
            "extensions",
            Verdict::Untried,
            "accepted, no notes listed: left off",
        ),
        Err(e) => {
            report.line("extensions", Verdict::Quirk, format!("refused: {e}"));
            quirks.insert("extensions".into(), json!(false));
        }
    }
}

/// A position filter (`bbox`, or `lat`/`long`/`radius`): a small area around one listed
/// request must bring it back and nothing outside. Without one, "nearby" pages through the
/// profile's window instead.
pub(super) async fn position_filter(
    config: &ServerConfig,
    all: &[ServiceRequest],
    report: &mut Report,
    quirks: &mut Quirks,
) {
    let Some(target) = all
        .iter()
        .find(|r| r.id.is_some() && r.lat.is_some() && r.long.is_some())
    else {
        report.line(
            "position filter",
            Verdict::Untried,
            "no listed request has a position to try it with",
        );
        return;
    };
    let area = Area::around(
        target.lat.unwrap_or_default(),
        target.long.unwrap_or_default(),
        30.0,
    );
    for (style, name) in [
        (PositionFilter::Bbox, "bbox"),
        (PositionFilter::Radius, "radius"),
    ] {
        let mut with = config.clone();
        with.quirks.position_filter = style;
        let c = client(&with);
        let query = RequestQuery {
            area: Some(area),
            ..Default::default()
        };
        if let Ok(page) = c.requests(&query).await {
            let refused = c.refused_params().iter().any(|p| p == name);
            if !refused && !page.contradicted && page.requests.iter().any(|r| r.id == target.id) {
                report.line(
                    "position filter",
                    Verdict::Pass,
                    format!("{name}: only the area comes back"),
                );
                quirks.insert("position_filter".into(), json!(name));
                return;
            }
        }
    }
    report.line(
        "position filter",
        Verdict::Quirk,
        "neither bbox nor lat/long/radius filters: nearby reads the recent window (paged, or walked by date)",
    );
}
