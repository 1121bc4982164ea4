//! omnidial dials a contact list through the OmniDimension API, one call per
//! contact, and keeps an outcome file that makes every run resumable without
//! anyone being dialed twice.
//!
//! The pipeline, and the module that owns each stage:
//!
//! ```text
//! contacts.csv ─▶ contacts (decode, sniff, rows) ─▶ screen (phone, dedupe,
//!   resume state) ─▶ bounded queue ─▶ pipeline workers ─▶ api ─▶ classify
//!                        │                  ▲  limiter (rate, pause, retry)
//!                        ▼                  │
//!                  outcome (one writer: intent records, results, resume,
//!                           compaction)
//! ```
//!
//! - [`contacts`] turns bytes into rows: encoding, delimiter, header, blank
//!   and ragged rows. It knows nothing of phones or of the API.
//! - [`phone`] normalizes one phone cell into E.164 or says why it cannot.
//! - [`screen`] decides per row: dial, invalid or skipped. `validate` and
//!   `run` share it, so they reject the same rows for the same reasons.
//! - [`pipeline`] owns the queue, the workers and shutdown; [`limiter`] paces
//!   them; [`api`] sends one dispatch; [`classify`] reads its answer;
//!   [`retry`] says how long to wait before the next attempt.
//! - [`outcome`] owns the outcome file: the writer task, crash repair, the
//!   resume state, keeping the file at its path, and the final compaction.
//! - [`reconcile`] joins the platform's call logs to an outcome file and
//!   settles `unknown` contacts.
//! - [`summary`] counts what happens; [`progress`] shows it on a terminal.
//! - [`campaign`] turns the campaign file and flags into a checked plan.
//! - [`sandbox`] is a simulated API on 127.0.0.1 for tests and rehearsals;
//!   nothing in the dialer depends on it.
//! - [`controls`] gathers the campaign controls the screen and the workers
//!   apply: [`suppress`] (do-not-call lists), [`callers`] (caller numbers in
//!   turn, paced each), [`hours`] (calling windows in each contact's zone);
//!   [`waiting`] parks contacts outside their hours between the queue and
//!   the workers; [`redial`] picks the contacts a resume dials again.
//! - [`report`] reads an outcome file, finished or not, into a campaign
//!   summary; [`reconcile`] joins the platform's call logs to it.
//! - [`cmd`] holds one file per subcommand; [`cli`] holds the flag types;
//!   [`logging`] sets up diagnostics; [`version`] says what `--version`
//!   reports.

pub mod api;
pub mod callers;
pub mod campaign;
pub mod classify;
pub mod cli;
pub mod cmd;
pub mod contacts;
pub mod controls;
pub mod hours;
pub mod limiter;
pub mod logging;
pub mod outcome;
pub mod phone;
pub mod pipeline;
pub mod progress;
pub mod reconcile;
pub mod redial;
pub mod report;
pub mod retry;
pub mod sandbox;
pub mod screen;
pub mod summary;
pub mod suppress;
pub mod version;
pub mod waiting;
