//! Property: whatever bytes the reader is given, it returns (Ok or a typed Err), never panics,
//! and never accepts a damaged archive that the manifest does not describe.

mod archive_support;

/// Named `archive` so that `cargo test -p hoist archive` selects these tests.
mod archive {
    use std::path::Path;

    use crate::archive_support::*;
    use hoist::archive::{ArchiveReader, EventSink, Limits, inspect};
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    fn limits() -> Limits {
        Limits {
            max_total_bytes: 1 << 20,
            max_entries: 64,
            max_line_bytes: 64 << 10,
            max_manifest_bytes: 64 << 10,
        }
    }

    /// Records every event as text.
    #[derive(Default)]
    struct Record(Vec<String>);

    impl EventSink for Record {
        type Error = std::convert::Infallible;
        fn root_record(&mut self, r: Map<String, Value>) -> Result<(), Self::Error> {
            self.0.push(format!("root {}", Value::Object(r)));
            Ok(())
        }
        fn user(&mut self, line: u64, u: Map<String, Value>) -> Result<(), Self::Error> {
            self.0.push(format!("user {line} {}", Value::Object(u)));
            Ok(())
        }
        fn relation_start(&mut self, rel: &str) -> Result<(), Self::Error> {
            self.0.push(format!("start {rel}"));
            Ok(())
        }
        fn record(
            &mut self,
            rel: &str,
            line: u64,
            size: usize,
            r: Map<String, Value>,
        ) -> Result<(), Self::Error> {
            // The writer writes each record as compact JSON on one line: `size` is its length.
            let text = Value::Object(r).to_string();
            assert_eq!(size, text.len(), "size of record {rel} {line}");
            self.0.push(format!("record {rel} {line} {text}"));
            Ok(())
        }
        fn relation_end(&mut self, rel: &str) -> Result<(), Self::Error> {
            self.0.push(format!("end {rel}"));
            Ok(())
        }
        fn upload(
            &mut self,
            sha: &str,
            bytes: u64,
            data: &mut dyn std::io::Read,
        ) -> Result<(), Self::Error> {
            let mut content = Vec::new();
            let _ = data.read_to_end(&mut content);
            self.0.push(format!("upload {sha} {bytes} {content:?}"));
            Ok(())
        }
    }

    /// Runs every reader entry point on `path`; returns the streamed events if verify accepted it.
    fn read_everything(path: &Path) -> Option<Vec<String>> {
        let _ = inspect(path, &limits());
        match ArchiveReader::verify(path, &limits(), 1, ROOT) {
            Ok(verified) => {
                // The file did not change: the second pass must agree with the first.
                let mut events = Record::default();
                assert!(
                    verified.stream(&mut events).is_ok(),
                    "stream disagrees with verify"
                );
                Some(events.0)
            }
            Err(_) => None,
        }
    }

    fn valid_tar() -> Vec<u8> {
        tar_bytes(&complete(tree_members()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let dir = tempfile::tempdir().unwrap();
            let path = write_file(dir.path(), "a.tar.gz", &bytes);
            prop_assert!(read_everything(&path).is_none());
        }

        #[test]
        fn arbitrary_gzipped_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..8192)) {
            let dir = tempfile::tempdir().unwrap();
            let path = write_file(dir.path(), "a.tar.gz", &gzip(&bytes));
            prop_assert!(read_everything(&path).is_none());
        }

        #[test]
        fn mutated_archives_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
        ) {
            let mut tar = valid_tar();
            let original = tar.clone();
            for (at, value) in &edits {
                let i = at.index(tar.len());
                tar[i] = *value;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = write_file(dir.path(), "a.tar.gz", &gzip(&tar));
            if let Some(events) = read_everything(&path) {
                // Accepted: only bytes that do not reach the importer changed (header fields such
                // as mode or mtime, padding, or manifest fields that no checksum covers, since the
                // manifest itself is not signed). Every record and upload is intact.
                let original_path = write_file(dir.path(), "b.tar.gz", &gzip(&original));
                prop_assert_eq!(Some(events), read_everything(&original_path));
            }
        }

        #[test]
        fn truncated_archives_are_refused(cut in 0usize..4096) {
            let tar = valid_tar();
            let end_of_data = tar.len() - 1024;
            let cut = cut.min(end_of_data + 511);
            let dir = tempfile::tempdir().unwrap();
            let path = write_file(dir.path(), "a.tar.gz", &gzip(&tar[..cut]));
            prop_assert!(read_everything(&path).is_none(), "accepted a tar cut at {} of {}", cut, tar.len());
        }
    }

    #[test]
    fn truncations_everywhere_are_refused() {
        // Exhaustive over the whole tar, at block granularity and around every header.
        let tar = valid_tar();
        let end_of_data = tar.len() - 1024;
        let dir = tempfile::tempdir().unwrap();
        let mut cut = 0;
        while cut < end_of_data + 512 {
            let path = write_file(dir.path(), "a.tar.gz", &gzip(&tar[..cut]));
            assert!(
                read_everything(&path).is_none(),
                "accepted a tar cut at {cut}"
            );
            cut += if cut % 512 == 0 {
                1
            } else {
                511 - cut % 512 + 1
            };
        }
        // With one end block it is complete.
        let path = write_file(dir.path(), "a.tar.gz", &gzip(&tar[..end_of_data + 512]));
        assert!(read_everything(&path).is_some());
    }
}
