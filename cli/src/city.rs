//! `curbside requests --near` (nearby requests, GeoJSON) and `curbside validate`, over a city
//! profile (`--profile FILE`, or one made from `--server`).

use std::path::PathBuf;

use curbside_core::city::{to_geojson, OpenData};
use curbside_core::open311::Open311Error;
use curbside_core::{Curbside, Draft, DraftId, Error};

use crate::output::Output;
use crate::server::{runtime, RequestsArgs, ServerArgs};

/// `curbside requests --near LAT,LONG [--radius M] [--service CODE] [--status open] [--geojson]`.
pub(crate) fn nearby(
    args: RequestsArgs,
    data_dir: PathBuf,
    server: &ServerArgs,
    out: &Output,
) -> curbside_core::Result<()> {
    let near = args.near.as_deref().unwrap_or_default();
    let (lat, long) = near
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
        .ok_or(Error::InvalidInput {
            field: "near",
            reason: "expected LAT,LONG such as 38.8893,-77.0502".into(),
        })?;
    let curbside = crate::output::open(data_dir)?;
    let city = server.load_city(&curbside)?;
    let found = runtime()?.block_on(curbside.nearby_requests(
        &city.id,
        lat,
        long,
        args.radius,
        args.service(),
        args.open_only(),
    ))?;
    if args.geojson {
        let requests: Vec<_> = found.value.iter().map(|n| n.request.clone()).collect();
        println!("{}", to_geojson(&found, &requests));
        return Ok(());
    }
    out.print(&found, |found| {
        say_coverage(found);
        for n in &found.value {
            let r = &n.request;
            println!(
                "{:>6.0} m  {:<10} {:<7} {:<20} {}",
                n.distance_m,
                r.id.as_deref().unwrap_or("-"),
                r.status.as_deref().unwrap_or("-"),
                r.service_code.as_deref().unwrap_or("-"),
                r.description.as_deref().unwrap_or("")
            );
        }
    });
    Ok(())
}

/// `curbside requests --bbox S,W,N,E [--geojson]`.
pub(crate) fn in_box(
    args: RequestsArgs,
    data_dir: PathBuf,
    server: &ServerArgs,
    out: &Output,
) -> curbside_core::Result<()> {
    let edges: Vec<f64> = args
        .bbox
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let [south, west, north, east] = edges[..] else {
        return Err(Error::InvalidInput {
            field: "bbox",
            reason: "expected SOUTH,WEST,NORTH,EAST".into(),
        });
    };
    let curbside = crate::output::open(data_dir)?;
    let city = server.load_city(&curbside)?;
    let found =
        runtime()?.block_on(curbside.requests_in_box(&city.id, south, west, north, east))?;
    if args.geojson {
        println!("{}", to_geojson(&found, &found.value));
        return Ok(());
    }
    out.print(&found, |found| {
        say_coverage(found);
        for r in &found.value {
            println!(
                "{:<10} {:<7} {:<20} {}",
                r.id.as_deref().unwrap_or("-"),
                r.status.as_deref().unwrap_or("-"),
                r.service_code.as_deref().unwrap_or("-"),
                r.description.as_deref().unwrap_or("")
            );
        }
    });
    Ok(())
}

/// Says how the requests shown were fetched and how far they can be trusted, before them.
fn say_coverage<T>(found: &OpenData<T>) {
    let c = &found.coverage;
    match found.stale {
        true => println!(
            "(offline: from the cache of {})",
            found.fetched_at.format("%Y-%m-%d %H:%M")
        ),
        false => println!(
            "({} rows listed by the server in {} queries)",
            c.listed, c.queries
        ),
    }
    if c.dates_unreliable {
        println!("(partial: the server's date filters are unreliable, so only its newest requests could be read)");
    } else if c.partial {
        println!("(partial: the server has more in this window than one fetch reads)");
    }
    if c.contradicted {
        println!("(the server ignored filters or pages: what it listed was filtered here)");
    }
}

/// `curbside validate ID`: what must change before the draft can be submitted.
pub(crate) fn validate(
    id: &str,
    data_dir: PathBuf,
    server: &ServerArgs,
    out: &Output,
) -> curbside_core::Result<()> {
    let curbside = crate::output::open(data_dir)?;
    let draft = curbside.get_draft(&DraftId::parse(id)?)?;
    let city = match (&draft.fields.profile_id, server.city()?) {
        (Some(city), _) => Some(city.clone()),
        (None, Some(_)) => Some(server.load_city(&curbside)?.id),
        (None, None) => None,
    };
    let unchecked = attach_form(&curbside, &draft, city.as_deref(), None)?;
    let errors = curbside.validate_draft(&draft.id)?;
    if let Some(why) = &unchecked {
        out.warn("questions_unchecked", why);
    }
    out.print(&errors, |errors| {
        if errors.is_empty() && unchecked.is_none() {
            println!("Ready to submit.");
        }
        for e in errors {
            println!("{:<22} {}", e.field, crate::texts::issue(&e.issue));
        }
    });
    Ok(())
}

/// Gives a draft the questions of its service, as an app's form has them: from its city's
/// catalog (cached, or fetched), else asked of `server`. When they cannot be had, says why
/// (its answers are then checked by the city only).
pub(crate) fn attach_form(
    curbside: &Curbside,
    draft: &Draft,
    city: Option<&str>,
    server: Option<&ServerArgs>,
) -> curbside_core::Result<Option<String>> {
    let Some(code) = draft.fields.service_code.clone() else {
        return Ok(None); // nothing to ask yet: the missing service is a problem of its own
    };
    if draft.fields.definition.is_some() {
        return Ok(None);
    }
    let unchecked = |e: &dyn std::fmt::Display| {
        Ok(Some(format!(
            "The questions of {code:?} could not be had ({e}): its answers are not checked here."
        )))
    };
    if let Some(city) = city {
        return match runtime()?.block_on(curbside.service_form(&draft.id, city, &code)) {
            Ok(_) => Ok(None),
            Err(e) => unchecked(&e),
        };
    }
    let Some(server) = server else {
        return Ok(Some(format!(
            "No city is chosen (--profile FILE): the questions of {code:?} are not checked."
        )));
    };
    match runtime()?.block_on(server.client()?.service_definition(&code)) {
        Ok(definition) => {
            let mut fields = draft.fields.clone();
            fields.definition = Some(definition);
            curbside.update_draft(&draft.id, fields)?;
            Ok(None)
        }
        // A service without questions.
        Err(Open311Error::NotFound { .. }) => Ok(None),
        Err(e) => unchecked(&e),
    }
}
