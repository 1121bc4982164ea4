//! What a dry run says about the controls: how many contacts each one
//! holds back, and when the first calling window opens.

use jiff::Timestamp;
use serde::Serialize;

use super::Controls;
use crate::screen::{Decision, Skip};

/// Contacts held back, per control.
#[derive(Debug, Default, Serialize)]
pub struct HeldBack {
    /// Skipped by a suppression file or the `do_not_call` column.
    pub suppressed: u64,
    /// Would be dialed, but not now: outside their calling hours.
    pub outside_hours: u64,
    /// When the first of those windows opens (RFC 3339).
    #[serde(serialize_with = "as_text")]
    pub first_window_opens: Option<Timestamp>,
    /// Dialed before and due for a redial, but not yet.
    pub redial_not_due: u64,
    /// Dialed before and not to be called again: `max_calls` or
    /// `max_calls_per_number_per_day` reached.
    pub capped: u64,
}

impl HeldBack {
    /// Counts one decision, as seen at `now`.
    pub fn note(&mut self, decision: &Decision, controls: &Controls, now: Timestamp) {
        match decision {
            Decision::Skipped {
                why: Skip::Suppressed,
                ..
            } => self.suppressed += 1,
            Decision::Skipped {
                why: Skip::DailyCap,
                ..
            } => self.capped += 1,
            Decision::Dial(contact) => {
                let (Some(hours), Some(zone)) = (&controls.hours, &contact.controls.zone) else {
                    return;
                };
                let opens = hours.next_open(zone, now).unwrap_or(Timestamp::MAX);
                if opens > now {
                    self.outside_hours += 1;
                    let first = self.first_window_opens.get_or_insert(opens);
                    *first = (*first).min(opens);
                }
            }
            _ => {}
        }
    }

    /// Lines for the text report; none when nothing is held back.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |label: &str, n: u64| {
            if n > 0 {
                out += &format!("  held: {label:<9}{n:>8}\n");
            }
        };
        line("suppress", self.suppressed);
        line("hours", self.outside_hours);
        line("redial", self.redial_not_due);
        line("capped", self.capped);
        if let Some(at) = self.first_window_opens {
            let at = at.round(jiff::Unit::Second).unwrap_or(at);
            out += &format!("  the first calling window opens at {at}\n");
        }
        out
    }
}

/// Writes an instant as RFC 3339 text, to the second.
fn as_text<S: serde::Serializer>(at: &Option<Timestamp>, ser: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => ser.collect_str(&at.round(jiff::Unit::Second).unwrap_or(*at)),
        None => ser.serialize_none(),
    }
}
