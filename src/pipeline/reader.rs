//! The reader thread: reads and judges rows, sends contacts to dial into
//! the bounded queue, and hands every other verdict straight to the writer.

use super::*;

/// Starts the thread that reads and judges rows. Rows to dial go to the
/// queue; verdicts go straight to the writer.
pub(super) fn spawn_reader(
    rows: RowReader,
    mut screen: Screen,
    queue_tx: mpsc::Sender<Box<Contact>>,
    writer: WriterHandle,
    tally: Arc<Tally>,
    stop: Stop,
) -> thread::JoinHandle<anyhow::Result<()>> {
    let runtime = tokio::runtime::Handle::current();
    // Queue places are taken a batch at a time: waiting for one place at a
    // time woke this thread (a futex call and a context switch) for every
    // contact the dispatcher took. Unused places go back when dropped.
    let batch = (queue_tx.max_capacity() / QUEUE_PER_LANE).max(1);
    thread::spawn(move || {
        let mut places = None;
        for row in rows {
            if stop.is_stopped() {
                break;
            }
            let row = row?;
            Tally::bump(&tally.rows);
            let decision = screen.judge(row);
            let fresh_verdict = |row: u64| !screen.has_row_verdict(row);
            let record = match decision {
                Decision::Dial(contact) => {
                    Tally::bump(&tally.queued);
                    let place = match places.as_mut().and_then(Iterator::next) {
                        Some(place) => Some(place),
                        None => {
                            places = runtime.block_on(queue_tx.reserve_many(batch)).ok();
                            places.as_mut().and_then(Iterator::next)
                        }
                    };
                    let Some(place) = place else {
                        // The dispatcher stopped taking contacts.
                        Tally::bump(&tally.released);
                        break;
                    };
                    // Sent after a stop, it is drained and released by the
                    // dispatcher, which waits for every place to come back.
                    place.send(contact);
                    None
                }
                Decision::Invalid(rejection) => {
                    Tally::bump(&tally.invalid);
                    tally.note_problem(rejection.row, "invalid", &rejection.to_error());
                    fresh_verdict(rejection.row).then(|| {
                        Record::new(rejection.row, rejection.phone.clone(), Status::Invalid)
                            .with_error(&rejection.to_error())
                    })
                }
                Decision::Skipped {
                    row,
                    to_number,
                    reason,
                    ..
                } => {
                    Tally::bump(&tally.skipped);
                    fresh_verdict(row)
                        .then(|| Record::new(row, to_number, Status::Skipped).with_error(&reason))
                }
                Decision::Settled { prior, .. } => {
                    Tally::bump(&tally.settled);
                    if prior == Prior::Failed {
                        Tally::bump(&tally.settled_failed);
                    }
                    None
                }
                Decision::HeldUnknown { row, .. } => {
                    tally.note_unknown(row);
                    None
                }
                Decision::Blank { .. } => {
                    Tally::bump(&tally.blank);
                    None
                }
            };
            if let Some(record) = record {
                writer
                    .record_blocking(record, &runtime)
                    .context("the outcome writer stopped")?;
            }
        }
        Ok(())
    })
}
