//! How the CLI prints results and errors: text for people, JSON (`--json`) for scripts.

use curbside_core::{Draft, DraftId, Error};
use serde::Serialize;
use serde_json::json;

/// The chosen output style.
pub(crate) struct Output {
    pub(crate) json: bool,
}

impl Output {
    /// A warning on stderr: `{"warning": {"kind", "message"}}` under `--json`.
    pub(crate) fn warn(&self, kind: &str, message: &str) {
        if self.json {
            eprintln!(
                "{}",
                json!({ "warning": { "kind": kind, "message": message } })
            );
        } else {
            eprintln!("warning: {message}");
        }
    }

    /// Prints `value` as JSON, or as `text` prints it.
    pub(crate) fn print<T: Serialize>(&self, value: &T, text: impl FnOnce(&T)) {
        if self.json {
            println!("{}", json!(value));
        } else {
            text(value);
        }
    }

    pub(crate) fn draft(&self, draft: &Draft) {
        if self.json {
            println!("{}", json!(draft));
        } else {
            print_draft(draft);
        }
    }

    pub(crate) fn drafts(&self, drafts: &[Draft]) {
        if self.json {
            println!("{}", json!(drafts));
        } else if drafts.is_empty() {
            println!("No drafts.");
        } else {
            for draft in drafts {
                print_draft(draft);
            }
        }
    }

    pub(crate) fn deleted(&self, id: &DraftId) {
        if self.json {
            println!("{}", json!({ "deleted": id }));
        } else {
            println!("Deleted draft {id}");
        }
    }

    /// Prints `error` to stderr; with `--json`, as `{"error": {"kind", "field"?, "message"}}`.
    pub(crate) fn error(&self, error: &Error) {
        if self.json {
            let field = match error {
                Error::InvalidInput { field, .. } => Some(field.to_string()),
                Error::InvalidProfile { field, .. } => Some(format!("profile.{field}")),
                _ => None,
            };
            let fields = match error {
                Error::InvalidDraft(errors) => json!(errors),
                _ => json!([]),
            };
            let messages = match error {
                Error::Open311(e) => json!(e.messages()),
                _ => json!([]),
            };
            let body = json!({ "error": { "kind": kind(error), "field": field, "message": error.to_string(), "server_messages": messages, "fields": fields } });
            eprintln!("{body}");
        } else {
            eprintln!("error: {error}");
        }
    }
}

/// A stable, machine-readable name for the kind of error: the core's one classification.
fn kind(error: &Error) -> String {
    serde_json::to_value(error.code())
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn print_draft(draft: &Draft) {
    let fields = &draft.fields;
    println!("{}", draft.id);
    println!(
        "  service:     {}",
        fields.service_code.as_deref().unwrap_or("(none)")
    );
    match &fields.location {
        Some(l) => println!(
            "  location:    {:.6}, {:.6}{} ({}, {})",
            l.latitude,
            l.longitude,
            l.accuracy_m.map(|a| format!(" ±{a} m")).unwrap_or_default(),
            l.source.as_str(),
            l.captured_at.to_rfc3339(),
        ),
        None => println!("  location:    (none)"),
    }
    println!("  description: {}", fields.description);
    println!("  updated:     {}", draft.updated_at.to_rfc3339());
}

/// Opens the data directory's database. A damaged one has been moved aside and salvaged by
/// the core: that is said on stderr (as JSON under `--json`) with what came back, never
/// hidden behind an empty list.
pub(crate) fn open(data_dir: std::path::PathBuf) -> curbside_core::Result<curbside_core::Curbside> {
    let curbside = curbside_core::Curbside::open(data_dir)?;
    if let Some(recovery) = curbside.database_recovery() {
        let s = &recovery.salvage;
        let mut message = format!(
            "the database was damaged: it was moved aside to {} (keep it) and a fresh one started; \
             recovered {} report(s) and {} draft(s)",
            recovery.moved_to.display(),
            s.reports,
            s.drafts
        );
        if s.unreadable > 0 {
            message.push_str(&format!("; {} row(s) could not be read", s.unreadable));
        }
        if let Some(failure) = &s.failure {
            message.push_str(&format!("; nothing could be read ({failure})"));
        }
        if std::env::args().any(|a| a == "--json") {
            eprintln!(
                "{}",
                json!({ "warning": { "kind": "database_moved_aside", "path": recovery.moved_to, "recovered": s, "message": message } })
            );
        } else {
            eprintln!("warning: {message}");
        }
    }
    Ok(curbside)
}
