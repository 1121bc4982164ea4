//! What `omnidial --version` says: the program's version and the version of
//! the libphonenumber metadata it carries, since that metadata decides which
//! numbers `strict` validation accepts.
//!
//! The metadata version is the build-metadata part of the `phonenumber`
//! crate's version (`0.3.10+9.0.33` carries 9.0.33). We keep it as one
//! literal, checked against `Cargo.lock` by a test, rather than parse the
//! lock file in a build script: an installed crate may have no lock file.

/// Expands to the libphonenumber metadata version as a literal, so that it
/// can be joined into [`VERSION`] at compile time.
macro_rules! phone_metadata {
    () => {
        "9.0.33"
    };
}

/// The libphonenumber metadata version the `phonenumber` crate carries.
pub const PHONE_METADATA: &str = phone_metadata!();

/// The text of `omnidial --version`, after the program name.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (libphonenumber metadata ",
    phone_metadata!(),
    ")"
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The version of a package as `Cargo.lock` pins it.
    fn locked_version(lock: &str, package: &str) -> Option<String> {
        let wanted = format!("name = \"{package}\"");
        let mut lines = lock.lines();
        lines.find(|line| line.trim() == wanted)?;
        let version = lines.next()?.trim().strip_prefix("version = ")?;
        Some(version.trim_matches('"').to_string())
    }

    #[test]
    fn the_metadata_version_matches_the_locked_phonenumber_crate() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock");
        let lock = std::fs::read_to_string(path).expect("Cargo.lock beside Cargo.toml");
        let version = locked_version(&lock, "phonenumber").expect("phonenumber in Cargo.lock");
        let (_, metadata) = version
            .split_once('+')
            .expect("the phonenumber version carries its metadata after a +");
        assert_eq!(
            metadata, PHONE_METADATA,
            "update phone_metadata! in src/version.rs to the metadata of phonenumber {version}"
        );
    }

    #[test]
    fn the_version_names_both() {
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        assert!(VERSION.contains(PHONE_METADATA));
    }
}
