//! Random faults the sandbox injects into dispatch answers.
//!
//! This file owns the `--fail-rate` spec (its parser and its checks) and the
//! single draw that turns one uniform number into at most one fault. The
//! random generator itself lives in the shared state, so that the order of
//! draws follows the order in which dispatches arrive; what a fault does to
//! the connection is decided in `dispatch.rs`.

use std::str::FromStr;

/// How often each kind of fault hits a dispatch, as probabilities in [0, 1].
///
/// At most one fault hits a given dispatch, so the rates must add up to at
/// most 1. The all-zero default injects nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultRates {
    /// Answer 429 with `Retry-After: 1`; nothing is placed.
    pub r429: f64,
    /// Answer 500; nothing is placed (the dialer must still treat it as
    /// ambiguous, as the real API gives no such promise).
    pub r500: f64,
    /// Answer 502; nothing is placed.
    pub r502: f64,
    /// Answer 503; nothing is placed.
    pub r503: f64,
    /// Place the call and answer normally, but late: after five times the
    /// configured latency, and never sooner than two seconds.
    pub slow: f64,
    /// Read the request, then close the connection without answering;
    /// nothing is placed.
    pub drop: f64,
    /// Place the call, then close the connection without answering: the
    /// ambiguous case the dialer must record as `unknown`.
    pub drop_after_accept: f64,
}

/// One fault chosen for one dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After: 1`.
    TooManyRequests,
    /// 500 with a JSON error body.
    InternalError,
    /// 502 with a JSON error body.
    BadGateway,
    /// 503 with a JSON error body.
    Unavailable,
    /// A normal answer, sent late.
    Slow,
    /// No answer and no call.
    Drop,
    /// A placed call and no answer.
    DropAfterAccept,
}

/// Why a `--fail-rate` spec was refused; every variant names the item.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultSpecError {
    /// An item is not of the form `NAME=RATE`.
    #[error("fault item {item:?} is not NAME=RATE")]
    NotAPair {
        /// The offending item, as written.
        item: String,
    },
    /// The name before `=` is not a known fault.
    #[error(
        "fault item {item:?}: unknown fault {name:?} \
         (known: 429, 500, 502, 503, slow, drop, accept-drop)"
    )]
    UnknownName {
        /// The offending item, as written.
        item: String,
        /// The unknown name.
        name: String,
    },
    /// The rate is not a number between 0 and 1.
    #[error("fault item {item:?}: rate must be a number from 0 to 1")]
    BadRate {
        /// The offending item, as written.
        item: String,
    },
    /// The same fault is named twice.
    #[error("fault item {item:?}: this fault was already given a rate")]
    Duplicate {
        /// The offending item, as written.
        item: String,
    },
    /// The rates add up to more than 1, so they cannot all be honoured.
    #[error("fault rates add up to {sum}, more than 1")]
    SumAboveOne {
        /// The total of all rates.
        sum: f64,
    },
}

impl FaultRates {
    /// The rates paired with the fault each one triggers, in the fixed order
    /// the draw walks them. Keeping one order keeps seeded runs repeatable.
    fn table(&self) -> [(f64, Fault); 7] {
        [
            (self.r429, Fault::TooManyRequests),
            (self.r500, Fault::InternalError),
            (self.r502, Fault::BadGateway),
            (self.r503, Fault::Unavailable),
            (self.slow, Fault::Slow),
            (self.drop, Fault::Drop),
            (self.drop_after_accept, Fault::DropAfterAccept),
        ]
    }

    /// Returns true when no fault can ever be drawn.
    pub fn is_none(&self) -> bool {
        self.table().iter().all(|(rate, _)| *rate == 0.0)
    }

    /// Maps one uniform number in [0, 1) to the fault it falls on, if any.
    ///
    /// The rates are laid end to end on [0, 1); whatever is left past their
    /// sum means "no fault".
    pub fn pick(&self, uniform: f64) -> Option<Fault> {
        let mut upper = 0.0;
        for (rate, fault) in self.table() {
            upper += rate;
            if uniform < upper {
                return Some(fault);
            }
        }
        None
    }

    /// Returns the rate field that a spec name sets, or `None` when the name
    /// is not known. `drop_after_accept` is accepted as a spelling of
    /// `accept-drop`, matching the field name.
    fn slot(&mut self, name: &str) -> Option<&mut f64> {
        match name {
            "429" => Some(&mut self.r429),
            "500" => Some(&mut self.r500),
            "502" => Some(&mut self.r502),
            "503" => Some(&mut self.r503),
            "slow" => Some(&mut self.slow),
            "drop" => Some(&mut self.drop),
            "accept-drop" | "drop_after_accept" => Some(&mut self.drop_after_accept),
            _ => None,
        }
    }
}

/// Parses one `NAME=RATE` item into `rates`.
///
/// `seen` remembers which names were set, so a repeated name is an error
/// rather than a silent override.
fn apply_item(
    rates: &mut FaultRates,
    seen: &mut Vec<String>,
    item: &str,
) -> Result<(), FaultSpecError> {
    let owned = || item.to_string();
    let (name, rate) = item
        .split_once('=')
        .ok_or_else(|| FaultSpecError::NotAPair { item: owned() })?;
    let name = name.trim();
    let rate: f64 = rate
        .trim()
        .parse()
        .map_err(|_| FaultSpecError::BadRate { item: owned() })?;
    if !(0.0..=1.0).contains(&rate) {
        return Err(FaultSpecError::BadRate { item: owned() });
    }

    let slot = rates
        .slot(name)
        .ok_or_else(|| FaultSpecError::UnknownName {
            item: owned(),
            name: name.to_string(),
        })?;
    // Both spellings of accept-drop land in one slot; count them as one.
    let key = if name == "drop_after_accept" {
        "accept-drop"
    } else {
        name
    };
    if seen.iter().any(|s| s == key) {
        return Err(FaultSpecError::Duplicate { item: owned() });
    }
    seen.push(key.to_string());
    *slot = rate;
    Ok(())
}

impl FromStr for FaultRates {
    type Err = FaultSpecError;

    /// Parses `429=0.05,503=0.1,slow=0.01,...`. Empty items are skipped, so
    /// an empty spec means no faults.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut rates = FaultRates::default();
        let mut seen = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            apply_item(&mut rates, &mut seen, item)?;
        }

        let sum: f64 = rates.table().iter().map(|(rate, _)| rate).sum();
        // A little slack so that rates like 0.1 * 10 are not refused for
        // floating-point rounding alone.
        if sum > 1.0 + 1e-9 {
            return Err(FaultSpecError::SumAboveOne { sum });
        }
        Ok(rates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the full spec from the CLI help: every name maps to its field.
    #[test]
    fn parses_every_name() {
        let spec = "429=0.05,503=0.1,500=0.01,502=0.02,slow=0.03,drop=0.04,accept-drop=0.06";
        let rates: FaultRates = spec.parse().unwrap();
        assert_eq!(
            rates,
            FaultRates {
                r429: 0.05,
                r500: 0.01,
                r502: 0.02,
                r503: 0.1,
                slow: 0.03,
                drop: 0.04,
                drop_after_accept: 0.06,
            }
        );
    }

    /// An empty spec and stray spaces or commas are harmless.
    #[test]
    fn empty_and_spaced_specs() {
        assert!("".parse::<FaultRates>().unwrap().is_none());
        let rates: FaultRates = " 429 = 0.5 ,, drop_after_accept=0.5 ".parse().unwrap();
        assert_eq!(rates.r429, 0.5);
        assert_eq!(rates.drop_after_accept, 0.5);
    }

    /// Each kind of bad item is refused with a message naming the item.
    #[test]
    fn errors_name_the_item() {
        let cases = [
            ("429", "\"429\""),
            ("5xx=0.1", "\"5xx=0.1\""),
            ("drop=often", "\"drop=often\""),
            ("drop=1.5", "\"drop=1.5\""),
            ("drop=-0.1", "\"drop=-0.1\""),
            ("drop=0.1,drop=0.2", "\"drop=0.2\""),
            (
                "accept-drop=0.1,drop_after_accept=0.2",
                "\"drop_after_accept=0.2\"",
            ),
        ];
        for (spec, needle) in cases {
            let err = spec.parse::<FaultRates>().unwrap_err().to_string();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }

    /// Rates that cannot all be honoured are refused.
    #[test]
    fn sum_above_one_is_refused() {
        let err = "429=0.6,503=0.6".parse::<FaultRates>().unwrap_err();
        assert!(matches!(err, FaultSpecError::SumAboveOne { .. }));
        assert!("429=0.5,503=0.5".parse::<FaultRates>().is_ok());
    }

    /// The draw lays the rates end to end in a fixed order.
    #[test]
    fn pick_walks_rates_in_order() {
        let rates: FaultRates = "429=0.25,drop=0.25".parse().unwrap();
        assert_eq!(rates.pick(0.0), Some(Fault::TooManyRequests));
        assert_eq!(rates.pick(0.24), Some(Fault::TooManyRequests));
        assert_eq!(rates.pick(0.25), Some(Fault::Drop));
        assert_eq!(rates.pick(0.49), Some(Fault::Drop));
        assert_eq!(rates.pick(0.5), None);
        assert_eq!(FaultRates::default().pick(0.0), None);
    }
}
