//! The report as tables for a person at a terminal: short sections, figures
//! right-aligned, and nothing wider than 80 columns but a long file name.

use std::fmt::Write;

use super::{CallResults, CampaignReport, Failures, UnknownContacts};

/// Widest reason shown in the failures table; the JSON form has them whole.
const REASON_WIDTH: usize = 64;

/// Renders the whole report.
pub fn render(report: &CampaignReport) -> String {
    let mut out = format!(
        "{}: {} contacts from {} records\n",
        report.file, report.contacts, report.records
    );
    if report.partial_last_line {
        out += "(a partial last line, still being written, was passed over)\n";
    }
    statuses(&mut out, report);
    failures(&mut out, &report.failures);
    unknown(&mut out, &report.unknown, &report.file);
    if let Some(calls) = &report.calls {
        calls_table(&mut out, calls);
    }
    out
}

/// The contacts-by-status table, with each status's share.
fn statuses(out: &mut String, report: &CampaignReport) {
    let s = &report.by_status;
    let total = report.contacts;
    let mut rows = vec![
        ("dispatched", s.dispatched),
        ("failed", s.failed),
        ("invalid", s.invalid),
        ("skipped", s.skipped),
        ("unknown", s.unknown),
    ];
    // Only a campaign stopped part-way has contacts handed back.
    if s.pending > 0 {
        rows.push(("not yet dialed", s.pending));
    }

    *out += "\n  status            contacts     share\n";
    for (label, n) in rows {
        let _ = writeln!(out, "  {label:<16}{n:>10}  {:>8}", percent(n, total));
    }
    let _ = writeln!(out, "  {:<16}{total:>10}", "total");
}

/// The failures grouped by reason.
fn failures(out: &mut String, failures: &Failures) {
    if failures.total == 0 {
        return;
    }
    let shown = failures.top.len() as u64;
    let _ = write!(
        out,
        "\nfailures by reason ({} contacts, {} reasons",
        failures.total, failures.distinct_reasons
    );
    if failures.distinct_reasons > shown {
        let _ = write!(out, "; the {shown} most frequent");
    }
    *out += "):\n";
    for group in &failures.top {
        let reason = match group.reason.as_str() {
            "" => "(no reason recorded)".to_string(),
            reason => shorten(reason, REASON_WIDTH),
        };
        let _ = writeln!(out, "  {:>10}  {reason}", group.count);
    }
}

/// The contacts a reconcile should settle.
fn unknown(out: &mut String, unknown: &UnknownContacts, file: &str) {
    if unknown.count == 0 {
        return;
    }
    let rows: Vec<String> = unknown.first_rows.iter().map(u64::to_string).collect();
    let more = unknown
        .count
        .saturating_sub(unknown.first_rows.len() as u64);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "\nunknown: {} contacts may have been called (rows {}{more}).\n\
         Run `omnidial reconcile {file}`, then `omnidial run ... --resume\n\
         --redial-unknown` dials those it finds no call for.\n",
        unknown.count,
        rows.join(", ")
    );
}

/// The call results reconcile joined in.
fn calls_table(out: &mut String, calls: &CallResults) {
    *out += "\ncalls (from reconcile)\n";
    let rows = [
        ("completed", calls.completed),
        ("busy", calls.busy),
        ("no-answer", calls.no_answer),
        ("failed", calls.failed),
        ("other", calls.other),
        ("no result yet", calls.no_result),
    ];
    for (label, n) in rows {
        let _ = writeln!(out, "  {label:<16}{n:>10}");
    }
    let _ = writeln!(
        out,
        "  {:<16}{:>10.1}",
        "total minutes", calls.total_minutes
    );
    let _ = writeln!(out, "  {:<16}{:>10.2}", "total cost", calls.total_cost);
    let rate = match calls.answer_rate {
        Some(rate) => format!("{:.1}%", rate * 100.0),
        None => "-".into(),
    };
    let _ = writeln!(
        out,
        "  {:<16}{rate:>10}  (completed / {} calls with a result)",
        "answer rate",
        calls.with_result()
    );
}

/// `n` as a share of `total`, e.g. `12.5%`.
fn percent(n: u64, total: u64) -> String {
    if total == 0 {
        return "-".into();
    }
    format!("{:.1}%", n as f64 * 100.0 / total as f64)
}

/// Cuts `text` to `width` characters, marking the cut.
fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ReasonCount, StatusCounts};

    fn sample() -> CampaignReport {
        CampaignReport {
            file: "june.outcome.csv".into(),
            records: 9,
            contacts: 8,
            by_status: StatusCounts {
                dispatched: 4,
                failed: 2,
                unknown: 2,
                ..StatusCounts::default()
            },
            failures: Failures {
                total: 2,
                distinct_reasons: 1,
                top: vec![ReasonCount {
                    reason: "x".repeat(100),
                    count: 2,
                }],
            },
            unknown: UnknownContacts {
                count: 2,
                first_rows: vec![3, 7],
            },
            ..CampaignReport::default()
        }
    }

    #[test]
    fn every_line_fits_80_columns() {
        let text = render(&sample());
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }

    #[test]
    fn shares_and_rows_are_shown() {
        let text = render(&sample());
        assert!(
            text.contains("  dispatched               4     50.0%"),
            "{text}"
        );
        assert!(text.contains("rows 3, 7)"), "{text}");
        assert!(!text.contains("not yet dialed"), "{text}");
        assert!(!text.contains("calls (from reconcile)"), "{text}");
    }

    #[test]
    fn long_reasons_are_cut() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
