//! Scripted dispatch answers (`server_script.json`).
//!
//! This file owns the script format described in the cases README under
//! "Scripted responses": loading and checking it up front, and choosing the
//! entry for the n-th request to a number. A single entry (its checks and
//! its rendering) is `entry.rs`'s. The script keeps no cursors itself; the
//! shared state counts how many requests each number has had, so the script
//! stays read-only and connections share it without a lock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::entry::RawEntry;
pub(crate) use super::entry::{Action, ScriptEntry};

/// The only endpoint a script may target.
const DISPATCH_ENDPOINT: &str = "POST /api/v1/calls/dispatch";

/// The only request field a script may match on.
const MATCH_ON_TO_NUMBER: &str = "to_number";

/// A checked script: per-number sequences of answers and a default.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The answer for numbers without a sequence; `None` leaves them to the
    /// sandbox's normal behaviour (faults, then success).
    default: Option<ScriptEntry>,
    /// Answers per number, consumed one per request.
    sequences: HashMap<String, Vec<ScriptEntry>>,
    /// Numbers whose last answer repeats once their sequence is used up.
    repeat_last: HashSet<String>,
}

/// What a script says about the n-th request to a number.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pick<'a> {
    /// Answer with this entry.
    Entry(&'a ScriptEntry),
    /// The number's sequence is used up and does not repeat: the dialer sent
    /// more requests than the case allows.
    Exhausted,
    /// The script has nothing to say; answer as if there were no script.
    Unscripted,
}

/// The script file as written, before checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    /// The endpoint the script answers for, if stated.
    endpoint: Option<String>,
    /// The request field to match on, if stated.
    match_on: Option<String>,
    /// The answer for unlisted numbers.
    default: Option<RawEntry>,
    /// Answers per number.
    #[serde(default)]
    sequences: BTreeMap<String, Vec<RawEntry>>,
    /// Numbers whose last answer repeats.
    #[serde(default)]
    repeat_last: BTreeMap<String, bool>,
}

impl Script {
    /// Reads and checks a script file.
    pub fn from_path(path: &Path) -> anyhow::Result<Script> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading sandbox script {}", path.display()))?;
        Script::from_json(&text).with_context(|| format!("in sandbox script {}", path.display()))
    }

    /// Parses and checks a script from JSON text.
    pub fn from_json(text: &str) -> anyhow::Result<Script> {
        let raw: RawScript = serde_json::from_str(text).context("script is not valid")?;
        check_header_fields(&raw)?;

        let default = match raw.default {
            Some(entry) => Some(ScriptEntry::from_raw(entry).context("in default")?),
            None => None,
        };
        let mut sequences = HashMap::new();
        for (number, entries) in raw.sequences {
            let checked = check_sequence(&number, entries)?;
            sequences.insert(number, checked);
        }
        let repeat_last = check_repeat_last(raw.repeat_last, &sequences)?;
        Ok(Script {
            default,
            sequences,
            repeat_last,
        })
    }

    /// Chooses the answer for a request to `to_number` that has had `used`
    /// earlier requests.
    pub(crate) fn pick(&self, to_number: &str, used: usize) -> Pick<'_> {
        let Some(entries) = self.sequences.get(to_number) else {
            return self.default.as_ref().map_or(Pick::Unscripted, Pick::Entry);
        };
        if let Some(entry) = entries.get(used) {
            return Pick::Entry(entry);
        }
        match entries.last() {
            Some(last) if self.repeat_last.contains(to_number) => Pick::Entry(last),
            _ => Pick::Exhausted,
        }
    }

    /// Returns true when `to_number` has a sequence of its own, i.e. when
    /// the sandbox must count requests to it.
    pub(crate) fn has_sequence(&self, to_number: &str) -> bool {
        self.sequences.contains_key(to_number)
    }
}

/// Checks the top-level `endpoint` and `match_on`, the two fields that only
/// have one valid value today.
fn check_header_fields(raw: &RawScript) -> anyhow::Result<()> {
    if let Some(endpoint) = &raw.endpoint
        && endpoint != DISPATCH_ENDPOINT
    {
        bail!("endpoint {endpoint:?} is not supported (only {DISPATCH_ENDPOINT:?})");
    }
    if let Some(match_on) = &raw.match_on
        && match_on != MATCH_ON_TO_NUMBER
    {
        bail!("match_on {match_on:?} is not supported (only {MATCH_ON_TO_NUMBER:?})");
    }
    Ok(())
}

/// Checks every entry of one number's sequence, naming it on error.
fn check_sequence(number: &str, entries: Vec<RawEntry>) -> anyhow::Result<Vec<ScriptEntry>> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            ScriptEntry::from_raw(entry).with_context(|| format!("in sequences[{number:?}][{i}]"))
        })
        .collect()
}

/// Keeps the numbers marked `true`, refusing any without a sequence to
/// repeat.
fn check_repeat_last(
    raw: BTreeMap<String, bool>,
    sequences: &HashMap<String, Vec<ScriptEntry>>,
) -> anyhow::Result<HashSet<String>> {
    let mut numbers = HashSet::new();
    for (number, _) in raw.into_iter().filter(|(_, on)| *on) {
        if sequences.get(&number).is_none_or(Vec::is_empty) {
            bail!("repeat_last names {number:?}, which has no sequence to repeat");
        }
        numbers.insert(number);
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;
    use serde_json::Value;
    use std::time::Duration;

    /// Loads a case's script from the shared cases folder.
    fn case_script(case: &str) -> Script {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/cases")
            .join(case)
            .join("server_script.json");
        Script::from_path(&path).unwrap()
    }

    /// Both scripted cases load, and their notable entries mean what the
    /// cases README says.
    #[test]
    fn case_scripts_load() {
        let retry = case_script("429-retry-after");
        let Pick::Entry(first) = retry.pick("+12015550312", 0) else {
            panic!("no entry")
        };
        assert_eq!(first.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(!first.places_call());
        let Pick::Entry(second) = retry.pick("+12015550312", 1) else {
            panic!("no entry")
        };
        assert!(second.places_call());
        assert_eq!(second.fixed_request_id(), Some(9312));
        assert!(matches!(retry.pick("+12015550312", 2), Pick::Exhausted));
        assert!(matches!(retry.pick("+12015550316", 7), Pick::Entry(_)));

        let timeout = case_script("timeout-no-double-dial");
        let Pick::Entry(hang) = timeout.pick("+12015550322", 0) else {
            panic!("no entry")
        };
        assert_eq!(hang.action, Action::Hang(Duration::from_secs(120)));
        assert!(hang.places_call());
        assert_eq!(hang.fixed_request_id(), Some(9322));
        let Pick::Entry(gateway) = timeout.pick("+12015550324", 0) else {
            panic!("no entry")
        };
        assert!(gateway.places_call());
        assert_eq!(
            &gateway.render_body(1)[..],
            b"<html><body>504 Gateway Time-out</body></html>"
        );
    }

    /// Unlisted numbers get the default, or nothing without one.
    #[test]
    fn default_and_unscripted() {
        let with_default = Script::from_json(r#"{"default": {"status": 503}}"#).unwrap();
        assert!(matches!(with_default.pick("+15550000000", 9), Pick::Entry(e) if e.status == 503));
        let without = Script::from_json(r#"{"sequences": {}}"#).unwrap();
        assert!(matches!(without.pick("+15550000000", 0), Pick::Unscripted));
    }

    /// `"auto"` is filled in per answer; other bodies are sent as written.
    #[test]
    fn auto_request_id() {
        let script = Script::from_json(
            r#"{"default": {"status": 200, "body": {"success": true, "requestId": "auto"}}}"#,
        )
        .unwrap();
        let Pick::Entry(entry) = script.pick("+15550000000", 0) else {
            panic!("no entry")
        };
        assert!(entry.places_call());
        assert_eq!(entry.fixed_request_id(), None);
        let body: Value = serde_json::from_slice(&entry.render_body(77)).unwrap();
        assert_eq!(body["requestId"], 77);
    }

    /// A date offset renders an IMF-fixdate the given seconds from now.
    #[test]
    fn http_date_offset_renders_imf_fixdate() {
        let script = Script::from_json(
            r#"{"default": {"status": 429,
                "headers": {"Retry-After": {"http_date_offset_s": -30}}}}"#,
        )
        .unwrap();
        let Pick::Entry(entry) = script.pick("+15550000000", 0) else {
            panic!("no entry")
        };
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let headers = entry.render_headers(now);
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[0].0, "retry-after");
        assert_eq!(headers[0].1, "Sun, 06 Nov 1994 08:49:07 GMT");
    }

    /// Mistakes in a script are caught at load time, naming the place.
    #[test]
    fn bad_scripts_are_refused() {
        let cases = [
            (r#"{"match_on": "agent_id"}"#, "match_on"),
            (r#"{"endpoint": "GET /api/v1/calls/logs"}"#, "endpoint"),
            (
                r#"{"sequences": {"+1": [{"status": 200}, {"body": {}}]}}"#,
                "[1]",
            ),
            (
                r#"{"default": {"status": 200, "body": {}, "raw_body": ""}}"#,
                "raw_body",
            ),
            (r#"{"default": {"action": "hang"}}"#, "hang_s"),
            (r#"{"default": {"action": "explode"}}"#, "explode"),
            (r#"{"default": {"status": 99}}"#, "99"),
            (
                r#"{"default": {"status": 200, "headers": {"a b": "x"}}}"#,
                "a b",
            ),
            (r#"{"repeat_last": {"+1": true}}"#, "+1"),
            (
                r#"{"default": {"status": 200, "reqeustId": 5}}"#,
                "reqeustId",
            ),
        ];
        for (text, needle) in cases {
            let err = format!("{:#}", Script::from_json(text).unwrap_err());
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
