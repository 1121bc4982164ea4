//! Placeholder interface of the phone module, replaced by its real
//! implementation on merge.

/// How strictly a number is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strictness {
    /// Valid per libphonenumber.
    #[default]
    Strict,
    /// Plausible length.
    Possible,
    /// Already E.164.
    E164,
}

impl std::str::FromStr for Strictness {
    type Err = String;

    fn from_str(s: &str) -> Result<Strictness, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strict" => Ok(Strictness::Strict),
            "possible" => Ok(Strictness::Possible),
            "e164" => Ok(Strictness::E164),
            other => Err(format!("{other:?}: expected strict, possible or e164")),
        }
    }
}

/// Rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhoneRules {
    /// Strictness.
    pub strictness: Strictness,
    /// Extensions.
    pub allow_extensions: bool,
    /// Premium.
    pub allow_premium: bool,
}

/// Region.
#[derive(Debug, Clone, PartialEq)]
pub struct Region(pub String);

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a region.
pub fn parse_region(text: &str) -> Result<Region, String> {
    Ok(Region(text.trim().to_uppercase()))
}

/// A number ready to dial.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// E.164.
    pub e164: String,
    /// Region used.
    pub assumed_region: Option<Region>,
    /// Warning.
    pub warning: Option<String>,
}

/// Why not.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Reason.
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Normalizes.
pub fn normalize(raw: &str, _region: Option<&Region>, _rules: &PhoneRules) -> Result<Normalized, Rejection> {
    let t = raw.trim();
    if t.starts_with('+') && t[1..].bytes().all(|b| b.is_ascii_digit()) {
        Ok(Normalized { e164: t.into(), assumed_region: None, warning: None })
    } else {
        Err(Rejection { reason: "bad".into() })
    }
}
