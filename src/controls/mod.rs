//! Campaign controls: the checked settings of suppression, caller numbers,
//! calling hours and redials, the control columns a list may carry, and the
//! [`Gate`] that the screen asks about each row.
//!
//! Each control keeps its logic in a module of its own ([`suppress`],
//! [`callers`], [`hours`], [`redial`]); this module only gathers their
//! settings and reads the per-row cells that steer them.
//!
//! [`suppress`]: crate::suppress
//! [`callers`]: crate::callers
//! [`hours`]: crate::hours
//! [`redial`]: crate::redial

pub mod args;
pub mod report;

use std::path::PathBuf;

use anyhow::bail;
use jiff::tz::TimeZone;

use jiff::{SignedDuration, Timestamp};

use crate::campaign::{HoursSettings, Rate, RateSetting, Settings};
use crate::contacts::{ContactCells, ControlColumn};
use crate::hours::CallingHours;
use crate::phone::Region;
use crate::redial::{
    CallHistory, DEFAULT_MAX_CALLS, DEFAULT_REDIAL_AFTER, History, Redial, RedialPolicy,
};
use crate::suppress::{self, Suppression};

/// A list column that, when present, marks rows never to be dialed.
pub const DO_NOT_CALL_COLUMN: &str = "do_not_call";

/// A list column that, when present, picks the row's caller number.
pub const FROM_NUMBER_COLUMN: &str = "from_number_id";

/// A list column that, when present, picks the row's agent.
pub const AGENT_COLUMN: &str = "agent_id";

/// Controls from the campaign, checked.
#[derive(Debug, Clone, Default)]
pub struct Controls {
    /// Suppression files, in the order given.
    pub suppress: Vec<PathBuf>,
    /// Column holding each row's IANA time zone, if set.
    pub timezone_column: Option<String>,
    /// The campaign's time zone, if set.
    pub timezone: Option<TimeZone>,
    /// Whether rows need a time zone (calling hours are set).
    pub needs_zone: bool,
    /// Caller number ids used in turn (empty: the campaign's single
    /// `from_number_id`, if any).
    pub from_number_ids: Vec<u64>,
    /// Calls per second per caller number.
    pub per_number_rate: Option<Rate>,
    /// Calling hours, if set.
    pub hours: Option<CallingHours>,
    /// No call before this instant.
    pub start_at: Option<Timestamp>,
    /// Stop, rather than wait, once every remaining contact is outside its
    /// calling hours.
    pub until_window_closes: bool,
    /// Which dispatched contacts a resume dials again, if any.
    pub redial: Option<RedialPolicy>,
    /// Most calls to one number in one day (redials and repeated rows).
    pub per_day: Option<u32>,
}

impl Controls {
    /// Checks the control settings.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Controls> {
        let timezone = s
            .hours
            .timezone
            .as_deref()
            .map(|name| parse_zone(name.trim()))
            .transpose()
            .map_err(|err| anyhow::anyhow!("hours.timezone: {err}"))?;
        if s.from_number_id.is_some() && s.from_number_ids.is_some() {
            bail!(
                "both from_number_id and from_number_ids are set; use from_number_ids \
                 (--from-number-ids) for a pool, from_number_id for one number"
            );
        }
        let from_number_ids = s.from_number_ids.clone().unwrap_or_default();
        if s.from_number_ids.as_ref().is_some_and(Vec::is_empty) {
            bail!("from_number_ids is empty: list caller number ids, or leave it out");
        }
        let mut distinct = from_number_ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != from_number_ids.len() {
            bail!("from_number_ids lists an id twice: each caller number once");
        }
        if from_number_ids.contains(&0) {
            bail!("from_number_ids: ids are whole numbers above zero");
        }
        let per_number_rate = s
            .per_number_rate
            .as_ref()
            .map(parse_rate)
            .transpose()
            .map_err(|err| anyhow::anyhow!("per_number_rate: {err}"))?;
        let hours = read_hours(&s.hours)?;
        let redial = read_redial(s)?;
        let start_at = s.start_at.as_deref().map(parse_start_at).transpose()?;
        Ok(Controls {
            needs_zone: hours.is_some(),
            hours,
            start_at,
            until_window_closes: s.until_window_closes.unwrap_or(false),
            redial,
            from_number_ids,
            per_number_rate,
            suppress: s.suppress.clone().unwrap_or_default(),
            timezone_column: s.hours.timezone_column.clone(),
            timezone,
            per_day: match s.max_calls_per_number_per_day {
                Some(0) => anyhow::bail!("max_calls_per_number_per_day must be at least 1"),
                cap => cap,
            },
        })
    }

    /// The control columns the list reader should hand over, in the order
    /// [`Controls::read_row`] expects them.
    pub fn columns(&self) -> Vec<ControlColumn> {
        let optional = |setting, name: &str| ControlColumn {
            setting,
            name: name.to_string(),
            required: false,
        };
        let mut columns = vec![
            optional("do_not_call column", DO_NOT_CALL_COLUMN),
            optional("from_number_id column", FROM_NUMBER_COLUMN),
            optional("agent_id column", AGENT_COLUMN),
        ];
        if let Some(name) = &self.timezone_column {
            columns.push(ControlColumn {
                setting: "timezone_column",
                name: name.clone(),
                required: true,
            });
        }
        columns
    }

    /// Reads a row's control cells, or says which cell is wrong and why.
    pub fn read_row(&self, cells: &ContactCells) -> Result<RowControls, CellError> {
        let cell = |i: usize| cells.controls.get(i).and_then(|c| c.as_deref());
        let id = |i: usize, column: &str| -> Result<Option<u64>, CellError> {
            cell(i).map(|text| read_id(column, text)).transpose()
        };
        Ok(RowControls {
            do_not_call: cell(0).is_some_and(suppress::is_truthy),
            from_number_id: id(1, FROM_NUMBER_COLUMN)?,
            agent_id: id(2, AGENT_COLUMN)?,
            zone: self.row_zone(cell(3))?,
        })
    }

    /// The row's time zone: its own cell, else the campaign's. Only checked
    /// when calling hours need one; never guessed from the number.
    fn row_zone(&self, cell: Option<&str>) -> Result<Option<TimeZone>, CellError> {
        if !self.needs_zone {
            return Ok(None);
        }
        let column = self.timezone_column.as_deref().unwrap_or("timezone");
        match cell {
            Some(text) => parse_zone(text.trim())
                .map(Some)
                .map_err(|reason| CellError {
                    column: column.to_string(),
                    value: text.to_string(),
                    reason,
                }),
            None => match &self.timezone {
                Some(zone) => Ok(Some(zone.clone())),
                None => Err(CellError {
                    column: column.to_string(),
                    value: String::new(),
                    reason: "no time zone for this row, and calling hours need one: fill \
                             the cell with an IANA name such as America/New_York, or set \
                             the campaign's timezone"
                        .into(),
                }),
            },
        }
    }
}

/// Reads the `[hours]` table: none unless windows are given.
fn read_hours(h: &HoursSettings) -> anyhow::Result<Option<CallingHours>> {
    let Some(windows) = &h.windows else {
        if h.days.is_some() {
            bail!("hours.days is set without hours.windows; give both (e.g. 09:00-17:00)");
        }
        return Ok(None);
    };
    CallingHours::parse(windows, h.days.as_deref())
        .map(Some)
        .map_err(anyhow::Error::msg)
}

/// Reads `--start-at`: RFC 3339 (`2026-12-05T14:00:00Z`), or a local time
/// with its zone (`2026-12-05T09:00[America/New_York]`).
pub fn parse_start_at(text: &str) -> anyhow::Result<Timestamp> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    text.parse::<jiff::Zoned>()
        .map(|z| z.timestamp())
        .map_err(|_| {
            anyhow::anyhow!(
                "start_at {text:?}: expected RFC 3339 such as 2026-12-05T14:00:00Z, or a \
                 local time with its zone such as 2026-12-05T09:00[America/New_York]"
            )
        })
}

/// Reads the redial settings: none unless `redial` names statuses.
fn read_redial(s: &Settings) -> anyhow::Result<Option<RedialPolicy>> {
    let Some(statuses) = &s.redial else {
        if s.redial_after.is_some() || s.max_calls.is_some() {
            bail!("redial_after and max_calls need redial (e.g. --redial no-answer,busy)");
        }
        return Ok(None);
    };
    let after = match s.redial_after.as_deref() {
        None => DEFAULT_REDIAL_AFTER,
        Some(text) => humantime::parse_duration(text.trim())
            .ok()
            .and_then(|d| SignedDuration::try_from(d).ok())
            .ok_or_else(|| {
                anyhow::anyhow!("redial_after = {text:?}: expected a duration such as 2h or 90min")
            })?,
    };
    let max_calls = s.max_calls.unwrap_or(DEFAULT_MAX_CALLS);
    RedialPolicy::new(
        statuses.clone(),
        after,
        max_calls,
        s.max_calls_per_number_per_day,
    )
    .map(Some)
}

/// Reads a rate setting.
fn parse_rate(setting: &RateSetting) -> Result<Rate, String> {
    match setting {
        RateSetting::PerSecond(n) => n.to_string().parse(),
        RateSetting::Text(t) => t.parse(),
    }
}

/// Reads an IANA time zone name from the bundled database.
pub fn parse_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name)
        .map_err(|_| format!("{name:?} is not an IANA time zone name (such as America/New_York)"))
}

/// What a row's control cells say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowControls {
    /// The row's `do_not_call` cell is a yes.
    pub do_not_call: bool,
    /// Caller number for this row, overriding the pool.
    pub from_number_id: Option<u64>,
    /// Agent for this row, overriding the campaign's.
    pub agent_id: Option<u64>,
    /// The contact's time zone, when calling hours are set.
    pub zone: Option<TimeZone>,
}

/// A control cell that cannot be used; the row is rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct CellError {
    /// The column.
    pub column: String,
    /// The cell's text.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads a positive id cell.
fn read_id(column: &str, text: &str) -> Result<u64, CellError> {
    match text.trim().parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(CellError {
            column: column.to_string(),
            value: text.to_string(),
            reason: format!("{column} must be a whole number above zero"),
        }),
    }
}

/// What the screen asks about each row, beyond its phone number.
#[derive(Debug, Default)]
pub struct Gate {
    /// The controls.
    pub controls: Controls,
    /// Numbers never to be dialed.
    pub suppression: Suppression,
    /// Earlier calls of contacts that may earn a redial.
    pub history: History,
    /// Contacts due a redial later, not yet.
    pub redial_not_due: u64,
    /// Contacts whose calls reached a cap.
    pub redial_capped: u64,
    /// The instant redials are judged at; the system's time when `None`.
    pub fixed_now: Option<Timestamp>,
}

impl Gate {
    /// Loads what the controls name (suppression files); fails closed when
    /// a file cannot be read.
    pub fn open(
        controls: &Controls,
        region: Option<&Region>,
        outcome: &std::path::Path,
    ) -> anyhow::Result<Gate> {
        let suppression = Suppression::load(&controls.suppress, region)?;
        let history = match &controls.redial {
            Some(policy) => History::read(outcome, policy)?,
            None => History::default(),
        };
        if !controls.suppress.is_empty() {
            tracing::info!(numbers = suppression.len(), "suppression lists loaded");
        }
        Ok(Gate {
            controls: controls.clone(),
            suppression,
            history,
            ..Gate::default()
        })
    }

    /// Whether a dispatched contact is dialed again, and with what history;
    /// counts the contacts held back by the gap or a cap.
    pub fn redial(&mut self, to_number: &str, row: &RowControls) -> Option<CallHistory> {
        let policy = self.controls.redial.as_ref()?;
        let past = self.history.get(to_number)?;
        let now = self.fixed_now.unwrap_or_else(Timestamp::now);
        let zone = row.zone.clone().unwrap_or(TimeZone::UTC);
        match policy.judge(past, now, &zone) {
            Redial::Due(history) => Some(history),
            Redial::NotDue => {
                self.redial_not_due += 1;
                None
            }
            Redial::Capped => {
                self.redial_capped += 1;
                None
            }
            Redial::NotEligible => None,
        }
    }

    /// Why `to_number` is suppressed, if it is: the text for the outcome.
    /// Reads the whole list once for rows whose `do_not_call` cell says no
    /// and suppresses their numbers, so the flag holds for the person on
    /// every row, including rows read before the flagged one. Lists without
    /// such a column cost no extra pass.
    pub fn learn_do_not_call(
        &mut self,
        path: &std::path::Path,
        read: &crate::contacts::ReadOptions,
        layout: &crate::contacts::Layout,
        rules: &crate::phone::PhoneRules,
        region: Option<&Region>,
    ) -> anyhow::Result<()> {
        if crate::contacts::loose_find(&layout.headers, DO_NOT_CALL_COLUMN).is_none() {
            return Ok(());
        }
        for row in crate::contacts::open(path, read)? {
            let crate::contacts::RowKind::Contact(cells) = row?.kind else {
                continue;
            };
            let flagged = self.controls.read_row(&cells).is_ok_and(|c| c.do_not_call);
            if let (true, Ok(number)) = (
                flagged,
                crate::phone::normalize(&cells.phone, region, rules),
            ) {
                self.suppression.add(&number.e164, "do_not_call column");
            }
        }
        Ok(())
    }

    /// Why a number is suppressed (the file, or the list's own column).
    pub fn suppressed(&self, to_number: &str) -> Option<String> {
        let file = self.suppression.lookup(to_number)?;
        Some(format!("suppressed ({file})"))
    }
}

/// The reason recorded for a row whose own `do_not_call` cell says no.
pub const DO_NOT_CALL_REASON: &str = "suppressed (do_not_call column)";

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(controls: &[Option<&str>]) -> ContactCells {
        ContactCells {
            controls: controls.iter().map(|c| c.map(str::to_string)).collect(),
            ..ContactCells::default()
        }
    }

    #[test]
    fn row_cells_override_and_bad_ids_are_named() {
        let controls = Controls::default();
        let row = controls
            .read_row(&cells(&[Some("Yes"), Some(" 24 "), Some("7")]))
            .unwrap();
        assert!(row.do_not_call);
        assert_eq!((row.from_number_id, row.agent_id), (Some(24), Some(7)));
        let err = controls
            .read_row(&cells(&[None, Some("twenty")]))
            .unwrap_err();
        assert_eq!(err.column, FROM_NUMBER_COLUMN);
        let err = controls
            .read_row(&cells(&[None, None, Some("0")]))
            .unwrap_err();
        assert_eq!(err.column, AGENT_COLUMN);
    }

    #[test]
    fn start_at_reads_rfc3339_and_zoned_local_times() {
        let at = |t: &str| parse_start_at(t).unwrap().to_string();
        assert_eq!(at("2026-12-05T14:00:00Z"), "2026-12-05T14:00:00Z");
        assert_eq!(at("2026-12-05T09:00-05:00"), "2026-12-05T14:00:00Z");
        assert_eq!(
            at("2026-12-05T09:00[America/New_York]"),
            "2026-12-05T14:00:00Z"
        );
        assert_eq!(
            at("2026-07-05T09:00[America/New_York]"),
            "2026-07-05T13:00:00Z"
        );
        assert!(parse_start_at("tomorrow").is_err());
    }

    #[test]
    fn a_row_without_a_zone_is_refused_only_when_hours_need_one() {
        let mut controls = Controls {
            timezone_column: Some("tz".into()),
            ..Controls::default()
        };
        assert_eq!(controls.read_row(&cells(&[])).unwrap().zone, None);
        controls.needs_zone = true;
        let err = controls.read_row(&cells(&[])).unwrap_err();
        assert!(err.reason.contains("no time zone"), "{err:?}");
        let err = controls
            .read_row(&cells(&[None, None, None, Some("Mars/Olympus")]))
            .unwrap_err();
        assert_eq!(err.column, "tz");
        let row = controls
            .read_row(&cells(&[None, None, None, Some("Europe/London")]))
            .unwrap();
        assert_eq!(row.zone.unwrap().iana_name(), Some("Europe/London"));
        controls.timezone = Some(parse_zone("America/New_York").unwrap());
        let row = controls.read_row(&cells(&[])).unwrap();
        assert_eq!(row.zone.unwrap().iana_name(), Some("America/New_York"));
    }
}
