//! Phone cells: one cell of the contact list in, one dialable E.164 number
//! (or the reason there is none) out.
//!
//! This module owns everything between the raw cell text and the `to_number`
//! of a dispatch: cleaning look-alike Unicode, spotting spreadsheet damage,
//! extensions and letters, applying the default region, and checking the
//! number against libphonenumber's metadata. It never sees the rest of the
//! row and never edits the cell; `screen` decides what a rejection means for
//! the row and keeps the dedupe map keyed by
//! [`number_key`](crate::outcome::number_key).
//!
//! Validation reads the metadata shipped in the `phonenumber` crate, but
//! matches its patterns with regexes compiled once here: the crate keeps all
//! of its patterns in one shared LRU cache of 100 entries behind a mutex, so
//! a list spanning a dozen countries recompiles regexes on nearly every call
//! (about 1 000 numbers a second). Upstream removed that cache in
//! <https://github.com/whisperfish/rust-phonenumber/pull/102>; once a release
//! with it is out, `Rules` could go back to the crate's own validator. The
//! crate still parses national-format numbers, where its prefix rules matter.

use std::fmt;
use std::str::FromStr;
use std::sync::{LazyLock, OnceLock};

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

mod clean;
mod locate;
mod metadata;
mod reasons;
#[cfg(test)]
mod tests;

use clean::*;
use locate::*;
use metadata::*;

/// The fewest digits, country code included, of a number we dial.
const MIN_E164_DIGITS: usize = 8;

/// The most digits, country code included, that E.164 allows.
const MAX_E164_DIGITS: usize = 15;

/// How strictly a number is checked (campaign `phone_validation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strictness {
    /// The number must be in a range libphonenumber knows to be assigned.
    #[default]
    Strict,
    /// The number must only have a length its country uses.
    Possible,
    /// The cell must already be `+` and 8 to 15 digits starting with a
    /// known country code; no check of ranges or lengths per country.
    E164,
}

impl FromStr for Strictness {
    type Err = String;

    fn from_str(text: &str) -> Result<Strictness, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "strict" => Ok(Strictness::Strict),
            "possible" => Ok(Strictness::Possible),
            "e164" => Ok(Strictness::E164),
            _ => Err(format!(
                "unknown phone validation {text:?}: expected one of strict, \
                 possible, e164"
            )),
        }
    }
}

/// Rules from the campaign that shape what is accepted.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhoneRules {
    /// How strictly numbers are checked.
    pub strictness: Strictness,
    /// Dial the main number of a cell that carries an extension.
    pub allow_extensions: bool,
    /// Dial premium-rate and shared-cost numbers.
    pub allow_premium: bool,
}

/// A region (ISO 3166 alpha-2, e.g. "US", "GB") parsed from settings or a
/// per-row column. Only regions libphonenumber has metadata for exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region(phonenumber::country::Id);

impl Region {
    /// The two-letter code, e.g. "GB".
    pub fn as_str(&self) -> &'static str {
        // `Id` names are static strings, but `AsRef` ties them to `self`;
        // the list of regions gives them back as 'static.
        known_region(self.0.as_ref()).unwrap_or("ZZ")
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

/// The regions libphonenumber's metadata covers, sorted. Kept here rather
/// than asked of the metadata so that reading the campaign's region does
/// not wait for the whole metadata to load (a tenth of a second); a test
/// keeps the list equal to the metadata's.
const REGIONS: [&str; 245] = [
    "AC", "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO",
    "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG",
    "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG",
    "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GT", "GU", "GW", "GY", "HK", "HN", "HR", "HT",
    "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE",
    "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR",
    "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN",
    "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF",
    "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL",
    "PM", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD",
    "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY",
    "SZ", "TA", "TC", "TD", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "XK",
    "YE", "YT", "ZA", "ZM", "ZW",
];

/// The region code as a static string, if the metadata covers it.
fn known_region(code: &str) -> Option<&'static str> {
    REGIONS.binary_search(&code).ok().map(|i| REGIONS[i])
}

/// Loads the phone metadata, and compiles the rules of `region`'s country
/// if one is given, on a thread of its own: the caller reads files
/// meanwhile, and the first number read finds them ready.
pub fn load_in_background(region: Option<Region>) {
    std::thread::spawn(move || {
        LazyLock::force(&metadata::KNOWN_CODES);
        if let Some(region) = region {
            Rules::for_region(region.as_str());
        }
    });
}

/// Parses a region code such as "us" or " GB ", naming the text on error.
pub fn parse_region(text: &str) -> Result<Region, String> {
    // Cleaned like a phone cell: invisible characters pasted along with
    // the code, full-width letters.
    let code = clean(text).trim().to_ascii_uppercase();
    let id = phonenumber::country::Id::from_str(&code).ok();
    match id.filter(|id| known_region(id.as_ref()).is_some()) {
        Some(id) => Ok(Region(id)),
        None if code == "UK" => Err(format!(
            "unknown region {text:?}: the ISO 3166 code of the United Kingdom is GB"
        )),
        None => Err(format!(
            "unknown region {text:?}: expected a two-letter ISO 3166 country \
             code such as US or GB"
        )),
    }
}

/// `+`, the country code and the national number, built without the
/// formatting machinery: this runs once for every row of every list.
fn e164(code: u16, nsn: &str) -> String {
    let mut out = String::with_capacity(4 + nsn.len());
    out.push('+');
    let mut started = false;
    for divisor in [10_000, 1000, 100, 10, 1] {
        let digit = (code / divisor % 10) as u8;
        started |= digit != 0 || divisor == 1;
        if started {
            out.push(char::from(b'0' + digit));
        }
    }
    out.push_str(nsn);
    out
}

/// A number ready to dial.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The number in E.164 form, `+` and ASCII digits only.
    pub e164: String,
    /// The default or row region, when the cell had no country code and the
    /// region decided which country the number belongs to.
    pub assumed_region: Option<Region>,
    /// Something the user should know about an accepted number.
    pub warning: Option<String>,
}

/// Why a cell cannot be dialed.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The kind of problem, for counting and tests.
    pub kind: RejectKind,
    /// A full sentence naming the problem and the fix.
    pub reason: String,
}

/// The kinds of problem a phone cell can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// Nothing left once invisible characters and spaces are gone.
    Empty,
    /// Letters where digits belong, vanity numbers included.
    Letters,
    /// A spreadsheet turned the number into scientific notation or a float.
    SpreadsheetNumber,
    /// No country code and no region to supply one.
    NoCountryCode,
    /// Fewer digits than numbers in that country have.
    TooShort,
    /// More digits than numbers in that country (or E.164) have.
    TooLong,
    /// The right shape, but not an assigned number (or country code).
    InvalidNumber,
    /// An extension the campaign does not allow to strip.
    Extension,
    /// A premium-rate or shared-cost number the campaign does not allow.
    PremiumRate,
    /// Characters or a layout no phone number has.
    NotParsable,
}

impl Rejection {
    /// Builds a rejection from its kind and reason.
    fn new(kind: RejectKind, reason: impl Into<String>) -> Rejection {
        Rejection {
            kind,
            reason: reason.into(),
        }
    }
}

/// A rejection as an `Err`, for early returns.
fn reject<T>(kind: RejectKind, reason: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::new(kind, reason))
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Rejection {}

/// Normalizes one phone cell into a number ready to dial, or says why it
/// cannot be dialed. `region` is the default (or per-row) region used only
/// when the cell has no country code.
pub fn normalize(
    raw: &str,
    region: Option<&Region>,
    rules: &PhoneRules,
) -> Result<Normalized, Rejection> {
    let cleaned = clean(raw);
    let text = strip_text_markers(&cleaned);
    let written = read_shape(text)?;
    let warning = extension_policy(&written, rules)?;

    let found = match rules.strictness {
        Strictness::E164 => read_e164(text, &written)?,
        Strictness::Strict => locate(&written, region, check_valid)?,
        Strictness::Possible => locate(&written, region, check_possible)?,
    };
    let number = check(found, rules)?;

    Ok(Normalized {
        e164: e164(number.code, &number.nsn),
        assumed_region: number.assumed_region,
        warning,
    })
}
