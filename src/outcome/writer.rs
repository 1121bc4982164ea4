//! The one writer of the outcome log. It runs on its own thread, takes
//! records from a channel in the order they were sent, and writes each batch
//! with one system call. An intent is acknowledged only once it is written
//! (and fsync-ed with `--fsync`), which is what lets a worker send a request
//! knowing a crash cannot forget it.

use std::fs::File;
use std::thread;

use tokio::sync::{mpsc, oneshot};

use super::record::{ColumnMap, Record};

/// How many entries the channel holds before senders wait.
const CHANNEL_CAPACITY: usize = 4096;

/// Most entries written in one batch.
const MAX_BATCH: usize = 1024;

/// What the writer is asked to do.
#[derive(Debug)]
enum Entry {
    /// Append a record; nobody waits for it.
    Record(Record),
    /// Append an intent and tell the sender once it is durable.
    Intent(Record, oneshot::Sender<()>),
}

/// The writer is gone (it failed to write, or the run is over), so nothing
/// more can be recorded and no request may be sent.
#[derive(Debug, thiserror::Error)]
#[error("the outcome file can no longer be written")]
pub struct WriterGone;

/// The sending side, cloned into every task that records outcomes.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    /// Entries for the writer thread; closing every handle ends it.
    tx: mpsc::Sender<Entry>,
}

impl WriterHandle {
    /// Queues a record to be appended in order.
    pub async fn record(&self, rec: Record) -> Result<(), WriterGone> {
        self.tx
            .send(Entry::Record(rec))
            .await
            .map_err(|_| WriterGone)
    }

    /// Queues a record from a thread outside the runtime (the list reader).
    pub fn record_blocking(&self, rec: Record) -> Result<(), WriterGone> {
        self.tx
            .blocking_send(Entry::Record(rec))
            .map_err(|_| WriterGone)
    }

    /// Appends an intent and returns once it is written to the file.
    pub async fn intent(&self, rec: Record) -> Result<(), WriterGone> {
        let (done_tx, done_rx) = oneshot::channel();
        self.tx
            .send(Entry::Intent(rec, done_tx))
            .await
            .map_err(|_| WriterGone)?;
        done_rx.await.map_err(|_| WriterGone)
    }
}

/// Starts the writer thread on an open log file positioned at its end.
/// The thread ends when every handle is dropped; joining it gives the file
/// back, or the write error that stopped it.
pub fn spawn(
    file: File,
    columns: ColumnMap,
    fsync: bool,
) -> (WriterHandle, thread::JoinHandle<std::io::Result<File>>) {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let join = thread::Builder::new()
        .name("outcome-writer".into())
        .spawn(move || write_loop(rx, file, columns, fsync))
        .expect("spawning a thread fails only when the system is out of resources");
    (WriterHandle { tx }, join)
}

/// Takes batches from the channel until it closes, writing each at once.
fn write_loop(
    mut rx: mpsc::Receiver<Entry>,
    file: File,
    columns: ColumnMap,
    fsync: bool,
) -> std::io::Result<File> {
    // The buffer is large enough that a whole batch goes out in one write.
    let mut wtr = csv::WriterBuilder::new()
        .buffer_capacity(MAX_BATCH * 256)
        .from_writer(file);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut acks = Vec::with_capacity(MAX_BATCH);
    while rx.blocking_recv_many(&mut batch, MAX_BATCH) > 0 {
        for entry in batch.drain(..) {
            let rec = match entry {
                Entry::Record(rec) => rec,
                Entry::Intent(rec, ack) => {
                    acks.push(ack);
                    rec
                }
            };
            rec.write_to(&mut wtr, &columns)
                .map_err(std::io::Error::other)?;
        }
        wtr.flush()?;
        if fsync && !acks.is_empty() {
            wtr.get_ref().sync_data()?;
        }
        // A worker that gave up waiting has nothing to do with the ack.
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
    let file = wtr.into_inner().map_err(|err| err.into_error())?;
    if fsync {
        file.sync_data()?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::record::{COLUMNS, Status};
    use std::io::Write;

    #[tokio::test]
    async fn records_land_in_order_and_intents_are_acknowledged_after_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut file = File::create(&path).unwrap();
        writeln!(file, "{}", COLUMNS.join(",")).unwrap();

        let (handle, join) = spawn(file, ColumnMap::canonical(), true);
        handle
            .intent(Record::new(1, "+12015550101", Status::Sending))
            .await
            .unwrap();
        // The intent must be on disk by the time it is acknowledged.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("1,+12015550101,sending"), "{text}");

        let done = Record::new(1, "+12015550101", Status::Dispatched);
        handle.record(done).await.unwrap();
        drop(handle);
        join.join().unwrap().unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].contains(",sending,"));
        assert!(lines[2].contains(",dispatched,"));
    }
}
