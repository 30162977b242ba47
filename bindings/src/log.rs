//! Curbside's log, delivered to the app: every phase change of a report and every exchange
//! with a server, as one line each, to a sink the app implements (Logcat on Android, os_log
//! on iOS). The lines carry report ids, phases, HTTP statuses and timings, and the spans they
//! happen in (`run=3 report=…`); never the api_key, contact details, descriptions or
//! positions (the core does not log them).
//!
//! As a library should, Curbside installs no process-wide subscriber: its log goes through
//! its own dispatcher, the default on the SDK's threads only (where all its work runs), so
//! another library's logging and Curbside's never silence each other. The level is checked
//! before anything is locked or formatted.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::dispatcher::DefaultGuard;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
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

/// The least level wanted, as tracing orders them (1 error … 4 debug); 0 while no sink.
static LEAST: AtomicU8 = AtomicU8::new(0);
/// The sink, read only for lines that pass [`LEAST`].
static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);

fn rank(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        _ => 4,
    }
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
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    LEAST.store(rank(&level), Ordering::SeqCst);
}

/// Curbside's dispatcher: the registry (for spans) and the sink's layer.
pub(crate) fn dispatch() -> &'static Dispatch {
    static DISPATCH: OnceLock<Dispatch> = OnceLock::new();
    DISPATCH.get_or_init(|| Dispatch::new(tracing_subscriber::registry().with(SinkLayer)))
}

thread_local! {
    static ON_THIS_THREAD: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
}

/// Makes Curbside's dispatcher this thread's default (for the SDK's runtime threads, at
/// their start).
pub(crate) fn enter() {
    ON_THIS_THREAD.with(|guard| {
        *guard.borrow_mut() = Some(tracing::dispatcher::set_default(dispatch()));
    });
}

/// Undoes [`enter`] (at the thread's end).
pub(crate) fn leave() {
    ON_THIS_THREAD.with(|guard| guard.borrow_mut().take());
}

/// Runs `f` on a caller's thread with Curbside's dispatcher, so that what it logs (nothing
/// slow should run there) is seen, with that thread's name.
pub(crate) fn on_callers_thread<T>(f: impl FnOnce() -> T) -> T {
    tracing::dispatcher::with_default(dispatch(), f)
}

struct SinkLayer;

/// A span's fields, as they are written in a line.
struct SpanFields(String);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SinkLayer {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level can change at any time: asked each time, which is one atomic load.
        Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, S>) -> bool {
        rank(meta.level()) <= LEAST.load(Ordering::Relaxed)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut line = Line::default();
        attrs.record(&mut line);
        if let Some(span) = ctx.span(id) {
            let fields = format!("{}{}", span.name(), line.0);
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let Some(sink) = SINK.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            return;
        };
        let mut line = Line::default();
        event.record(&mut line);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    let _ = write!(line.0, " [{}]", fields.0);
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Lines(Mutex<Vec<(LogLevel, String, String)>>);

    impl LogSink for Lines {
        fn log(&self, level: LogLevel, target: String, message: String) {
            self.0.lock().unwrap().push((level, target, message));
        }
    }

    #[test]
    fn lines_reach_the_sink_with_their_spans_and_no_global_subscriber_is_set() {
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        set_log_sink(lines.clone(), LogLevel::Info);
        enter();
        {
            let run = tracing::info_span!("run", run = 7u64);
            let _run = run.enter();
            let report = tracing::info_span!("report", report = "R-1");
            let _report = report.enter();
            tracing::info!(target: "curbside::outbox", from = "queued", to = "in_flight", "phase");
            tracing::debug!(target: "curbside::http", "below the level: never formatted");
        }
        leave();
        tracing::info!(target: "curbside::outbox", "off the SDK's threads: not Curbside's to send");
        let got = lines.0.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "{got:?}");
        let (level, target, message) = &got[0];
        assert_eq!(
            (*level, target.as_str()),
            (LogLevel::Info, "curbside::outbox")
        );
        assert_eq!(
            message,
            "phase from=queued to=in_flight [run run=7] [report report=R-1]"
        );
        let elsewhere = std::thread::spawn(|| {
            tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>())
        });
        assert!(
            elsewhere.join().unwrap(),
            "another thread of the app still has no subscriber: none was installed process-wide"
        );
    }
}
