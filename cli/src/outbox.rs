//! `curbside report`, `outbox`, `sync`, `status`: the outbox from a terminal.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use curbside_core::open311::AttributeAnswer;
use curbside_core::outbox::{Report, ReportId, ReportState, RetryPolicy, Timing};
use curbside_core::{Curbside, DraftFields, Error, Location, LocationSource};

use crate::output::Output;
use crate::server::{runtime, ServerArgs};

/// A report to save and queue.
#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The service code.
    #[arg(long = "service", value_name = "CODE")]
    service_code: String,
    /// Latitude in degrees.
    #[arg(long, allow_negative_numbers = true, requires = "long", value_parser = crate::numbers::latitude)]
    lat: Option<f64>,
    /// Longitude in degrees.
    #[arg(long, allow_negative_numbers = true, requires = "lat", value_parser = crate::numbers::longitude)]
    long: Option<f64>,
    /// Accuracy of the position in metres.
    #[arg(long, value_name = "METRES", allow_negative_numbers = true, value_parser = crate::numbers::accuracy)]
    accuracy: Option<f64>,
    /// An address, instead of or besides the position.
    #[arg(long)]
    address: Option<String>,
    /// What the problem is.
    #[arg(long, default_value = "")]
    description: String,
    /// An answer to a service question, CODE=VALUE (repeat a CODE for several values).
    #[arg(long = "attr", value_name = "CODE=VALUE")]
    attributes: Vec<String>,
    /// A photo to send (repeatable).
    #[arg(long = "photo", value_name = "FILE")]
    photos: Vec<PathBuf>,
}

impl ReportArgs {
    fn fields(&self) -> curbside_core::Result<DraftFields> {
        let mut attributes: Vec<AttributeAnswer> = Vec::new();
        for pair in &self.attributes {
            let (code, value) = pair.split_once('=').ok_or_else(|| Error::InvalidInput {
                field: "attr",
                reason: format!("{pair:?} is not CODE=VALUE"),
            })?;
            match attributes.iter_mut().find(|a| a.code == code) {
                Some(answer) => {
                    answer.values.push(value.into());
                    answer.multiple = true;
                }
                None => attributes.push(AttributeAnswer {
                    code: code.into(),
                    values: vec![value.into()],
                    multiple: false,
                }),
            }
        }
        Ok(DraftFields {
            service_code: Some(self.service_code.clone()),
            location: self
                .lat
                .zip(self.long)
                .map(|(latitude, longitude)| Location {
                    latitude,
                    longitude,
                    accuracy_m: self.accuracy,
                    source: LocationSource::Gps,
                    captured_at: Utc::now(),
                }),
            description: self.description.clone(),
            address_string: self.address.clone(),
            attributes,
            ..Default::default()
        })
    }
}

/// `curbside report`: saves the report and queues it; prints its local id.
pub(crate) fn report(
    args: ReportArgs,
    data_dir: PathBuf,
    server: &ServerArgs,
    out: &Output,
) -> curbside_core::Result<()> {
    let curbside = crate::output::open(data_dir)?;
    let id = server.register(&curbside)?;
    let mut fields = args.fields()?;
    if server.city()?.is_some() {
        fields.profile_id = Some(id.clone());
    }
    let draft = curbside.create_draft(fields)?;
    // Saved first: nothing here waits for the network. The service's questions come from the
    // cached catalog; without it, the city checks the answers when the report is sent.
    let known = match server.city()? {
        Some(_) => curbside.offline_form(&draft.id, &id, &args.service_code)?,
        None => false,
    };
    for photo in &args.photos {
        // Each photo goes through the pipeline: oriented, downsized, stripped, under budget.
        curbside.add_photo(&draft.id, photo)?;
    }
    let report = curbside.submit(&draft.id, &id)?;
    if !known {
        out.warn(
            "questions_unchecked",
            &format!(
                "The questions of {:?} are not in the cached catalog (validating a draft of this city fills it): the city checks the answers when the report is sent.",
                args.service_code
            ),
        );
    }
    out.print(&report, |r| println!("{}", r.id));
    Ok(())
}

/// `curbside outbox`: every submitted report.
pub(crate) fn outbox(data_dir: PathBuf, out: &Output) -> curbside_core::Result<()> {
    let reports = crate::output::open(data_dir)?.reports()?;
    out.print(&reports, |reports| {
        if reports.is_empty() {
            println!("The outbox is empty.");
        }
        for r in reports {
            println!(
                "{}  {:<34} {:<14} {}",
                r.id,
                state_line(r),
                r.service_code,
                r.description
            );
        }
    });
    Ok(())
}

/// `curbside sync`: sends what is due within the deadline, then refreshes statuses.
pub(crate) fn sync(
    deadline: f64,
    (retry_initial, retry_max, confirm_wait): (f64, f64, f64),
    data_dir: PathBuf,
    server: &ServerArgs,
    out: &Output,
) -> curbside_core::Result<()> {
    let curbside = crate::output::open(data_dir)?;
    // The parsers checked each: finite, in range.
    let secs = Duration::from_secs_f64;
    curbside.set_retry_policy(RetryPolicy {
        initial: secs(retry_initial),
        max: secs(retry_max.max(retry_initial)),
        ..RetryPolicy::default()
    });
    curbside.set_timing(Timing {
        confirm_wait: secs(confirm_wait),
        ..Timing::default()
    });
    // The reports of the city these options name go with its key (without options, each
    // server as stored: keys live in memory only, so those go without one).
    if server.named() {
        server.register(&curbside)?;
    }
    let deadline = Instant::now() + secs(deadline);
    let summary = runtime()?.block_on(async { curbside.sync_until(deadline).await })?;
    out.print(&summary, |s| {
        println!(
            "sent {}, failed {}, still waiting {}, status changes {}{}",
            s.sent,
            s.failed,
            s.waiting,
            s.status_changes,
            if s.skipped_busy {
                " (another process is sending)"
            } else {
                ""
            }
        );
        if let Some(error) = &s.status_error {
            println!("{error}");
        }
    });
    Ok(())
}

/// `curbside status [ID]`: one report with its history, or every report's state.
pub(crate) fn status(
    id: Option<String>,
    data_dir: PathBuf,
    out: &Output,
) -> curbside_core::Result<()> {
    let curbside = crate::output::open(data_dir)?;
    let Some(id) = id else {
        return outbox_statuses(&curbside, out);
    };
    let (report, history) = curbside.report(&ReportId::parse(&id)?)?;
    out.print(
        &serde_json::json!({ "report": report, "history": history }),
        |_| {
            println!("{}  {}", report.id, state_line(&report));
            if let ReportState::NeedsAttention { attention } = &report.state {
                println!("why: {}", crate::texts::attention(attention));
                for m in &attention.messages {
                    match &m.field {
                        Some(field) => println!("the city says: {field}: {}", m.description),
                        None => println!("the city says: {}", m.description),
                    }
                }
            }
            if let Some(error) = &report.last_error {
                println!(
                    "last error: {} ({})",
                    crate::texts::last_error(error),
                    error.detail
                );
            }
            if let Some(status) = &report.status {
                println!(
                    "city status: {status}{}",
                    report
                        .status_notes
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                );
            }
            for h in &history {
                println!(
                    "  {}  {:<16} {}",
                    h.at.format("%Y-%m-%d %H:%M:%S"),
                    h.event.code(),
                    crate::texts::history(&h.event)
                );
            }
        },
    );
    Ok(())
}

/// What the user does with a waiting report.
pub(crate) enum Act {
    /// Withdraw it for good.
    Withdraw,
    /// It did arrive, as this city id.
    Confirm(String),
    /// Send it again, as the user chose.
    Retry,
}

/// `curbside withdraw ID`, `curbside confirm ID --request-id RID`, `curbside retry ID`.
pub(crate) fn act(
    act: Act,
    id: &str,
    data_dir: PathBuf,
    out: &Output,
) -> curbside_core::Result<()> {
    let curbside = crate::output::open(data_dir)?;
    let id = ReportId::parse(id)?;
    let report = match &act {
        Act::Withdraw => curbside.withdraw_report(&id)?,
        Act::Confirm(request_id) => curbside.confirm_report(&id, request_id)?,
        Act::Retry => curbside.retry_report(&id)?,
    };
    out.print(&report, |r| println!("{}  {}", r.id, state_line(r)));
    Ok(())
}

/// `curbside forget-everything [--including-unsent]`.
pub(crate) fn forget_everything(
    including_unsent: bool,
    data_dir: PathBuf,
    out: &Output,
) -> curbside_core::Result<()> {
    let curbside = crate::output::open(data_dir)?;
    let forgotten = curbside.forget_everything(including_unsent)?;
    out.print(&forgotten, |f| {
        if !f.done {
            println!(
                "Nothing removed: {} report(s) are not sent yet and would never reach the city:",
                f.unsent.len()
            );
            for r in &f.unsent {
                println!("  {}  {}", r.id, state_line(r));
            }
            println!("Run again with --including-unsent to remove them too.");
        } else {
            println!(
                "Removed {} report(s), {} draft(s), {} photo(s) and {} cached request(s).",
                f.reports, f.drafts, f.photos, f.cached_requests
            );
        }
    });
    match forgotten.done {
        true => Ok(()),
        false => Err(curbside_core::Error::ReportLocked("forgotten while unsent")),
    }
}

fn outbox_statuses(curbside: &Curbside, out: &Output) -> curbside_core::Result<()> {
    let reports = curbside.reports()?;
    let learnt = curbside.learnt_quirks()?;
    out.print(
        &serde_json::json!({ "reports": reports, "learnt": learnt }),
        |_| {
            for r in &reports {
                println!(
                    "{}  {:<34} city: {}",
                    r.id,
                    state_line(r),
                    r.status.as_deref().unwrap_or("-")
                );
            }
            print_learnt(&learnt);
        },
    );
    Ok(())
}

/// What was learnt of servers from their answers, with when (re-tested after a week).
pub(crate) fn print_learnt(learnt: &[curbside_core::city::LearntQuirk]) {
    if learnt.is_empty() {
        return;
    }
    println!("Learnt from the servers' answers (re-tested after 7 days):");
    for q in learnt {
        let since = chrono::DateTime::from_timestamp_millis(q.since_ms)
            .filter(|_| q.since_ms > 0)
            .map(|t| format!(" (since {})", t.format("%Y-%m-%d %H:%M")))
            .unwrap_or_default();
        println!("  {:<14} {}{since}", q.server_id, q.quirk);
    }
}

/// A report's state in a few words.
pub(crate) fn state_line(r: &Report) -> String {
    match &r.state {
        ReportState::Queued => "queued".into(),
        ReportState::WaitingForNetwork => "waiting for the network".into(),
        ReportState::Sending { step } => format!(
            "sending ({})",
            serde_json::to_value(step).unwrap().as_str().unwrap_or("")
        ),
        ReportState::Sent => format!("sent as #{}", r.request_id.as_deref().unwrap_or("?")),
        ReportState::NeedsAttention { attention } => {
            let code = |v: serde_json::Value| v.as_str().unwrap_or("").to_string();
            format!(
                "needs attention: {} ({})",
                code(serde_json::to_value(attention.kind).unwrap()),
                code(serde_json::to_value(attention.action).unwrap())
            )
        }
        ReportState::Cancelled => "cancelled".into(),
    }
}
