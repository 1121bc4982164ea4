//! Phone cells: one cell of the contact list in, one dialable E.164 number
//! (or the reason there is none) out.
//!
//! This module owns everything between the raw cell text and the `to_number`
//! of a dispatch: cleaning look-alike Unicode, spotting spreadsheet damage,
//! extensions and letters, applying the default region, and checking the
//! number against libphonenumber's metadata. It never sees the rest of the
//! row and never edits the cell; `screen` decides what a rejection means for
//! the row and keeps the dedupe map keyed by [`e164_key`].
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
        // looking the code up in the metadata gives them back as 'static.
        DATABASE
            .by_id(self.0.as_ref())
            .map_or("ZZ", |meta| meta.id())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

/// Parses a region code such as "us" or " GB ", naming the text on error.
pub fn parse_region(text: &str) -> Result<Region, String> {
    let code = text.trim().to_ascii_uppercase();
    let id = phonenumber::country::Id::from_str(&code).ok();
    match id.filter(|id| DATABASE.by_id(id.as_ref()).is_some()) {
        Some(id) => Ok(Region(id)),
        None => Err(format!(
            "unknown region {text:?}: expected a two-letter ISO 3166 country \
             code such as US or GB"
        )),
    }
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
        e164: format!("+{}{}", number.code, number.nsn),
        assumed_region: number.assumed_region,
        warning,
    })
}

/// Compact key for dedupe maps: the E.164 digits as an integer. Meant for
/// [`Normalized::e164`], whose 15 digits at most always fit; any other
/// character is skipped.
pub fn e164_key(e164: &str) -> u64 {
    e164.bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u64, |key, digit| {
            key.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'))
        })
}

// ---------------------------------------------------------------------------
// Cleaning: the cell as plain ASCII wherever a character has an obvious
// ASCII meaning.

/// Drops invisible format characters and folds spaces, dashes, full-width
/// forms and other scripts' digits to ASCII. Anything else is kept so the
/// shape checks can name it.
fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    out.extend(raw.chars().filter_map(fold_char));
    out
}

/// The ASCII stand-in for one character, `None` to drop it.
fn fold_char(c: char) -> Option<char> {
    if c.is_ascii() {
        // Tabs and line breaks inside a quoted cell separate digit groups.
        return Some(if c.is_ascii_whitespace() { ' ' } else { c });
    }
    if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
        // Full-width forms mirror ASCII 0x21..0x7E at a fixed offset.
        return char::from_u32(u32::from(c) - 0xFEE0);
    }
    match c.general_category() {
        GeneralCategory::Format => None,
        GeneralCategory::SpaceSeparator
        | GeneralCategory::LineSeparator
        | GeneralCategory::ParagraphSeparator => Some(' '),
        GeneralCategory::DashPunctuation => Some('-'),
        GeneralCategory::DecimalNumber => Some(decimal_digit(c)),
        // MINUS SIGN is math, not a dash, but pasted numbers use it as one.
        _ if c == '\u{2212}' => Some('-'),
        _ => Some(c),
    }
}

/// The ASCII digit for a decimal digit of any script. Unicode assigns such
/// digits only in runs of ten, zero to nine, so the position within the run
/// of consecutive decimal digits gives the value without a table.
fn decimal_digit(c: char) -> char {
    let is_decimal = |code: u32| {
        char::from_u32(code).is_some_and(|c| c.general_category() == GeneralCategory::DecimalNumber)
    };
    let mut before = 0u32;
    // A few blocks hold several runs back to back (maths digits: five);
    // 100 steps covers them all with room to spare.
    while before < 100 && u32::from(c).checked_sub(before + 1).is_some_and(is_decimal) {
        before += 1;
    }
    char::from_digit(before % 10, 10).unwrap_or('0')
}

/// Trims the cell and removes the marks spreadsheets use to keep a value as
/// text: one leading apostrophe, or a `="..."` formula wrapper.
fn strip_text_markers(cleaned: &str) -> &str {
    let text = cleaned.trim();
    let text = text.strip_prefix('\'').unwrap_or(text).trim();
    match text.strip_prefix("=\"").and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.trim(),
        None => text,
    }
}

// ---------------------------------------------------------------------------
// Shape: what the cleaned text says before any metadata is consulted.

/// The parts of a cell that look like a phone number.
#[derive(Debug)]
struct Written {
    /// The cell started with `+` (after separators such as `(`).
    plus: bool,
    /// All digits of the main number, in order.
    digits: String,
    /// The digits after an extension marker, if any.
    extension: Option<String>,
}

/// Splits the cleaned text into digits, a `+` and an extension, rejecting
/// empty cells, spreadsheet damage, letters and stray characters.
fn read_shape(text: &str) -> Result<Written, Rejection> {
    if text.is_empty() {
        return reject(RejectKind::Empty, reasons::EMPTY);
    }
    if is_spreadsheet_number(text) {
        return reject(RejectKind::SpreadsheetNumber, reasons::SPREADSHEET);
    }

    let (main, extension) = split_extension(text);
    if let Some(letter) = main.chars().find(|c| c.is_alphabetic()) {
        return reject(RejectKind::Letters, reasons::letters(letter));
    }
    let (plus, digits) = read_digits(main)?;

    Ok(Written {
        plus,
        digits,
        extension: extension.map(str::to_owned),
    })
}

/// Whether the text is what a spreadsheet writes after storing a phone
/// number as a number: scientific notation (`4.42079E+11`, `2.015550116E9`)
/// or a float with a zero fraction (`12015550114.0`). The digits cannot be
/// trusted, so the mantissa is never expanded.
fn is_spreadsheet_number(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    is_e_notation(body) || is_float_rendering(body)
}

/// Whether the text is a decimal mantissa, `e` or `E`, and an exponent.
fn is_e_notation(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else {
        return false;
    };
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    is_decimal_number(mantissa) && is_all_digits(exponent)
}

/// Whether the text is a long integer with a fraction of one or two zeros,
/// with either `.` or `,` as the decimal mark (as Excel writes in Europe).
fn is_float_rendering(text: &str) -> bool {
    let Some((whole, fraction)) = text.rsplit_once(['.', ',']) else {
        return false;
    };
    // Six digits at least, so that a dotted group such as "555.00" in an
    // otherwise well-formed number is not mistaken for a float.
    whole.len() >= 6 && is_all_digits(whole) && matches!(fraction, "0" | "00")
}

/// Whether the text is digits with at most one `.` or `,` decimal mark.
fn is_decimal_number(text: &str) -> bool {
    let (whole, fraction) = text.split_once(['.', ',']).unwrap_or((text, ""));
    let digits = whole.len() + fraction.len();
    digits > 0
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the text is one or more ASCII digits and nothing else.
fn is_all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Splits off a trailing extension: a marker (`ext`, `ext.`, `extension`,
/// `x`, `#`, any case, optionally followed by `:` or `=`) and digits.
fn split_extension(text: &str) -> (&str, Option<&str>) {
    let digits_start = text.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let extension = &text[digits_start..];
    let before = text[..digits_start].trim_end_matches([' ', ':', '=', '.']);

    let lower = before.to_ascii_lowercase();
    let marker = ["extension", "ext", "x", "#"]
        .into_iter()
        .find(|marker| lower.ends_with(marker));
    match marker {
        Some(marker) if !extension.is_empty() => {
            let main = before[..before.len() - marker.len()].trim_end_matches([' ', ',', ';']);
            (main, Some(extension))
        }
        _ => (text, None),
    }
}

/// Collects the digits of the main number, allowing the usual separators
/// and one `+` before the first digit.
fn read_digits(main: &str) -> Result<(bool, String), Rejection> {
    let mut plus = false;
    let mut digits = String::with_capacity(main.len());
    for c in main.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            '+' if !plus && digits.is_empty() => plus = true,
            '+' => {
                return reject(RejectKind::NotParsable, reasons::MISPLACED_PLUS);
            }
            other => {
                return reject(RejectKind::NotParsable, reasons::stray(other));
            }
        }
    }
    if digits.is_empty() {
        return reject(RejectKind::NotParsable, reasons::NO_DIGITS);
    }
    Ok((plus, digits))
}

/// Applies the campaign's extension rule: reject, or accept with a warning
/// that the extension will not be dialed.
fn extension_policy(written: &Written, rules: &PhoneRules) -> Result<Option<String>, Rejection> {
    match &written.extension {
        None => Ok(None),
        Some(ext) if rules.allow_extensions => Ok(Some(format!("extension {ext} removed"))),
        Some(ext) => reject(RejectKind::Extension, reasons::extension(ext)),
    }
}

// ---------------------------------------------------------------------------
// Country: which country code the digits belong to.

/// A number split into country code and national significant number.
#[derive(Debug)]
struct Found {
    /// The country calling code, e.g. 44.
    code: u16,
    /// The national significant number, e.g. "2079460233".
    nsn: String,
    /// The region that supplied the country code, if the cell had none.
    assumed_region: Option<Region>,
    /// The cell had its own country code, so a written trunk prefix
    /// (`+44 (0)20 ...`) may still need dropping.
    international: bool,
}

/// A strictness check of a national significant number for a country code.
type Check = fn(&CodeRules, &str) -> Result<LineKind, Rejection>;

/// Finds the country code: from `+`, from `00` or the region's own
/// international prefix, or else from the region for a national number.
/// `check` is the strictness check, which picks among national readings.
fn locate(written: &Written, region: Option<&Region>, check: Check) -> Result<Found, Rejection> {
    let digits = written.digits.as_str();
    if written.plus {
        return international(digits);
    }

    let rules = region.and_then(|r| Rules::for_region(r.as_str()));
    if let Some(rest) = rules.and_then(|r| r.strip_international_prefix(digits)) {
        return international(rest);
    }
    if let Some(rest) = digits.strip_prefix("00") {
        return international(rest);
    }

    match region {
        Some(region) => national(digits, region, check),
        None => reject(RejectKind::NoCountryCode, reasons::NO_COUNTRY_CODE),
    }
}

/// Splits digits written after `+` or an international prefix.
fn international(digits: &str) -> Result<Found, Rejection> {
    if digits.len() > MAX_E164_DIGITS + 2 {
        return reject(RejectKind::TooLong, reasons::too_many_digits(digits.len()));
    }
    match split_country_code(digits) {
        Some((code, nsn)) => Ok(Found {
            code,
            nsn: nsn.to_owned(),
            assumed_region: None,
            international: true,
        }),
        None => Err(unknown_country_code(digits)),
    }
}

/// Reads a national-format number with the region's prefix rules.
fn national(digits: &str, region: &Region, check: Check) -> Result<Found, Rejection> {
    if digits.len() > MAX_E164_DIGITS + 2 {
        return reject(RejectKind::TooLong, reasons::too_many_digits(digits.len()));
    }
    if let Some((code, nsn)) = read_national_directly(digits, region, check) {
        return Ok(Found {
            code,
            nsn: nsn.to_owned(),
            assumed_region: Some(*region),
            international: false,
        });
    }
    national_by_crate(digits, region)
}

/// The common national forms, read without the crate: the digits after the
/// region's trunk prefix, or the digits as they are, whichever passes
/// `check` first (libphonenumber, too, drops a trunk prefix first).
///
/// Besides being fast, this avoids a crate bug that drops the trunk prefix
/// twice, turning the Russian 8 800 123 45 67 into +7 001234567
/// (<https://github.com/whisperfish/rust-phonenumber/issues/76>).
fn read_national_directly<'d>(
    digits: &'d str,
    region: &Region,
    check: Check,
) -> Option<(u16, &'d str)> {
    let region_rules = Rules::for_region(region.as_str())?;
    let code_rules = Rules::for_code(region_rules.code)?;
    let stripped = region_rules
        .national_prefix
        .as_deref()
        .and_then(|p| digits.strip_prefix(p));
    [stripped, Some(digits)]
        .into_iter()
        .flatten()
        .find(|nsn| check(code_rules, nsn).is_ok())
        .map(|nsn| (region_rules.code, nsn))
}

/// Parses a national number with the crate, for what the direct reading
/// leaves: carrier codes, trunk prefix patterns and transform rules, and a
/// country code written without `+`. These vary too much by country to
/// redo here, and only the region's own patterns are involved.
fn national_by_crate(digits: &str, region: &Region) -> Result<Found, Rejection> {
    let parsed = phonenumber::parse(Some(region.0), digits).map_err(|err| {
        use phonenumber::ParseError;
        match err {
            ParseError::TooShortNsn | ParseError::TooShortAfterIdd => {
                Rejection::new(RejectKind::TooShort, reasons::too_few_digits(digits.len()))
            }
            ParseError::TooLong => {
                Rejection::new(RejectKind::TooLong, reasons::too_many_digits(digits.len()))
            }
            _ => Rejection::new(
                RejectKind::NotParsable,
                reasons::national_unreadable(region),
            ),
        }
    })?;

    Ok(Found {
        code: parsed.code().value(),
        nsn: parsed.national().to_string(),
        assumed_region: Some(*region),
        international: false,
    })
}

/// The country code at the start of international digits, and the rest.
/// Country codes are prefix-free, so the first known one is the one.
fn split_country_code(digits: &str) -> Option<(u16, &str)> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3).filter(|&len| len < digits.len()).find_map(|len| {
        let code: u16 = digits[..len].parse().ok()?;
        KNOWN_CODES
            .get(usize::from(code))
            .copied()
            .unwrap_or(false)
            .then(|| (code, &digits[len..]))
    })
}

/// The rejection for international digits with no known country code.
fn unknown_country_code(digits: &str) -> Rejection {
    if digits.len() < 3 {
        return Rejection::new(RejectKind::TooShort, reasons::too_few_digits(digits.len()));
    }
    Rejection::new(
        RejectKind::InvalidNumber,
        reasons::unknown_code(&digits[..3]),
    )
}

/// Reads a cell under `phone_validation = "e164"`: `+`, then the digits as
/// written, with no trunk prefix and no metadata.
fn read_e164(text: &str, written: &Written) -> Result<Found, Rejection> {
    if !written.plus {
        return reject(RejectKind::NoCountryCode, reasons::E164_NEEDS_PLUS);
    }
    if text.replace(' ', "").contains("(0)") {
        return reject(RejectKind::NotParsable, reasons::E164_TRUNK_ZERO);
    }
    let digits = written.digits.as_str();
    let (code, nsn) = split_country_code(digits).unwrap_or((0, digits));

    Ok(Found {
        code,
        nsn: nsn.to_owned(),
        assumed_region: None,
        international: false,
    })
}

// ---------------------------------------------------------------------------
// Checks: is the located number one we dial?

/// Applies the strictness, the E.164 length limits and the premium rule.
fn check(found: Found, rules: &PhoneRules) -> Result<Found, Rejection> {
    let (found, kind) = match rules.strictness {
        Strictness::E164 => check_e164_form(found)?,
        Strictness::Strict => check_with_trunk_retry(found, check_valid)?,
        Strictness::Possible => check_with_trunk_retry(found, check_possible)?,
    };

    let total = digit_count(found.code) + found.nsn.len();
    if total > MAX_E164_DIGITS {
        return reject(RejectKind::TooLong, reasons::too_many_digits(total));
    }
    if total < MIN_E164_DIGITS {
        return reject(RejectKind::TooShort, reasons::too_few_digits(total));
    }
    if kind.is_costly() && !rules.allow_premium {
        return reject(RejectKind::PremiumRate, reasons::premium(kind));
    }
    Ok(found)
}

/// The `e164` check: only the digit count and a known line type matter.
fn check_e164_form(found: Found) -> Result<(Found, LineKind), Rejection> {
    if found.code == 0 {
        let digits = found.nsn.len();
        if digits < MIN_E164_DIGITS {
            return reject(RejectKind::TooShort, reasons::too_few_digits(digits));
        }
        if digits > MAX_E164_DIGITS {
            return reject(RejectKind::TooLong, reasons::too_many_digits(digits));
        }
        return Err(unknown_country_code(&found.nsn));
    }
    let kind =
        Rules::for_code(found.code).map_or(LineKind::Unassigned, |r| r.classify(&found.nsn).1);
    Ok((found, kind))
}

/// Runs `check` on the number, and for a number written with its country
/// code, once more without a trunk prefix (`+44 (0)20 ...`), as
/// libphonenumber does.
fn check_with_trunk_retry(found: Found, check: Check) -> Result<(Found, LineKind), Rejection> {
    let Some(rules) = Rules::for_code(found.code) else {
        return Err(unknown_country_code(&found.code.to_string()));
    };
    let first = match check(rules, &found.nsn) {
        Ok(kind) => return Ok((found, kind)),
        Err(rejection) => rejection,
    };

    let trunk = rules.main().national_prefix.as_deref();
    let stripped = trunk
        .filter(|_| found.international)
        .and_then(|p| found.nsn.strip_prefix(p));
    match stripped.map(|nsn| (nsn, check(rules, nsn))) {
        Some((nsn, Ok(kind))) => Ok((
            Found {
                nsn: nsn.to_owned(),
                ..found
            },
            kind,
        )),
        _ => Err(first),
    }
}

/// The `strict` check: the number is in an assigned range.
fn check_valid(rules: &CodeRules, nsn: &str) -> Result<LineKind, Rejection> {
    match rules.classify(nsn) {
        (Some(_), kind) if kind != LineKind::Unassigned => Ok(kind),
        _ => Err(rules
            .length_problem(nsn)
            .unwrap_or_else(|| rules.invalid(nsn))),
    }
}

/// The `possible` check: the number has a length its country uses.
fn check_possible(rules: &CodeRules, nsn: &str) -> Result<LineKind, Rejection> {
    match rules.length_problem(nsn) {
        Some(rejection) => Err(rejection),
        None => Ok(rules.classify(nsn).1),
    }
}

/// How many decimal digits a country code has.
fn digit_count(code: u16) -> usize {
    match code {
        0..=9 => 1,
        10..=99 => 2,
        _ => 3,
    }
}

// ---------------------------------------------------------------------------
// Rules: libphonenumber's metadata with our own compiled patterns.

/// What a number is for, as far as the dialing policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// Matches no pattern of its region: not a valid number.
    Unassigned,
    /// Premium-rate: the caller pays extra.
    PremiumRate,
    /// Shared-cost: the caller pays part of the call.
    SharedCost,
    /// Any other valid number (fixed line, mobile, toll-free, VoIP, ...).
    Ordinary,
}

impl LineKind {
    /// Whether calling the number costs more than an ordinary call.
    fn is_costly(self) -> bool {
        matches!(self, LineKind::PremiumRate | LineKind::SharedCost)
    }
}

/// One metadata pattern: the lengths it allows and the regex, anchored at
/// both ends as libphonenumber matches it.
struct Pattern {
    /// Bit `n` set when `n` digits are allowed; 0 allows any length.
    lengths: u32,
    /// The national number pattern.
    regex: Regex,
}

impl Pattern {
    /// Compiles a metadata descriptor, or `None` if its regex does not
    /// compile (the pattern then never matches, so no number passes on it).
    fn from_descriptor(descriptor: &Descriptor) -> Option<Pattern> {
        Some(Pattern {
            lengths: length_bits(descriptor.possible_length()),
            regex: compile(&format!("^(?:{})$", descriptor.national_number().as_str()))?,
        })
    }

    /// Whether the national number fits this pattern.
    fn matches(&self, nsn: &str) -> bool {
        let fits = self.lengths == 0 || has_length(self.lengths, nsn.len());
        fits && self.regex.is_match(nsn)
    }
}

/// The rules of one region.
struct RegionRules {
    /// The region code, e.g. "GB", or "001" for non-geographic codes.
    id: &'static str,
    /// The country code, e.g. 44.
    code: u16,
    /// Leading digits that pick this region among those sharing a code.
    leading: Option<Regex>,
    /// Dialing out: the international prefix, anchored at the start.
    idd: Option<Regex>,
    /// The trunk prefix, e.g. "0" in GB.
    national_prefix: Option<String>,
    /// The pattern every valid number matches.
    general: Pattern,
    /// The line types in libphonenumber's order of precedence.
    kinds: Vec<(LineKind, Pattern)>,
    /// Bit set of the lengths of all line types.
    lengths: u32,
}

/// The rules of all regions that share one country code, the main region
/// first.
struct CodeRules {
    /// The country code.
    code: u16,
    /// The regions, main first, as the metadata orders them.
    regions: Vec<RegionRules>,
}

/// Entry point to the compiled rules.
struct Rules;

/// Which country codes exist, indexed by code.
static KNOWN_CODES: LazyLock<Vec<bool>> = LazyLock::new(|| {
    let mut known = vec![false; 1000];
    for meta in DATABASE.iter() {
        if let Some(slot) = known.get_mut(usize::from(meta.country_code())) {
            *slot = true;
        }
    }
    known
});

/// Compiled rules per country code, built on first use so a campaign pays
/// only for the countries it dials. Reads take no lock once built.
static CODE_RULES: LazyLock<Vec<OnceLock<Option<CodeRules>>>> =
    LazyLock::new(|| (0..1000).map(|_| OnceLock::new()).collect());

impl Rules {
    /// The rules for a country code, if the metadata knows it.
    fn for_code(code: u16) -> Option<&'static CodeRules> {
        CODE_RULES
            .get(usize::from(code))?
            .get_or_init(|| CodeRules::build(code))
            .as_ref()
    }

    /// The rules for a region code such as "GB".
    fn for_region(id: &str) -> Option<&'static RegionRules> {
        let code = DATABASE.by_id(id)?.country_code();
        Rules::for_code(code)?.regions.iter().find(|r| r.id == id)
    }
}

impl CodeRules {
    /// Compiles the rules of every region with this country code.
    fn build(code: u16) -> Option<CodeRules> {
        let regions: Vec<RegionRules> = DATABASE
            .by_code(&code)?
            .into_iter()
            .filter_map(RegionRules::build)
            .collect();
        (!regions.is_empty()).then_some(CodeRules { code, regions })
    }

    /// The main region, whose lengths and trunk prefix stand for the code.
    fn main(&self) -> &RegionRules {
        // `build` never keeps an empty list.
        &self.regions[0]
    }

    /// The region a national number belongs to and its line type, chosen as
    /// libphonenumber does: leading digits if the region has them, else the
    /// first region where the number is valid.
    fn classify(&self, nsn: &str) -> (Option<&RegionRules>, LineKind) {
        if let [only] = self.regions.as_slice() {
            return (Some(only), only.line_kind(nsn));
        }
        for region in &self.regions {
            match &region.leading {
                Some(leading) if leading.is_match(nsn) => {
                    return (Some(region), region.line_kind(nsn));
                }
                Some(_) => {}
                None => match region.line_kind(nsn) {
                    LineKind::Unassigned => {}
                    kind => return (Some(region), kind),
                },
            }
        }
        (None, LineKind::Unassigned)
    }

    /// The rejection for a length no number of this code has, if so.
    fn length_problem(&self, nsn: &str) -> Option<Rejection> {
        let lengths = self.main().lengths;
        let (len, shortest, longest) = (nsn.len(), lowest_length(lengths), highest_length(lengths));
        let label = self.label();
        if len < shortest {
            Some(Rejection::new(
                RejectKind::TooShort,
                reasons::short_for(&label, len, shortest),
            ))
        } else if len > longest {
            Some(Rejection::new(
                RejectKind::TooLong,
                reasons::long_for(&label, len, longest),
            ))
        } else if !has_length(lengths, len) {
            Some(Rejection::new(
                RejectKind::InvalidNumber,
                reasons::length_for(&label, len),
            ))
        } else {
            None
        }
    }

    /// The rejection for a number of plausible length in no assigned range.
    fn invalid(&self, nsn: &str) -> Rejection {
        let fiction = self.code == 1 && (nsn.starts_with("555") || nsn.get(3..6) == Some("555"));
        Rejection::new(
            RejectKind::InvalidNumber,
            reasons::invalid(&self.label(), fiction),
        )
    }

    /// How messages name the code: its main region, or `+800` and the like
    /// for non-geographic codes.
    fn label(&self) -> String {
        match self.main().id {
            "001" => format!("+{}", self.code),
            id => id.to_owned(),
        }
    }
}

impl RegionRules {
    /// Compiles one region's metadata; `None` if its general pattern does
    /// not compile, which would leave no valid number in the region.
    fn build(meta: &'static Metadata) -> Option<RegionRules> {
        let d = meta.descriptors();
        let kinds: Vec<(LineKind, Pattern)> = [
            (LineKind::PremiumRate, d.premium_rate()),
            (LineKind::Ordinary, d.toll_free()),
            (LineKind::SharedCost, d.shared_cost()),
            (LineKind::Ordinary, d.voip()),
            (LineKind::Ordinary, d.personal_number()),
            (LineKind::Ordinary, d.pager()),
            (LineKind::Ordinary, d.uan()),
            (LineKind::Ordinary, d.voicemail()),
            (LineKind::Ordinary, d.fixed_line()),
            (LineKind::Ordinary, d.mobile()),
        ]
        .into_iter()
        .filter_map(|(kind, desc)| Some((kind, Pattern::from_descriptor(desc?)?)))
        .collect();

        Some(RegionRules {
            id: meta.id(),
            code: meta.country_code(),
            leading: meta
                .leading_digits()
                .and_then(|re| compile(&format!("^(?:{})", re.as_str()))),
            idd: meta
                .international_prefix()
                .and_then(|re| compile(&format!("^(?:{})", re.as_str()))),
            national_prefix: meta.national_prefix().map(str::to_owned),
            general: Pattern::from_descriptor(d.general())?,
            lengths: kinds
                .iter()
                .fold(0, |bits, (_, pattern)| bits | pattern.lengths),
            kinds,
        })
    }

    /// The line type of a national number in this region.
    fn line_kind(&self, nsn: &str) -> LineKind {
        if !self.general.matches(nsn) {
            return LineKind::Unassigned;
        }
        self.kinds
            .iter()
            .find(|(_, pattern)| pattern.matches(nsn))
            .map_or(LineKind::Unassigned, |(kind, _)| *kind)
    }

    /// The digits after the region's international prefix, if they start
    /// with it and a country code (never 0) follows.
    fn strip_international_prefix<'d>(&self, digits: &'d str) -> Option<&'d str> {
        let end = self.idd.as_ref()?.find(digits)?.end();
        let rest = &digits[end..];
        (!rest.is_empty() && !rest.starts_with('0')).then_some(rest)
    }
}

/// Compiles a metadata regex the way the crate does (whitespace ignored).
/// We only ever match ASCII digits, so `\d` need not know other scripts:
/// without Unicode classes the regexes compile several times faster and
/// their automata stay small. Should a pattern need Unicode, it gets it.
fn compile(source: &str) -> Option<Regex> {
    let build = |unicode| {
        RegexBuilder::new(source)
            .ignore_whitespace(true)
            .unicode(unicode)
            .build()
    };
    build(false).or_else(|_| build(true)).ok()
}

/// A bit set of lengths; lengths of 32 and over cannot occur in metadata.
fn length_bits(lengths: &[u16]) -> u32 {
    lengths
        .iter()
        .filter(|&&len| len < 32)
        .fold(0, |bits, &len| bits | (1 << len))
}

/// Whether the bit set allows `len` digits.
fn has_length(bits: u32, len: usize) -> bool {
    len < 32 && bits & (1 << len) != 0
}

/// The smallest length in a bit set (0 for an empty set).
fn lowest_length(bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        bits.trailing_zeros() as usize
    }
}

/// The largest length in a bit set (32 for an empty set, allowing all).
fn highest_length(bits: u32) -> usize {
    if bits == 0 {
        32
    } else {
        31 - bits.leading_zeros() as usize
    }
}

// ---------------------------------------------------------------------------
// Reasons: every rejection is a sentence naming the problem and the fix.

/// The texts of rejections.
mod reasons {
    use super::{LineKind, Region};

    /// The cell has nothing in it.
    pub const EMPTY: &str = "phone is empty: fill in the number, written with its country \
        code such as +1 201 555 0123, or remove the row";
    /// The cell went through a spreadsheet's number format.
    pub const SPREADSHEET: &str = "phone looks like a spreadsheet numeric conversion \
        (scientific notation such as 4.42079E+11, or a trailing .0): digits and the \
        country code may be lost, so it is not dialed; re-export the phone column as text";
    /// No `+`, no international prefix and no region.
    pub const NO_COUNTRY_CODE: &str = "phone has no country code and no default region: \
        write it as +<country code>..., or set default_region / --default-region";
    /// `e164` validation and no `+`.
    pub const E164_NEEDS_PLUS: &str = "phone has no leading +, which phone_validation = \
        \"e164\" requires: write it as +<country code>..., or use phone_validation = \
        \"strict\" with a default_region";
    /// `e164` validation and a trunk prefix in parentheses.
    pub const E164_TRUNK_ZERO: &str = "phone has a (0) trunk prefix, which is not part of \
        an E.164 number: remove the (0), or use phone_validation = \"strict\"";
    /// A `+` after the first digit.
    pub const MISPLACED_PLUS: &str = "phone has a + that is not at the start, perhaps two \
        numbers in one cell: keep one number, with + only before the country code";
    /// Separators only.
    pub const NO_DIGITS: &str = "phone has no digits: fill in the number or remove the row";

    /// Letters in the number.
    pub fn letters(letter: char) -> String {
        format!(
            "phone contains letters ('{letter}'): numbers spelled with letters (such as \
             1-800-FLOWERS) or notes in the phone column are not dialed; write the number \
             in digits"
        )
    }

    /// A character no phone number has.
    pub fn stray(c: char) -> String {
        format!(
            "phone contains {c:?} (U+{:04X}), which is not part of a phone number: keep \
             only digits, spaces, dashes, dots, parentheses and a leading +",
            u32::from(c)
        )
    }

    /// An extension without `allow_extensions`.
    pub fn extension(ext: &str) -> String {
        format!(
            "phone has an extension ({ext}), which a dispatched call cannot dial; set \
             allow_extensions to strip it and call the main number"
        )
    }

    /// More digits than E.164 or the parser allows.
    pub fn too_many_digits(count: usize) -> String {
        format!(
            "phone has {count} digits, more than the 15 an international number can \
             have: check for extra digits or two numbers in one cell"
        )
    }

    /// Fewer digits than any dialable number.
    pub fn too_few_digits(count: usize) -> String {
        format!(
            "phone has only {count} digits, fewer than the 8 a dialable international \
             number has: check for missing digits"
        )
    }

    /// Shorter than the country's numbers.
    pub fn short_for(label: &str, len: usize, shortest: usize) -> String {
        format!(
            "phone is too short for its region ({label}): {len} digits after the country \
             code, where numbers there have at least {shortest}; check for missing digits"
        )
    }

    /// Longer than the country's numbers.
    pub fn long_for(label: &str, len: usize, longest: usize) -> String {
        format!(
            "phone is too long for its region ({label}): {len} digits after the country \
             code, where numbers there have at most {longest}; check for extra digits"
        )
    }

    /// A length between the shortest and longest that the country skips.
    pub fn length_for(label: &str, len: usize) -> String {
        format!(
            "phone is not a valid number for its region ({label}): no number there has \
             {len} digits after the country code; check the number"
        )
    }

    /// A plausible length in no assigned range.
    pub fn invalid(label: &str, fiction: bool) -> String {
        let mut reason = format!(
            "phone is not a valid number for its region ({label}): it is in no range \
             assigned to phone lines; check the number and its country code"
        );
        if fiction {
            reason.push_str(
                " (555 numbers are reserved for fiction and examples; \
                 phone_validation = \"possible\" accepts them)",
            );
        }
        reason
    }

    /// International digits with no known country code.
    pub fn unknown_code(start: &str) -> String {
        format!(
            "phone does not start with a known country code (digits {start}...): check \
             the number, or leave out the + if it is written in national form"
        )
    }

    /// The crate could not read a national number.
    pub fn national_unreadable(region: &Region) -> String {
        format!(
            "phone cannot be read as a national number of {region}: write it as \
             +<country code>..."
        )
    }

    /// A premium-rate or shared-cost number.
    pub fn premium(kind: LineKind) -> String {
        let what = match kind {
            LineKind::SharedCost => "shared-cost",
            _ => "premium-rate",
        };
        format!(
            "phone is a {what} number, which costs extra to call: set allow_premium to \
             dial such numbers"
        )
    }
}

#[cfg(test)]
mod tests {
    //! The phone cells of the shared cases (`../shared/cases`) are checked
    //! here one by one. The cases were checked against libphonenumber 9.0.43
    //! metadata; the `phonenumber` crate carries 9.0.33, and every case
    //! number behaves as the cases describe under it too.

    use super::*;
    use proptest::prelude::*;

    /// Normalizes with default rules and the region given by code.
    fn run(raw: &str, region: Option<&str>) -> Result<Normalized, Rejection> {
        run_with(raw, region, PhoneRules::default())
    }

    /// Normalizes with the given rules and the region given by code.
    fn run_with(
        raw: &str,
        region: Option<&str>,
        rules: PhoneRules,
    ) -> Result<Normalized, Rejection> {
        let region = region.map(|code| parse_region(code).expect("test region exists"));
        normalize(raw, region.as_ref(), &rules)
    }

    /// Asserts the cell becomes `e164` without an assumed region.
    fn assert_e164(raw: &str, region: Option<&str>, e164: &str) {
        let number = run(raw, region).unwrap_or_else(|r| panic!("{raw:?}: {r}"));
        assert_eq!(number.e164, e164, "{raw:?} with {region:?}");
        assert_eq!(number.assumed_region, None, "{raw:?} with {region:?}");
    }

    /// Asserts the cell becomes `e164` with `region` assumed.
    fn assert_assumed(raw: &str, region: &str, e164: &str) {
        let number = run(raw, Some(region)).unwrap_or_else(|r| panic!("{raw:?}: {r}"));
        assert_eq!(number.e164, e164, "{raw:?} with {region}");
        assert_eq!(
            number.assumed_region.map(|r| r.to_string()),
            Some(region.to_owned())
        );
    }

    /// Asserts the cell is rejected with `kind`.
    fn assert_rejected(raw: &str, region: Option<&str>, kind: RejectKind) {
        match run(raw, region) {
            Ok(number) => panic!("{raw:?} with {region:?} accepted as {}", number.e164),
            Err(rejection) => assert_eq!(rejection.kind, kind, "{raw:?}: {rejection}"),
        }
    }

    /// Pins case invisible-unicode-phone: all ten cells dial cleanly.
    #[test]
    fn case_invisible_unicode_phone() {
        let cells = [
            ("\u{202A}+1 201-555-0211\u{202C}", "+12015550211"),
            ("\u{200E}+44 20 7946 0212", "+442079460212"),
            ("+1 201\u{200E}555 0213", "+12015550213"),
            ("+61\u{A0}491\u{A0}570\u{A0}214", "+61491570214"),
            ("+44\u{202F}20\u{202F}7946\u{202F}0215", "+442079460215"),
            ("+1\u{2011}201\u{2011}555\u{2011}0216", "+12015550216"),
            ("+12015550217\u{200B}", "+12015550217"),
            ("\u{202D}+1 (201) 555-0218\u{202C}", "+12015550218"),
            (
                "\u{FF0B}\u{FF11}\u{3000}\u{FF12}\u{FF10}\u{FF11}\u{3000}\u{FF15}\u{FF15}\u{FF15}\u{3000}\u{FF10}\u{FF12}\u{FF11}\u{FF19}",
                "+12015550219",
            ),
            (" +1 201 555 0220 ", "+12015550220"),
        ];
        for (raw, e164) in cells {
            for region in [None, Some("US"), Some("GB")] {
                assert_e164(raw, region, e164);
            }
        }
    }

    /// Pins case excel-sci-notation: damaged cells are rejected with or
    /// without a region, and no mantissa is ever expanded.
    #[test]
    fn case_excel_sci_notation() {
        for region in [None, Some("US")] {
            assert_e164("+12015550111", region, "+12015550111");
            for raw in [
                "4.42079E+11",
                "1.20156E+10",
                "12015550114.0",
                "6.14916E+10",
                "2.015550116E9",
            ] {
                assert_rejected(raw, region, RejectKind::SpreadsheetNumber);
            }
        }
    }

    /// Other spellings of spreadsheet damage are the same kind.
    #[test]
    fn spreadsheet_variants() {
        for raw in [
            "1.5551234567E+10",
            "4,42079E+11",
            "4E+11",
            "4.42079e011",
            ".5E10",
            "12015550114,00",
            "'4.42079E+11",
        ] {
            assert_rejected(raw, Some("US"), RejectKind::SpreadsheetNumber);
        }
        // Dotted groups are formatting, not a float.
        assert_assumed("201.555.0100", "US", "+12015550100");
    }

    /// Pins case national-default-region, runs A (none), B (US), C (GB).
    #[test]
    fn case_national_default_region() {
        let cells = [
            "(201) 555-0231",
            "201-555-0232",
            "020 7946 0233",
            "+44 20 7946 0234",
            "0491 570 235",
        ];
        for raw in [cells[0], cells[1], cells[2], cells[4]] {
            assert_rejected(raw, None, RejectKind::NoCountryCode);
        }
        assert_e164(cells[3], None, "+442079460234");

        assert_assumed(cells[0], "US", "+12015550231");
        assert_assumed(cells[1], "US", "+12015550232");
        assert!(run(cells[2], Some("US")).is_err());
        assert_e164(cells[3], Some("US"), "+442079460234");
        assert!(run(cells[4], Some("US")).is_err());

        assert_assumed(cells[0], "GB", "+442015550231");
        assert_assumed(cells[1], "GB", "+442015550232");
        assert_assumed(cells[2], "GB", "+442079460233");
        assert_e164(cells[3], Some("GB"), "+442079460234");
        assert!(run(cells[4], Some("GB")).is_err());
    }

    /// Pins case dry-run-no-dispatch: one possible but unassigned number.
    #[test]
    fn case_dry_run_no_dispatch() {
        assert_e164("+12015550361", None, "+12015550361");
        assert_e164("+44 20 7946 0362", None, "+442079460362");
        assert_rejected("+44 7700 900363", None, RejectKind::InvalidNumber);
        assert_e164("+61 491 570 364", None, "+61491570364");
        let possible = PhoneRules {
            strictness: Strictness::Possible,
            ..PhoneRules::default()
        };
        assert!(run_with("+44 7700 900363", None, possible).is_ok());
    }

    /// Pins case duplicate-numbers: three spellings share one number and key.
    #[test]
    fn case_duplicate_numbers() {
        let keys: Vec<u64> = ["+1 201-555-0291", "+1 (201) 555-0291", "+12015550291"]
            .into_iter()
            .map(|raw| e164_key(&run(raw, None).expect("valid").e164))
            .collect();
        assert_eq!(keys, [12015550291; 3]);
        assert_e164("+44 20 7946 0292", None, "+442079460292");
        assert_e164("+61 491 570 293", None, "+61491570293");
    }

    /// Pins case blank-rows-empty-phone: blank cells are `Empty`.
    #[test]
    fn case_blank_rows_empty_phone() {
        assert_e164("+12015550201", None, "+12015550201");
        assert_e164("+61 491 570 203", None, "+61491570203");
        for raw in ["", "  ", " ", "\u{200B}\u{A0}", "'", "\t"] {
            assert_rejected(raw, Some("US"), RejectKind::Empty);
        }
    }

    /// Pins case embedded-newlines: the bad cell is letters.
    #[test]
    fn case_embedded_newlines() {
        assert_e164("+12015550171", None, "+12015550171");
        assert_e164("+12015550172", None, "+12015550172");
        assert_e164("+44 20 7946 0173", None, "+442079460173");
        assert_rejected("not-a-number", None, RejectKind::Letters);
        assert_rejected("not-a-number", Some("US"), RejectKind::Letters);
        // A line break inside a quoted phone cell separates groups.
        assert_e164("+1 201\r\n555 0171", None, "+12015550171");
    }

    /// Vanity numbers are never converted to digits.
    #[test]
    fn letters_are_rejected() {
        for raw in [
            "1-800-FLOWERS",
            "+1 800 FLOWERS",
            "+1 800 356 9377 x",
            "ask Bob",
            "+1 201 555 0211 ёж",
        ] {
            assert_rejected(raw, Some("US"), RejectKind::Letters);
        }
    }

    /// Extensions are rejected, or stripped with a warning when allowed.
    #[test]
    fn extensions() {
        let allow = PhoneRules {
            allow_extensions: true,
            ..PhoneRules::default()
        };
        for raw in [
            "+1 201 555 0211 ext. 123",
            "+1 201 555 0211 x123",
            "+1 201 555 0211#123",
            "+1 201 555 0211 Extension: 123",
            "+1 201 555 0211 EXT 123",
        ] {
            assert_rejected(raw, None, RejectKind::Extension);
            let number = run_with(raw, None, allow).expect("allowed");
            assert_eq!(number.e164, "+12015550211");
            assert_eq!(number.warning.as_deref(), Some("extension 123 removed"));
        }
    }

    /// `00` is international everywhere; `011` only where the region's
    /// country code is 1 (the crate agrees for US).
    #[test]
    fn international_prefixes() {
        for region in [None, Some("US"), Some("GB"), Some("DE")] {
            assert_e164("0044 20 7946 0233", region, "+442079460233");
        }
        assert_e164("011 44 20 7946 0233", Some("US"), "+442079460233");
        assert_e164("011 44 20 7946 0233", Some("CA"), "+442079460233");
        assert_rejected("011 44 20 7946 0233", None, RejectKind::NoCountryCode);
        assert!(run("011 44 20 7946 0233", Some("GB")).is_err());
        assert_assumed("0113 496 0000", "GB", "+441134960000");
        assert_e164("0011 44 20 7946 0233", Some("AU"), "+442079460233");

        let crate_reading =
            phonenumber::parse(Some(phonenumber::country::US), "011 44 20 7946 0233");
        assert_eq!(crate_reading.expect("parses").code().value(), 44);
    }

    /// A `+` number ignores the region; trunk `(0)` is dropped as
    /// libphonenumber does.
    #[test]
    fn plus_ignores_region() {
        assert_e164("+44 20 7946 0233", Some("US"), "+442079460233");
        assert_e164("+44 (0)20 7946 0233", None, "+442079460233");
        assert_e164("(+44) 20 7946 0233", None, "+442079460233");
        assert_rejected(
            "+1 201 555 0211 +1 201 555 0212",
            None,
            RejectKind::NotParsable,
        );
        assert_rejected(
            "+1 201 555 0211, 201 555 0212",
            None,
            RejectKind::NotParsable,
        );
        assert_rejected("+999 123 456 789", None, RejectKind::InvalidNumber);
        assert_rejected("+-", None, RejectKind::NotParsable);
    }

    /// Lengths: per country and the E.164 limits.
    #[test]
    fn lengths() {
        assert_rejected("+44 20 79", None, RejectKind::TooShort);
        assert_rejected("+1 201 555 0211 0000", None, RejectKind::TooLong);
        assert_rejected("+1 201 555 0211 0000 0000 0000", None, RejectKind::TooLong);
        assert_rejected("555 0211", Some("US"), RejectKind::TooShort);
        // Niue numbers are valid but have 7 digits in all.
        assert_rejected("+683 4002", None, RejectKind::TooShort);
    }

    /// 555 numbers explain themselves; `possible` accepts them.
    #[test]
    fn fiction_numbers() {
        let rejection = run("+15551234567", None).expect_err("invalid");
        assert_eq!(rejection.kind, RejectKind::InvalidNumber);
        assert!(rejection.reason.contains("fiction"), "{rejection}");
        assert!(rejection.reason.contains("\"possible\""), "{rejection}");
        let possible = PhoneRules {
            strictness: Strictness::Possible,
            ..PhoneRules::default()
        };
        let number = run_with("+15551234567", None, possible).expect("possible");
        assert_eq!(number.e164, "+15551234567");
        // Real area code, 555 exchange outside 01xx: valid in this metadata.
        assert!(run("+1 201 555 0199", None).is_ok());
    }

    /// Premium-rate and shared-cost numbers need `allow_premium`.
    #[test]
    fn premium_numbers() {
        let allow = PhoneRules {
            allow_premium: true,
            ..PhoneRules::default()
        };
        for raw in [
            "+44 901 234 5678",
            "+1 900 234 5678",
            "+61 1300 123 456",
            "+49 900 1234567",
        ] {
            assert_rejected(raw, None, RejectKind::PremiumRate);
            assert!(run_with(raw, None, allow).is_ok(), "{raw}");
        }
        let shared = run("+61 1300 123 456", None).expect_err("shared cost");
        assert!(shared.reason.contains("shared-cost"), "{shared}");
        assert_e164("+1 800 723 3456", None, "+18007233456");
    }

    /// `e164` mode: `+` and digits, no national form, no validity check.
    #[test]
    fn e164_mode() {
        let rules = PhoneRules {
            strictness: Strictness::E164,
            ..PhoneRules::default()
        };
        let run_e164 = |raw: &str| run_with(raw, Some("US"), rules);
        assert_eq!(
            run_e164("+1 (201) 555-0211").expect("ok").e164,
            "+12015550211"
        );
        assert_eq!(run_e164("+15551234567").expect("ok").e164, "+15551234567");
        let kind = |raw: &str| run_e164(raw).expect_err("rejected").kind;
        assert_eq!(kind("(201) 555-0211"), RejectKind::NoCountryCode);
        assert_eq!(kind("0044 20 7946 0233"), RejectKind::NoCountryCode);
        assert_eq!(kind("+44 (0)20 7946 0233"), RejectKind::NotParsable);
        assert_eq!(kind("+1234567"), RejectKind::TooShort);
        assert_eq!(kind("+1234567890123456"), RejectKind::TooLong);
        assert_eq!(kind("+0123456789"), RejectKind::InvalidNumber);
        assert_eq!(kind("+1 900 234 5678"), RejectKind::PremiumRate);
    }

    /// Spreadsheet text markers and digits of other scripts.
    #[test]
    fn markers_and_scripts() {
        assert_e164("'+12015550211", None, "+12015550211");
        assert_e164("=\"+12015550211\"", None, "+12015550211");
        assert_e164(
            "+\u{661}\u{662}\u{660}\u{661}\u{665}\u{665}\u{665}\u{660}\u{662}\u{661}\u{661}",
            None,
            "+12015550211",
        );
        assert_e164(
            "+\u{967}\u{968}\u{966}\u{967}\u{96B}\u{96B}\u{96B}\u{966}\u{968}\u{967}\u{967}",
            None,
            "+12015550211",
        );
        assert_e164("+1\u{2212}201\u{2212}555\u{2212}0211", None, "+12015550211");
        assert_assumed(
            "\u{FF08}\u{FF12}\u{FF10}\u{FF11}\u{FF09}\u{FF15}\u{FF15}\u{FF15}\u{FF0D}\u{FF10}\u{FF12}\u{FF11}\u{FF11}",
            "US",
            "+12015550211",
        );
        assert_rejected("+1 201 555 0211\u{0}", None, RejectKind::NotParsable);
    }

    /// Settings parsing names the bad text and the choices.
    #[test]
    fn settings_parsing() {
        assert_eq!("Strict".parse::<Strictness>(), Ok(Strictness::Strict));
        assert_eq!(" possible ".parse::<Strictness>(), Ok(Strictness::Possible));
        assert_eq!("e164".parse::<Strictness>(), Ok(Strictness::E164));
        let err = "loose".parse::<Strictness>().expect_err("unknown");
        assert!(
            err.contains("loose") && err.contains("strict, possible, e164"),
            "{err}"
        );

        assert_eq!(parse_region(" gb ").expect("GB").to_string(), "GB");
        assert_eq!(parse_region("us").expect("US").as_str(), "US");
        for bad in ["", "XX", "USA", "001"] {
            let err = parse_region(bad).expect_err("unknown");
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    /// The dedupe key is the digits as a number.
    #[test]
    fn dedupe_key() {
        assert_eq!(e164_key("+442079460123"), 442079460123);
        assert_eq!(e164_key("+999999999999999"), 999_999_999_999_999);
    }

    /// Our compiled patterns agree with the crate's validator on every
    /// example number in the metadata.
    #[test]
    fn agrees_with_crate_on_examples() {
        let rules = PhoneRules {
            allow_premium: true,
            ..PhoneRules::default()
        };
        let mut mangled = Vec::new();
        for meta in DATABASE.iter() {
            for example in examples(meta) {
                let e164 = format!("+{}{}", meta.country_code(), example);
                let parsed = phonenumber::parse(None, &e164).expect("example parses");
                let crate_e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
                if crate_e164 != e164 {
                    // The crate drops a leading 8 or 0 twice (issue #76).
                    mangled.push(e164);
                    continue;
                }
                let ours = run_with(&e164, None, rules).map(|n| n.e164);
                let total = e164.len() - 1;
                if (MIN_E164_DIGITS..=MAX_E164_DIGITS).contains(&total) {
                    assert_eq!(
                        ours.is_ok(),
                        parsed.is_valid(),
                        "{} {e164}: {ours:?}",
                        meta.id()
                    );
                }
            }
        }
        println!("skipped, mangled by the crate: {mangled:?}");
        for e164 in mangled {
            assert_eq!(
                run_with(&e164, None, rules).map(|n| n.e164),
                Ok(e164.clone())
            );
        }
    }

    /// The example numbers of one region's line types.
    fn examples(meta: &Metadata) -> Vec<&str> {
        let d = meta.descriptors();
        [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .filter_map(Descriptor::example)
        .collect()
    }

    /// Patterns match whole numbers, as in libphonenumber: the crate's
    /// prefix match calls a toll-free number with a digit too many valid
    /// (<https://github.com/whisperfish/rust-phonenumber/issues/31>).
    #[test]
    fn patterns_match_whole_numbers() {
        let parsed = phonenumber::parse(None, "+36401434567").expect("parses");
        assert!(
            parsed.is_valid(),
            "the crate bug is gone: revisit this test"
        );
        assert_rejected("+36 40 143 4567", None, RejectKind::InvalidNumber);
        assert_e164("+36 40 143 456", None, "+3640143456");
    }

    /// Russian 8 800 numbers keep their 8, unlike in the crate's parser
    /// (<https://github.com/whisperfish/rust-phonenumber/issues/76>).
    #[test]
    fn trunk_prefix_dropped_once() {
        assert_e164("+7 800 123 45 67", None, "+78001234567");
        assert_assumed("8 800 123 45 67", "RU", "+78001234567");
        assert_assumed("8 (495) 123-45-67", "RU", "+74951234567");
        assert_assumed("800 123 45 67", "RU", "+78001234567");
    }

    /// Valid numbers to dress up with formatting noise.
    const VALID: &[(&str, Option<&str>, &str)] = &[
        ("+12015550211", None, "+12015550211"),
        ("+442079460212", None, "+442079460212"),
        ("+61491570214", None, "+61491570214"),
        ("+33612345678", None, "+33612345678"),
        ("+4915123456789", None, "+4915123456789"),
        ("2015550231", Some("US"), "+12015550231"),
        ("02079460233", Some("GB"), "+442079460233"),
        ("0491570214", Some("AU"), "+61491570214"),
    ];

    /// Characters that must not change the number wherever they appear.
    const NOISE: &[char] = &[
        ' ', '-', '.', '(', ')', '/', '\u{A0}', '\u{202F}', '\u{3000}', '\u{200B}', '\u{200E}',
        '\u{200F}', '\u{202A}', '\u{202C}', '\u{202D}', '\u{2060}', '\u{2066}', '\u{2069}',
        '\u{FEFF}', '\u{2011}', '\u{2013}', '\u{AD}',
    ];

    /// Inserts noise at the given places and folds some digits to full width.
    fn dress(number: &str, noise: &[(usize, usize)], wide: &[bool]) -> String {
        let mut chars: Vec<char> = number
            .chars()
            .zip(wide.iter().chain(std::iter::repeat(&false)))
            .map(|(c, &wide)| match c.to_digit(10) {
                Some(d) if wide => char::from_u32(0xFF10 + d).unwrap_or(c),
                _ => c,
            })
            .collect();
        for &(at, which) in noise {
            // Noise goes after the `+` and keeps off the last two places, so
            // a `.` cannot turn "...10" into the float "...1.0".
            let at = 1 + at % chars.len().saturating_sub(2).max(1);
            chars.insert(at.min(chars.len()), NOISE[which % NOISE.len()]);
        }
        chars.into_iter().collect()
    }

    proptest! {
        /// Formatting noise around a valid number never changes the result.
        #[test]
        fn noise_keeps_the_number(
            pick in 0..VALID.len(),
            noise in prop::collection::vec((0usize..40, 0usize..100), 0..12),
            wide in prop::collection::vec(any::<bool>(), 0..16),
            lead in prop::option::of(0usize..100),
        ) {
            let (number, region, e164) = VALID[pick];
            let mut cell = dress(number, &noise, &wide);
            if let Some(which) = lead {
                cell.insert(0, NOISE[which % NOISE.len()]);
            }
            let result = run(&cell, region).map(|n| n.e164);
            prop_assert_eq!(result, Ok(e164.to_owned()), "cell {:?}", cell);
        }

        /// Every accepted number re-reads as itself, in every mode.
        #[test]
        fn output_rereads_as_itself(
            plus in any::<bool>(),
            digits in "[0-9]{6,16}",
            region in prop::sample::select(vec![None, Some("US"), Some("GB"), Some("DE"), Some("AU"), Some("IN"), Some("BR"), Some("IT")]),
            mode in prop::sample::select(vec![Strictness::Strict, Strictness::Possible, Strictness::E164]),
        ) {
            let rules = PhoneRules { strictness: mode, allow_premium: true, allow_extensions: false };
            let cell = if plus { format!("+{digits}") } else { digits };
            if let Ok(number) = run_with(&cell, region, rules) {
                let e164 = number.e164.as_str();
                prop_assert!(e164.starts_with('+') && !e164.starts_with("+0"));
                prop_assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()));
                prop_assert!((MIN_E164_DIGITS..=MAX_E164_DIGITS).contains(&(e164.len() - 1)));
                let again = run_with(e164, None, rules).map(|n| n.e164);
                prop_assert_eq!(again.as_deref(), Ok(e164));
            }
        }

        /// No input makes normalize panic.
        #[test]
        fn never_panics(cell in "\\PC{0,40}|[-+0-9 ().xXeE#']{0,30}", region in prop::option::of(prop::sample::select(vec!["US", "GB", "DE", "AU", "JP"]))) {
            for strictness in [Strictness::Strict, Strictness::Possible, Strictness::E164] {
                let rules = PhoneRules { strictness, allow_extensions: true, allow_premium: false };
                let _ = run_with(&cell, region, rules);
            }
        }
    }

    /// Rough speed on a mixed list; run by hand in release mode:
    /// `cargo test --release --lib phone::tests::speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn speed() {
        let mut cells: Vec<(String, Option<&str>)> = DATABASE
            .iter()
            .filter_map(|meta| {
                let example = meta.descriptors().mobile()?.example()?;
                Some((format!("+{} {}", meta.country_code(), example), None))
            })
            .collect();
        for (national, region) in [
            ("(201) 555-0231", "US"),
            ("020 7946 0233", "GB"),
            ("0491 570 214", "AU"),
        ] {
            cells.extend(std::iter::repeat_n((national.to_owned(), Some(region)), 60));
        }
        let rules = PhoneRules::default();
        let regions: Vec<Option<Region>> = cells
            .iter()
            .map(|(_, r)| r.map(|r| parse_region(r).expect("region")))
            .collect();

        // The first call per country compiles its patterns; time the rest.
        let warming = std::time::Instant::now();
        for ((cell, _), region) in cells.iter().zip(&regions) {
            let _ = normalize(cell, region.as_ref(), &rules);
        }
        println!(
            "first pass, {} cells (compiles patterns): {:?}",
            cells.len(),
            warming.elapsed()
        );
        let started = std::time::Instant::now();
        let mut accepted = 0usize;
        let rounds = 200;
        for _ in 0..rounds {
            for ((cell, _), region) in cells.iter().zip(&regions) {
                accepted += usize::from(normalize(cell, region.as_ref(), &rules).is_ok());
            }
        }
        let calls = (rounds * cells.len()) as f64;
        let rate = calls / started.elapsed().as_secs_f64();
        println!("{calls} calls ({accepted} accepted): {rate:.0} normalize() calls/s");
    }
}
