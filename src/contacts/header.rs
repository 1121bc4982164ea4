//! From the header record to a column plan.
//!
//! Header names are trimmed (surrounding whitespace and any stray U+FEFF)
//! and must be present and unique, ignoring case, so that every setting that
//! names a column means exactly one. Then we pick the phone column, the
//! optional region column and the columns that go into `call_context`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::ReadOptions;
use super::error::ListError;

/// Header names that mark the phone column, in order of preference.
pub const PHONE_NAMES: [&str; 6] = [
    "phone",
    "phone_number",
    "to_number",
    "number",
    "mobile",
    "msisdn",
];

/// Delimiters we suggest when the whole header landed in one cell.
const OTHER_DELIMITERS: [u8; 4] = [b';', b'\t', b'|', b','];

/// Which column feeds which part of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnPlan {
    /// Index of the phone column.
    pub phone: usize,
    /// Index of the region column, if one was set.
    pub region: Option<usize>,
    /// Context columns in file order, with their shared keys.
    pub context: Vec<(usize, Arc<str>)>,
    /// Index of each control column of the options, where present.
    pub controls: Vec<Option<usize>>,
    /// Number of header columns.
    pub width: usize,
}

/// The header's verdict: cleaned names, the plan, and phone-like columns
/// that were not chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderPlan {
    /// Trimmed header names.
    pub names: Vec<String>,
    /// Column roles.
    pub plan: ColumnPlan,
    /// Other columns whose names mark a phone column.
    pub other_phone_like: Vec<String>,
}

/// Trims a header cell into its key.
pub(crate) fn clean_name(raw: &str) -> String {
    raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
        .to_string()
}

/// Finds a conventional column written another way: `Do Not Call`,
/// `do-not-call` and `DNC` all name `do_not_call`. A do-not-call flag
/// missed for its spelling would be a person called against their wish.
pub fn loose_find(names: &[String], wanted: &str) -> Option<usize> {
    let loose = |n: &str| -> String {
        n.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let wanted = loose(wanted);
    names.iter().position(|n| {
        let n = loose(n);
        n == wanted || (wanted == "donotcall" && n == "dnc")
    })
}

/// The comparison form of a name: trimmed, lower case.
fn fold(name: &str) -> String {
    clean_name(name).to_lowercase()
}

/// Checks the header names and maps the columns as `opts` asks.
pub(crate) fn plan_columns(
    path: &Path,
    line: u64,
    names: Vec<String>,
    delimiter: u8,
    opts: &ReadOptions,
) -> Result<HeaderPlan, ListError> {
    check_names(path, line, &names)?;
    let index: HashMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (fold(n), i))
        .collect();
    let find = |setting: &'static str, name: &str| {
        index
            .get(&fold(name))
            .copied()
            .ok_or_else(|| ListError::ColumnNotFound {
                path: path.to_path_buf(),
                setting,
                name: name.to_string(),
                headers: names.clone(),
            })
    };

    let (phone, other_phone_like) = match &opts.phone_column {
        Some(name) => (find("phone_column", name)?, Vec::new()),
        None => detect_phone(path, &names, &index, delimiter)?,
    };
    let region = opts
        .region_column
        .as_deref()
        .map(|n| find("region_column", n))
        .transpose()?;
    let excluded = opts
        .exclude_columns
        .iter()
        .map(|n| find("exclude_columns", n))
        .collect::<Result<Vec<_>, _>>()?;
    let chosen = match &opts.context_columns {
        Some(list) => Some(
            list.iter()
                .map(|n| find("context_columns", n))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };

    let controls = opts
        .control_columns
        .iter()
        .map(|c| match find(c.setting, &c.name) {
            Ok(i) => Ok(Some(i)),
            Err(_) if !c.required => Ok(loose_find(&names, &c.name)),
            Err(err) => Err(err),
        })
        .collect::<Result<Vec<_>, _>>()?;

    // Control columns steer the dialer; the agent never sees them, even when
    // `context_columns` names one.
    let context = (0..names.len())
        .filter(|i| !controls.contains(&Some(*i)))
        .filter(|i| match &chosen {
            Some(chosen) => chosen.contains(i) && !excluded.contains(i),
            None => *i != phone && Some(*i) != region && !excluded.contains(i),
        })
        .map(|i| (i, Arc::from(names[i].as_str())))
        .collect();
    let other_phone_like = other_phone_like
        .into_iter()
        .map(|i| names[i].clone())
        .collect();
    let plan = ColumnPlan {
        phone,
        region,
        context,
        controls,
        width: names.len(),
    };
    Ok(HeaderPlan {
        names,
        plan,
        other_phone_like,
    })
}

/// Rejects blank names and names repeated (ignoring case and spaces).
fn check_names(path: &Path, line: u64, names: &[String]) -> Result<(), ListError> {
    let blank: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.is_empty())
        .map(|(i, _)| i + 1)
        .collect();
    if !blank.is_empty() {
        return Err(ListError::BlankHeader {
            path: path.to_path_buf(),
            line,
            columns: blank,
        });
    }

    // In first-seen order, with an index so wide headers stay linear.
    let mut seen: Vec<(String, Vec<usize>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let folded = fold(name);
        match index.get(&folded) {
            Some(&at) => seen[at].1.push(i + 1),
            None => {
                index.insert(folded.clone(), seen.len());
                seen.push((folded, vec![i + 1]));
            }
        }
    }
    let duplicates: Vec<(String, Vec<usize>)> = seen
        .into_iter()
        .filter(|(_, columns)| columns.len() > 1)
        .map(|(_, columns)| (names[columns[0] - 1].clone(), columns))
        .collect();
    if duplicates.is_empty() {
        return Ok(());
    }
    Err(ListError::DuplicateHeader {
        path: path.to_path_buf(),
        line,
        duplicates,
    })
}

/// Finds the phone column by name; returns it and the other phone-like
/// columns (in preference order), or an error that lists what we saw.
fn detect_phone(
    path: &Path,
    names: &[String],
    index: &HashMap<String, usize>,
    delimiter: u8,
) -> Result<(usize, Vec<usize>), ListError> {
    let mut found = PHONE_NAMES.iter().filter_map(|n| index.get(*n).copied());
    match found.next() {
        Some(phone) => Ok((phone, found.collect())),
        None => Err(ListError::NoPhoneColumn {
            path: path.to_path_buf(),
            headers: names.to_vec(),
            delimiter,
            suggested: suggest_delimiter(names, delimiter),
        }),
    }
}

/// When the header is one cell holding another likely delimiter, names
/// that delimiter.
fn suggest_delimiter(names: &[String], delimiter: u8) -> Option<u8> {
    let [only] = names else {
        return None;
    };
    OTHER_DELIMITERS
        .iter()
        .copied()
        .filter(|d| *d != delimiter)
        .max_by_key(|d| {
            let n = only.bytes().filter(|b| b == d).count();
            // Prefer the earlier candidate on equal counts.
            (
                n,
                std::cmp::Reverse(OTHER_DELIMITERS.iter().position(|x| x == d)),
            )
        })
        .filter(|d| only.as_bytes().contains(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| clean_name(n)).collect()
    }

    fn plan(list: &[&str], opts: &ReadOptions) -> Result<HeaderPlan, ListError> {
        plan_columns(Path::new("t.csv"), 1, names(list), b',', opts)
    }

    fn keys(plan: &HeaderPlan) -> Vec<&str> {
        plan.plan.context.iter().map(|(_, k)| &**k).collect()
    }

    #[test]
    fn names_are_trimmed_of_spaces_and_bom() {
        assert_eq!(clean_name("\u{FEFF} first_name \t"), "first_name");
    }

    #[test]
    fn phone_found_by_priority_and_others_noted() {
        let p = plan(
            &["Mobile", " Phone_Number ", "name"],
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(p.plan.phone, 1);
        assert_eq!(p.other_phone_like, vec!["Mobile"]);
        assert_eq!(keys(&p), vec!["Mobile", "name"]);
    }

    #[test]
    fn phone_column_setting_matches_loosely() {
        let opts = ReadOptions {
            phone_column: Some("  TEL ".into()),
            ..ReadOptions::default()
        };
        let p = plan(&["name", "Tel"], &opts).unwrap();
        assert_eq!(p.plan.phone, 1);
        let err = plan(&["name", "fon"], &opts).unwrap_err().to_string();
        assert!(
            err.contains("phone_column names the column \"  TEL \""),
            "{err}"
        );
        assert!(err.contains("\"name\", \"fon\""), "{err}");
    }

    #[test]
    fn region_and_excluded_columns_stay_out_of_context() {
        let opts = ReadOptions {
            region_column: Some("country".into()),
            exclude_columns: vec!["SECRET".into()],
            ..ReadOptions::default()
        };
        let p = plan(&["phone", "country", "secret", "name"], &opts).unwrap();
        assert_eq!(p.plan.region, Some(1));
        assert_eq!(keys(&p), vec!["name"]);
    }

    #[test]
    fn control_columns_leave_the_context_and_only_named_ones_must_exist() {
        let control = |name: &str, required| crate::contacts::ControlColumn {
            setting: "timezone_column",
            name: name.into(),
            required,
        };
        let opts = ReadOptions {
            control_columns: vec![control("do_not_call", false), control("TZ", true)],
            ..ReadOptions::default()
        };
        let p = plan(&["phone", "tz", "name"], &opts).unwrap();
        assert_eq!(p.plan.controls, vec![None, Some(1)]);
        assert_eq!(keys(&p), vec!["name"]);
        let err = plan(&["phone", "name"], &opts).unwrap_err().to_string();
        assert!(err.contains("timezone_column"), "{err}");
    }

    #[test]
    fn conventional_control_columns_are_found_however_they_are_written() {
        for header in ["Do Not Call", "do-not-call", "DNC", "do_not_call"] {
            let names = names(&["phone", header]);
            assert_eq!(loose_find(&names, "do_not_call"), Some(1), "{header}");
        }
        assert_eq!(loose_find(&names(&["phone", "notes"]), "do_not_call"), None);
    }

    #[test]
    fn context_columns_pick_exactly_in_file_order() {
        let opts = ReadOptions {
            context_columns: Some(vec!["b".into(), "a".into()]),
            ..ReadOptions::default()
        };
        let p = plan(&["a", "phone", "b", "c"], &opts).unwrap();
        assert_eq!(keys(&p), vec!["a", "b"]);
        let opts = ReadOptions {
            context_columns: Some(vec!["zz".into()]),
            ..ReadOptions::default()
        };
        let err = plan(&["a", "phone"], &opts).unwrap_err().to_string();
        assert!(
            err.contains("context_columns names the column \"zz\""),
            "{err}"
        );
    }

    #[test]
    fn unknown_excluded_column_is_an_error() {
        let opts = ReadOptions {
            exclude_columns: vec!["nope".into()],
            ..ReadOptions::default()
        };
        assert!(matches!(
            plan(&["phone"], &opts),
            Err(ListError::ColumnNotFound { .. })
        ));
    }

    #[test]
    fn blank_and_duplicate_names_are_named() {
        let err = plan(&["phone", "", "x", " "], &ReadOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("no name in column 2 and 4"),
            "{err}"
        );
        let err = plan(
            &["phone", "Name", "x", "name ", "X"],
            &ReadOptions::default(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"Name\" (columns 2 and 4), \"x\" (columns 3 and 5)"),
            "{msg}"
        );
    }

    #[test]
    fn missing_phone_suggests_the_delimiter_in_a_lone_header() {
        let err = plan(&["phone;vorname;betrag;notiz"], &ReadOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("no phone column found"), "{msg}");
        assert!(msg.contains("\"phone;vorname;betrag;notiz\""), "{msg}");
        assert!(msg.contains("set delimiter = \";\""), "{msg}");
        let err = plan(&["tel", "name"], &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("set phone_column"), "{err}");
        assert_eq!(suggest_delimiter(&names(&["a\tb|c|d"]), b','), Some(b'|'));
        assert_eq!(suggest_delimiter(&names(&["telefon"]), b','), None);
    }
}
