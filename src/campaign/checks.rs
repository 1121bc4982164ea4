//! The checks and parsers that turn settings into plan values, each naming
//! the setting it refuses.

use super::*;

/// Whether two paths name one file (both existing), or are spelled alike.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The outcome file's default path: beside the list, named after it.
pub fn default_out(contacts: &Path) -> PathBuf {
    let stem = contacts
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("contacts");
    contacts.with_file_name(format!("{stem}.outcome.csv"))
}

/// Checks a base URL: http(s), and plain http only to a loopback host, since
/// the key would otherwise travel in clear.
pub(super) fn check_base_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    // A URL with credentials in it must never be echoed, not even in the
    // message that refuses it.
    let shown = if url.contains('@') {
        "(hidden: it holds an @)"
    } else {
        url
    };
    let parsed =
        url::Url::parse(url).with_context(|| format!("base URL {shown:?} is not a URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bail!(
            "the base URL holds a user name or password; remove them: the key is sent from \
             OMNIDIM_API_KEY (or api_key_env, api_key_file)"
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        bail!(
            "base URL {url} has a query or a fragment; give the API's base path only, e.g. \
             https://backend.omnidim.io/api/v1"
        );
    }
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => bail!(
            "base URL {url} uses plain http to a host that is not loopback; the API key \
             would travel in clear. Use https"
        ),
        other => bail!("base URL {url}: unsupported scheme {other:?}"),
    }
    Ok(url.to_string())
}

/// Whether text can be an environment variable's name. A key pasted into
/// `api_key_env` by mistake fails this (it holds `-`), so it is never
/// echoed as a "variable name".
pub(super) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// Whether a URL's host is this machine.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Reads a delimiter setting: one character, or `tab`.
pub(super) fn parse_delimiter(text: &str) -> anyhow::Result<u8> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        t if t.len() == 1 && t.is_ascii() => Ok(t.as_bytes()[0]),
        t => bail!("delimiter {t:?}: expected one character such as , ; | or `tab`"),
    }
}

/// Checks that a count or id is above zero.
pub(super) fn positive<T: PartialEq + Default + std::fmt::Display>(
    name: &str,
    value: T,
) -> anyhow::Result<T> {
    if value == T::default() {
        bail!("{name} must be above zero");
    }
    Ok(value)
}

/// Reads a duration setting such as `500ms`, `30s` or `5min`.
pub(super) fn duration(
    name: &str,
    text: Option<String>,
    default: Duration,
) -> anyhow::Result<Duration> {
    match text {
        None => Ok(default),
        Some(t) if humantime::parse_duration(t.trim()).is_ok_and(|d| d.is_zero()) => {
            bail!("{name} = {t:?} must be longer than zero")
        }
        Some(t) => humantime::parse_duration(t.trim())
            .map_err(|err| anyhow::anyhow!("{name} = {t:?}: {err} (examples: 500ms, 30s, 5min)")),
    }
}

/// Builds the retry policy from the `[retry]` table.
pub(super) fn retry_policy(r: &RetrySettings) -> anyhow::Result<RetryPolicy> {
    let d = RetryPolicy::default();
    let policy = RetryPolicy {
        max_attempts: r.max_attempts.unwrap_or(d.max_attempts),
        initial_backoff: duration(
            "retry.initial_backoff",
            r.initial_backoff.clone(),
            d.initial_backoff,
        )?,
        max_backoff: duration("retry.max_backoff", r.max_backoff.clone(), d.max_backoff)?,
        max_elapsed: duration("retry.max_elapsed", r.max_elapsed.clone(), d.max_elapsed)?,
        max_wait: duration("retry.max_wait", r.max_wait.clone(), d.max_wait)?,
    };
    if policy.max_attempts == 0 {
        bail!("retry.max_attempts must be at least 1");
    }
    Ok(policy)
}

/// Checks an id the platform assigned: above zero, and within the signed
/// 64-bit integers JSON APIs carry.
pub(super) fn platform_id(name: &str, id: u64) -> anyhow::Result<u64> {
    if id == 0 || id > i64::MAX as u64 {
        bail!(
            "{name} {id} is not an id the platform gives: use a whole number from 1 to {}",
            i64::MAX
        );
    }
    Ok(id)
}
