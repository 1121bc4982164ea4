//! `omnidial validate` (and `run --dry-run`): reads the list through the
//! same screen as `run`, dials nobody, needs no key, opens no connection and
//! writes nothing but the files asked for (`--rejects`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::api::DispatchBody;
use crate::campaign::{Plan, Rate, Settings};
use crate::cli::{Format, ListArgs, ReportArgs};
use crate::controls::Gate;
use crate::controls::report::HeldBack;
use crate::outcome::{Prior, read_ledger};
use crate::screen::{Contact, Decision, Redial, Rejection, Screen, Skip};

/// Rows listed by number under each heading of the text report.
const FIRST_ROWS: usize = 5;

/// Rows the JSON report lists under each heading; the counts cover all.
/// A million-row list may repeat or assume a region for most of its rows,
/// and a report that listed them all would hold the list twice over.
const LISTED_ROWS: usize = 1000;

/// Context keys that the dispatch body itself uses; a column with such a
/// name is passed in `call_context` but may confuse whoever reads it.
const SPECIAL_KEYS: [&str; 4] = ["agent_id", "to_number", "from_number_id", "call_context"];

/// Validates a list with the flags and campaign given.
pub fn execute(list: &ListArgs, report: &ReportArgs) -> anyhow::Result<i32> {
    run_dry(list, report, list.settings()?, Redial::default())
}

/// The dry run proper, shared with `run --dry-run`, which hands over the
/// run's own redial flags so both judge earlier outcomes alike.
pub fn run_dry(
    list: &ListArgs,
    opts: &ReportArgs,
    settings: Settings,
    redial: Redial,
) -> anyhow::Result<i32> {
    let plan = Plan::from_settings(settings, &list.contacts, list.out.clone())?;
    crate::phone::load_in_background(plan.default_region);
    let redial = Redial {
        not_found: redial.not_found || plan.retry_ambiguous,
        unknown: redial.unknown || plan.retry_ambiguous,
        ..redial
    };
    let mut gate = Gate::open(&plan.controls, plan.default_region.as_ref(), &plan.out)?;
    let gate_warnings = gate.suppression.warnings();
    // No separate scan: nothing is dialed, and the pass below meets every
    // fault the scan would (at a million rows the scan was a tenth of the
    // time).
    let rows = super::open_list(&plan)?;
    let layout = rows.layout().clone();
    gate.learn_do_not_call(
        &plan.contacts,
        &plan.read,
        &layout,
        &plan.phone,
        plan.default_region.as_ref(),
    )?;
    // An existing outcome file is read, never written: the report then says
    // what a resume would leave alone.
    let ledger = read_ledger(&plan.out, plan.allow_duplicates)?;
    if ledger.records() > 0 {
        tracing::warn!(
            "{} exists: this report assumes the run resumes that campaign (--resume)",
            plan.out.display()
        );
    }
    let mut screen = Screen::new(
        ledger,
        &layout,
        plan.phone,
        plan.default_region,
        plan.allow_duplicates,
        redial,
    )
    .with_gate(gate);

    let mut report = Report::new(&layout, &plan);
    report.warnings.extend(gate_warnings);
    let mut rejects = match &opts.rejects {
        Some(path) => Some(RejectsFile::create(path)?),
        None => None,
    };
    let judged = judge_rows(
        rows,
        &mut screen,
        &mut report,
        rejects.as_mut(),
        opts,
        &plan,
    );
    if let Err(err) = judged {
        // A list found unusable halfway leaves no half-written rejects.
        if let Some(path) = &opts.rejects {
            let _ = std::fs::remove_file(path);
        }
        return Err(err);
    }
    if let Some(file) = rejects {
        file.finish()?;
    }
    if report.rows == 0 {
        super::warn_no_rows(&plan);
    }
    report.held_back.redial_not_due = screen.gate().redial_not_due;
    report.held_back.capped += screen.gate().redial_capped;

    report.finish(&plan);
    match opts.format {
        Format::Text => print!("{}", report.to_text()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(if report.rejected == 0 { 0 } else { 1 })
}

/// Judges every row into the report (and the rejects file).
fn judge_rows(
    rows: crate::contacts::RowReader,
    screen: &mut Screen,
    report: &mut Report,
    mut rejects: Option<&mut RejectsFile>,
    opts: &ReportArgs,
    plan: &Plan,
) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    for row in rows {
        let decision = screen.judge(row?);
        report.held_back.note(&decision, &plan.controls, now);
        if let (Decision::Invalid(rejection), Some(file)) = (&decision, rejects.as_deref_mut()) {
            file.write(rejection)?;
        }
        report.add(decision, opts.show, plan);
    }
    Ok(())
}

/// What a dry run found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The list.
    pub file: String,
    /// The delimiter used.
    pub delimiter: String,
    /// The encoding used.
    pub encoding: String,
    /// The phone column.
    pub phone_column: String,
    /// Data rows read.
    pub rows: u64,
    /// Rows that would be dialed.
    pub would_dial: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Rejections grouped by reason: count and first rows.
    pub rejected_by_reason: BTreeMap<String, Group>,
    /// Rows whose number repeats an earlier row's.
    pub duplicate_rows: u64,
    /// The first of them (up to 1000): row → row of the first occurrence.
    pub duplicates: Vec<Duplicate>,
    /// Blank rows passed over.
    pub blank: u64,
    /// Contacts an earlier run settled (from an existing outcome file).
    pub already_done: u64,
    /// Contacts an earlier run left unknown (held back).
    pub held_unknown: u64,
    /// Context keys the calls will carry, with how many dialed rows leave
    /// each one empty.
    pub context_keys: BTreeMap<String, u64>,
    /// Context keys that clash with dispatch fields.
    pub special_keys: Vec<String>,
    /// Rows whose number needed the default or row region.
    pub assumed_region_rows: u64,
    /// The first of them (up to 1000).
    pub assumed_region: Vec<AssumedRegion>,
    /// Expected duration at the configured rates (the campaign's and
    /// each caller number's), in seconds; waits for calling hours and
    /// retries come on top.
    pub estimated_seconds: Option<f64>,
    /// The first request bodies, as they would be sent.
    pub requests: Vec<Preview>,
    /// Warnings about the list.
    pub warnings: Vec<String>,
    /// Contacts given a caller number from the pool so far.
    #[serde(skip)]
    dialed_from_pool: usize,
    /// Calls each caller number would make, for `per_number_rate`.
    #[serde(skip)]
    calls_per_caller: HashMap<u64, u64>,
    /// Contacts each campaign control holds back.
    pub held_back: HeldBack,
}

/// Seconds to dial `calls` at the campaign's `rate`, or at the pace of the
/// busiest caller number (`busiest` calls at `per_number` each) when that
/// is slower. `None` when neither rate limits the run.
fn estimate_seconds(
    calls: u64,
    rate: Rate,
    busiest: Option<u64>,
    per_number: Option<Rate>,
) -> Option<f64> {
    let campaign = match rate {
        Rate::PerSecond(rate) => Some(calls as f64 / rate),
        Rate::Unlimited => None,
    };
    let caller = match (busiest, per_number) {
        (Some(busiest), Some(Rate::PerSecond(rate))) => Some(busiest as f64 / rate),
        _ => None,
    };
    match (campaign, caller) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// A group of rejections with the same reason.
#[derive(Debug, Default, Serialize)]
pub struct Group {
    /// How many rows.
    pub count: u64,
    /// The first few rows.
    pub rows: Vec<u64>,
}

/// One repeated number.
#[derive(Debug, Serialize)]
pub struct Duplicate {
    /// The repeating row.
    pub row: u64,
    /// Why (names the first row).
    pub reason: String,
}

/// A number read with an assumed region.
#[derive(Debug, Serialize)]
pub struct AssumedRegion {
    /// Row.
    pub row: u64,
    /// The cell as written.
    pub raw: String,
    /// The number that would be dialed.
    pub to_number: String,
    /// The region applied.
    pub region: String,
}

/// One request as it would be sent.
#[derive(Debug, Serialize)]
pub struct Preview {
    /// Row.
    pub row: u64,
    /// The JSON body (the key is never part of it).
    pub body: serde_json::Value,
}

impl Report {
    /// An empty report for a list.
    fn new(layout: &crate::contacts::Layout, plan: &Plan) -> Report {
        let context_keys = layout
            .context_keys
            .iter()
            .map(|k| (k.to_string(), 0))
            .collect();
        let special_keys = layout
            .context_keys
            .iter()
            .filter(|k| SPECIAL_KEYS.contains(&k.as_ref()))
            .map(|k| k.to_string())
            .collect();
        let mut warnings = vec![];
        if plan.agent_id.is_none() {
            warnings.push("no agent id yet: a run needs --agent-id or agent_id".into());
        }
        Report {
            file: plan.contacts.display().to_string(),
            delimiter: match layout.delimiter {
                b'\t' => "tab".into(),
                d => (d as char).to_string(),
            },
            encoding: layout.encoding.to_string(),
            phone_column: layout.phone_column.clone(),
            rows: 0,
            would_dial: 0,
            rejected: 0,
            rejected_by_reason: BTreeMap::new(),
            duplicate_rows: 0,
            duplicates: vec![],
            blank: 0,
            already_done: 0,
            held_unknown: 0,
            context_keys,
            special_keys,
            assumed_region_rows: 0,
            assumed_region: vec![],
            estimated_seconds: None,
            requests: vec![],
            warnings,
            dialed_from_pool: 0,
            calls_per_caller: HashMap::new(),
            held_back: HeldBack::default(),
        }
    }

    /// Counts one decision.
    fn add(&mut self, decision: Decision, show: usize, plan: &Plan) {
        self.rows += 1;
        match decision {
            Decision::Dial(contact) => self.add_dial(&contact, show, plan),
            Decision::Invalid(rejection) => {
                self.rejected += 1;
                let group = self.rejected_by_reason.entry(rejection.reason).or_default();
                group.count += 1;
                if group.rows.len() < FIRST_ROWS {
                    group.rows.push(rejection.row);
                }
            }
            Decision::Skipped {
                row,
                why: Skip::Duplicate,
                reason,
                ..
            } => {
                self.duplicate_rows += 1;
                if self.duplicates.len() < LISTED_ROWS {
                    self.duplicates.push(Duplicate { row, reason });
                }
            }
            // Counted under held_back.
            Decision::Skipped { .. } => {}
            Decision::Settled { prior, .. } => {
                self.already_done += 1;
                debug_assert!(matches!(prior, Prior::Dispatched | Prior::Failed));
            }
            Decision::HeldUnknown { .. } => self.held_unknown += 1,
            Decision::Blank { .. } => {
                self.blank += 1;
            }
        }
    }

    /// Counts a row that would be dialed.
    fn add_dial(&mut self, contact: &Contact, show: usize, plan: &Plan) {
        self.would_dial += 1;
        // Most rows fill every key; only the others need a look, through a
        // set so a list with thousands of columns stays linear.
        if contact.context.0.len() < self.context_keys.len() {
            let present: std::collections::HashSet<&str> =
                contact.context.0.iter().map(|(k, _)| k.as_ref()).collect();
            for (key, empty) in self.context_keys.iter_mut() {
                if !present.contains(key.as_str()) {
                    *empty += 1;
                }
            }
        }
        self.assumed_region_rows += u64::from(contact.assumed_region.is_some());
        if let Some(region) = &contact.assumed_region
            && self.assumed_region.len() < LISTED_ROWS
        {
            self.assumed_region.push(AssumedRegion {
                row: contact.row,
                raw: contact.raw_phone.clone(),
                to_number: contact.to_number.clone(),
                region: region.to_string(),
            });
        }
        // Caller numbers go in turn over the contacts dialed, as the run
        // hands them out; a row's own number does not move the turn.
        let pool = &plan.controls.from_number_ids;
        let from_number_id = contact.controls.from_number_id.or_else(|| {
            let id = pool.get(self.dialed_from_pool % pool.len().max(1)).copied();
            self.dialed_from_pool += usize::from(id.is_some());
            id
        });
        if let Some(id) = from_number_id.or(plan.from_number_id) {
            *self.calls_per_caller.entry(id).or_default() += 1;
        }
        if self.requests.len() < show {
            let agent_id = contact.controls.agent_id.or(plan.agent_id);
            let body = DispatchBody {
                agent_id: agent_id.unwrap_or(0),
                to_number: &contact.to_number,
                from_number_id: from_number_id.or(plan.from_number_id),
                call_context: &contact.context,
            };
            self.requests.push(Preview {
                row: contact.row,
                body: preview_body(&body, agent_id.is_some()),
            });
        }
    }

    /// Final figures.
    fn finish(&mut self, plan: &Plan) {
        self.estimated_seconds = estimate_seconds(
            self.would_dial,
            plan.rate,
            self.calls_per_caller.values().max().copied(),
            plan.controls.per_number_rate,
        );
        if self.estimated_seconds.is_some() && plan.controls.hours.is_some() {
            self.warnings.push(
                "the estimated duration counts no time waiting for calling hours".to_string(),
            );
        }
        for key in &self.special_keys {
            self.warnings.push(format!(
                "column `{key}` has the name of a dispatch field; it is passed inside \
                 call_context, not as the field itself"
            ));
        }
    }

    /// The report for a person.
    fn to_text(&self) -> String {
        let mut out = format!(
            "{}: {} rows (phone column `{}`, delimiter {}, {})\n",
            self.file, self.rows, self.phone_column, self.delimiter, self.encoding
        );
        out += &format!("  would dial     {:>8}\n", self.would_dial);
        out += &format!("  rejected       {:>8}\n", self.rejected);
        out += &format!("  duplicates     {:>8}\n", self.duplicate_rows);
        if self.blank > 0 {
            out += &format!("  blank rows     {:>8} (passed over)\n", self.blank);
        }
        if self.already_done + self.held_unknown > 0 {
            out += &format!(
                "  already done   {:>8} (in the outcome file)\n",
                self.already_done
            );
            out += &format!(
                "  held: unknown  {:>8} (reconcile first)\n",
                self.held_unknown
            );
        }
        out += &self.held_back.to_text();
        for (reason, group) in &self.rejected_by_reason {
            out += &format!(
                "\nrejected ({}): {reason}\n  rows {}\n",
                group.count,
                list_rows(&group.rows, group.count)
            );
        }
        if !self.duplicates.is_empty() {
            out += "\nduplicates (not dialed):\n";
            for dup in self.duplicates.iter().take(FIRST_ROWS) {
                out += &format!("  row {}: {}\n", dup.row, dup.reason);
            }
        }
        if !self.assumed_region.is_empty() {
            out += "\nnumbers without a country code, read with an assumed region:\n";
            for a in self
                .assumed_region
                .iter()
                .take(FIRST_ROWS.max(self.requests.len()))
            {
                out += &format!(
                    "  row {}: {:?} -> {} (assumed region {})\n",
                    a.row, a.raw, a.to_number, a.region
                );
            }
            if self.assumed_region_rows > FIRST_ROWS as u64 {
                out += &format!("  ... {} rows in all\n", self.assumed_region_rows);
            }
        }
        out += &format!("\ncall_context keys: {}\n", self.keys_text());
        if let Some(seconds) = self.estimated_seconds {
            out += &format!(
                "estimated duration at the configured rates: {}\n",
                human_seconds(seconds)
            );
        }
        for preview in &self.requests {
            out += &format!("row {} would send: {}\n", preview.row, preview.body);
        }
        for warning in &self.warnings {
            out += &format!("warning: {warning}\n");
        }
        out
    }

    /// The context keys, with how many rows leave each empty.
    fn keys_text(&self) -> String {
        if self.context_keys.is_empty() {
            return "(none)".into();
        }
        let keys: Vec<String> = self
            .context_keys
            .iter()
            .map(|(k, empty)| {
                if *empty > 0 {
                    format!("{k} (empty in {empty} rows)")
                } else {
                    k.clone()
                }
            })
            .collect();
        keys.join(", ")
    }
}

/// A request body as JSON; without an agent id yet, `agent_id` shows as
/// null rather than a made-up number.
fn preview_body(body: &DispatchBody<'_>, has_agent: bool) -> serde_json::Value {
    let mut json = serde_json::to_value(body).unwrap_or_default();
    if !has_agent && let Some(object) = json.as_object_mut() {
        object.insert("agent_id".into(), serde_json::Value::Null);
    }
    json
}

/// Rows as a short list.
fn list_rows(rows: &[u64], count: u64) -> String {
    let listed: Vec<String> = rows.iter().map(u64::to_string).collect();
    let more = count.saturating_sub(rows.len() as u64);
    if more > 0 {
        format!("{} and {more} more", listed.join(", "))
    } else {
        listed.join(", ")
    }
}

/// Seconds as `1h 2m 3s`.
fn human_seconds(seconds: f64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(seconds.ceil() as u64)).to_string()
}

/// The `--rejects` CSV.
struct RejectsFile {
    /// The CSV writer.
    wtr: csv::Writer<std::fs::File>,
    /// Its path, for messages.
    path: std::path::PathBuf,
}

impl RejectsFile {
    /// Creates the file with its header.
    fn create(path: &Path) -> anyhow::Result<RejectsFile> {
        let mut wtr = csv::Writer::from_path(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        wtr.write_record(["row", "column", "value", "reason"])?;
        Ok(RejectsFile {
            wtr,
            path: path.to_path_buf(),
        })
    }

    /// Appends one rejected row.
    fn write(&mut self, r: &Rejection) -> anyhow::Result<()> {
        self.wtr
            .write_record([r.row.to_string().as_str(), &r.column, &r.value, &r.reason])
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Flushes the file.
    fn finish(mut self) -> anyhow::Result<()> {
        self.wtr
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}
