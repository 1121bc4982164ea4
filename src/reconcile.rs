//! Reconcile: joins the platform's call logs to an outcome file. Each
//! dispatched contact gains the result of its call; each `unknown` contact
//! is looked for among calls to its number made after it was sent: found,
//! it becomes `dispatched` with that call's request id; not found once every
//! log was read, it stays `unknown` and `run --resume --redial-unknown` may
//! dial it again. The file is rewritten through a temp file and a rename,
//! so an interrupted reconcile leaves the old one intact.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};

use crate::api::{ApiClient, CallLog};
use crate::limiter::Pacer;
use crate::outcome::record::{COLUMNS, ColumnMap, Status};
use crate::outcome::{NOT_FOUND_NOTE, number_key};

/// Columns reconcile adds (or refreshes) after the outcome columns.
pub const RESULT_COLUMNS: [&str; 4] =
    ["call_status", "call_duration_s", "call_cost", "call_log_id"];

/// Logs requested per page.
const PAGE_SIZE: u32 = 100;

/// How long before an `unknown` record's time a matching call may have
/// started: the record is written when the answer was given up on, up to a
/// request timeout (and a clock's drift) after the request left.
const SEND_WINDOW: SignedDuration = SignedDuration::from_mins(10);

/// The part of a call log kept for joining.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    /// The log's id.
    pub log_id: String,
    /// completed, busy, no-answer, failed.
    pub status: String,
    /// Seconds.
    pub duration_s: String,
    /// Cost.
    pub cost: String,
    /// The dispatch request id, if the log names one.
    pub request_id: Option<u64>,
    /// When the call was made, if readable.
    pub at: Option<Timestamp>,
}

impl CallResult {
    /// Keeps what reconcile needs of a log.
    pub fn from_log(log: &CallLog) -> CallResult {
        let text = |v: &Option<serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        CallResult {
            log_id: text(&Some(log.id.clone())),
            status: log.call_status.clone().unwrap_or_default(),
            duration_s: text(&log.call_duration_in_seconds),
            cost: text(&log.call_cost),
            request_id: log.request_id(),
            at: log.time_of_call.as_deref().and_then(parse_time_of_call),
        }
    }
}

/// Reads `DD/MM/YYYY HH:MM:SS` as UTC.
pub fn parse_time_of_call(text: &str) -> Option<Timestamp> {
    let civil = jiff::civil::DateTime::strptime("%d/%m/%Y %H:%M:%S", text.trim()).ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Call logs indexed for the join.
#[derive(Debug, Default)]
pub struct LogIndex {
    /// By dispatch request id.
    by_request: HashMap<u64, CallResult>,
    /// By number, only for numbers that are `unknown` in the file.
    by_number: HashMap<u64, Vec<CallResult>>,
    /// Request ids the outcome file already attributes to a call.
    known_ids: HashSet<u64>,
}

impl LogIndex {
    /// Adds one log; `wanted` says which numbers need a search by number.
    pub fn add(&mut self, log: &CallLog, wanted: &HashSet<u64>) {
        let result = CallResult::from_log(log);
        if let Some(number) = log.to_number.as_deref().and_then(number_key)
            && wanted.contains(&number)
        {
            self.by_number
                .entry(number)
                .or_default()
                .push(result.clone());
        }
        if let Some(id) = result.request_id {
            self.by_request.insert(id, result);
        }
    }

    /// The call of a dispatched contact.
    fn for_request(&self, id: u64) -> Option<&CallResult> {
        self.by_request.get(&id)
    }

    /// The earliest call to `number` at or after `sent_by - SEND_WINDOW`.
    fn for_unknown(&self, number: u64, recorded_at: Timestamp) -> Option<&CallResult> {
        let earliest = recorded_at.checked_sub(SEND_WINDOW).unwrap_or(recorded_at);
        self.by_number
            .get(&number)?
            .iter()
            .filter(|c| c.at.is_none_or(|at| at >= earliest))
            .filter(|c| c.request_id.is_none_or(|id| !self.known_ids.contains(&id)))
            .min_by_key(|c| c.at)
    }
}

/// What a reconcile changed.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct ReconcileStats {
    /// Logs read.
    pub logs: u64,
    /// Dispatched contacts matched to their call.
    pub matched: u64,
    /// Unknown contacts found placed (now dispatched).
    pub found: u64,
    /// Unknown contacts with no call found: safe to redial.
    pub not_found: u64,
}

/// What an outcome file tells reconcile before any log is read.
#[derive(Debug, Default)]
pub struct Wanted {
    /// Numbers of the `unknown` contacts.
    pub numbers: HashSet<u64>,
    /// Request ids the file already attributes to a call (dispatched
    /// records and earlier calls): such a call cannot be an unknown
    /// contact's missing one, even when it went to the same number.
    pub known_ids: HashSet<u64>,
}

/// Reads what reconcile looks for from an outcome file.
pub fn wanted(path: &Path) -> anyhow::Result<Wanted> {
    let (mut rdr, columns) = open(path)?;
    let mut wanted = Wanted::default();
    for raw in rdr.records() {
        let rec = columns.parse(&raw?).map_err(anyhow::Error::msg)?;
        if rec.status == Status::Unknown
            && let Some(number) = number_key(&rec.to_number)
        {
            wanted.numbers.insert(number);
        }
        wanted.known_ids.extend(rec.request_id);
        let earlier = rec.earlier_calls.split_whitespace();
        wanted
            .known_ids
            .extend(earlier.filter_map(|call| call.split('@').next()?.parse::<u64>().ok()));
    }
    Ok(wanted)
}

/// Reads every page of call logs into an index.
pub async fn read_logs(
    client: &ApiClient,
    pacer: &Pacer,
    wanted: &Wanted,
) -> anyhow::Result<(LogIndex, u64)> {
    let mut index = LogIndex {
        known_ids: wanted.known_ids.clone(),
        ..LogIndex::default()
    };
    let mut read = 0u64;
    for page in 1.. {
        pacer.wait_turn().await;
        let logs = client.call_logs(page, PAGE_SIZE).await?;
        for log in &logs.call_log_data {
            index.add(log, &wanted.numbers);
        }
        read += logs.call_log_data.len() as u64;
        tracing::debug!(page, read, total = logs.total_records, "call logs");
        if logs.call_log_data.is_empty() || read >= logs.total_records {
            break;
        }
    }
    Ok((index, read))
}

/// Rewrites the outcome file with the call results joined in.
pub fn apply(path: &Path, index: &LogIndex) -> anyhow::Result<ReconcileStats> {
    let (mut rdr, columns) = open(path)?;
    let header = rdr.headers()?.clone();
    let mut names: Vec<String> = header.iter().map(str::to_string).collect();
    let result_at: Vec<usize> = RESULT_COLUMNS
        .iter()
        .map(|name| match names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                names.push(name.to_string());
                names.len() - 1
            }
        })
        .collect();
    let position = |name: &str| header.iter().position(|h| h == name);
    let (status_at, id_at, error_at) = (
        position(COLUMNS[3]),
        position(COLUMNS[0]),
        position(COLUMNS[6]),
    );

    let tmp = path.with_extension("reconciling");
    let out = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut wtr = csv::WriterBuilder::new().from_writer(BufWriter::new(out));
    wtr.write_record(&names)?;
    let mut stats = ReconcileStats::default();
    for raw in rdr.records() {
        let raw = raw?;
        let rec = columns.parse(&raw).map_err(anyhow::Error::msg)?;
        let mut fields: Vec<String> = raw.iter().map(str::to_string).collect();
        fields.resize(names.len(), String::new());
        let call = match rec.status {
            Status::Dispatched => rec.request_id.and_then(|id| index.for_request(id)),
            Status::Unknown => {
                number_key(&rec.to_number).and_then(|n| index.for_unknown(n, rec.at))
            }
            _ => None,
        };
        match (rec.status, call) {
            (Status::Dispatched, Some(_)) => stats.matched += 1,
            (Status::Unknown, Some(call)) => {
                stats.found += 1;
                if let (Some(s), Some(i)) = (status_at, id_at) {
                    fields[s] = Status::Dispatched.as_str().into();
                    fields[i] = call.request_id.map(|id| id.to_string()).unwrap_or_default();
                }
                if let Some(e) = error_at {
                    fields[e] = "was unknown; reconcile found the call in the call logs".into();
                }
            }
            (Status::Unknown, None) => {
                stats.not_found += 1;
                if let Some(e) = error_at {
                    fields[e] = format!("{NOT_FOUND_NOTE}; safe to redial with --redial-unknown");
                }
            }
            _ => {}
        }
        if let Some(call) = call {
            let values = [&call.status, &call.duration_s, &call.cost, &call.log_id];
            for (at, value) in result_at.iter().zip(values) {
                fields[*at] = value.clone();
            }
        }
        wtr.write_record(&fields)?;
    }
    let mut out = wtr
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", tmp.display(), e.error()))?;
    out.flush()?;
    out.get_ref().sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(stats)
}

/// Opens an outcome file past its header.
fn open(path: &Path) -> anyhow::Result<(csv::Reader<BufReader<File>>, ColumnMap)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::new(file));
    let columns = ColumnMap::from_header(rdr.headers()?)
        .map_err(|err| anyhow::anyhow!("{} is not an outcome file: {err}", path.display()))?;
    Ok((rdr, columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(id: u64, number: &str, request: Option<u64>, at: &str) -> CallLog {
        serde_json::from_value(serde_json::json!({
            "id": id, "to_number": number, "time_of_call": at, "call_status": "completed",
            "call_duration_in_seconds": 42, "call_cost": 0.06,
            "call_request_id": {
                "id": request.map(serde_json::Value::from).unwrap_or(false.into()),
                "type_of_request": "dispatch",
            },
        }))
        .unwrap()
    }

    #[test]
    fn time_of_call_reads_day_first() {
        let t = parse_time_of_call("03/12/2026 09:00:05").unwrap();
        assert_eq!(t.to_string(), "2026-12-03T09:00:05Z");
        assert!(parse_time_of_call("2026-12-03").is_none());
    }

    #[test]
    fn unknown_contacts_match_only_calls_after_they_were_sent() {
        let mut wanted = HashSet::new();
        wanted.insert(12015550101);
        let mut index = LogIndex::default();
        index.add(
            &log(1, "+12015550101", Some(7), "01/12/2026 08:00:00"),
            &wanted,
        );
        index.add(
            &log(2, "+12015550101", Some(9), "03/12/2026 09:00:30"),
            &wanted,
        );
        let sent: Timestamp = "2026-12-03T09:00:40Z".parse().unwrap();
        assert_eq!(
            index.for_unknown(12015550101, sent).unwrap().request_id,
            Some(9)
        );
        let later: Timestamp = "2026-12-04T09:00:00Z".parse().unwrap();
        assert!(index.for_unknown(12015550101, later).is_none());

        // A call the file already records (an earlier call of a redialed
        // contact) is never taken for the unknown one.
        index.known_ids.insert(9);
        assert!(index.for_unknown(12015550101, sent).is_none());
        assert_eq!(index.for_request(7).unwrap().log_id, "1");
    }
}
