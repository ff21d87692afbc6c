//! Archive stream events as values, for consumers that handle them in one `match` (the importer's
//! channel, the id scan, the comparer) rather than through [`EventSink`]'s methods.

use std::io::Read;

use serde_json::{Map, Value as Json};

use crate::archive::{EventSink, StreamError, UploadSink, VerifiedArchive};

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
    /// The tree is complete (every tree member read and its checksum matched); only uploads,
    /// which go to the upload callback, follow.
    TreeEnd,
}

struct FnSink<F> {
    on_event: F,
}

struct FnUploads<U>(U);

impl<E: Send, U> UploadSink for FnUploads<U>
where
    U: FnMut(&str, &mut dyn Read) -> Result<(), E> + Send,
{
    type Error = E;

    fn upload(&mut self, sha256: &str, _bytes: u64, data: &mut dyn Read) -> Result<(), E> {
        (self.0)(sha256, data)
    }
}

impl<E, F> EventSink for FnSink<F>
where
    F: FnMut(Event) -> Result<(), E>,
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

    fn tree_end(&mut self) -> Result<(), E> {
        (self.on_event)(Event::TreeEnd)
    }
}

/// Stream `archive` into two closures: one per tree event, one per upload's bytes. Where the
/// archive allows it, the uploads are read on a second thread while the tree streams
/// ([`VerifiedArchive::stream_concurrently`]); otherwise after [`Event::TreeEnd`].
pub(crate) fn stream<E: Send>(
    archive: &VerifiedArchive,
    on_event: impl FnMut(Event) -> Result<(), E>,
    on_upload: impl FnMut(&str, &mut dyn Read) -> Result<(), E> + Send,
) -> Result<(), StreamError<E>> {
    archive.stream_concurrently(&mut FnSink { on_event }, &mut FnUploads(on_upload))
}
