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
    /// The server's clock is off by this many seconds (`clock_skew:-900`, 15 minutes
    /// behind): its times, its `Date` header and its date filters are all in its own time.
    ClockSkew {
        /// Seconds ahead (negative: behind).
        secs: i64,
    },
    /// Times are stored in the city's local time and labelled `Z` (New York's by default:
    /// `local_as_z:-5`): listed times are off by that many hours, while the date filters
    /// and the `Date` header are right.
    LocalAsZ {
        /// Hours from UTC of the local time shown.
        hours: i64,
    },
    /// Lists come from a search index refreshed late: a request is listed this long after it
    /// was stored (`search_lag:MILLIS`, 30 s by default); `GET requests/{id}` sees it at once.
    SearchLag {
        /// The lag.
        millis: u64,
    },
    /// `start_date` and `end_date` are compared the wrong way round: every window is empty.
    BackwardsDates,
    /// A POST is stored and answered with a notice only, no id and no token, even for a
    /// realtime service (`[{"service_notice": ...}]`).
    NoticeOnly,
    /// A POST is stored and answered `[{}]`.
    EmptyObject,
    /// Every POST is refused with a 400 whose message echoes the request body (api_key
    /// included, form-encoded), as debugging frameworks do.
    EchoBody,
    /// The spec and nothing more (many city servers): parameters outside it are ignored
    /// without a word (no paging, no position filter, no `extensions`), and a list is the
    /// newest 1,000 matches of its window, 90 days back from `end_date` (or now) when no
    /// `start_date` is given.
    SpecOnly,
    /// XML answers (lists, single requests, POST answers, tokens) name their items
    /// `<service_request>`, not `<request>`.
    ServiceRequestXml,
    /// Lists show `open` and `closed`, while a single request (`GET requests/{id}`) shows the
    /// city's internal ids (`3`, `7`), as some CRMs' detail views do.
    SingleStatusIds,
    /// A POST without the client reference attribute (`attribute[curbside_id]`) is refused
    /// with a 400 naming it: the city's CRM requires it.
    RequiresReference,
    /// `GET requests` (the list) is refused with a 403: a city that does not publish its
    /// requests; single requests by id still work. A lost answer cannot be searched for.
    ListsRefused,
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
        "clock_skew:SECS",
        "local_as_z[:HOURS]",
        "search_lag[:MILLIS]",
        "backwards_dates",
        "notice_only",
        "empty_object",
        "echo_body",
        "spec_only",
        "service_request_xml",
        "single_status_ids",
        "requires_reference",
        "lists_refused",
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
            "clock_skew" => Mode::ClockSkew {
                secs: arg.map_or(Ok(-900), |a| {
                    a.parse().map_err(|_| format!("bad seconds in mode {text}"))
                })?,
            },
            "local_as_z" => Mode::LocalAsZ {
                hours: arg.map_or(Ok(-5), |a| {
                    a.parse().map_err(|_| format!("bad hours in mode {text}"))
                })?,
            },
            "search_lag" => Mode::SearchLag {
                millis: arg.map_or(Ok(30_000), |a| {
                    a.parse().map_err(|_| format!("bad lag in mode {text}"))
                })?,
            },
            "backwards_dates" => Mode::BackwardsDates,
            "notice_only" => Mode::NoticeOnly,
            "empty_object" => Mode::EmptyObject,
            "echo_body" => Mode::EchoBody,
            "spec_only" => Mode::SpecOnly,
            "service_request_xml" => Mode::ServiceRequestXml,
            "single_status_ids" => Mode::SingleStatusIds,
            "requires_reference" => Mode::RequiresReference,
            "lists_refused" => Mode::ListsRefused,
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

    /// How far the server's clock is from the true time.
    pub(crate) fn skew(&self) -> chrono::Duration {
        self.0
            .iter()
            .find_map(|m| match m {
                Mode::ClockSkew { secs } => Some(chrono::Duration::seconds(*secs)),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The server's own "now".
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + self.skew()
    }

    /// How far listed times are shifted from what is stored (local time labelled `Z`).
    pub(crate) fn label_shift(&self) -> chrono::Duration {
        self.0
            .iter()
            .find_map(|m| match m {
                Mode::LocalAsZ { hours } => Some(chrono::Duration::hours(*hours)),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// How late lists see a stored request.
    pub(crate) fn search_lag(&self) -> chrono::Duration {
        self.0
            .iter()
            .find_map(|m| match m {
                Mode::SearchLag { millis } => Some(chrono::Duration::milliseconds(*millis as i64)),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// How requests are shown under these modes.
    pub(crate) fn view(&self) -> crate::store::View {
        crate::store::View {
            status_ids: self.has(Mode::StatusIds),
            no_positions: self.has(Mode::NoPositions),
            label_shift: self.label_shift(),
        }
    }

    pub(crate) fn row_cap(&self) -> Option<usize> {
        self.0.iter().find_map(|m| match m {
            Mode::IgnoreFilters { cap } => Some(*cap),
            _ => None,
        })
    }
}
