//! Calling hours: the local windows and days in which a contact may be
//! called, read in the contact's own time zone.
//!
//! Everything here is a pure function of an instant passed in, so tests
//! fix the clock. Local times become instants through jiff and its bundled
//! time zone database, day by day, so a window on the day clocks change
//! opens at the right instant. A window start that falls in the hour a
//! spring change skips moves forward by the length of the gap (jiff's
//! "compatible" rule), as a wall clock would show it.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Weekday names as written in `days`, Monday first.
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// When contacts may be called, in their own local time.
#[derive(Debug, Clone, PartialEq)]
pub struct CallingHours {
    /// Windows as local start (inclusive) and end (exclusive), sorted and
    /// not overlapping.
    windows: Vec<(Time, Time)>,
    /// Whether each weekday, Monday first, is a calling day.
    days: [bool; 7],
}

impl CallingHours {
    /// Reads windows such as `09:00-12:00` and days such as `mon-fri` or
    /// `mon,wed,fri` (every day when `days` is `None`).
    pub fn parse(windows: &[String], days: Option<&str>) -> Result<CallingHours, String> {
        let mut parsed = windows
            .iter()
            .map(|w| parse_window(w))
            .collect::<Result<Vec<_>, _>>()?;
        if parsed.is_empty() {
            return Err("hours.windows is empty: give at least one, e.g. 09:00-17:00".into());
        }
        parsed.sort();
        if let Some(pair) = parsed.windows(2).find(|pair| pair[1].0 < pair[0].1) {
            return Err(format!(
                "hours.windows overlap: {}-{} and {}-{}",
                show(pair[0].0),
                show(pair[0].1),
                show(pair[1].0),
                show(pair[1].1)
            ));
        }
        let days = match days {
            Some(text) => parse_days(text)?,
            None => [true; 7],
        };
        Ok(CallingHours {
            windows: parsed,
            days,
        })
    }

    /// Whether a contact in `zone` may be called at `now`.
    pub fn is_open(&self, zone: &TimeZone, now: Timestamp) -> bool {
        self.next_open(zone, now) == Some(now)
    }

    /// The first instant at or after `now` at which a contact in `zone`
    /// may be called: `now` itself inside a window. `None` only if no
    /// window opens within a week, which parsing rules out.
    pub fn next_open(&self, zone: &TimeZone, now: Timestamp) -> Option<Timestamp> {
        let today = now.to_zoned(zone.clone()).date();
        // Eight days: today, the six after it, and today's weekday again
        // for when today's windows have all closed.
        for offset in 0..8 {
            let day = today.checked_add(offset.days()).ok()?;
            if !self.days[weekday_index(day.weekday())] {
                continue;
            }
            for (start, end) in &self.windows {
                let opens = instant(zone, day, *start)?;
                let closes = instant(zone, day, *end)?;
                if now < closes && opens < closes {
                    return Some(opens.max(now));
                }
            }
        }
        None
    }
}

/// A window's bound as written: `HH:MM`, and `24:00` for the day's end.
fn show(time: Time) -> String {
    if time == Time::MAX {
        "24:00".into()
    } else {
        time.strftime("%H:%M").to_string()
    }
}

/// The instant of local `time` on `day` in `zone`.
fn instant(zone: &TimeZone, day: Date, time: Time) -> Option<Timestamp> {
    day.to_datetime(time)
        .to_zoned(zone.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// Monday is 0.
fn weekday_index(day: Weekday) -> usize {
    day.to_monday_zero_offset() as usize
}

/// Reads `HH:MM-HH:MM`; the end must come after the start on the same day.
/// An end of `24:00` is midnight at the end of the day (kept as the last
/// instant of the day, which is the same as an exclusive end).
fn parse_window(text: &str) -> Result<(Time, Time), String> {
    let bad = || {
        format!(
            "hours window {text:?}: expected HH:MM-HH:MM within one day, e.g. 09:00-17:30 \
             (or 20:00-24:00)"
        )
    };
    let (start, end) = text.trim().split_once('-').ok_or_else(bad)?;
    let time = |t: &str| Time::strptime("%H:%M", t.trim()).map_err(|_| bad());
    let end = match end.trim() {
        "24:00" => Time::MAX,
        end => time(end)?,
    };
    let start = time(start)?;
    if end <= start {
        return Err(bad());
    }
    Ok((start, end))
}

/// Reads `mon-fri`, `sat-mon` (wrapping), `mon,wed,fri` or a mix.
fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let day = |name: &str| {
        let name = name.trim().to_ascii_lowercase();
        DAY_NAMES
            .iter()
            .position(|d| name.len() >= 3 && d.starts_with(&name[..3]))
            .ok_or_else(|| {
                format!("hours.days {text:?}: unknown day {name:?} (use mon, tue, ... sun)")
            })
    };
    let mut days = [false; 7];
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                let span = (to + 7 - from) % 7;
                for i in 0..=span {
                    days[(from + i) % 7] = true;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    if !days.contains(&true) {
        return Err(format!("hours.days {text:?} names no day"));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn hours(windows: &[&str], days: Option<&str>) -> CallingHours {
        let windows: Vec<String> = windows.iter().map(|w| w.to_string()).collect();
        CallingHours::parse(&windows, days).unwrap()
    }

    #[test]
    fn days_read_as_ranges_lists_and_wrapping_ranges() {
        assert_eq!(
            parse_days("mon-fri").unwrap(),
            [true, true, true, true, true, false, false]
        );
        assert_eq!(
            parse_days("Mon,Wed,friday").unwrap(),
            [true, false, true, false, true, false, false]
        );
        assert_eq!(
            parse_days("sat-mon").unwrap(),
            [true, false, false, false, false, true, true]
        );
        assert!(parse_days("someday").unwrap_err().contains("someday"));
        assert!(parse_days(",").is_err());
    }

    #[test]
    fn bad_windows_are_named() {
        let parse = |w: &[&str]| {
            let w: Vec<String> = w.iter().map(|s| s.to_string()).collect();
            CallingHours::parse(&w, None)
        };
        assert!(parse(&["9-5"]).unwrap_err().contains("\"9-5\""));
        assert!(parse(&["20:00-08:00"]).is_err(), "crosses midnight");
        assert!(
            parse(&["09:00-12:00", "11:00-13:00"])
                .unwrap_err()
                .contains("overlap")
        );
        assert!(parse(&[]).is_err());
        assert!(parse(&["24:00-24:00"]).is_err());
        assert!(parse(&["08:00-25:00"]).is_err());
        let err = parse(&["20:00-24:00", "23:00-24:00"]).unwrap_err();
        assert!(err.contains("20:00-24:00 and 23:00-24:00"), "{err}");
    }

    #[test]
    fn a_window_may_end_at_midnight_and_the_next_day_begin_at_it() {
        let h = hours(&["00:00-02:00", "20:00-24:00"], None);
        let utc = TimeZone::UTC;
        assert!(h.is_open(&utc, at("2026-12-04T23:59:59Z")));
        assert!(h.is_open(&utc, at("2026-12-05T00:00:00Z")));
        assert!(h.is_open(&utc, at("2026-12-05T01:59:00Z")));
        assert!(!h.is_open(&utc, at("2026-12-05T02:00:00Z")));
        assert_eq!(
            h.next_open(&utc, at("2026-12-05T12:00:00Z")),
            Some(at("2026-12-05T20:00:00Z"))
        );
    }

    #[test]
    fn new_york_across_its_march_change() {
        // 2026-03-08 is the Sunday clocks go from 02:00 EST to 03:00 EDT.
        let h = hours(&["09:00-12:00", "13:00-20:00"], None);
        let ny = zone("America/New_York");
        // Saturday 09:00 EST is 14:00Z; Sunday 09:00 EDT is 13:00Z.
        assert!(!h.is_open(&ny, at("2026-03-07T13:30:00Z")));
        assert!(h.is_open(&ny, at("2026-03-07T14:00:00Z")));
        assert!(h.is_open(&ny, at("2026-03-08T13:00:00Z")));
        assert!(!h.is_open(&ny, at("2026-03-08T12:59:59Z")));
        // After Saturday's last window closes, Sunday's first opens at 13:00Z.
        assert_eq!(
            h.next_open(&ny, at("2026-03-08T01:00:00Z")),
            Some(at("2026-03-08T13:00:00Z"))
        );
        // The lunch gap: 12:00-13:00 EDT is 16:00-17:00Z.
        assert_eq!(
            h.next_open(&ny, at("2026-03-08T16:10:00Z")),
            Some(at("2026-03-08T17:00:00Z"))
        );
    }

    #[test]
    fn london_across_its_october_change() {
        // 2026-10-25 is the Sunday clocks go from 02:00 BST back to 01:00 GMT.
        let h = hours(&["09:00-17:00"], Some("sat-sun"));
        let london = zone("Europe/London");
        // Saturday 09:00 BST is 08:00Z; Sunday 09:00 GMT is 09:00Z.
        assert!(h.is_open(&london, at("2026-10-24T08:00:00Z")));
        assert!(!h.is_open(&london, at("2026-10-25T08:30:00Z")));
        assert!(h.is_open(&london, at("2026-10-25T09:00:00Z")));
        assert!(h.is_open(&london, at("2026-10-25T16:59:00Z")));
        assert!(!h.is_open(&london, at("2026-10-25T17:00:00Z")));
        // Sunday evening: next is Saturday 31 October, 09:00 GMT.
        assert_eq!(
            h.next_open(&london, at("2026-10-25T18:00:00Z")),
            Some(at("2026-10-31T09:00:00Z"))
        );
    }

    #[test]
    fn london_in_march_and_new_york_in_november() {
        // London springs forward 2026-03-29; New York falls back 2026-11-01.
        let h = hours(&["08:00-09:00"], None);
        let london = zone("Europe/London");
        assert!(h.is_open(&london, at("2026-03-28T08:00:00Z")));
        assert!(h.is_open(&london, at("2026-03-29T07:00:00Z")));
        assert!(!h.is_open(&london, at("2026-03-29T08:00:00Z")));
        let ny = zone("America/New_York");
        assert!(h.is_open(&ny, at("2026-10-31T12:00:00Z")));
        assert!(!h.is_open(&ny, at("2026-11-01T12:00:00Z")));
        assert!(h.is_open(&ny, at("2026-11-01T13:00:00Z")));
    }

    #[test]
    fn a_window_starting_in_the_skipped_hour_opens_after_the_gap() {
        let h = hours(&["02:30-04:00"], None);
        let ny = zone("America/New_York");
        // 02:30 does not exist on 2026-03-08: it reads as 03:30 EDT (07:30Z).
        assert_eq!(
            h.next_open(&ny, at("2026-03-08T05:00:00Z")),
            Some(at("2026-03-08T07:30:00Z"))
        );
    }

    #[test]
    fn one_instant_is_open_in_one_zone_and_closed_in_another() {
        let h = hours(&["09:00-17:00"], Some("mon-fri"));
        let now = at("2026-12-07T15:00:00Z"); // Monday
        assert!(h.is_open(&zone("America/New_York"), now)); // 10:00
        assert!(!h.is_open(&zone("America/Los_Angeles"), now)); // 07:00
        assert!(!h.is_open(&zone("Asia/Tokyo"), now)); // 00:00 Tuesday
        assert_eq!(
            h.next_open(&zone("America/Los_Angeles"), now),
            Some(at("2026-12-07T17:00:00Z"))
        );
        // Friday evening in New York waits for Monday.
        assert_eq!(
            h.next_open(&zone("America/New_York"), at("2026-12-11T23:00:00Z")),
            Some(at("2026-12-14T14:00:00Z"))
        );
    }
}
