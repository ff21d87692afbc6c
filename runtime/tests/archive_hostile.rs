//! Hostile archives, each crafted by hand: every one must be refused with a precise, typed
//! error that names the entry. The rendered messages are snapshot-tested.

mod archive_support;

/// Named `archive` so that `cargo test -p hoist archive` selects these tests.
mod archive {
    use std::path::Path;

    use crate::archive_support::*;
    use hoist::archive::{ArchiveError, ArchiveReader, LimitKind, Limits, Location};

    fn verify(path: &Path, limits: &Limits) -> Result<(), ArchiveError> {
        ArchiveReader::verify(path, limits, 1, ROOT).map(|_| ())
    }

    /// Verifies `entries` (as a tar.gz) and returns the error, which must exist.
    fn reject_with(entries: &[Raw], limits: &Limits) -> (ArchiveError, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = write_archive(dir.path(), entries);
        reject_file(&path, limits)
    }

    fn reject_file(path: &Path, limits: &Limits) -> (ArchiveError, String) {
        match verify(path, limits) {
            Ok(()) => panic!("hostile archive was accepted"),
            Err(e) => {
                let message = redact(e.to_string(), path);
                (e, message)
            }
        }
    }

    fn reject(entries: &[Raw]) -> (ArchiveError, String) {
        reject_with(entries, &Limits::default())
    }

    /// A valid archive with `extra` inserted after the root record.
    fn with_extra(extra: Raw) -> Vec<Raw> {
        let mut all = complete(tree_members());
        all.insert(3, extra);
        all
    }

    #[test]
    fn baseline_archive_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_archive(dir.path(), &complete(tree_members()));
        let verified = ArchiveReader::verify(&path, &Limits::default(), 1, ROOT).unwrap();
        assert_eq!(verified.manifest().members.len(), 5);
    }

    #[test]
    fn symlink() {
        let (e, msg) = reject(&with_extra(special(
            "tree/project/milestones.ndjson",
            b'2',
            "/etc/passwd",
        )));
        assert!(
            matches!(
                e,
                ArchiveError::ForbiddenEntryType {
                    kind: "symbolic link",
                    ..
                }
            ),
            "{e:?}"
        );
        insta::assert_snapshot!("symlink", msg);
    }

    #[test]
    fn hard_link() {
        let (e, msg) = reject(&with_extra(special(
            "tree/project/milestones.ndjson",
            b'1',
            "/etc/shadow",
        )));
        assert!(
            matches!(
                e,
                ArchiveError::ForbiddenEntryType {
                    kind: "hard link",
                    ..
                }
            ),
            "{e:?}"
        );
        insta::assert_snapshot!("hard_link", msg);
    }

    #[test]
    fn devices_fifos_and_directories() {
        let mut messages = Vec::new();
        for (t, kind) in [
            (b'3', "character device"),
            (b'4', "block device"),
            (b'5', "directory"),
            (b'6', "FIFO"),
            (b'7', "contiguous file"),
            (b'S', "GNU sparse file"),
        ] {
            let (e, msg) = reject(&with_extra(special("tree/project/x.ndjson", t, "")));
            match e {
                ArchiveError::ForbiddenEntryType { kind: k, entry } => {
                    assert_eq!((k, entry.as_str()), (kind, "tree/project/x.ndjson"));
                }
                other => panic!("{other:?}"),
            }
            messages.push(msg);
        }
        insta::assert_snapshot!("special_files", messages.join("\n"));
    }

    #[test]
    fn pax_and_gnu_long_name_records_cannot_rename_an_entry() {
        // A PAX record that would rename the next entry to a traversal path.
        let pax_body = b"30 path=../../../../etc/passwd\n".to_vec();
        let mut pax = file("PaxHeaders/x", pax_body);
        pax.entry_type = b'x';
        let (e, msg_pax) = reject(&with_extra(pax));
        assert!(
            matches!(
                e,
                ArchiveError::ForbiddenEntryType {
                    kind: "PAX extended header",
                    ..
                }
            ),
            "{e:?}"
        );

        let mut global = file(
            "pax_global_header",
            b"30 path=../../../../etc/passwd\n".to_vec(),
        );
        global.entry_type = b'g';
        let (e, _) = reject(&with_extra(global));
        assert!(
            matches!(
                e,
                ArchiveError::ForbiddenEntryType {
                    kind: "PAX global header",
                    ..
                }
            ),
            "{e:?}"
        );

        let mut long = file("././@LongLink", b"../../evil\0".to_vec());
        long.entry_type = b'L';
        let (e, msg_gnu) = reject(&with_extra(long));
        assert!(
            matches!(
                e,
                ArchiveError::ForbiddenEntryType {
                    kind: "GNU long-name record",
                    ..
                }
            ),
            "{e:?}"
        );
        insta::assert_snapshot!("pax_and_gnu", format!("{msg_pax}\n{msg_gnu}"));
    }

    #[test]
    fn parent_directory_component() {
        let (e, msg) = reject(&with_extra(file("../x", "boom")));
        assert!(
            matches!(&e, ArchiveError::ParentDirectoryName { entry } if entry == "../x"),
            "{e:?}"
        );
        let (e2, msg2) = reject(&with_extra(file("tree/../../x", "boom")));
        assert!(
            matches!(e2, ArchiveError::ParentDirectoryName { .. }),
            "{e2:?}"
        );
        insta::assert_snapshot!("parent_directory", format!("{msg}\n{msg2}"));
    }

    #[test]
    fn absolute_name() {
        let (e, msg) = reject(&with_extra(file("/etc/passwd", "root:x:0:0")));
        assert!(
            matches!(&e, ArchiveError::AbsoluteName { entry } if entry == "/etc/passwd"),
            "{e:?}"
        );
        insta::assert_snapshot!("absolute", msg);
    }

    #[test]
    fn unexpected_names() {
        let mut messages = Vec::new();
        for name in [
            "tree/project/evil.sh",
            "tree/project/Issues.ndjson",
            "uploads/not-a-hash",
            "tree/project/issues/notes.ndjson",
            "./VERSION2",
            "x\u{1b}[2J\u{202e}.json",
        ] {
            let (e, msg) = reject(&with_extra(file(name, "{}\n")));
            assert!(
                matches!(e, ArchiveError::UnexpectedEntry { .. }),
                "{name}: {e:?}"
            );
            assert!(
                !msg.contains('\u{1b}') && !msg.contains('\u{202e}'),
                "unescaped: {msg}"
            );
            messages.push(msg);
        }
        let (e, msg) = reject(&with_extra(Raw {
            name: b"tree/\xff.json".to_vec(),
            ..file("x", "")
        }));
        assert!(matches!(e, ArchiveError::NonUtf8Name { .. }), "{e:?}");
        messages.push(msg);
        insta::assert_snapshot!("unexpected_names", messages.join("\n"));
    }

    #[test]
    fn duplicate_member() {
        let mut entries = complete(tree_members());
        entries.insert(4, file("tree/project/issues.ndjson", ISSUES));
        let (e, msg) = reject(&entries);
        assert!(
            matches!(&e, ArchiveError::DuplicateEntry { entry } if entry == "tree/project/issues.ndjson"),
            "{e:?}"
        );
        insta::assert_snapshot!("duplicate", msg);
    }

    /// The manifest of `members` with the upload of `data` listed as 100 bytes, as a bomb's
    /// manifest would, so that its own total passes the limit.
    fn understating(members: &[Raw], data: &[u8]) -> hoist::archive::Manifest {
        let mut manifest = manifest_for(members);
        let name = format!("uploads/{}", sha256_hex(data));
        let mut info = manifest.members.get(&name).unwrap();
        info.bytes = 100;
        manifest.members.insert(name, info);
        manifest.uploads.bytes -= data.len() as u64 - 100;
        manifest
    }

    #[test]
    fn oversize_entry() {
        // The entry's header claims more than the whole archive may hold: refused from the
        // header, before its data is read (the archive so far is far below the limit).
        let big = vec![b'z'; 64 << 10];
        let mut members = tree_members();
        members.push(upload(&big));
        let limits = Limits {
            max_total_bytes: 32 << 10,
            ..Limits::default()
        };
        let manifest = understating(&members, &big);
        let (e, msg) = reject_with(&with_manifest(&manifest, members), &limits);
        match &e {
            ArchiveError::LimitExceeded {
                limit: LimitKind::TotalBytes,
                max: 32768,
                location: Location::Entry(entry),
            } => assert_eq!(*entry, format!("uploads/{}", sha256_hex(&big))),
            other => panic!("{other:?}"),
        }
        insta::assert_snapshot!("oversize_entry", msg);
    }

    #[test]
    fn manifest_listing_more_than_the_total_limit() {
        // Refused when the manifest is read, naming the exact size the archive needs.
        let big = vec![b'z'; 8192];
        let mut members = tree_members();
        members.push(upload(&big));
        let entries = complete(members);
        let needed = tar_bytes(&entries).len() as u64;
        let limits = Limits {
            max_total_bytes: needed - 1,
            ..Limits::default()
        };
        let (e, msg) = reject_with(&entries, &limits);
        match &e {
            ArchiveError::ManifestExceedsLimit {
                limit: LimitKind::TotalBytes,
                needed: found,
                ..
            } => assert_eq!(*found, needed),
            other => panic!("{other:?}"),
        }
        insta::assert_snapshot!("manifest_exceeds_total", msg);
        let limits = Limits {
            max_total_bytes: needed,
            ..Limits::default()
        };
        let dir = tempfile::tempdir().unwrap();
        verify(&write_archive(dir.path(), &entries), &limits).expect("exactly the total: read");
    }

    #[test]
    fn oversize_manifest() {
        let limits = Limits {
            max_manifest_bytes: 100,
            ..Limits::default()
        };
        let (e, msg) = reject_with(&complete(tree_members()), &limits);
        assert!(
            matches!(
                e,
                ArchiveError::LimitExceeded {
                    limit: LimitKind::ManifestBytes,
                    ..
                }
            ),
            "{e:?}"
        );
        insta::assert_snapshot!("oversize_manifest", msg);
    }

    #[test]
    fn too_many_entries() {
        // 7 entries; the manifest lists 5 members, within the limit; the 7th entry is refused.
        let limits = Limits {
            max_entries: 6,
            ..Limits::default()
        };
        let (e, msg) = reject_with(&complete(tree_members()), &limits);
        match &e {
            ArchiveError::LimitExceeded {
                limit: LimitKind::Entries,
                max: 6,
                location: Location::Entry(entry),
            } => assert!(entry.starts_with("uploads/"), "{entry}"),
            other => panic!("{other:?}"),
        }
        // A manifest listing more members than the limit is refused before any of them is read.
        let limits = Limits {
            max_entries: 4,
            ..Limits::default()
        };
        let (e, msg2) = reject_with(&complete(tree_members()), &limits);
        assert!(
            matches!(&e, ArchiveError::LimitExceeded { limit: LimitKind::Entries, location: Location::Entry(entry), .. } if entry == "manifest.json"),
            "{e:?}"
        );
        insta::assert_snapshot!("too_many_entries", format!("{msg}\n{msg2}"));
    }

    #[test]
    fn huge_line() {
        let long = format!("{{\"id\":3,\"title\":\"{}\"}}\n", "a".repeat(500));
        let mut members = tree_members();
        members[2] = file("tree/project/issues.ndjson", format!("{ISSUES}{long}"));
        let limits = Limits {
            max_line_bytes: 200,
            ..Limits::default()
        };
        let (e, msg) = reject_with(&complete(members), &limits);
        match &e {
            ArchiveError::LimitExceeded {
                limit: LimitKind::LineBytes,
                location: Location::Line { member, line },
                ..
            } => assert_eq!((member.as_str(), *line), ("tree/project/issues.ndjson", 3)),
            other => panic!("{other:?}"),
        }
        insta::assert_snapshot!("huge_line", msg);
    }

    #[test]
    fn huge_line_without_newline_is_caught_before_buffering_it_all() {
        // 1 MiB without a newline and a 1 KiB line limit: refused at the limit, not at the end.
        let mut members = tree_members();
        members[2] = file("tree/project/issues.ndjson", vec![b' '; 1 << 20]);
        let limits = Limits {
            max_line_bytes: 1024,
            ..Limits::default()
        };
        let (e, _) = reject_with(&complete(members), &limits);
        assert!(
            matches!(
                e,
                ArchiveError::LimitExceeded {
                    limit: LimitKind::LineBytes,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn gzip_bomb_in_an_entry() {
        let zeros = vec![0u8; 32 << 20];
        let mut members = tree_members();
        members.push(upload(&zeros));
        let dir = tempfile::tempdir().unwrap();
        let manifest = understating(&members, &zeros);
        let path = write_archive(dir.path(), &with_manifest(&manifest, members));
        let compressed = std::fs::metadata(&path).unwrap().len();
        assert!(compressed < 1 << 20, "bomb is small: {compressed}");
        let limits = Limits {
            max_total_bytes: 8 << 20,
            ..Limits::default()
        };
        let (e, msg) = reject_file(&path, &limits);
        match &e {
            ArchiveError::LimitExceeded {
                limit: LimitKind::TotalBytes,
                location: Location::Entry(entry),
                ..
            } => assert!(entry.starts_with("uploads/"), "{entry}"),
            other => panic!("{other:?}"),
        }
        insta::assert_snapshot!("gzip_bomb", msg);
    }

    #[test]
    fn gzip_bomb_after_the_end_marker() {
        // Valid archive, then 32 MiB of zeros (legal tar padding, but unbounded).
        let mut tar = tar_bytes(&complete(tree_members()));
        tar.extend(std::iter::repeat_n(0u8, 32 << 20));
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "bomb.tar.gz", &gzip(&tar));
        let limits = Limits {
            max_total_bytes: 8 << 20,
            ..Limits::default()
        };
        let (e, msg) = reject_file(&path, &limits);
        assert!(
            matches!(
                e,
                ArchiveError::LimitExceeded {
                    limit: LimitKind::TotalBytes,
                    location: Location::Stream,
                    ..
                }
            ),
            "{e:?}"
        );
        insta::assert_snapshot!("gzip_bomb_padding", msg);
    }

    #[test]
    fn lying_header_size_is_not_trusted() {
        // The last entry's header claims 100 000 bytes; the stream ends after its 12 real ones.
        let mut entries = complete(tree_members());
        let last = entries.pop().unwrap();
        let mut tar = tar_body(&entries);
        tar.extend_from_slice(header_for(&last, 100_000).as_bytes());
        tar.extend_from_slice(&last.data);
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "lie.tar.gz", &gzip(&tar));
        let (e, msg) = reject_file(&path, &Limits::default());
        match &e {
            ArchiveError::Corrupt {
                location: Location::Entry(entry),
                ..
            } => assert!(entry.starts_with("uploads/"), "{entry}"),
            other => panic!("{other:?}"),
        }
        insta::assert_snapshot!("lying_size", msg);
    }

    #[test]
    fn wrong_version() {
        let mut entries = complete(tree_members());
        entries[0] = file("VERSION", "2\n");
        let (e, msg) = reject(&entries);
        assert!(
            matches!(
                e,
                ArchiveError::VersionMismatch {
                    found: 2,
                    expected: 1
                }
            ),
            "{e:?}"
        );

        let mut messages = vec![msg];
        for bad in [
            "1",
            "01\n",
            "1\n\n",
            " 1\n",
            "99999999999\n",
            "x\u{1b}\n",
            "12345678901234567\n",
        ] {
            let mut entries = complete(tree_members());
            entries[0] = file("VERSION", bad);
            let (e, msg) = reject(&entries);
            assert!(
                matches!(e, ArchiveError::InvalidVersion { .. }),
                "{bad:?}: {e:?}"
            );
            messages.push(msg);
        }
        insta::assert_snapshot!("version", messages.join("\n"));
    }

    #[test]
    fn manifest_checksum_mismatch() {
        let members = tree_members();
        let manifest = manifest_for(&members);
        let mut tampered = members.clone();
        // Same size, other content.
        tampered[2] = file(
            "tree/project/issues.ndjson",
            ISSUES.replace("first", "FIRST"),
        );
        let (e, msg) = reject(&with_manifest(&manifest, tampered));
        assert!(
            matches!(&e, ArchiveError::ChecksumMismatch { member, .. } if member == "tree/project/issues.ndjson"),
            "{e:?}"
        );
        insta::assert_snapshot!("checksum_mismatch", msg);
    }

    #[test]
    fn manifest_size_and_line_mismatch() {
        let members = tree_members();
        let mut manifest = manifest_for(&members);
        let mut info = manifest.members.get("tree/project/labels.ndjson").unwrap();
        info.bytes += 1;
        manifest
            .members
            .insert("tree/project/labels.ndjson".into(), info);
        let (e, msg) = reject(&with_manifest(&manifest, members.clone()));
        assert!(matches!(e, ArchiveError::SizeMismatch { .. }), "{e:?}");

        let mut manifest = manifest_for(&members);
        let mut info = manifest.members.get("tree/users.ndjson").unwrap();
        info.lines = Some(5);
        manifest.members.insert("tree/users.ndjson".into(), info);
        let (e, msg2) = reject(&with_manifest(&manifest, members));
        assert!(matches!(e, ArchiveError::LineCountMismatch { .. }), "{e:?}");
        insta::assert_snapshot!("size_and_lines", format!("{msg}\n{msg2}"));
    }

    #[test]
    fn member_missing_from_manifest() {
        let members = tree_members();
        let manifest = manifest_for(&members);
        let mut extra = members.clone();
        extra.push(upload(b"smuggled"));
        let (e, msg) = reject(&with_manifest(&manifest, extra));
        assert!(matches!(e, ArchiveError::UnlistedMember { .. }), "{e:?}");

        // Listed in the manifest but absent from the tar.
        let mut fewer = members;
        fewer.remove(3);
        let (e, msg2) = reject(&with_manifest(&manifest, fewer));
        assert!(
            matches!(&e, ArchiveError::MissingMember { member } if member == "tree/project/labels.ndjson"),
            "{e:?}"
        );
        insta::assert_snapshot!("unlisted_and_missing", format!("{msg}\n{msg2}"));
    }

    /// Upload members are tracked by digest, not by name: a second copy of one is still a
    /// duplicate, and one the manifest lists but the tar lacks is still missing.
    #[test]
    fn duplicate_and_missing_uploads() {
        let name = |raw: &Raw| String::from_utf8(raw.name.clone()).unwrap();
        let (one, two) = (upload(b"one"), upload(b"two"));
        let mut members = tree_members();
        members.push(one.clone());
        members.push(two.clone());
        let manifest = manifest_for(&members);
        let dir = tempfile::tempdir().unwrap();
        let valid = write_archive(dir.path(), &with_manifest(&manifest, members.clone()));
        verify(&valid, &Limits::default()).expect("both uploads once: valid");

        let mut twice = members.clone();
        twice.push(one.clone());
        let (e, _) = reject(&with_manifest(&manifest, twice));
        assert!(
            matches!(&e, ArchiveError::DuplicateEntry { entry } if *entry == name(&one)),
            "{e:?}"
        );

        let mut fewer = members;
        fewer.pop();
        let (e, _) = reject(&with_manifest(&manifest, fewer));
        assert!(
            matches!(&e, ArchiveError::MissingMember { member } if *member == name(&two)),
            "{e:?}"
        );
    }

    #[test]
    fn truncated_gzip() {
        let bytes = gzip(&tar_bytes(&complete(tree_members())));
        let dir = tempfile::tempdir().unwrap();
        let mut messages = Vec::new();
        for cut in [bytes.len() / 2, bytes.len() - 4, 5] {
            let path = write_file(dir.path(), "cut.tar.gz", &bytes[..cut]);
            let (e, msg) = reject_file(&path, &Limits::default());
            assert!(
                matches!(e, ArchiveError::Corrupt { .. }),
                "cut at {cut}: {e:?}"
            );
            messages.push(msg);
        }
        insta::assert_snapshot!("truncated", messages.join("\n"));
    }

    #[test]
    fn not_gzip_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            dir.path(),
            "plain.tar",
            &tar_bytes(&complete(tree_members())),
        );
        let (e, _) = reject_file(&path, &Limits::default());
        assert!(
            matches!(
                e,
                ArchiveError::Corrupt {
                    location: Location::Stream,
                    ..
                }
            ),
            "{e:?}"
        );
        let path = write_file(dir.path(), "empty", b"");
        let (e, _) = reject_file(&path, &Limits::default());
        assert!(
            matches!(
                e,
                ArchiveError::Corrupt { .. } | ArchiveError::MissingEndOfArchive { .. }
            ),
            "{e:?}"
        );
        let (e, _) = reject_file(dir.path(), &Limits::default());
        assert!(matches!(e, ArchiveError::NotAFile { .. }), "{e:?}");
    }

    #[test]
    fn upload_whose_name_is_not_its_hash() {
        let mut members = tree_members();
        let fake = "0".repeat(64);
        members[4] = file(&format!("uploads/{fake}"), "not the content of 000…");
        let mut manifest = manifest_for(&members);
        // A consistent manifest lie: the listed sha equals the name.
        let mut info = manifest.members.get(&format!("uploads/{fake}")).unwrap();
        info.sha256 = fake.clone();
        manifest.members.insert(format!("uploads/{fake}"), info);
        let (e, msg) = reject(&with_manifest(&manifest, members));
        assert!(
            matches!(&e, ArchiveError::UploadHashMismatch { name, .. } if *name == fake),
            "{e:?}"
        );
        insta::assert_snapshot!("upload_hash", msg);
    }

    #[test]
    fn trailing_garbage() {
        let tar = tar_bytes(&complete(tree_members()));
        let dir = tempfile::tempdir().unwrap();

        let mut after_gzip = gzip(&tar);
        after_gzip.extend_from_slice(b"garbage");
        let path = write_file(dir.path(), "a.tar.gz", &after_gzip);
        let (e, msg1) = reject_file(&path, &Limits::default());
        assert!(
            matches!(
                e,
                ArchiveError::TrailingData {
                    after: "after the gzip stream",
                    ..
                }
            ),
            "{e:?}"
        );

        // A second gzip member (would be read by a multi-member decoder).
        let mut two = gzip(&tar);
        two.extend_from_slice(&gzip(b"more"));
        let path = write_file(dir.path(), "b.tar.gz", &two);
        let (e, _) = reject_file(&path, &Limits::default());
        assert!(matches!(e, ArchiveError::TrailingData { .. }), "{e:?}");

        // Non-zero bytes after the tar end marker, inside the gzip stream.
        let mut tar2 = tar.clone();
        tar2.extend_from_slice(b"hidden entry data");
        let path = write_file(dir.path(), "c.tar.gz", &gzip(&tar2));
        let (e, msg2) = reject_file(&path, &Limits::default());
        assert!(
            matches!(
                e,
                ArchiveError::TrailingData {
                    after: "after the tar end-of-archive marker",
                    ..
                }
            ),
            "{e:?}"
        );
        insta::assert_snapshot!("trailing", format!("{msg1}\n{msg2}"));
    }

    #[test]
    fn missing_end_of_archive_marker() {
        let body = tar_body(&complete(tree_members()));
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "noend.tar.gz", &gzip(&body));
        let (e, msg) = reject_file(&path, &Limits::default());
        assert!(
            matches!(e, ArchiveError::MissingEndOfArchive { .. }),
            "{e:?}"
        );
        insta::assert_snapshot!("no_end_marker", msg);
    }

    #[test]
    fn order_is_enforced() {
        let all = complete(tree_members());
        let mut messages = Vec::new();

        let mut manifest_first = all.clone();
        manifest_first.swap(0, 1);
        let (e, msg) = reject(&manifest_first);
        assert!(
            matches!(&e, ArchiveError::OutOfOrder { entry, .. } if entry == "manifest.json"),
            "{e:?}"
        );
        messages.push(msg);

        let mut relation_first = all.clone();
        relation_first.swap(2, 4); // issues before the root record
        let (e, msg) = reject(&relation_first);
        assert!(matches!(e, ArchiveError::OutOfOrder { .. }), "{e:?}");
        messages.push(msg);

        let mut upload_before_relation = all.clone();
        let up = upload_before_relation.remove(6);
        upload_before_relation.insert(5, up);
        let (e, msg) = reject(&upload_before_relation);
        assert!(
            matches!(&e, ArchiveError::OutOfOrder { entry, .. } if entry == "tree/project/labels.ndjson"),
            "{e:?}"
        );
        messages.push(msg);

        let mut users_late = all.clone();
        let users = users_late.remove(3);
        users_late.insert(5, users);
        let (e, msg) = reject(&users_late);
        assert!(
            matches!(&e, ArchiveError::OutOfOrder { entry, .. } if entry == "tree/users.ndjson"),
            "{e:?}"
        );
        messages.push(msg);

        let (e, msg) = reject(&all[1..]);
        assert!(matches!(e, ArchiveError::OutOfOrder { .. }), "{e:?}");
        messages.push(msg);

        let (e, msg) = reject(&all[..1]);
        assert!(
            matches!(&e, ArchiveError::MissingMember { member } if member == "manifest.json"),
            "{e:?}"
        );
        messages.push(msg);

        let (e, _) = reject(&[]);
        assert!(
            matches!(&e, ArchiveError::MissingMember { member } if member == "VERSION"),
            "{e:?}"
        );
        insta::assert_snapshot!("order", messages.join("\n"));
    }

    #[test]
    fn bad_records() {
        let cases: [(&str, &str); 5] = [
            ("{\"id\":1}\n[1,2]\n", "not an object"),
            ("{\"id\":1}\n{\"id\":\n", "invalid json"),
            ("{\"id\":1,\"id\":2}\n", "duplicate key"),
            ("{\"id\":1}\n{\"id\":2}", "unterminated"),
            ("{\"id\":1}\n\n", "blank line"),
        ];
        let mut messages = Vec::new();
        for (content, what) in cases {
            let mut members = tree_members();
            members[2] = file("tree/project/issues.ndjson", content);
            let (e, msg) = reject(&complete(members));
            let ok = match what {
                "not an object" => matches!(
                    e,
                    ArchiveError::NotAnObject {
                        line: 2,
                        found: "an array",
                        ..
                    }
                ),
                "invalid json" => matches!(e, ArchiveError::Json { line: 2, .. }),
                "duplicate key" => {
                    matches!(e, ArchiveError::Json { line: 1, .. }) && msg.contains("duplicate key")
                }
                "unterminated" => matches!(e, ArchiveError::UnterminatedLine { line: 2, .. }),
                _ => matches!(e, ArchiveError::Json { line: 2, .. }),
            };
            assert!(ok, "{what}: {e:?}");
            messages.push(msg);
        }
        let mut members = tree_members();
        members[0] = file("tree/project.json", "[\"not\", \"an object\"]");
        let (e, msg) = reject(&complete(members));
        assert!(
            matches!(e, ArchiveError::NotAnObject { line: 1, .. }),
            "{e:?}"
        );
        messages.push(msg);
        insta::assert_snapshot!("bad_records", messages.join("\n"));
    }

    #[test]
    fn the_first_problem_in_a_member_is_the_one_reported() {
        // An invalid record wins over what the reader meets later in the same member (pinned
        // here so that checking records on another thread, say, cannot change the verdict).
        let long = format!("{{\"id\":3,\"title\":\"{}\"}}\n", "a".repeat(500));
        let mut members = tree_members();
        members[2] = file(
            "tree/project/issues.ndjson",
            format!("{{\"id\":1}}\n{{\"id\":\n{long}"),
        );
        let limits = Limits {
            max_line_bytes: 200,
            ..Limits::default()
        };
        let (e, _) = reject_with(&complete(members), &limits);
        assert!(matches!(e, ArchiveError::Json { line: 2, .. }), "{e:?}");

        // Deep into a member (past any read buffer or block of a few hundred KiB): the right line.
        let mut records: Vec<String> = (1..=4000)
            .map(|id| format!("{{\"id\":{id},\"title\":\"{}\"}}\n", "t".repeat(100)))
            .collect();
        records[3499] = "{\"id\":3500,\"id\":3500}\n".to_owned();
        let mut members = tree_members();
        members[2] = file("tree/project/issues.ndjson", records.concat());
        let (e, msg) = reject(&complete(members));
        assert!(
            matches!(&e, ArchiveError::Json { member, line: 3500, .. } if member == "tree/project/issues.ndjson"),
            "{e:?}"
        );
        assert!(msg.contains("duplicate key"), "{msg}");
    }

    #[test]
    fn inconsistent_manifests() {
        let members = tree_members();
        let mut messages = Vec::new();
        let cases: [fn(&mut hoist::archive::Manifest); 8] = [
            |m| m.format_version = 2,
            |m| m.root.relation = "group".into(),
            |m| m.uploads.files = 9,
            |m| m.relations.get_mut("project/issues").unwrap().records = 9,
            |m| {
                let info = m.members.get("tree/users.ndjson").unwrap();
                m.members.insert("../../etc/passwd".into(), info);
            },
            |m| {
                let mut info = m.members.get("tree/project/issues.ndjson").unwrap();
                info.sha256 = "XYZ".into();
                m.members.insert("tree/project/issues.ndjson".into(), info);
            },
            |m| m.created_at = "yesterday".into(),
            |m| {
                m.members.remove("tree/project.json");
            },
        ];
        for tamper in &cases {
            let mut manifest = manifest_for(&members);
            tamper(&mut manifest);
            let (e, msg) = reject(&with_manifest(&manifest, members.clone()));
            assert!(
                matches!(
                    e,
                    ArchiveError::ManifestInvalid { .. } | ArchiveError::RootMismatch { .. }
                ),
                "{e:?}"
            );
            messages.push(msg);
        }
        // Not even a manifest.
        let mut entries = complete(members.clone());
        entries[1] = file(
            "manifest.json",
            "{\"format_version\":1,\"format_version\":1}",
        );
        let (e, msg) = reject(&entries);
        assert!(matches!(e, ArchiveError::ManifestJson { .. }), "{e:?}");
        messages.push(msg);
        entries[1] = file("manifest.json", "{\"format_version\":1}");
        let (e, msg) = reject(&entries);
        assert!(matches!(e, ArchiveError::ManifestJson { .. }), "{e:?}");
        messages.push(msg);
        insta::assert_snapshot!("inconsistent_manifests", messages.join("\n"));
    }

    #[test]
    fn other_root_relation_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_archive(dir.path(), &complete(tree_members()));
        let e = ArchiveReader::verify(&path, &Limits::default(), 1, "group").unwrap_err();
        assert!(matches!(e, ArchiveError::RootMismatch { .. }), "{e:?}");
        insta::assert_snapshot!("root_mismatch", e.to_string());
    }

    #[test]
    fn corrupt_tar_header() {
        let mut tar = tar_bytes(&complete(tree_members()));
        tar[148] ^= 0x01; // first header's checksum field
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "badsum.tar.gz", &gzip(&tar));
        let (e, msg) = reject_file(&path, &Limits::default());
        assert!(matches!(e, ArchiveError::Corrupt { .. }), "{e:?}");
        insta::assert_snapshot!("corrupt_header", msg);
    }
}
