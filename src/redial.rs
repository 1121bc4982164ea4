//! Redials: which contacts a resumed run dials again, and the call history
//! their new outcome carries.
//!
//! Only a contact whose last call was dispatched and reconciled (the
//! `call_status` column `omnidial reconcile` adds) with one of the chosen
//! statuses is dialed again, once `redial_after` has passed since that
//! call, while it has had fewer than `max_calls` calls and, if set, fewer
//! than `max_calls_per_number_per_day` today. A completed call is never
//! redialed. The history lives in the outcome file itself: `calls` counts
//! the calls so far and `earlier_calls` keeps every earlier request id with
//! its time, so compaction, which keeps one row per contact, loses none.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::outcome::number_key;
use crate::outcome::record::{ColumnMap, Record, Status};

/// The reconcile column read for a call's result.
const CALL_STATUS_COLUMN: &str = "call_status";

/// The call statuses the platform's call logs report.
const CALL_STATUSES: [&str; 4] = ["completed", "busy", "no-answer", "failed"];

/// The call status that ends a contact's story for good.
const COMPLETED: &str = "completed";

/// Least time between two calls to one contact when none is given.
pub const DEFAULT_REDIAL_AFTER: SignedDuration = SignedDuration::from_hours(1);

/// Calls to one contact in total when `--redial` is given without
/// `--max-calls`: the first call and one redial.
pub const DEFAULT_MAX_CALLS: u32 = 2;

/// Which contacts are dialed again, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct RedialPolicy {
    /// Reconciled call statuses that earn a redial, e.g. `no-answer`.
    pub statuses: Vec<String>,
    /// Least time since the last call.
    pub after: SignedDuration,
    /// Most calls in total, the first included.
    pub max_calls: u32,
    /// Most calls to one number in one day, if capped.
    pub per_day: Option<u32>,
}

impl RedialPolicy {
    /// Checks the statuses (never `completed`) and the caps.
    pub fn new(
        statuses: Vec<String>,
        after: SignedDuration,
        max_calls: u32,
        per_day: Option<u32>,
    ) -> anyhow::Result<RedialPolicy> {
        let statuses: Vec<String> = statuses
            .iter()
            .map(|s| s.trim().to_ascii_lowercase().replace('_', "-"))
            .filter(|s| !s.is_empty())
            .collect();
        if let Some(unknown) = statuses
            .iter()
            .find(|s| !CALL_STATUSES.contains(&s.as_str()))
        {
            bail!(
                "redial: unknown call status {unknown:?}; the call logs say one of {}",
                CALL_STATUSES.join(", ")
            );
        }
        if statuses.is_empty() {
            bail!("redial names no call status (e.g. no-answer,busy)");
        }
        if statuses.iter().any(|s| s == COMPLETED) {
            bail!("redial: a completed call is never dialed again; remove `completed`");
        }
        if max_calls == 0 || per_day == Some(0) {
            bail!("max_calls and max_calls_per_number_per_day must be at least 1");
        }
        if max_calls < 2 {
            bail!("max_calls = {max_calls} leaves no call for a redial: use 2 or more");
        }
        Ok(RedialPolicy {
            statuses,
            after,
            max_calls,
            per_day,
        })
    }

    /// What to do with a contact whose last call is `past`, at `now`; the
    /// day cap counts days in `zone` (the contact's, else UTC).
    pub fn judge(&self, past: &Past, now: Timestamp, zone: &TimeZone) -> Redial {
        if !self.statuses.contains(&past.call_status) {
            return Redial::NotEligible;
        }
        let calls = past.calls.max(1);
        if calls >= self.max_calls {
            return Redial::Capped;
        }
        if let Some(cap) = self.per_day
            && calls_on_day(past, now, zone) >= cap
        {
            return Redial::Capped;
        }
        if now < past.at.checked_add(self.after).unwrap_or(Timestamp::MAX) {
            return Redial::NotDue;
        }
        Redial::Due(past.history())
    }
}

/// The verdict on one earlier call.
#[derive(Debug, Clone, PartialEq)]
pub enum Redial {
    /// Its status earns no redial (or it was never reconciled).
    NotEligible,
    /// Too many calls already, in total or today.
    Capped,
    /// Eligible, but the gap since the last call has not passed.
    NotDue,
    /// Dial again, carrying this history.
    Due(CallHistory),
}

/// What a redialed contact's new outcome carries from the earlier ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallHistory {
    /// Calls placed before this one.
    pub calls_before: u32,
    /// Every earlier call as `REQUEST_ID@TIME`, oldest first.
    pub earlier_calls: String,
}

/// A contact's last recorded call.
#[derive(Debug, Clone, PartialEq)]
pub struct Past {
    /// Calls so far (0 in files written before the column existed).
    pub calls: u32,
    /// The last call's request id.
    pub request_id: Option<u64>,
    /// When the last call was recorded.
    pub at: Timestamp,
    /// The reconciled result of the last call, lower case.
    pub call_status: String,
    /// The calls before the last one.
    pub earlier_calls: String,
}

impl Past {
    /// The history a new call to this contact carries.
    fn history(&self) -> CallHistory {
        let id = self
            .request_id
            .map_or_else(|| "?".to_string(), |id| id.to_string());
        let at = self.at.round(jiff::Unit::Second).unwrap_or(self.at);
        let last = format!("{id}@{at}");
        let earlier_calls = match self.earlier_calls.trim() {
            "" => last,
            earlier => format!("{earlier} {last}"),
        };
        CallHistory {
            calls_before: self.calls.max(1),
            earlier_calls,
        }
    }
}

/// Calls to a contact on `now`'s day in `zone`: its last call and the
/// earlier ones the history names.
fn calls_on_day(past: &Past, now: Timestamp, zone: &TimeZone) -> u32 {
    let day = |at: Timestamp| at.to_zoned(zone.clone()).date();
    let today = day(now);
    let earlier = past
        .earlier_calls
        .split_whitespace()
        .filter_map(|entry| entry.split_once('@')?.1.parse::<Timestamp>().ok());
    std::iter::once(past.at)
        .chain(earlier)
        .filter(|at| day(*at) == today)
        .count() as u32
}

/// The last dispatched call of every contact in an outcome file whose
/// reconciled status is one of `statuses`; others are not kept, so memory
/// follows the contacts that may be redialed.
#[derive(Debug, Default)]
pub struct History {
    /// By number key.
    by_number: HashMap<u64, Past>,
}

impl History {
    /// Reads the outcome file at `path` (none yet: no history).
    pub fn read(path: &Path, policy: &RedialPolicy) -> anyhow::Result<History> {
        let mut history = History::default();
        if !path.exists() {
            return Ok(history);
        }
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(BufReader::new(file));
        let header = rdr.headers()?.clone();
        let columns = ColumnMap::from_header(&header)
            .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
        let status_at = header.iter().position(|h| h.trim() == CALL_STATUS_COLUMN);
        for raw in rdr.records() {
            let raw = raw.with_context(|| format!("cannot read {}", path.display()))?;
            let rec = columns
                .parse(&raw)
                .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
            let call_status = status_at.and_then(|i| raw.get(i)).unwrap_or("");
            history.apply(&rec, call_status, policy);
        }
        Ok(history)
    }

    /// Folds one record in; the last final record of a contact wins.
    fn apply(&mut self, rec: &Record, call_status: &str, policy: &RedialPolicy) {
        if !rec.status.is_final() {
            return;
        }
        let Some(number) = number_key(&rec.to_number) else {
            return;
        };
        let call_status = call_status.trim().to_ascii_lowercase();
        if rec.status != Status::Dispatched || !policy.statuses.contains(&call_status) {
            self.by_number.remove(&number);
            return;
        }
        let past = Past {
            calls: rec.calls,
            request_id: rec.request_id,
            at: rec.at,
            call_status,
            earlier_calls: rec.earlier_calls.clone(),
        };
        self.by_number.insert(number, past);
    }

    /// The last call of a contact, if it may earn a redial.
    pub fn get(&self, to_number: &str) -> Option<&Past> {
        self.by_number.get(&number_key(to_number)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_calls: u32, per_day: Option<u32>) -> RedialPolicy {
        RedialPolicy::new(
            vec!["no-answer".into(), " Busy ".into()],
            SignedDuration::from_hours(2),
            max_calls,
            per_day,
        )
        .unwrap()
    }

    fn past(status: &str, calls: u32, at: &str, earlier: &str) -> Past {
        Past {
            calls,
            request_id: Some(900),
            at: at.parse().unwrap(),
            call_status: status.into(),
            earlier_calls: earlier.into(),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn only_listed_statuses_are_redialed_and_never_a_completed_call() {
        let p = policy(3, None);
        let now = at("2026-12-07T18:00:00Z");
        let utc = TimeZone::UTC;
        let old = "2026-12-07T12:00:00Z";
        assert!(matches!(
            p.judge(&past("busy", 1, old, ""), now, &utc),
            Redial::Due(_)
        ));
        assert_eq!(
            p.judge(&past("completed", 1, old, ""), now, &utc),
            Redial::NotEligible
        );
        assert_eq!(
            p.judge(&past("failed", 1, old, ""), now, &utc),
            Redial::NotEligible
        );
        assert_eq!(
            p.judge(&past("", 1, old, ""), now, &utc),
            Redial::NotEligible
        );
        let err = RedialPolicy::new(vec!["completed".into()], DEFAULT_REDIAL_AFTER, 3, None);
        assert!(err.is_err());
    }

    #[test]
    fn a_redial_waits_for_the_gap_since_the_last_call() {
        let p = policy(3, None);
        let last = past("no-answer", 1, "2026-12-07T16:30:00Z", "");
        let utc = TimeZone::UTC;
        assert_eq!(
            p.judge(&last, at("2026-12-07T18:29:59Z"), &utc),
            Redial::NotDue
        );
        assert!(matches!(
            p.judge(&last, at("2026-12-07T18:30:00Z"), &utc),
            Redial::Due(_)
        ));
    }

    #[test]
    fn max_calls_counts_every_call_the_first_included() {
        let p = policy(3, None);
        let now = at("2026-12-09T18:00:00Z");
        let utc = TimeZone::UTC;
        let two = past(
            "no-answer",
            2,
            "2026-12-08T12:00:00Z",
            "7@2026-12-07T12:00:00Z",
        );
        assert!(matches!(p.judge(&two, now, &utc), Redial::Due(_)));
        let three = past("no-answer", 3, "2026-12-08T12:00:00Z", "");
        assert_eq!(p.judge(&three, now, &utc), Redial::Capped);
        // A file from before the `calls` column: its one call still counts
        // (judged with a cap of one call, which `new` itself refuses).
        let one_call = RedialPolicy {
            max_calls: 1,
            ..policy(2, None)
        };
        assert!(RedialPolicy::new(vec!["busy".into()], SignedDuration::ZERO, 1, None).is_err());
        assert_eq!(
            one_call.judge(&past("busy", 0, "2026-12-08T12:00:00Z", ""), now, &utc),
            Redial::Capped
        );
    }

    #[test]
    fn the_day_cap_counts_calls_on_the_contacts_own_day() {
        let p = policy(5, Some(2));
        let ny = TimeZone::get("America/New_York").unwrap();
        // Two calls on 7 December in New York: 03:00Z on the 8th is still
        // the 7th there.
        let last = past(
            "no-answer",
            2,
            "2026-12-08T03:00:00Z",
            "5@2026-12-07T15:00:00Z",
        );
        assert_eq!(
            p.judge(&last, at("2026-12-08T04:59:00Z"), &ny),
            Redial::Capped
        );
        assert!(matches!(
            p.judge(&last, at("2026-12-08T05:00:00Z"), &ny),
            Redial::Due(_)
        ));
        // In UTC the same calls fall on two days.
        assert!(matches!(
            p.judge(&last, at("2026-12-08T05:00:00Z"), &TimeZone::UTC),
            Redial::Due(_)
        ));
    }

    #[test]
    fn the_history_keeps_every_earlier_request_id() {
        let p = policy(5, None);
        let last = past(
            "busy",
            2,
            "2026-12-07T12:00:00.250Z",
            "7@2026-12-06T12:00:00Z",
        );
        let Redial::Due(history) = p.judge(&last, at("2026-12-08T00:00:00Z"), &TimeZone::UTC)
        else {
            panic!("due");
        };
        assert_eq!(history.calls_before, 2);
        assert_eq!(
            history.earlier_calls,
            "7@2026-12-06T12:00:00Z 900@2026-12-07T12:00:00Z"
        );
    }

    #[test]
    fn the_history_follows_the_last_final_record() {
        let p = policy(3, None);
        let mut history = History::default();
        let mut rec = Record::new(1, "+12015550101", Status::Dispatched);
        rec.request_id = Some(5);
        history.apply(&rec, "No-Answer", &p);
        assert_eq!(history.get("+12015550101").unwrap().request_id, Some(5));
        history.apply(&Record::new(1, "+12015550101", Status::Sending), "", &p);
        assert!(
            history.get("+12015550101").is_some(),
            "an intent is not final"
        );
        history.apply(&rec, "completed", &p);
        assert!(history.get("+12015550101").is_none());
    }
}
