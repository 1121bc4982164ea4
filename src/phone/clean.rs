//! Cleaning a phone cell: invisible characters, look-alike spaces and
//! dashes, spreadsheet damage, letters and extensions.

use super::*;

/// Drops invisible format characters and folds spaces, dashes, full-width
/// forms and other scripts' digits to ASCII. Anything else is kept so the
/// shape checks can name it.
pub(super) fn clean(raw: &str) -> String {
    // Most cells are plain ASCII with nothing to fold but tabs and line
    // breaks; they need no walk through the characters.
    if raw
        .bytes()
        .all(|b| b.is_ascii() && (b == b' ' || !b.is_ascii_whitespace()))
    {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    out.extend(raw.chars().filter_map(fold_char));
    out
}

/// The ASCII stand-in for one character, `None` to drop it.
pub(super) fn fold_char(c: char) -> Option<char> {
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
pub(super) fn decimal_digit(c: char) -> char {
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
pub(super) fn strip_text_markers(cleaned: &str) -> &str {
    let text = cleaned.trim();
    let text = text.strip_prefix('\'').unwrap_or(text).trim();
    match text.strip_prefix("=\"").and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.trim(),
        None => text,
    }
}

/// The parts of a cell that look like a phone number.
#[derive(Debug)]
pub(super) struct Written {
    /// The cell started with `+` (after separators such as `(`).
    pub(super) plus: bool,
    /// All digits of the main number, in order.
    pub(super) digits: String,
    /// The digits after an extension marker, if any.
    pub(super) extension: Option<String>,
}

/// Splits the cleaned text into digits, a `+` and an extension, rejecting
/// empty cells, spreadsheet damage, letters and stray characters.
pub(super) fn read_shape(text: &str) -> Result<Written, Rejection> {
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
pub(super) fn is_spreadsheet_number(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    is_e_notation(body) || is_float_rendering(body)
}

/// Whether the text is a decimal mantissa, `e` or `E`, and an exponent.
pub(super) fn is_e_notation(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else {
        return false;
    };
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    is_decimal_number(mantissa) && is_all_digits(exponent)
}

/// Whether the text is a long integer with a fraction of one or two zeros,
/// with either `.` or `,` as the decimal mark (as Excel writes in Europe).
pub(super) fn is_float_rendering(text: &str) -> bool {
    let Some((whole, fraction)) = text.rsplit_once(['.', ',']) else {
        return false;
    };
    // Six digits at least, so that a dotted group such as "555.00" in an
    // otherwise well-formed number is not mistaken for a float.
    whole.len() >= 6 && is_all_digits(whole) && matches!(fraction, "0" | "00")
}

/// Whether the text is digits with at most one `.` or `,` decimal mark.
pub(super) fn is_decimal_number(text: &str) -> bool {
    let (whole, fraction) = text.split_once(['.', ',']).unwrap_or((text, ""));
    let digits = whole.len() + fraction.len();
    digits > 0
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the text is one or more ASCII digits and nothing else.
pub(super) fn is_all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Splits off a trailing extension: a marker (`ext`, `ext.`, `extension`,
/// `x`, `#`, any case, optionally followed by `:` or `=`) and digits.
pub(super) fn split_extension(text: &str) -> (&str, Option<&str>) {
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
pub(super) fn read_digits(main: &str) -> Result<(bool, String), Rejection> {
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
pub(super) fn extension_policy(
    written: &Written,
    rules: &PhoneRules,
) -> Result<Option<String>, Rejection> {
    match &written.extension {
        None => Ok(None),
        Some(ext) if rules.allow_extensions => Ok(Some(format!("extension {ext} removed"))),
        Some(ext) => reject(RejectKind::Extension, reasons::extension(ext)),
    }
}
