//! The one writer of the outcome log, as a group commit on the runtime.
//!
//! Whoever records something serializes it into one shared buffer, in the
//! order the records arrive. A flusher task writes the buffer out with one
//! system call per turn. An intent is acknowledged only once the flusher
//! has written it (and fsync-ed it with `--fsync`), which is what lets a
//! worker send a request knowing a crash cannot forget it. Results wait for
//! the next intent's turn, or for at most [`RESULT_DELAY`]: a crash in
//! between leaves their intents behind, and a resume treats those contacts
//! as unknown, never as undialed.
//!
//! An earlier version ran the writer on its own thread. Every intent then
//! crossed threads twice (the thread woke to write, the worker woke for the
//! acknowledgement), and at full speed those wake-ups cost more CPU than
//! the requests themselves.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::record::{ColumnMap, Record};

/// Longest a result record waits in memory for an intent to carry it out.
pub const RESULT_DELAY: Duration = Duration::from_millis(100);

/// Buffered bytes past which the flusher is woken without an intent, and
/// past which recorders wait for it: memory stays bounded when the list
/// reader records invalid rows faster than anything is written.
const HIGH_WATER: usize = 1 << 20;

/// Room for the records of a usual turn, so the buffer seldom grows.
const BUFFER_CAPACITY: usize = 64 * 1024;

/// The writer is gone (it failed to write, or the run is over), so nothing
/// more can be recorded and no request may be sent.
#[derive(Debug, thiserror::Error)]
#[error("the outcome file can no longer be written")]
pub struct WriterGone;

/// The recording side, cloned into every task and thread that records
/// outcomes.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    /// What recorders and the flusher share.
    shared: Arc<Shared>,
}

/// The flusher task. [`Flusher::finish`] writes what is left and gives the
/// file back.
#[derive(Debug)]
pub struct Flusher {
    /// What recorders and the flusher share.
    shared: Arc<Shared>,
    /// The task; it returns the file, or the write error that stopped it.
    task: JoinHandle<std::io::Result<File>>,
}

/// State behind the handles.
#[derive(Debug)]
struct Shared {
    /// Records serialized but not yet written.
    pending: Mutex<Pending>,
    /// Where each record's fields go.
    columns: ColumnMap,
    /// Recorders wake the flusher through this: an intent always, a result
    /// only past [`HIGH_WATER`]. A wake-up that finds the flusher busy is
    /// kept for its next turn.
    wake_flusher: Notify,
    /// The flusher publishes how far the file is written; recorders that
    /// wait (intents, and everyone past the high water) watch it.
    written_tx: watch::Sender<Written>,
}

/// The buffer of records not yet written.
#[derive(Debug)]
struct Pending {
    /// Serialized records; taken whole by each flush.
    buffer: Vec<u8>,
    /// Bytes appended since the start, written or not: each record's end
    /// in this count is what its recorder waits for.
    appended: u64,
    /// No more records are taken: the run is over or a write failed.
    closed: bool,
}

/// How far the flusher got.
#[derive(Debug, Clone, Copy, Default)]
struct Written {
    /// Bytes written (and synced with `--fsync`) since the start.
    bytes: u64,
    /// A write failed; nothing more will be written.
    failed: bool,
}

/// Starts the flusher on an open log file positioned at its end. It must
/// be called inside the runtime.
pub fn spawn(file: File, columns: ColumnMap, fsync: bool) -> (WriterHandle, Flusher) {
    let (written_tx, _) = watch::channel(Written::default());
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending {
            buffer: Vec::with_capacity(BUFFER_CAPACITY),
            appended: 0,
            closed: false,
        }),
        columns,
        wake_flusher: Notify::new(),
        written_tx,
    });
    let task = tokio::spawn(flush_loop(shared.clone(), file, fsync));
    (
        WriterHandle {
            shared: shared.clone(),
        },
        Flusher { shared, task },
    )
}

impl WriterHandle {
    /// Queues a record to be appended in order; returns once it is
    /// buffered, not written.
    pub async fn record(&self, rec: Record) -> Result<(), WriterGone> {
        let (end, backlog) = self.shared.append(&rec)?;
        if backlog > HIGH_WATER {
            self.shared.wake_flusher.notify_one();
            self.shared.written_through(end - HIGH_WATER as u64).await?;
        }
        Ok(())
    }

    /// Queues a record from a thread outside the runtime (the list reader),
    /// waiting on `runtime` when the backlog is past the high water.
    pub fn record_blocking(
        &self,
        rec: Record,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(), WriterGone> {
        let (end, backlog) = self.shared.append(&rec)?;
        if backlog > HIGH_WATER {
            self.shared.wake_flusher.notify_one();
            runtime.block_on(self.shared.written_through(end - HIGH_WATER as u64))?;
        }
        Ok(())
    }

    /// Appends an intent and returns once it is written to the file.
    pub async fn intent(&self, rec: Record) -> Result<(), WriterGone> {
        let (end, _) = self.shared.append(&rec)?;
        self.shared.wake_flusher.notify_one();
        self.shared.written_through(end).await
    }
}

impl Flusher {
    /// Closes the log to new records, writes what is buffered and returns
    /// the file, or the write error that stopped the flusher.
    pub async fn finish(self) -> std::io::Result<File> {
        self.shared.lock().closed = true;
        self.shared.wake_flusher.notify_one();
        self.task.await.map_err(std::io::Error::other)?
    }
}

impl Shared {
    /// The buffer, even if a recorder panicked holding it (the buffer is
    /// still whole: a record is serialized before anything is changed).
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Serializes a record into the buffer. Returns where it ends in the
    /// byte count and how many bytes are now waiting to be written.
    fn append(&self, rec: &Record) -> Result<(u64, usize), WriterGone> {
        let mut pending = self.lock();
        if pending.closed {
            return Err(WriterGone);
        }
        let before = pending.buffer.len();
        rec.append_line(&mut pending.buffer, &self.columns);
        let buffered = pending.buffer.len();
        pending.appended += (buffered - before) as u64;
        Ok((pending.appended, buffered))
    }

    /// Takes everything buffered; returns it with the byte count it ends at.
    fn take(&self) -> (Vec<u8>, u64, bool) {
        let mut pending = self.lock();
        let bytes = std::mem::replace(&mut pending.buffer, Vec::with_capacity(BUFFER_CAPACITY));
        (bytes, pending.appended, pending.closed)
    }

    /// Waits until the file holds every byte up to `end`.
    async fn written_through(&self, end: u64) -> Result<(), WriterGone> {
        let mut written_rx = self.written_tx.subscribe();
        let written = written_rx
            .wait_for(|w| w.bytes >= end || w.failed)
            .await
            .map_err(|_| WriterGone)?;
        if written.bytes >= end {
            Ok(())
        } else {
            Err(WriterGone)
        }
    }

    /// Marks the log failed: recorders get [`WriterGone`] from now on, and
    /// those waiting are told.
    fn fail(&self) {
        self.lock().closed = true;
        self.written_tx.send_modify(|w| w.failed = true);
    }
}

/// Writes the buffer out each time a recorder asks (or every
/// [`RESULT_DELAY`]) until the log is closed and empty.
async fn flush_loop(shared: Arc<Shared>, file: File, fsync: bool) -> std::io::Result<File> {
    let file = Arc::new(file);
    loop {
        tokio::select! {
            _ = shared.wake_flusher.notified() => {}
            _ = tokio::time::sleep(RESULT_DELAY) => {}
        }
        let (bytes, end, closed) = shared.take();
        let written = write_out(&file, bytes, fsync).await;
        if let Err(err) = written {
            shared.fail();
            return Err(err);
        }
        shared.written_tx.send_if_modified(|w| {
            let moved = w.bytes < end;
            w.bytes = end;
            moved
        });
        if closed {
            break;
        }
    }
    Ok(Arc::try_unwrap(file).expect("only the flusher holds the file"))
}

/// Appends `bytes` to the file. Without `--fsync` this is one write into
/// the page cache, done in place; with it, the write and the sync happen
/// on a blocking thread, since a sync can take milliseconds.
async fn write_out(file: &Arc<File>, bytes: Vec<u8>, fsync: bool) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    if !fsync {
        return (&**file).write_all(&bytes);
    }
    let file = file.clone();
    tokio::task::spawn_blocking(move || {
        (&*file).write_all(&bytes)?;
        file.sync_data()
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::record::{COLUMNS, Status};

    /// A log file with the header written, and its path.
    fn log_file(dir: &tempfile::TempDir) -> (File, std::path::PathBuf) {
        let path = dir.path().join("out.csv");
        let mut file = File::create(&path).unwrap();
        writeln!(file, "{}", COLUMNS.join(",")).unwrap();
        (file, path)
    }

    #[tokio::test]
    async fn an_intent_is_on_disk_when_acknowledged_and_records_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let (file, path) = log_file(&dir);
        let (handle, flusher) = spawn(file, ColumnMap::canonical(), true);

        handle
            .record(Record::new(7, "+12015550107", Status::Invalid))
            .await
            .unwrap();
        handle
            .intent(Record::new(1, "+12015550101", Status::Sending))
            .await
            .unwrap();
        // The intent, and the record buffered before it, are in the file.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("7,+12015550107,invalid"), "{text}");
        assert!(text.contains("1,+12015550101,sending"), "{text}");

        let done = Record::new(1, "+12015550101", Status::Dispatched);
        handle.record(done).await.unwrap();
        flusher.finish().await.unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].contains(",invalid,"));
        assert!(lines[2].contains(",sending,"));
        assert!(lines[3].contains(",dispatched,"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_result_reaches_the_file_within_the_delay_without_an_intent() {
        let dir = tempfile::tempdir().unwrap();
        let (file, path) = log_file(&dir);
        let (handle, flusher) = spawn(file, ColumnMap::canonical(), false);

        handle
            .record(Record::new(3, "+12015550103", Status::Dispatched))
            .await
            .unwrap();
        tokio::time::sleep(RESULT_DELAY * 2).await;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("3,+12015550103,dispatched"), "{text}");
        flusher.finish().await.unwrap();
    }

    #[tokio::test]
    async fn after_finish_nothing_more_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let (file, _) = log_file(&dir);
        let (handle, flusher) = spawn(file, ColumnMap::canonical(), false);
        flusher.finish().await.unwrap();

        let intent = Record::new(1, "+12015550101", Status::Sending);
        assert!(handle.intent(intent).await.is_err());
    }

    #[test]
    fn a_reader_thread_far_ahead_waits_for_the_flusher_and_loses_nothing() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (file, path) = log_file(&dir);
        let (handle, flusher) =
            runtime.block_on(async { spawn(file, ColumnMap::canonical(), false) });

        // Twenty thousand records are about twice the high water.
        let reader = {
            let handle = handle.clone();
            let runtime = runtime.handle().clone();
            std::thread::spawn(move || {
                for row in 1..=20_000 {
                    let rec = Record::new(row, "+12015550101", Status::Invalid)
                        .with_error("not a phone number");
                    handle.record_blocking(rec, &runtime).unwrap();
                }
            })
        };
        runtime.block_on(async {
            while !reader.is_finished() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            flusher.finish().await.unwrap();
        });
        reader.join().unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 20_001);
    }
}
