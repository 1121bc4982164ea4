//! The flags of the campaign controls, shared by `run` and `validate`. Each
//! mirrors a campaign setting one to one and overrides it when given.

use std::path::PathBuf;

use clap::Args;

use crate::campaign::{HoursSettings, RateSetting, Settings};

/// Suppression, caller numbers, calling hours and redials.
#[derive(Debug, Clone, Default, Args)]
pub struct ControlArgs {
    /// File of numbers never to dial; repeat for more.
    ///
    /// One number a line, or a CSV with a phone column, read like the list.
    /// Adds to the campaign's `suppress` files. No default (none).
    #[arg(long, value_name = "FILE")]
    pub suppress: Vec<PathBuf>,

    /// Caller number ids used in turn, e.g. 23,24,25.
    ///
    /// Round-robin over dialed contacts; a row's from_number_id column wins.
    /// No default: without it, --from-number-id (or none) is used.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub from_number_ids: Option<Vec<u64>>,

    /// Calls per second per caller number, e.g. 1 or 30/min.
    ///
    /// Keeps carriers from flagging a busy caller number as spam. The
    /// default is unlimited (only --rate applies).
    #[arg(long, value_name = "RATE")]
    pub per_number_rate: Option<String>,

    /// The contacts' IANA time zone, e.g. America/New_York.
    ///
    /// Calling hours are read in it. No default: with calling hours set,
    /// each row needs this or a --timezone-column cell.
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Column holding each row's IANA time zone.
    ///
    /// A non-empty cell overrides --timezone. No default (no column).
    #[arg(long, value_name = "NAME")]
    pub timezone_column: Option<String>,

    /// Local calling windows, e.g. 09:00-12:00,13:00-20:00.
    ///
    /// Each contact is called only inside a window of its own local time.
    /// A window ends on the day it starts; 24:00 ends it at midnight. The
    /// default is no windows: any time of day.
    #[arg(long, value_name = "WINDOWS", value_delimiter = ',')]
    pub hours_windows: Option<Vec<String>>,

    /// Calling days, e.g. mon-fri or mon,wed,fri.
    ///
    /// Days in each contact's own time zone. The default is every day.
    #[arg(long, value_name = "DAYS")]
    pub hours_days: Option<String>,

    /// Stop when every remaining contact is outside its hours.
    ///
    /// By default the run waits for the next window; with this flag it
    /// stops and says when to resume.
    #[arg(long)]
    pub until_window_closes: bool,

    /// Start no call before this time.
    ///
    /// 2026-12-05T09:00[America/New_York] or RFC 3339. The default is now.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,

    /// With --resume: redial calls that ended so, e.g. no-answer,busy.
    ///
    /// Only contacts whose reconciled call ended with one of these
    /// statuses; never completed calls. No default (no redials).
    #[arg(long, value_name = "STATUSES", value_delimiter = ',')]
    pub redial: Option<Vec<String>>,

    /// Least time between two calls to one contact, e.g. 2h.
    ///
    /// The default is 1h.
    #[arg(long, value_name = "DURATION")]
    pub redial_after: Option<String>,

    /// Most calls to one contact in total, the first included.
    ///
    /// The default is 1 (no redials), or 2 when --redial is given.
    #[arg(long, value_name = "N")]
    pub max_calls: Option<u32>,

    /// Most calls to one number in one day.
    ///
    /// Counted on the contact's own day. The default is no limit.
    #[arg(long, value_name = "N")]
    pub max_calls_per_number_per_day: Option<u32>,
}

impl ControlArgs {
    /// The settings these flags give (unset flags leave the file's value).
    pub fn to_settings(&self) -> Settings {
        Settings {
            suppress: (!self.suppress.is_empty()).then(|| self.suppress.clone()),
            from_number_ids: self.from_number_ids.clone(),
            per_number_rate: self.per_number_rate.clone().map(RateSetting::Text),
            start_at: self.start_at.clone(),
            until_window_closes: self.until_window_closes.then_some(true),
            redial: self.redial.clone(),
            redial_after: self.redial_after.clone(),
            max_calls: self.max_calls,
            max_calls_per_number_per_day: self.max_calls_per_number_per_day,
            hours: HoursSettings {
                windows: self.hours_windows.clone(),
                days: self.hours_days.clone(),
                timezone: self.timezone.clone(),
                timezone_column: self.timezone_column.clone(),
            },
            ..Settings::default()
        }
    }
}
