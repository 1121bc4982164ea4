//! Keeping the log where a resume will look for it. During a run the log
//! is written through a handle opened at start-up, so if the outcome file
//! is deleted, moved or replaced meanwhile, the records go on into a file
//! the path no longer names. Before compaction, which works on the path,
//! [`keep_in_place`] checks that the path still names the open log, and
//! puts the log back when it does not.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::durable::sync_parent;

/// Where the log is, once [`keep_in_place`] has checked.
#[derive(Debug)]
pub enum Placement {
    /// The path still names the log the run wrote.
    InPlace,
    /// Nothing was at the path: the log was copied back there. The copy
    /// is locked against another run until this handle is dropped.
    Restored(File),
}

/// Another file took the outcome file's place during the run. It is left
/// alone; the run's log was saved beside it.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} is no longer the file this run wrote: another file took its place during the run \
     and is left untouched; this run's log is saved as {}, and --resume --out {} continues \
     from it",
    path.display(),
    saved.display(),
    saved.display()
)]
pub struct SavedBeside {
    /// The outcome file's path, now another file's.
    pub path: PathBuf,
    /// Where the log was saved.
    pub saved: PathBuf,
}

/// Makes sure `path` names the log open as `log`. When nothing is at the
/// path, a copy of the log is put there (with a warning). When another
/// file took its place, that file is left alone: the log is saved beside
/// it under a new name, and the error ([`SavedBeside`]) says where. With
/// `fsync`, a copy is made durable, directory entry included.
pub fn keep_in_place(log: &File, path: &Path, fsync: bool) -> anyhow::Result<Placement> {
    let found = match std::fs::metadata(path) {
        Ok(found) => Some(found),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("cannot look at {}", path.display())),
    };
    let ours = log
        .metadata()
        .context("cannot look at the open outcome log")?;
    if found
        .as_ref()
        .is_some_and(|found| is_same_file(&ours, found))
    {
        return Ok(Placement::InPlace);
    }

    // A copy is complete before it appears at the path, so a failure half
    // way never leaves a short log there for a resume to trust.
    let (saved, copy) = save_beside(log, path, fsync).with_context(|| {
        format!(
            "{} is no longer the file this run wrote, and this run's records could not \
             be saved beside it; they are lost, so check the platform's call logs before \
             dialing the list again",
            path.display()
        )
    })?;
    if found.is_none() && link_into_place(&saved, path, fsync)? {
        tracing::warn!(
            "{} was deleted or moved during the run: restored it from the log this run \
             kept open",
            path.display()
        );
        return Ok(Placement::Restored(copy));
    }
    Err(SavedBeside {
        path: path.to_path_buf(),
        saved,
    }
    .into())
}

/// Whether two metadata describe one file: same device, same inode.
#[cfg(unix)]
fn is_same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Without inode numbers we cannot tell a replaced file from ours; only a
/// deleted one is noticed.
#[cfg(not(unix))]
fn is_same_file(_a: &std::fs::Metadata, _b: &std::fs::Metadata) -> bool {
    true
}

/// Logs an earlier run saved beside `path` because another file had taken
/// its place (see [`keep_in_place`]), oldest first. A resume of `path`
/// warns about them: one of them may be the campaign's real log.
pub fn saved_beside(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!("{name}.recovered-");
    let mut saved: Vec<PathBuf> = std::fs::read_dir(super::durable::parent_dir(path))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| path.with_file_name(entry.file_name()))
        .collect();
    saved.sort();
    saved
}

/// Copies the whole log to a new file beside `path`, named
/// `NAME.recovered-UNIXTIME` (with `-N` added if that is taken), locked.
fn save_beside(log: &File, path: &Path, fsync: bool) -> io::Result<(PathBuf, File)> {
    let stamp = jiff::Timestamp::now().as_second();
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut n = 0;
    let (saved, mut copy) = loop {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let saved = path.with_file_name(format!("{name}.recovered-{stamp}{suffix}"));
        match OpenOptions::new().write(true).create_new(true).open(&saved) {
            Ok(copy) => break (saved, copy),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => n += 1,
            Err(err) => return Err(err),
        }
    };
    match copy_whole(log, &mut copy, fsync).and_then(|()| sync(&saved, fsync)) {
        Ok(()) => Ok((saved, copy)),
        Err(err) => {
            // A cut copy must not pass for the campaign's log.
            let _ = std::fs::remove_file(&saved);
            Err(err)
        }
    }
}

/// Locks `copy` and copies the whole log into it.
fn copy_whole(log: &File, copy: &mut File, fsync: bool) -> io::Result<()> {
    // Nobody else knows the new file's name yet, so the lock is free.
    copy.try_lock().map_err(io::Error::other)?;
    let mut from = log;
    from.seek(SeekFrom::Start(0))?;
    io::copy(&mut from, copy)?;
    if fsync {
        copy.sync_all()?;
    }
    Ok(())
}

/// Syncs the directory entry of a new file at `path`, with `fsync`.
fn sync(path: &Path, fsync: bool) -> io::Result<()> {
    if fsync { sync_parent(path) } else { Ok(()) }
}

/// Gives the saved copy the log's own name, unless something took that
/// name meanwhile; returns whether it did. A hard link cannot replace an
/// existing file, which a rename would; a file system without hard links
/// gets the rename, after a last look.
fn link_into_place(saved: &Path, path: &Path, fsync: bool) -> anyhow::Result<bool> {
    let context = || format!("cannot restore {} from {}", path.display(), saved.display());
    match std::fs::hard_link(saved, path) {
        Ok(()) => {
            if let Err(err) = std::fs::remove_file(saved) {
                // The log is restored; the second name is only clutter.
                tracing::warn!(
                    "cannot remove {}, a copy of the restored {}: {err}",
                    saved.display(),
                    path.display()
                );
            }
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(_) if path.exists() => return Ok(false),
        Err(_) => std::fs::rename(saved, path).with_context(context)?,
    }
    sync(path, fsync).with_context(context)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A log open for writing in a fresh directory, as a run holds it.
    fn open_log(dir: &tempfile::TempDir, text: &str) -> (File, PathBuf) {
        let path = dir.path().join("out.csv");
        let mut log = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        log.write_all(text.as_bytes()).unwrap();
        (log, path)
    }

    /// The names in the directory, sorted.
    fn names(dir: &tempfile::TempDir) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_log_still_in_place_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (log, path) = open_log(&dir, "header\n");
        let placed = keep_in_place(&log, &path, true).unwrap();
        assert!(matches!(placed, Placement::InPlace));
        assert_eq!(names(&dir), ["out.csv"]);
    }

    #[test]
    fn a_deleted_or_moved_log_is_restored_whole_and_locked() {
        for moved in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (mut log, path) = open_log(&dir, "header\n1\n");
            if moved {
                std::fs::rename(&path, dir.path().join("elsewhere.csv")).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
            log.write_all(b"2\n").unwrap();

            let placed = keep_in_place(&log, &path, moved).unwrap();
            let Placement::Restored(copy) = placed else {
                panic!("not restored: {placed:?}");
            };
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "header\n1\n2\n");
            let expected: &[&str] = if moved {
                &["elsewhere.csv", "out.csv"]
            } else {
                &["out.csv"]
            };
            assert_eq!(names(&dir), expected, "no copy is left beside it");
            let other = File::open(&path).unwrap();
            assert!(other.try_lock().is_err(), "locked while the run holds it");
            drop(copy);
        }
    }

    #[test]
    fn a_replaced_log_is_saved_beside_the_file_that_took_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, path) = open_log(&dir, "header\n1\n");
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "someone else's\n").unwrap();
        log.write_all(b"2\n").unwrap();

        let err = keep_in_place(&log, &path, true).unwrap_err();
        let beside = err.downcast_ref::<SavedBeside>().expect("SavedBeside");
        let err = format!("{err:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone else's\n");
        let names = names(&dir);
        assert_eq!(names.len(), 2, "{names:?}");
        let saved = dir.path().join(&names[1]);
        assert!(names[1].starts_with("out.csv.recovered-"), "{names:?}");
        assert_eq!(beside.saved, saved);
        assert_eq!(std::fs::read_to_string(&saved).unwrap(), "header\n1\n2\n");
        assert!(err.contains("another file took its place"), "{err}");
        assert!(err.contains(&format!("--out {}", saved.display())), "{err}");
    }
}
