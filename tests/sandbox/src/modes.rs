//! Modes: the ways real Open311 servers differ from the spec, each reproduced on demand.
//! A mode is on for a whole run (`SandboxConfig::modes`, `curbside sandbox --mode M`, or
//! `POST /_sandbox/modes`), or for the requests made through a URL prefix
//! (`http://127.0.0.1:PORT/mode/no_positions,strict_params/open311/v2/`).

use std::sync::Mutex;

/// A behaviour of a real server that the spec does not describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A body is read by its Content-Length only: a chunked body is seen as empty (WSGI
    /// servers such as Django's and gunicorn, Perl's PSGI default, unbuffered proxies).
    ContentLengthOnly,
    /// Request lists carry no position and no address (servers that do not keep them).
    NoPositions,
    /// Only the spec's parameters are accepted; anything else is a 400 "found unexpected
    /// entries" (mySociety's Open311::Endpoint). No paging: a list holds every match.
    StrictParams,
    /// Every filter of `GET requests` is ignored: the list is the oldest `cap` rows, the same
    /// rows for every page.
    IgnoreFilters {
        /// Rows listed.
        cap: usize,
    },
    /// Statuses are the city's internal ids: `3` for open, `7` for closed.
    StatusIds,
    /// A wrong api_key is a 400 "Invalid API key", not the spec's 403 (Helsinki).
    KeyAs400,
    /// A report that fails validation is a 500 with a framework's HTML debug page, not a 400:
    /// the server will never accept it, and says so only that way.
    RefuseWith500,
    /// A neighbour posts an identical report (same service, description and corner) just
    /// before each POST is stored.
    NeighbourTwin,
    /// Errors come without the spec's wrapper: Django REST framework's `{"code", "detail"}`,
    /// and in XML its `<root><detail><list-item>`.
    BareErrors,
    /// Every answer comes after a wait (an overloaded city server on a bad day): by default
    /// 2 s, `slow:MILLIS` for another.
    Slow {
        /// The wait.
        millis: u64,
    },
}

impl Mode {
    /// Every mode's name, for help texts.
    pub const NAMES: &'static [&'static str] = &[
        "content_length_only",
        "no_positions",
        "strict_params",
        "ignore_filters[:CAP]",
        "status_ids",
        "key_400",
        "refuse_500",
        "neighbour_twin",
        "bare_errors",
        "slow[:MILLIS]",
    ];

    /// Parses a mode's name (`ignore_filters:1000` takes the cap, 1,000 by default).
    pub fn parse(text: &str) -> Result<Mode, String> {
        let (name, arg) = text
            .split_once(':')
            .map_or((text, None), |(n, a)| (n, Some(a)));
        Ok(match name.trim() {
            "content_length_only" => Mode::ContentLengthOnly,
            "no_positions" => Mode::NoPositions,
            "strict_params" => Mode::StrictParams,
            "ignore_filters" => Mode::IgnoreFilters {
                cap: arg.map_or(Ok(1000), |a| {
                    a.parse().map_err(|_| format!("bad cap in mode {text}"))
                })?,
            },
            "status_ids" => Mode::StatusIds,
            "key_400" => Mode::KeyAs400,
            "refuse_500" => Mode::RefuseWith500,
            "neighbour_twin" => Mode::NeighbourTwin,
            "bare_errors" => Mode::BareErrors,
            "slow" => Mode::Slow {
                millis: arg.map_or(Ok(2000), |a| {
                    a.parse().map_err(|_| format!("bad wait in mode {text}"))
                })?,
            },
            _ => {
                return Err(format!(
                    "unknown mode {text} (one of {})",
                    Mode::NAMES.join(", ")
                ))
            }
        })
    }

    /// Parses a comma-separated list of modes.
    pub fn parse_list(text: &str) -> Result<Vec<Mode>, String> {
        text.split(',')
            .filter(|m| !m.trim().is_empty())
            .map(Mode::parse)
            .collect()
    }

    fn same_kind(self, other: Mode) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// The modes on for the whole run.
#[derive(Default)]
pub struct Modes(Mutex<Vec<Mode>>);

impl Modes {
    /// Turns `mode` on for every request from now on (replacing one of the same kind).
    pub fn on(&self, mode: Mode) {
        let mut modes = self.0.lock().unwrap();
        modes.retain(|m| !m.same_kind(mode));
        modes.push(mode);
    }

    /// Turns `mode` (of any argument) off.
    pub fn off(&self, mode: Mode) {
        self.0.lock().unwrap().retain(|m| !m.same_kind(mode));
    }

    /// Turns every mode off: a spec-perfect server again.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    pub(crate) fn current(&self) -> Vec<Mode> {
        self.0.lock().unwrap().clone()
    }
}

/// The modes in force for one request: the run's, plus those of its URL prefix.
#[derive(Debug, Clone, Default)]
pub(crate) struct Active(pub(crate) Vec<Mode>);

impl Active {
    pub(crate) fn has(&self, mode: Mode) -> bool {
        self.0.iter().any(|m| m.same_kind(mode))
    }

    pub(crate) fn wait(&self) -> Option<std::time::Duration> {
        self.0.iter().find_map(|m| match m {
            Mode::Slow { millis } => Some(std::time::Duration::from_millis(*millis)),
            _ => None,
        })
    }

    pub(crate) fn row_cap(&self) -> Option<usize> {
        self.0.iter().find_map(|m| match m {
            Mode::IgnoreFilters { cap } => Some(*cap),
            _ => None,
        })
    }
}
