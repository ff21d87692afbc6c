//! The writer: validation, atomic output, nothing left behind on error or drop.

/// Named `archive` so that `cargo test -p hoist archive` selects these tests.
mod archive {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::path::Path;

    use hoist::archive::{
        AppInfo, ArchiveError, ArchiveReader, ArchiveWriter, LimitKind, LimitSetting, Limits,
        ManifestParts, RelationStats, RootInfo, WriterOptions,
    };
    use serde_json::json;

    fn parts(root: &str) -> ManifestParts {
        ManifestParts {
            format_version: 1,
            app: AppInfo {
                name: "forge".into(),
                schema_digest: "d".into(),
            },
            root: RootInfo {
                relation: root.into(),
                table: "projects".into(),
                source_id: 1,
            },
            relations: BTreeMap::new(),
            created_at: Some("2024-01-01T00:00:00Z".parse().unwrap()),
        }
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn write_root(w: &mut ArchiveWriter) {
        let name = w.root_member_name();
        let mut root = w.member(&name).unwrap();
        root.write_record(&json!({"id": 1, "name": "p"})).unwrap();
        root.finish().unwrap();
    }

    fn write_issues(w: &mut ArchiveWriter, n: u64) {
        let name = w.relation_member_name("issues");
        let mut issues = w.member(&name).unwrap();
        for i in 0..n {
            issues
                .write_record(&json!({"id": i, "title": format!("issue {i}")}))
                .unwrap();
        }
        issues.finish().unwrap();
    }

    /// `needed` is exactly what a reader must admit: the archive reads with it, and lowering any
    /// one of its limits by one refuses it.
    #[test]
    fn needed_limits_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.tar.gz");
        let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).unwrap();
        write_root(&mut w);
        write_issues(&mut w, 30);
        let name = w.relation_member_name("notes");
        let mut notes = w.member(&name).unwrap();
        notes
            .write_record(&json!({"id": 1, "note": "x".repeat(5000)}))
            .unwrap();
        notes.write_record(&json!({"id": 2})).unwrap();
        notes.finish().unwrap();
        for i in 0..3u8 {
            w.add_upload_bytes(&vec![i; 700 * usize::from(i)]).unwrap();
        }
        let summary = w.finish(parts("project")).unwrap();
        let needed = summary.needed;
        assert_eq!(needed.max_entries, 2 + 3 + 3);
        assert_eq!(
            needed.max_line_bytes,
            5000 + r#"{"id":1,"note":""}"#.len() as u64
        );
        assert!(needed.beyond(&Limits::default()).is_empty());
        ArchiveReader::verify(&out, &needed, 1, "project").expect("reads with exactly `needed`");
        for kind in LimitKind::ALL {
            let mut limits = needed;
            limits.set(LimitSetting {
                kind,
                value: needed.get(kind) - 1,
            });
            let error = ArchiveReader::verify(&out, &limits, 1, "project").unwrap_err();
            match error {
                ArchiveError::LimitExceeded { limit, .. }
                | ArchiveError::ManifestExceedsLimit { limit, .. } => assert_eq!(limit, kind),
                other => panic!("{kind}: {other:?}"),
            }
            let settings = needed.beyond(&limits);
            assert_eq!(settings.len(), 1, "{kind}");
            assert!(settings[0].kind == kind && settings[0].value >= needed.get(kind));
        }
    }

    #[test]
    fn drop_without_finish_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.tar.gz");
        {
            let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).unwrap();
            write_root(&mut w);
            write_issues(&mut w, 10);
            w.add_upload_bytes(b"data").unwrap();
            assert_eq!(
                listing(dir.path()).len(),
                1,
                "only the spool dir exists while writing"
            );
        }
        assert_eq!(listing(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn unfinished_member_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.tar.gz");
        let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).unwrap();
        write_root(&mut w);
        {
            let mut m = w.member("tree/project/labels.ndjson").unwrap();
            m.write_record(&json!({"id": 1})).unwrap();
            // dropped: discarded
        }
        // The name is free again.
        write_issues(&mut w, 1);
        let summary = w.finish(parts("project")).unwrap();
        assert!(
            !summary
                .manifest
                .members
                .contains_key("tree/project/labels.ndjson")
        );
        assert_eq!(listing(dir.path()), ["x.tar.gz"]);
        ArchiveReader::verify(&out, &Limits::default(), 1, "project").unwrap();
    }

    /// The bytes of member `name` of the archive at `path`.
    fn member_bytes(path: &Path, name: &str) -> Option<Vec<u8>> {
        let file = std::fs::File::open(path).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().to_str() == Some(name) {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
                return Some(bytes);
            }
        }
        None
    }

    /// An upload changed or removed after `add_upload`: the archive holds what was hashed (the
    /// compression thread read it before the change), or `finish` fails naming the file and
    /// leaves nothing behind (the thread read it after) — never other content under that digest.
    #[test]
    fn upload_changed_after_add_is_archived_as_hashed_or_refused() {
        let sources = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.tar.gz");
        let upload = sources.path().join("file.bin");
        for change in [Some(&b"HELLO"[..]), Some(b"hello, longer"), None] {
            std::fs::write(&upload, b"hello").unwrap();
            let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).unwrap();
            write_root(&mut w);
            write_issues(&mut w, 1000);
            let sha = w.add_upload(&upload).unwrap();
            match change {
                Some(content) => std::fs::write(&upload, content).unwrap(),
                None => std::fs::remove_file(&upload).unwrap(),
            }
            match w.finish(parts("project")) {
                Ok(summary) => {
                    let held = member_bytes(&summary.path, &format!("uploads/{sha}"));
                    assert_eq!(held.as_deref(), Some(&b"hello"[..]), "{change:?}");
                    std::fs::remove_file(&out).unwrap();
                }
                Err(ArchiveError::UploadChanged {
                    path,
                    expected,
                    actual,
                }) => {
                    assert_eq!((path, &expected), (upload.clone(), &sha));
                    assert_ne!(actual, sha);
                    assert!(change.is_some());
                }
                Err(ArchiveError::Io {
                    action: "open",
                    path,
                    ..
                }) => {
                    assert_eq!(path, upload);
                    assert!(change.is_none());
                }
                Err(other) => panic!("{change:?}: {other:?}"),
            }
            assert_eq!(listing(dir.path()), Vec::<String>::new(), "{change:?}");
        }
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.tar.gz");
        std::fs::write(&out, b"precious").unwrap();
        let e = ArchiveWriter::create(&out, WriterOptions::new("project")).unwrap_err();
        assert!(matches!(e, ArchiveError::OutputExists { .. }), "{e:?}");
        assert_eq!(std::fs::read(&out).unwrap(), b"precious");

        // The output appears while the export runs: still not overwritten, nothing left behind.
        let out2 = dir.path().join("y.tar.gz");
        let mut w = ArchiveWriter::create(&out2, WriterOptions::new("project")).unwrap();
        write_root(&mut w);
        std::fs::write(&out2, b"raced").unwrap();
        let e = w.finish(parts("project")).unwrap_err();
        assert!(matches!(e, ArchiveError::OutputExists { .. }), "{e:?}");
        assert_eq!(std::fs::read(&out2).unwrap(), b"raced");
        assert_eq!(listing(dir.path()), ["x.tar.gz", "y.tar.gz"]);

        // With overwrite: replaced atomically.
        let opts = WriterOptions {
            overwrite: true,
            ..WriterOptions::new("project")
        };
        let mut w = ArchiveWriter::create(&out, opts).unwrap();
        write_root(&mut w);
        w.finish(parts("project")).unwrap();
        ArchiveReader::verify(&out, &Limits::default(), 1, "project").unwrap();
        assert_eq!(listing(dir.path()), ["x.tar.gz", "y.tar.gz"]);
    }

    #[test]
    fn member_names_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let mut w =
            ArchiveWriter::create(&dir.path().join("x.tar.gz"), WriterOptions::new("project"))
                .unwrap();
        let mut messages = Vec::new();
        for bad in [
            "VERSION",
            "manifest.json",
            "uploads/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "tree/project/../x.ndjson",
            "tree/group.json",
            "tree/project/Issues.ndjson",
            "/etc/passwd",
        ] {
            let e = w.member(bad).unwrap_err();
            assert!(
                matches!(e, ArchiveError::InvalidMemberName { .. }),
                "{bad}: {e:?}"
            );
            messages.push(e.to_string());
        }
        write_issues(&mut w, 1);
        let e = w.member("tree/project/issues.ndjson").unwrap_err();
        assert!(
            matches!(e, ArchiveError::MemberAlreadyWritten { .. }),
            "{e:?}"
        );
        messages.push(e.to_string());
        insta::assert_snapshot!("member_names", messages.join("\n"));
    }

    #[test]
    fn content_is_validated() {
        let dir = tempfile::tempdir().unwrap();
        let mut w =
            ArchiveWriter::create(&dir.path().join("x.tar.gz"), WriterOptions::new("project"))
                .unwrap();
        let mut messages = Vec::new();

        let mut m = w.member("tree/project/issues.ndjson").unwrap();
        m.write_all(b"{\"id\":1}\n{\"id\":2}").unwrap();
        let e = m.finish().unwrap_err();
        assert!(matches!(e, ArchiveError::IncompleteRecord { .. }), "{e:?}");
        messages.push(e.to_string());

        let mut m = w.member("tree/project.json").unwrap();
        m.write_all(b"[1]").unwrap();
        let e = m.finish().unwrap_err();
        assert!(matches!(e, ArchiveError::NotAnObject { .. }), "{e:?}");
        messages.push(e.to_string());

        let mut m = w.member("tree/project.json").unwrap();
        let mut map = BTreeMap::new();
        map.insert(vec![1u8], 1);
        let e = m.write_record(&map).unwrap_err();
        assert!(matches!(e, ArchiveError::RecordSerialize { .. }), "{e:?}");
        messages.push(e.to_string());
        drop(m);

        // Nothing written for the root: finish refuses.
        let e = w.finish(parts("project")).unwrap_err();
        assert!(matches!(e, ArchiveError::RootRecordMissing { .. }), "{e:?}");
        messages.push(e.to_string());
        assert_eq!(listing(dir.path()), Vec::<String>::new());
        insta::assert_snapshot!("content", messages.join("\n"));
    }

    #[test]
    fn manifest_parts_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.tar.gz");
        let mut messages = Vec::new();

        let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).unwrap();
        write_root(&mut w);
        let e = w.finish(parts("group")).unwrap_err();
        assert!(matches!(e, ArchiveError::ManifestInvalid { .. }), "{e:?}");
        messages.push(e.to_string());

        let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).unwrap();
        write_root(&mut w);
        write_issues(&mut w, 2);
        let mut p = parts("project");
        p.relations
            .insert("project/issues".into(), RelationStats { records: 5 });
        let e = w.finish(p).unwrap_err();
        assert!(matches!(e, ArchiveError::ManifestInvalid { .. }), "{e:?}");
        messages.push(e.to_string());

        let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).unwrap();
        write_root(&mut w);
        let mut p = parts("project");
        p.relations
            .insert("group/issues".into(), RelationStats { records: 5 });
        let e = w.finish(p).unwrap_err();
        assert!(matches!(e, ArchiveError::ManifestInvalid { .. }), "{e:?}");
        messages.push(e.to_string());

        assert_eq!(listing(dir.path()), Vec::<String>::new());
        insta::assert_snapshot!("manifest_parts", messages.join("\n"));
    }

    #[test]
    fn options_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.tar.gz");
        let mut messages = Vec::new();
        for opts in [
            WriterOptions {
                compression_level: 10,
                ..WriterOptions::new("project")
            },
            WriterOptions::new("Bad-Name"),
            WriterOptions::new(""),
        ] {
            let e = ArchiveWriter::create(&out, opts).unwrap_err();
            assert!(matches!(e, ArchiveError::InvalidOption { .. }), "{e:?}");
            messages.push(e.to_string());
        }
        let e = ArchiveWriter::create(
            &dir.path().join("missing/x.tar.gz"),
            WriterOptions::new("project"),
        )
        .unwrap_err();
        assert!(matches!(e, ArchiveError::Io { .. }), "{e:?}");
        let e = ArchiveWriter::create(dir.path(), WriterOptions::new("project")).unwrap_err();
        assert!(matches!(e, ArchiveError::OutputExists { .. }), "{e:?}");

        let mut w = ArchiveWriter::create(&out, WriterOptions::new("project")).unwrap();
        let e = w.add_upload(dir.path()).unwrap_err();
        assert!(matches!(e, ArchiveError::NotAFile { .. }), "{e:?}");
        insta::assert_snapshot!("options", messages.join("\n"));
    }

    fn build_deterministic(out: &Path, level: u32) {
        let opts = WriterOptions {
            compression_level: level,
            ..WriterOptions::new("project")
        };
        let mut w = ArchiveWriter::create(out, opts).unwrap();
        write_root(&mut w);
        write_issues(&mut w, 5000);
        w.add_upload_bytes(&vec![7u8; 300_000]).unwrap();
        w.finish(parts("project")).unwrap();
    }

    #[test]
    fn output_is_deterministic_and_any_level_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.tar.gz");
        let b = dir.path().join("b.tar.gz");
        build_deterministic(&a, 6);
        build_deterministic(&b, 6);
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        for level in [0, 1, 9] {
            let path = dir.path().join(format!("level{level}.tar.gz"));
            build_deterministic(&path, level);
            let v = ArchiveReader::verify(&path, &Limits::default(), 1, "project").unwrap();
            assert_eq!(v.manifest().relations["project/issues"].records, 5000);
        }
        let stored = std::fs::metadata(dir.path().join("level0.tar.gz"))
            .unwrap()
            .len();
        let best = std::fs::metadata(dir.path().join("level9.tar.gz"))
            .unwrap()
            .len();
        assert!(
            best < stored / 4,
            "level 9 ({best}) compresses, level 0 ({stored}) stores"
        );
    }

    #[test]
    fn longest_names_fit_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.tar.gz");
        let root = "r".repeat(64);
        let relation = "a".repeat(64);
        let mut w = ArchiveWriter::create(&out, WriterOptions::new(root.clone())).unwrap();
        write_root(&mut w);
        let name = w.relation_member_name(&relation);
        assert!(name.len() > 100);
        let mut m = w.member(&name).unwrap();
        m.write_record(&json!({"id": 1})).unwrap();
        m.finish().unwrap();
        w.finish(parts(&root)).unwrap();
        let v = ArchiveReader::verify(&out, &Limits::default(), 1, &root).unwrap();
        assert!(v.manifest().members.contains_key(&name));
    }
}
