//! Durable directory entries. With `--fsync` the writer and compaction
//! sync the outcome file's bytes, but after a power loss a file that was
//! created or renamed is found under its name only once the directory
//! holding it has been synced as well. This file owns that second sync;
//! the callers decide when `--fsync` asks for it.

use std::io;
use std::path::Path;

/// The directory that holds `file`: a bare file name lives in the working
/// directory.
pub fn parent_dir(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Syncs the directory that holds `file`, so that creating `file`, or a
/// rename to or from its name, survives a power loss.
#[cfg(unix)]
pub fn sync_parent(file: &Path) -> io::Result<()> {
    let synced = match std::fs::File::open(parent_dir(file))?.sync_all() {
        // Some file systems cannot sync a directory at all (EINVAL), as
        // PostgreSQL also found; there the directory is as durable as that
        // file system makes it, and refusing to run would help nobody.
        Err(err) if err.kind() == io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    };
    #[cfg(test)]
    if synced.is_ok() {
        tests::count();
    }
    synced
}

/// Windows cannot open a directory as a file; its file systems order
/// metadata updates themselves, so there is nothing to sync.
#[cfg(not(unix))]
pub fn sync_parent(_file: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// Directory syncs done on this thread, so that a test can check
        /// which steps sync (tests run on threads of their own).
        static SYNCS: Cell<usize> = const { Cell::new(0) };
    }

    /// Counts one directory sync.
    pub(super) fn count() {
        SYNCS.with(|syncs| syncs.set(syncs.get() + 1));
    }

    /// Directory syncs done so far on this thread.
    pub(crate) fn syncs_so_far() -> usize {
        SYNCS.with(Cell::get)
    }

    #[test]
    fn the_directory_of_a_path_and_of_a_bare_name_can_be_synced() {
        let dir = tempfile::tempdir().unwrap();
        let before = syncs_so_far();
        sync_parent(&dir.path().join("out.csv")).unwrap();
        sync_parent(Path::new("out.csv")).unwrap();
        assert_eq!(syncs_so_far(), before + 2);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone").join("out.csv");
        assert!(sync_parent(&gone).is_err());
    }
}
