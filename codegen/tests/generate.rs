//! Generated code for the reference config: snapshot, determinism, and the "unknown column"
//! done-when check.

mod support;

use hoist_codegen::{Kind, SourceFile, generate};
use proptest::prelude::*;

#[test]
fn reference_config_generates_the_snapshot() {
    let inputs = support::reference_inputs();
    let generated = generate(&inputs).unwrap_or_else(|d| panic!("{}", d.render()));
    insta::assert_snapshot!("reference_generated", generated.code);
}

#[test]
fn generation_is_deterministic() {
    let inputs = support::reference_inputs();
    let a = generate(&inputs).unwrap_or_else(|d| panic!("{}", d.render()));
    let b = generate(&inputs).unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(a.code, b.code);
    assert_eq!(a.tokens.to_string(), b.tokens.to_string());
}

/// The done-when: an unknown column under a model in `included_attributes` fails with
/// `import_export.yml`, the entry's exact line and column, and the model; removing it builds again.
#[test]
fn unknown_included_column_is_reported_at_its_line_and_column() {
    let inputs = support::reference_inputs();
    assert!(generate(&inputs).is_ok(), "the reference builds");
    let text = &inputs.config.text;

    // under the existing `project` entry
    let broken = text.replacen(
        "    - :archived\n",
        "    - :archived\n    - :no_such_column\n",
        1,
    );
    // and under a model that had no entry yet
    let added = text.replacen(
        "included_attributes:\n",
        "included_attributes:\n  milestone:\n    - :title\n    - :no_such_column\n",
        1,
    );
    for (config, model, table) in [
        (broken, "project", "projects"),
        (added, "milestone", "milestones"),
    ] {
        let line = config
            .lines()
            .position(|l| l == "    - :no_such_column")
            .map(|i| i + 1)
            .expect("inserted line");
        let mut bad = inputs.clone();
        bad.config = SourceFile::new("import_export.yml", config);
        let errors = generate(&bad).expect_err("unknown column");
        assert_eq!(errors.len(), 1, "{}", errors.render());
        let d = errors.iter().next().expect("one diagnostic");
        assert_eq!(d.kind, Kind::UnknownColumn);
        assert_eq!(
            errors.location(d).as_deref(),
            Some(format!("import_export.yml:{line}:7").as_str())
        );
        let rendered = errors.render();
        assert!(
            rendered.contains(&format!("import_export.yml:{line}:7")),
            "{rendered}"
        );
        assert!(
            rendered.contains(&format!("included_attributes.{model}")),
            "{rendered}"
        );
        assert!(rendered.contains(&format!("table `{table}`")), "{rendered}");
        assert!(rendered.contains("no_such_column"), "{rendered}");
    }
}

/// Top-level blocks of a YAML file (comments stay with the key that follows them).
fn blocks(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut has_key = false;
    for line in text.lines() {
        let starts_key = line.starts_with(|c: char| c.is_ascii_alphabetic());
        if starts_key && has_key {
            out.push(std::mem::take(&mut current));
            has_key = false;
        }
        has_key |= starts_key;
        current.push_str(line);
        current.push('\n');
    }
    out.push(current);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The order of the config's top-level sections does not change the generated code.
    #[test]
    fn output_does_not_depend_on_section_order(
        order in Just(blocks(&support::reference_inputs().config.text)).prop_shuffle()
    ) {
        let inputs = support::reference_inputs();
        let baseline = generate(&inputs).expect("reference");
        let mut permuted = inputs.clone();
        permuted.config = SourceFile::new("import_export.yml", order.concat());
        let generated = generate(&permuted).map_err(|d| TestCaseError::fail(d.render()))?;
        prop_assert_eq!(generated.code, baseline.code);
    }
}

#[test]
fn builder_writes_only_when_the_content_changes() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let dir = std::env::temp_dir().join(format!("hoist-builder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("tenant.rs");
    let builder = hoist_codegen::Builder::new()
        .base_dir(root)
        .config("import_export.yml")
        .attributes("safe_model_attributes.yml")
        .schema("schema.snapshot.json")
        .out_file(&out)
        .rerun_if_changed(false);
    assert_eq!(builder.compile().expect("compiles"), out);
    let code = std::fs::read_to_string(&out).expect("written");
    assert_eq!(
        code,
        generate(&support::reference_inputs())
            .expect("reference")
            .code
    );
    let first = std::fs::metadata(&out)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::thread::sleep(std::time::Duration::from_millis(20));
    builder.compile().expect("compiles again");
    let second = std::fs::metadata(&out)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(first, second, "unchanged output is not rewritten");

    let missing = builder
        .clone()
        .schema("missing.snapshot.json")
        .compile()
        .expect_err("missing");
    assert!(matches!(missing, hoist_codegen::BuildError::Input(_)));
    assert!(
        missing.to_string().contains("forge schema dump"),
        "{missing}"
    );

    std::fs::write(
        dir.join("bad.yml"),
        "format_version: 1\nroot: project\ntree:\n  project:\n    - :isues\n",
    )
    .expect("write");
    let bad = builder
        .clone()
        .base_dir(&dir)
        .config("bad.yml")
        .schema(format!("{root}/schema.snapshot.json"))
        .attributes(format!("{root}/safe_model_attributes.yml"));
    let err = bad.compile().expect_err("config error");
    assert!(err.to_string().contains("bad.yml:5:7"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
