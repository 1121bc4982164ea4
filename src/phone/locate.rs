//! Finding the country code and national number, and checking them
//! against the campaign's strictness.

use super::*;

/// A number split into country code and national significant number.
#[derive(Debug)]
pub(super) struct Found {
    /// The country calling code, e.g. 44.
    pub(super) code: u16,
    /// The national significant number, e.g. "2079460233".
    pub(super) nsn: String,
    /// The region that supplied the country code, if the cell had none.
    pub(super) assumed_region: Option<Region>,
    /// The cell had its own country code, so a written trunk prefix
    /// (`+44 (0)20 ...`) may still need dropping.
    pub(super) international: bool,
}

/// A strictness check of a national significant number for a country code.
type Check = fn(&CodeRules, &str) -> Result<LineKind, Rejection>;

/// Finds the country code: from `+`, from `00` or the region's own
/// international prefix, or else from the region for a national number.
/// `check` is the strictness check, which picks among national readings.
pub(super) fn locate(
    written: &Written,
    region: Option<&Region>,
    check: Check,
) -> Result<Found, Rejection> {
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
pub(super) fn international(digits: &str) -> Result<Found, Rejection> {
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
pub(super) fn national(digits: &str, region: &Region, check: Check) -> Result<Found, Rejection> {
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
pub(super) fn read_national_directly<'d>(
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
pub(super) fn national_by_crate(digits: &str, region: &Region) -> Result<Found, Rejection> {
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
pub(super) fn split_country_code(digits: &str) -> Option<(u16, &str)> {
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
pub(super) fn unknown_country_code(digits: &str) -> Rejection {
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
pub(super) fn read_e164(text: &str, written: &Written) -> Result<Found, Rejection> {
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

/// Applies the strictness, the E.164 length limits and the premium rule.
pub(super) fn check(found: Found, rules: &PhoneRules) -> Result<Found, Rejection> {
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
pub(super) fn check_e164_form(found: Found) -> Result<(Found, LineKind), Rejection> {
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
pub(super) fn check_with_trunk_retry(
    found: Found,
    check: Check,
) -> Result<(Found, LineKind), Rejection> {
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
pub(super) fn check_valid(rules: &CodeRules, nsn: &str) -> Result<LineKind, Rejection> {
    match rules.classify(nsn) {
        (Some(_), kind) if kind != LineKind::Unassigned => Ok(kind),
        _ => Err(rules
            .length_problem(nsn)
            .unwrap_or_else(|| rules.invalid(nsn))),
    }
}

/// The `possible` check: the number has a length its country uses.
pub(super) fn check_possible(rules: &CodeRules, nsn: &str) -> Result<LineKind, Rejection> {
    match rules.length_problem(nsn) {
        Some(rejection) => Err(rejection),
        None => Ok(rules.classify(nsn).1),
    }
}

/// How many decimal digits a country code has.
pub(super) fn digit_count(code: u16) -> usize {
    match code {
        0..=9 => 1,
        10..=99 => 2,
        _ => 3,
    }
}
