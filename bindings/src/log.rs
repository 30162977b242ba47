//! Curbside's log, delivered to the app: every phase change of a report and every exchange
//! with a server, as one line each, to a sink the app implements (Logcat on Android, os_log
//! on iOS). The lines carry report ids, phases, HTTP statuses and timings; never the api_key,
//! contact details, descriptions or positions (the core does not log them).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// How much a line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Details of each exchange with a server.
    Debug,
    /// A report changed phase; a worker recovered.
    Info,
    /// Something did not work and will be tried again.
    Warn,
    /// The worker failed or panicked (and restarts).
    Error,
}

/// Receives Curbside's log lines, on whatever thread logs them: keep it quick.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One line: its level, where it comes from (`curbside::outbox`, `curbside::http`) and
    /// the message with its fields (`phase report=… from=queued to=in_flight`).
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// The sink and the least level it wants.
type Installed = Mutex<Option<(Arc<dyn LogSink>, Level)>>;

fn installed() -> &'static Installed {
    static SINK: OnceLock<Installed> = OnceLock::new();
    SINK.get_or_init(|| {
        // The process-wide subscriber is set once; the sink behind it can change.
        let subscriber = tracing_subscriber::registry().with(SinkLayer);
        let _ = tracing::subscriber::set_global_default(subscriber);
        Mutex::new(None)
    })
}

/// Sends Curbside's log to `sink` from now on, lines at `level` and above (replacing any
/// earlier sink). Call it once at start-up, before opening the core, to see everything.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, level: LogLevel) {
    let level = match level {
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Info => Level::INFO,
        LogLevel::Warn => Level::WARN,
        LogLevel::Error => Level::ERROR,
    };
    *installed().lock().unwrap_or_else(|p| p.into_inner()) = Some((sink, level));
}

struct SinkLayer;

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let Some((sink, least)) = installed()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        else {
            return;
        };
        // tracing's levels grow more verbose: ERROR < WARN < INFO < DEBUG.
        if *meta.level() > least {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        let level = match *meta.level() {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            _ => LogLevel::Debug,
        };
        sink.log(level, meta.target().to_string(), line.0);
    }
}

/// A line: the message, then `key=value` for every field.
#[derive(Default)]
struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            self.0 = format!("{value:?}{fields}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            self.0 = format!("{value}{fields}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}
