//! libphonenumber's metadata, compiled once per country code into the
//! patterns the checks use.

use super::*;

/// What a number is for, as far as the dialing policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineKind {
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
    pub(super) fn is_costly(self) -> bool {
        matches!(self, LineKind::PremiumRate | LineKind::SharedCost)
    }
}

/// One metadata pattern: the lengths it allows and the regex, anchored at
/// both ends as libphonenumber matches it.
pub(super) struct Pattern {
    /// Bit `n` set when `n` digits are allowed; 0 allows any length.
    pub(super) lengths: u32,
    /// The national number pattern.
    pub(super) regex: Regex,
}

impl Pattern {
    /// Compiles a metadata descriptor, or `None` if its regex does not
    /// compile (the pattern then never matches, so no number passes on it).
    pub(super) fn from_descriptor(descriptor: &Descriptor) -> Option<Pattern> {
        Some(Pattern {
            lengths: length_bits(descriptor.possible_length()),
            regex: compile(&format!("^(?:{})$", descriptor.national_number().as_str()))?,
        })
    }

    /// Whether the national number fits this pattern.
    pub(super) fn matches(&self, nsn: &str) -> bool {
        let fits = self.lengths == 0 || has_length(self.lengths, nsn.len());
        fits && self.regex.is_match(nsn)
    }
}

/// The rules of one region.
pub(super) struct RegionRules {
    /// The region code, e.g. "GB", or "001" for non-geographic codes.
    pub(super) id: &'static str,
    /// The country code, e.g. 44.
    pub(super) code: u16,
    /// Leading digits that pick this region among those sharing a code.
    pub(super) leading: Option<Regex>,
    /// Dialing out: the international prefix, anchored at the start.
    pub(super) idd: Option<Regex>,
    /// The trunk prefix, e.g. "0" in GB.
    pub(super) national_prefix: Option<String>,
    /// The pattern every valid number matches.
    pub(super) general: Pattern,
    /// The line types in libphonenumber's order of precedence.
    pub(super) kinds: Vec<(LineKind, Pattern)>,
    /// Bit set of the lengths of all line types.
    pub(super) lengths: u32,
}

/// The rules of all regions that share one country code, the main region
/// first.
pub(super) struct CodeRules {
    /// The country code.
    pub(super) code: u16,
    /// The regions, main first, as the metadata orders them.
    pub(super) regions: Vec<RegionRules>,
}

/// Entry point to the compiled rules.
pub(super) struct Rules;

/// Which country codes exist, indexed by code.
pub(super) static KNOWN_CODES: LazyLock<Vec<bool>> = LazyLock::new(|| {
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
pub(super) static CODE_RULES: LazyLock<Vec<OnceLock<Option<CodeRules>>>> =
    LazyLock::new(|| (0..1000).map(|_| OnceLock::new()).collect());

impl Rules {
    /// The rules for a country code, if the metadata knows it.
    pub(super) fn for_code(code: u16) -> Option<&'static CodeRules> {
        CODE_RULES
            .get(usize::from(code))?
            .get_or_init(|| CodeRules::build(code))
            .as_ref()
    }

    /// The rules for a region code such as "GB".
    pub(super) fn for_region(id: &str) -> Option<&'static RegionRules> {
        let code = DATABASE.by_id(id)?.country_code();
        Rules::for_code(code)?.regions.iter().find(|r| r.id == id)
    }
}

impl CodeRules {
    /// Compiles the rules of every region with this country code.
    pub(super) fn build(code: u16) -> Option<CodeRules> {
        let regions: Vec<RegionRules> = DATABASE
            .by_code(&code)?
            .into_iter()
            .filter_map(RegionRules::build)
            .collect();
        (!regions.is_empty()).then_some(CodeRules { code, regions })
    }

    /// The main region, whose lengths and trunk prefix stand for the code.
    pub(super) fn main(&self) -> &RegionRules {
        // `build` never keeps an empty list.
        &self.regions[0]
    }

    /// The region a national number belongs to and its line type, chosen as
    /// libphonenumber does: leading digits if the region has them, else the
    /// first region where the number is valid.
    pub(super) fn classify(&self, nsn: &str) -> (Option<&RegionRules>, LineKind) {
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
    pub(super) fn length_problem(&self, nsn: &str) -> Option<Rejection> {
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
    pub(super) fn invalid(&self, nsn: &str) -> Rejection {
        let fiction = self.code == 1 && (nsn.starts_with("555") || nsn.get(3..6) == Some("555"));
        Rejection::new(
            RejectKind::InvalidNumber,
            reasons::invalid(&self.label(), fiction),
        )
    }

    /// How messages name the code: its main region, or `+800` and the like
    /// for non-geographic codes.
    pub(super) fn label(&self) -> String {
        match self.main().id {
            "001" => format!("+{}", self.code),
            id => id.to_owned(),
        }
    }
}

impl RegionRules {
    /// Compiles one region's metadata; `None` if its general pattern does
    /// not compile, which would leave no valid number in the region.
    pub(super) fn build(meta: &'static Metadata) -> Option<RegionRules> {
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
    pub(super) fn line_kind(&self, nsn: &str) -> LineKind {
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
    pub(super) fn strip_international_prefix<'d>(&self, digits: &'d str) -> Option<&'d str> {
        let end = self.idd.as_ref()?.find(digits)?.end();
        let rest = &digits[end..];
        (!rest.is_empty() && !rest.starts_with('0')).then_some(rest)
    }
}

/// Compiles a metadata regex the way the crate does (whitespace ignored).
/// We only ever match ASCII digits, so `\d` need not know other scripts:
/// without Unicode classes the regexes compile several times faster and
/// their automata stay small. Should a pattern need Unicode, it gets it.
pub(super) fn compile(source: &str) -> Option<Regex> {
    let build = |unicode| {
        RegexBuilder::new(source)
            .ignore_whitespace(true)
            .unicode(unicode)
            .build()
    };
    build(false).or_else(|_| build(true)).ok()
}

/// A bit set of lengths; lengths of 32 and over cannot occur in metadata.
pub(super) fn length_bits(lengths: &[u16]) -> u32 {
    lengths
        .iter()
        .filter(|&&len| len < 32)
        .fold(0, |bits, &len| bits | (1 << len))
}

/// Whether the bit set allows `len` digits.
pub(super) fn has_length(bits: u32, len: usize) -> bool {
    len < 32 && bits & (1 << len) != 0
}

/// The smallest length in a bit set (0 for an empty set).
pub(super) fn lowest_length(bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        bits.trailing_zeros() as usize
    }
}

/// The largest length in a bit set (32 for an empty set, allowing all).
pub(super) fn highest_length(bits: u32) -> usize {
    if bits == 0 {
        32
    } else {
        31 - bits.leading_zeros() as usize
    }
}
