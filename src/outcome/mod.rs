//! The outcome file: the campaign's only memory.
//!
//! During a run it is an append-only log with one writer ([`writer`], a
//! group commit on the runtime): an intent record (`sending`) is flushed
//! before each contact's first request leaves, and a result record follows. At start-up
//! [`log`] repairs a tail torn by a crash and folds the records into a
//! [`ledger::Ledger`], which is how a resumed run knows who was dialed. At
//! the end [`place`] checks that the path still names the log the run
//! wrote (putting it back if it was deleted), and after an orderly end
//! [`compact`] leaves one row per contact. With `--fsync`, [`durable`]
//! syncs the directory whenever the file is created or renamed.

pub mod compact;
pub mod durable;
pub mod ledger;
pub mod log;
pub mod place;
pub mod record;
pub mod writer;

pub use ledger::{Ledger, NOT_FOUND_NOTE, Prior, number_key};
pub use log::{OpenMode, OpenedLog, open_for_run, read_ledger};
pub use record::{COLUMNS, Record, Status};
pub use writer::{WriterGone, WriterHandle};
