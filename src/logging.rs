//! Diagnostics: the `tracing` subscriber. Logs go to stderr through the
//! progress bar's writer ([`crate::progress::LogWriter`]), at the level
//! `RUST_LOG` sets (default `info`), as text for people or as one JSON
//! object a line for log shippers (`--log-format json`).
//!
//! User messages (summaries, warnings about input) are not logs; they go
//! through [`crate::progress::say`] and keep their own form.

use std::ffi::OsStr;
use std::io::IsTerminal;

use clap::ValueEnum;

use crate::progress::LogWriter;

/// The log level when `RUST_LOG` is unset or unreadable.
const DEFAULT_FILTER: &str = "info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The format chosen at start-up, for output that must follow it.
static FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// The log format in force (text until `init` runs).
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Installs the global subscriber. Text logs are coloured only when stderr
/// is a terminal and `NO_COLOR` is unset or empty; JSON logs never are.
pub fn init(format: LogFormat) {
    let _ = FORMAT.set(format);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogWriter)
        .with_target(false);
    match format {
        LogFormat::Text => {
            let no_color = std::env::var_os("NO_COLOR");
            let colour = wants_colour(std::io::stderr().is_terminal(), no_color.as_deref());
            builder.with_ansi(colour).init();
        }
        // The JSON formatter keeps span fields and the event's own fields
        // apart, which is what shippers index on.
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

/// Whether text logs may carry colour. We follow no-color.org: a `NO_COLOR`
/// that is present and not empty turns colour off, whatever its value.
pub fn wants_colour(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    let no_color = no_color.is_some_and(|value| !value.is_empty());
    stderr_is_terminal && !no_color
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        assert!(wants_colour(true, None));
        assert!(!wants_colour(false, None));
        assert!(!wants_colour(true, Some(OsStr::new("1"))));
        assert!(!wants_colour(true, Some(OsStr::new("0"))));
        assert!(!wants_colour(false, Some(OsStr::new("1"))));
    }

    #[test]
    fn an_empty_no_color_is_as_good_as_unset() {
        assert!(wants_colour(true, Some(OsStr::new(""))));
    }
}
