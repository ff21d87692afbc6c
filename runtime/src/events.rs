//! Archive stream events as values, for consumers that handle them in one `match` (the importer's
//! channel, the id scan, the comparer) rather than through [`EventSink`]'s methods.

use std::io::Read;

use serde_json::{Map, Value as Json};

use crate::archive::{EventSink, StreamError, VerifiedArchive};

/// One item of an archive's content, in archive order.
#[derive(Debug)]
pub(crate) enum Event {
    Root(Map<String, Json>),
    User {
        value: Map<String, Json>,
    },
    RelationStart {
        relation: String,
    },
    Record {
        relation: String,
        line: u64,
        /// The record's length in the archive, in bytes.
        size: usize,
        value: Map<String, Json>,
    },
    RelationEnd,
    /// An upload whose bytes (and name) went to the upload callback. It carries nothing, but it
    /// reaches the importer's loop once per upload, which checks for cancellation there.
    Upload,
}

struct FnSink<F, U> {
    on_event: F,
    on_upload: U,
}

impl<E, F, U> EventSink for FnSink<F, U>
where
    F: FnMut(Event) -> Result<(), E>,
    U: FnMut(&str, &mut dyn Read) -> Result<(), E>,
{
    type Error = E;

    fn root_record(&mut self, record: Map<String, Json>) -> Result<(), E> {
        (self.on_event)(Event::Root(record))
    }

    fn user(&mut self, _line: u64, user: Map<String, Json>) -> Result<(), E> {
        (self.on_event)(Event::User { value: user })
    }

    fn relation_start(&mut self, relation: &str) -> Result<(), E> {
        (self.on_event)(Event::RelationStart {
            relation: relation.to_string(),
        })
    }

    fn record(
        &mut self,
        relation: &str,
        line: u64,
        size: usize,
        record: Map<String, Json>,
    ) -> Result<(), E> {
        (self.on_event)(Event::Record {
            relation: relation.to_string(),
            line,
            size,
            value: record,
        })
    }

    fn relation_end(&mut self, _relation: &str) -> Result<(), E> {
        (self.on_event)(Event::RelationEnd)
    }

    fn upload(&mut self, sha256: &str, _bytes: u64, data: &mut dyn Read) -> Result<(), E> {
        (self.on_upload)(sha256, data)?;
        (self.on_event)(Event::Upload)
    }
}

/// Stream `archive` into two closures: one per event, one per upload's bytes (called before the
/// upload's event).
pub(crate) fn stream<E>(
    archive: &VerifiedArchive,
    on_event: impl FnMut(Event) -> Result<(), E>,
    on_upload: impl FnMut(&str, &mut dyn Read) -> Result<(), E>,
) -> Result<(), StreamError<E>> {
    archive.stream(&mut FnSink {
        on_event,
        on_upload,
    })
}
