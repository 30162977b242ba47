//! Faults the sandbox can inject, per run (every request) or per request (the next few).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Something going wrong, the way it goes wrong on real networks and servers.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Handle the request (a POST is stored), then close the connection without answering.
    CommitThenDrop,
    /// Handle the request (a POST is stored), then answer this status, as a gateway that
    /// timed out after the backend committed does (`commit_then_504`).
    CommitThen(u16),
    /// Answer with this 5xx status without handling the request.
    ServerError(u16),
    /// Answer 429 with `Retry-After` in seconds, without handling the request.
    TooManyRequests {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Handle the request, then wait this long before answering.
    Stall(Duration),
    /// Hold the request this long before handling it (a network or proxy that delivers a
    /// POST late): it is stored only then, and answered.
    Hold(Duration),
    /// Handle the request, then send half the answer and reset the connection.
    ResetMidBody,
    /// Answer 200 with a Wi-Fi login page, without handling the request.
    CaptivePortal,
    /// Answer 200 `[{}]` without handling the request (a broken backend behind a working
    /// front end).
    EmptyAnswer,
    /// Handle the request, then send the answer at this many bytes per second.
    Trickle {
        /// Throughput of the answer.
        bytes_per_sec: usize,
    },
}

impl Fault {
    /// Parses `commit_then_drop`, `commit_then_504` (any 5xx),  `5xx` / `503`, `429` / `429:SECS`, `stall:MILLIS`, `hold:MILLIS`, `reset`,
    /// `captive_portal`, `empty_answer`, `trickle:BYTES_PER_SEC`.
    pub fn parse(text: &str) -> Result<Fault, String> {
        let (name, arg) = text
            .split_once(':')
            .map_or((text, None), |(n, a)| (n, Some(a)));
        let num = |default: u64| -> Result<u64, String> {
            arg.map_or(Ok(default), |a| {
                a.parse().map_err(|_| format!("bad number in fault {text}"))
            })
        };
        Ok(match name {
            "commit_then_drop" | "drop" => Fault::CommitThenDrop,
            code if code.starts_with("commit_then_5") && code.len() == "commit_then_5xx".len() => {
                Fault::CommitThen(
                    code["commit_then_".len()..]
                        .parse()
                        .map_err(|_| format!("bad fault {text}"))?,
                )
            }
            "5xx" => Fault::ServerError(503),
            "429" => Fault::TooManyRequests {
                retry_after_secs: num(1)?,
            },
            "stall" => Fault::Stall(Duration::from_millis(num(60_000)?)),
            "hold" => Fault::Hold(Duration::from_millis(num(60_000)?)),
            "reset" => Fault::ResetMidBody,
            "captive_portal" => Fault::CaptivePortal,
            "empty_answer" => Fault::EmptyAnswer,
            "trickle" => Fault::Trickle {
                bytes_per_sec: num(64)? as usize,
            },
            code if code.len() == 3 && code.starts_with('5') => {
                Fault::ServerError(code.parse().map_err(|_| format!("bad fault {text}"))?)
            }
            _ => return Err(format!("unknown fault {text}")),
        })
    }
}

/// Which requests a queued fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Any request.
    Any,
    /// POST requests only.
    Post,
    /// GET requests only.
    Get,
}

impl Scope {
    fn matches(self, is_post: bool) -> bool {
        match self {
            Scope::Any => true,
            Scope::Post => is_post,
            Scope::Get => !is_post,
        }
    }
}

/// The fault plan: queued faults first (each used once), then the per-run fault, if any.
#[derive(Default)]
pub struct Faults {
    queue: Mutex<VecDeque<(Scope, Fault)>>,
    always: Mutex<Option<Fault>>,
}

impl Faults {
    /// Injects `fault` into the next request that `scope` matches.
    pub fn next(&self, scope: Scope, fault: Fault) {
        self.queue.lock().unwrap().push_back((scope, fault));
    }

    /// Injects `fault` into every request from now on (`None` to stop).
    pub fn always(&self, fault: Option<Fault>) {
        *self.always.lock().unwrap() = fault;
    }

    /// Removes every queued and per-run fault.
    pub fn clear(&self) {
        self.queue.lock().unwrap().clear();
        self.always(None);
    }

    pub(crate) fn take(&self, is_post: bool) -> Option<Fault> {
        let mut queue = self.queue.lock().unwrap();
        if let Some(i) = queue.iter().position(|(scope, _)| scope.matches(is_post)) {
            return queue.remove(i).map(|(_, f)| f);
        }
        self.always.lock().unwrap().clone()
    }
}
