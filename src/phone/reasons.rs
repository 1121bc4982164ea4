//! The words of every rejection, in one place.

use super::Region;
use super::metadata::LineKind;

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
