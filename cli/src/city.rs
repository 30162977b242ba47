//! `curbside requests --near` (nearby requests, GeoJSON) and `curbside validate`, over a city
//! profile (`--profile FILE`, or one made from `--server`).

use std::path::PathBuf;

use curbside_core::city::to_geojson;
use curbside_core::{DraftId, Error};

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
        let requests: Vec<_> = found.value.into_iter().map(|n| n.request).collect();
        println!("{}", to_geojson(&requests));
        return Ok(());
    }
    out.print(&found, |found| {
        if found.stale {
            println!(
                "(offline: from the cache of {})",
                found.fetched_at.format("%Y-%m-%d %H:%M")
            );
        }
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
        println!("{}", to_geojson(&found.value));
        return Ok(());
    }
    out.print(&found, |found| {
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

/// `curbside validate ID`: what must change before the draft can be submitted.
pub(crate) fn validate(id: &str, data_dir: PathBuf, out: &Output) -> curbside_core::Result<()> {
    let errors = crate::output::open(data_dir)?.validate_draft(&DraftId::parse(id)?)?;
    out.print(&errors, |errors| {
        if errors.is_empty() {
            println!("Ready to submit.");
        }
        for e in errors {
            println!("{:<22} {}", e.field, e.message);
        }
    });
    Ok(())
}
