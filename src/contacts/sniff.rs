//! What the first bytes of a list tell us before parsing starts.
//!
//! From a prefix of the file we settle the encoding (a byte order mark wins
//! over the setting, as WHATWG decoding does), whether Excel's `sep=X` line
//! comes first, and which delimiter to use when none was set. The record
//! reader then parses the whole file with these choices; nothing here reads
//! past the prefix.

use std::path::Path;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use super::error::ListError;

/// How many bytes of the file we look at.
pub(crate) const PREFIX_LEN: usize = 64 * 1024;

/// Delimiters we detect, in tie-break order (comma first).
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many lines after the header we use to break a tie.
const SAMPLE_LINES: usize = 5;

/// The choices made from the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sniffed {
    /// The encoding to decode with.
    pub encoding: &'static Encoding,
    /// Length of the byte order mark to skip (0 when none).
    pub bom_len: u64,
    /// The delimiter named by a `sep=X` first line.
    pub sep_hint: Option<u8>,
    /// The delimiter to parse with.
    pub delimiter: u8,
    /// Whether `delimiter` was detected rather than set or hinted.
    pub detected: bool,
}

/// Settles encoding, `sep=` line and delimiter from the file's `prefix`.
pub(crate) fn sniff(
    path: &Path,
    prefix: &[u8],
    encoding: Option<&str>,
    delimiter: Option<u8>,
) -> Result<Sniffed, ListError> {
    if let Some(byte) = delimiter {
        check_delimiter(path, byte)?;
    }
    let (encoding, bom_len) = choose_encoding(path, prefix, encoding)?;
    let text = decode_prefix(encoding, &prefix[bom_len..]);
    let sep_hint = sep_hint(&text);
    let body = match sep_hint {
        Some(_) => text.split_once('\n').map_or("", |(_, rest)| rest),
        None => &text,
    };

    let (delimiter, detected) = match delimiter.or(sep_hint) {
        Some(byte) => (byte, false),
        None => (detect_delimiter(body), true),
    };
    Ok(Sniffed {
        encoding,
        bom_len: bom_len as u64,
        sep_hint,
        delimiter,
        detected,
    })
}

/// Rejects bytes that cannot separate fields: non-ASCII, quote, line breaks.
fn check_delimiter(path: &Path, byte: u8) -> Result<(), ListError> {
    if byte.is_ascii() && !matches!(byte, b'"' | b'\r' | b'\n') {
        return Ok(());
    }
    Err(ListError::BadDelimiter {
        path: path.to_path_buf(),
        delimiter: byte,
    })
}

/// Picks the encoding: the BOM's, else the setting's, else UTF-8. Also
/// returns the BOM length.
fn choose_encoding(
    path: &Path,
    prefix: &[u8],
    label: Option<&str>,
) -> Result<(&'static Encoding, usize), ListError> {
    if let Some((encoding, len)) = Encoding::for_bom(prefix) {
        if let Some(label) =
            label.filter(|l| Encoding::for_label(l.trim().as_bytes()) != Some(encoding))
        {
            tracing::warn!(
                file = %path.display(),
                setting = label,
                bom = encoding.name(),
                "byte order mark overrides the encoding setting"
            );
        }
        return Ok((encoding, len));
    }

    let encoding = match label {
        Some(label) => label_to_encoding(path, label)?,
        None => UTF_8,
    };
    let is_utf16 = encoding == UTF_16LE || encoding == UTF_16BE;
    if !is_utf16 && let Some(guess) = utf16_guess(prefix) {
        return Err(ListError::LooksLikeUtf16 {
            path: path.to_path_buf(),
            guess,
        });
    }
    Ok((encoding, 0))
}

/// Maps an encoding label to an encoding, as the WHATWG standard does: so
/// "latin1" and "iso-8859-1" mean windows-1252 and "utf-16" means UTF-16LE.
fn label_to_encoding(path: &Path, label: &str) -> Result<&'static Encoding, ListError> {
    let unknown = || ListError::UnknownEncoding {
        path: path.to_path_buf(),
        label: label.to_string(),
    };
    let encoding = Encoding::for_label(label.trim().as_bytes()).ok_or_else(unknown)?;
    // The "replacement" encoding turns any input into a single error, so a
    // label that maps to it is of no use for a contact list.
    if encoding == encoding_rs::REPLACEMENT {
        return Err(unknown());
    }
    Ok(encoding)
}

/// Guesses UTF-16 saved without a BOM: NUL bytes in the first line, which
/// no CSV text has. Returns the byte order the NULs point to.
fn utf16_guess(prefix: &[u8]) -> Option<&'static str> {
    let head = &prefix[..prefix.len().min(256)];
    let first_nul = head.iter().position(|b| *b == 0)?;
    if first_nul % 2 == 1 {
        Some("UTF-16LE")
    } else {
        Some("UTF-16BE")
    }
}

/// Decodes the prefix for sniffing only; a character cut at the end of the
/// prefix or a bad byte just ends the text early (the real check comes
/// later, from the stream).
fn decode_prefix(encoding: &'static Encoding, bytes: &[u8]) -> String {
    if encoding == UTF_8 {
        let valid = match std::str::from_utf8(bytes) {
            Ok(text) => text.len(),
            Err(err) => err.valid_up_to(),
        };
        return String::from_utf8_lossy(&bytes[..valid]).into_owned();
    }
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    match text.find('\u{FFFD}') {
        Some(end) => text[..end].to_string(),
        None => text.into_owned(),
    }
}

/// Reads Excel's `sep=X` first line: `sep=`, one character, then a line
/// break or the end of the file. `X` must be a usable delimiter.
fn sep_hint(text: &str) -> Option<u8> {
    let line = text.split('\n').next()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (key, value) = line.split_at_checked(4)?;
    if !key.eq_ignore_ascii_case("sep=") {
        return None;
    }
    match value.as_bytes() {
        [byte] if byte.is_ascii() && !matches!(byte, b'"' | b'\r' | b'\n') => Some(*byte),
        _ => None,
    }
}

/// Detects the delimiter from the header line: the candidate found most
/// often outside quotes. On a tie we prefer the tied candidate that appears
/// as often in each of the next few lines; failing that, comma.
fn detect_delimiter(text: &str) -> u8 {
    let mut lines = logical_lines(text.trim_start_matches(['\r', '\n']));
    let Some(header) = lines.next() else {
        return b',';
    };
    let counts = CANDIDATES.map(|c| count_outside_quotes(header, c));
    let best = counts.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return b',';
    }
    let tied: Vec<u8> = CANDIDATES
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n == best)
        .map(|(c, _)| *c)
        .collect();
    if let [only] = tied[..] {
        return only;
    }

    let sample: Vec<&str> = lines
        .filter(|l| !l.trim().is_empty())
        .take(SAMPLE_LINES)
        .collect();
    let steady: Vec<u8> = tied
        .into_iter()
        .filter(|c| {
            !sample.is_empty() && sample.iter().all(|l| count_outside_quotes(l, *c) == best)
        })
        .collect();
    match steady[..] {
        [only] => only,
        _ => b',',
    }
}

/// Splits text into records at line breaks outside quotes (a rough cut,
/// good enough to count delimiters in a few lines).
fn logical_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut quoted = false;
        let end = rest
            .bytes()
            .position(|b| {
                quoted ^= b == b'"';
                !quoted && (b == b'\n' || b == b'\r')
            })
            .unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest[end..].trim_start_matches(['\r', '\n']);
        Some(line)
    })
}

/// Counts `delimiter` in `line`, skipping quoted stretches.
fn count_outside_quotes(line: &str, delimiter: u8) -> usize {
    let mut quoted = false;
    line.bytes()
        .filter(|b| {
            quoted ^= *b == b'"';
            !quoted && *b == delimiter
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::WINDOWS_1252;

    fn sniff_str(bytes: &[u8]) -> Sniffed {
        sniff(Path::new("t.csv"), bytes, None, None).expect("sniff")
    }

    #[test]
    fn most_frequent_delimiter_wins() {
        assert_eq!(
            sniff_str(b"phone;vorname;betrag;notiz\r\n1;J;12,50;x").delimiter,
            b';'
        );
        assert_eq!(sniff_str(b"a\tb\tc\n").delimiter, b'\t');
        assert_eq!(sniff_str(b"a|b|c,d\n").delimiter, b'|');
        assert_eq!(sniff_str(b"phone,name\n1,2").delimiter, b',');
    }

    #[test]
    fn quoted_delimiters_do_not_count() {
        assert_eq!(sniff_str(b"\"a;b;c\",d\n").delimiter, b',');
    }

    #[test]
    fn none_or_unsettled_tie_means_comma() {
        assert_eq!(sniff_str(b"phone\n+1\n").delimiter, b',');
        assert_eq!(sniff_str(b"").delimiter, b',');
        assert_eq!(sniff_str(b"a,b;c\n1,2,3\n").delimiter, b',');
    }

    #[test]
    fn tie_is_settled_by_the_following_lines() {
        assert_eq!(sniff_str(b"a;b,c\n1;2 3,5\n4;5 6,7\n").delimiter, b',');
        assert_eq!(sniff_str(b"a;b|c\n1;2|x;y\n").delimiter, b'|');
        assert_eq!(sniff_str(b"a;b|c\n1;2 3|4\n").delimiter, b',');
        assert_eq!(sniff_str(b"a;b|c\n1;2\n3;4\n").delimiter, b';');
    }

    #[test]
    fn sep_line_sets_the_delimiter_even_over_detection() {
        let s = sniff_str(b"sep=;\r\na,b,c\r\n");
        assert_eq!(
            (s.sep_hint, s.delimiter, s.detected),
            (Some(b';'), b';', false)
        );
        assert_eq!(sniff_str(b"SEP=|\n").sep_hint, Some(b'|'));
        assert_eq!(sniff_str(b"sep=\t").sep_hint, Some(b'\t'));
        assert_eq!(sniff_str(b"sep=;;\na\n").sep_hint, None);
        assert_eq!(sniff_str(b"sep=\"\na\n").sep_hint, None);
        assert_eq!(sniff_str(b"separator\n").sep_hint, None);
    }

    #[test]
    fn explicit_delimiter_wins_over_sep_line() {
        let s = sniff(Path::new("t"), b"sep=;\na;b", None, Some(b',')).unwrap();
        assert_eq!((s.sep_hint, s.delimiter), (Some(b';'), b','));
    }

    #[test]
    fn bad_delimiters_are_refused() {
        for byte in [b'"', b'\n', b'\r', 0xE9] {
            let err = sniff(Path::new("t"), b"a", None, Some(byte)).unwrap_err();
            assert!(matches!(err, ListError::BadDelimiter { .. }), "{err}");
        }
    }

    #[test]
    fn boms_pick_the_encoding() {
        let s = sniff_str(b"\xEF\xBB\xBFphone");
        assert_eq!((s.encoding, s.bom_len), (UTF_8, 3));
        let s = sniff_str(b"\xFF\xFEp\0;\0x\0");
        assert_eq!((s.encoding, s.bom_len, s.delimiter), (UTF_16LE, 2, b';'));
        let s = sniff_str(b"\xFE\xFF\0p\0|\0x");
        assert_eq!((s.encoding, s.delimiter), (UTF_16BE, b'|'));
        let s = sniff(Path::new("t"), b"\xEF\xBB\xBFa", Some("latin1"), None).unwrap();
        assert_eq!(s.encoding, UTF_8);
    }

    #[test]
    fn labels_follow_whatwg() {
        for label in ["windows-1252", "latin1", "ISO-8859-1", " cp1252 "] {
            let s = sniff(Path::new("t"), b"a", Some(label), None).unwrap();
            assert_eq!(s.encoding, WINDOWS_1252, "{label}");
        }
        let s = sniff(Path::new("t"), b"a\0", Some("utf-16"), None).unwrap();
        assert_eq!(s.encoding, UTF_16LE);
        let err = sniff(Path::new("t"), b"a", Some("klingon"), None).unwrap_err();
        assert!(
            err.to_string().contains("unknown encoding \"klingon\""),
            "{err}"
        );
    }

    #[test]
    fn utf16_without_bom_is_named() {
        let err = sniff(Path::new("t"), b"p\0h\0", None, None).unwrap_err();
        assert!(err.to_string().contains("encoding = \"utf-16le\""), "{err}");
        let err = sniff(Path::new("t"), b"\0p\0h", None, None).unwrap_err();
        assert!(err.to_string().contains("utf-16be"), "{err}");
    }
}
