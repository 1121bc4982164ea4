//! Unit and property tests of phone normalization.

//! The phone cells of the shared cases (`../shared/cases`) are checked
//! here one by one. The cases were checked against libphonenumber 9.0.43
//! metadata; the `phonenumber` crate carries 9.0.33, and every case
//! number behaves as the cases describe under it too.

use super::*;
use crate::outcome::number_key;
use proptest::prelude::*;

/// Normalizes with default rules and the region given by code.
fn run(raw: &str, region: Option<&str>) -> Result<Normalized, Rejection> {
    run_with(raw, region, PhoneRules::default())
}

/// Normalizes with the given rules and the region given by code.
fn run_with(raw: &str, region: Option<&str>, rules: PhoneRules) -> Result<Normalized, Rejection> {
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
        .map(|raw| number_key(&run(raw, None).expect("valid").e164).expect("E.164"))
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

    let crate_reading = phonenumber::parse(Some(phonenumber::country::US), "011 44 20 7946 0233");
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
    assert_eq!(number_key("+442079460123"), Some(442079460123));
    assert_eq!(number_key("+999999999999999"), Some(999_999_999_999_999));
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
    '\u{200F}', '\u{202A}', '\u{202C}', '\u{202D}', '\u{2060}', '\u{2066}', '\u{2069}', '\u{FEFF}',
    '\u{2011}', '\u{2013}', '\u{AD}',
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

#[test]
fn the_region_list_is_the_metadatas() {
    let mut covered: Vec<&str> = DATABASE
        .iter()
        .map(|meta| meta.id())
        .filter(|id| phonenumber::country::Id::from_str(id).is_ok())
        .collect();
    covered.sort_unstable();
    covered.dedup();
    assert_eq!(REGIONS.to_vec(), covered);
}

proptest! {
    #[test]
    fn e164_is_plus_code_and_national_number(code in 0u16.., nsn in "[0-9]{0,15}") {
        prop_assert_eq!(e164(code, &nsn), format!("+{code}{nsn}"));
    }

    #[test]
    fn cleaning_ascii_keeps_it_but_for_tabs_and_line_breaks(raw in "[ -~\t\r\n]{0,30}") {
        let folded: String = raw.chars().filter_map(fold_char).collect();
        prop_assert_eq!(clean(&raw), folded);
    }
}

#[test]
fn region_codes_are_cleaned_like_phone_cells_and_uk_points_to_gb() {
    assert_eq!(parse_region("\u{200B}gb\u{FEFF}").unwrap().as_str(), "GB");
    assert_eq!(parse_region("ＵＳ").unwrap().as_str(), "US");
    let err = parse_region("UK").unwrap_err();
    assert!(err.contains("is GB"), "{err}");
    assert!(parse_region("ZZ").unwrap_err().contains("two-letter"));
}
