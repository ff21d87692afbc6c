//! One rendered diagnostic per kind, snapshot-tested: message, `file:line:col`, excerpt, help.

mod support;

use hoist_codegen::{Inputs, Kind, SourceFile, compile};

const SCHEMA: &str = "
projects: id name path creator_id?>users
issues: id project_id>projects title description? milestone_id?>milestones author_id>users relative_position:int?
milestones: id project_id>projects title
notes: id project_id>projects noteable_type noteable_id note
labels: id project_id>projects title color
label_links: id label_id>labels target_type target_id
users: id email username
namespaces: id
";

const POLY: &str = "polymorphic:\n  notes:\n    noteable: { Issue: issues }\n";
const TREE: &str = "    - :milestones\n    - :labels\n    - issues:\n      - :notes\n";

fn cfg(poly: &str, extra: &str, tree: &str) -> String {
    format!(
        "format_version: 1\nroot: project\nreferences:\n  users: {{ table: users, natural_keys: [email] }}\n{poly}{extra}tree:\n  project:\n{tree}"
    )
}

fn with(extra: &str) -> String {
    cfg(POLY, extra, TREE)
}

/// Compile, expect failure with exactly the given kinds, return the rendering.
fn fail(config: &str, schema_extra: &str, expected: &[Kind]) -> String {
    let inputs = support::inputs(config, &format!("{SCHEMA}\n{schema_extra}"));
    fail_inputs(&inputs, expected)
}

fn fail_inputs(inputs: &Inputs, expected: &[Kind]) -> String {
    let errors = compile(inputs).expect_err("compilation should fail");
    let kinds: Vec<Kind> = errors.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, expected, "{}", errors.render());
    errors.render()
}

#[test]
fn the_base_config_compiles() {
    let inputs = support::inputs(&with(""), SCHEMA);
    let compiled = compile(&inputs).unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(compiled.plan.tables.len(), 5);
}

macro_rules! case {
    ($name:ident, $config:expr, $schema:expr, [$($kind:ident),+]) => {
        #[test]
        fn $name() {
            let out = fail(&$config, $schema, &[$(Kind::$kind),+]);
            insta::assert_snapshot!(stringify!($name), out);
        }
    };
}

case!(
    yaml_syntax,
    "format_version: 1\ntree: [a\nroot: project\n",
    "",
    [YamlSyntax]
);
case!(
    unsupported_yaml,
    with("guards:\n  sensitive_words: !!seq [token]\n"),
    "",
    [UnsupportedYaml]
);
case!(
    duplicate_key,
    with("methods:\n  issues: [:reference]\nmethods:\n  labels: [:text_color]\n"),
    "",
    [DuplicateKey]
);
case!(
    wrong_type,
    with("included_attributes:\n  issues: :title\n"),
    "",
    [WrongType]
);
case!(
    unknown_top_level_key,
    with("include_if_exportible:\n  project: [:issues]\n"),
    "",
    [UnknownTopLevelKey]
);
case!(
    unknown_option,
    with("associations:\n  project:\n    milestones: { tabel: milestones }\n"),
    "",
    [UnknownOption]
);
case!(
    missing_key,
    with("").replace("format_version: 1\n", ""),
    "",
    [MissingKey]
);
case!(
    root_missing,
    with("").replace("root: project\n", ""),
    "",
    [RootMissing]
);
case!(
    invalid_name,
    with("methods:\n  issues: [:Reference-Number]\n"),
    "",
    [InvalidName]
);
case!(
    bad_format_version,
    with("").replace("format_version: 1", "format_version: 0"),
    "",
    [BadFormatVersion]
);
case!(
    unknown_table,
    with("not_exported:\n  namespacez: kept on the source instance\n"),
    "",
    [UnknownTable]
);
case!(
    table_not_in_tree,
    with("excluded_attributes:\n  namespaces: [:id]\n"),
    "",
    [TableNotInTree]
);
case!(
    unknown_column,
    with("included_attributes:\n  project:\n    - :name\n    - :no_such_column\n"),
    "",
    [UnknownColumn]
);
case!(
    unknown_association,
    cfg(POLY, "", "    - :milestones\n    - :isues\n"),
    "",
    [UnknownAssociation]
);
case!(
    ambiguous_foreign_key,
    cfg(POLY, "", &format!("{TREE}    - :forks\n")),
    "forks: id project_id>projects source_project_id>projects",
    [AmbiguousForeignKey]
);
case!(
    duplicate_relation,
    cfg(POLY, "", &format!("{TREE}    - :labels\n")),
    "",
    [DuplicateRelation]
);
case!(
    included_and_excluded,
    with(
        "included_attributes:\n  issues: [:title, :description]\nexcluded_attributes:\n  issue: [:description]\n"
    ),
    "",
    [IncludedAndExcluded]
);
case!(
    reorder_unknown_column,
    with("export_reorders:\n  project:\n    issues:\n      relative_positon: { direction: asc }\n"),
    "",
    [ReorderUnknownColumn]
);
case!(
    bad_direction,
    with(
        "export_reorders:\n  project:\n    issues:\n      relative_position: { direction: ascending }\n"
    ),
    "",
    [BadDirection]
);
case!(
    bad_nulls_position,
    with(
        "export_reorders:\n  project:\n    issues:\n      relative_position: { direction: asc, nulls_position: last }\n"
    ),
    "",
    [BadNullsPosition]
);
case!(
    polymorphic_unknown_table,
    cfg(
        "polymorphic:\n  notes:\n    noteable: { Issue: issues, Epic: epics }\n",
        "",
        TREE
    ),
    "",
    [PolymorphicUnknownTable]
);
case!(
    polymorphic_missing_column,
    cfg(
        &format!("{POLY}  label_links:\n    targt: {{ Issue: issues }}\n"),
        "",
        TREE
    ),
    "",
    [PolymorphicMissingColumn, PolymorphicMissingColumn]
);
case!(
    cycle,
    cfg(POLY, "", &format!("{TREE}    - :epics\n")),
    "epics: id project_id>projects issue_id?>issues\nissues: id project_id>projects epic_id?>epics title milestone_id?>milestones author_id>users",
    [Cycle]
);
case!(
    method_unknown_model,
    with("methods:\n  lables: [:text_color]\n"),
    "",
    [MethodUnknownModel]
);
case!(
    unknown_conditional_relation,
    with(
        "include_if_exportable:\n  project: [:issues, :snippets]\npolicy_columns:\n  issues: [:title]\n"
    ),
    "",
    [UnknownConditionalRelation]
);
case!(
    policy_columns_missing,
    with("include_if_exportable:\n  project: [:issues]\n"),
    "",
    [MissingKey]
);
case!(
    policy_columns_without_policy,
    with("policy_columns:\n  issues: [:title]\n"),
    "",
    [Conflict]
);
case!(
    unknown_preload,
    with("preloads:\n  issues: [:note]\n"),
    "",
    [UnknownPreload]
);
case!(
    token_column_missing,
    with("tokens:\n  projects: [:runners_token]\n"),
    "",
    [TokenColumnMissing]
);
case!(
    foreign_reference,
    with(""),
    "issues: id project_id>projects title namespace_id>namespaces author_id>users milestone_id?>milestones",
    [ForeignReference]
);
case!(
    undeclared_reference,
    with(""),
    "labels: id project_id>projects title external_id",
    [UndeclaredReference]
);
case!(
    missing_primary_key,
    cfg(POLY, "", &format!("{TREE}    - :tags\n")),
    "tags: uuid project_id>projects",
    [MissingPrimaryKey]
);
case!(
    name_collision,
    with("methods:\n  issues: [:title]\n"),
    "",
    [NameCollision]
);
case!(
    column_not_exported,
    with("excluded_attributes:\n  labels: [:title]\nexisting_objects:\n  labels: [:title]\n"),
    "",
    [ColumnNotExported]
);
case!(
    unsupported,
    with("references:\n  groups: { table: namespaces, natural_keys: [id] }\n")
        .replacen(
            "references:\n  users: { table: users, natural_keys: [email] }\n",
            "",
            1
        )
        .replace(
            "references:\n  groups",
            "references:\n  users: { table: users, natural_keys: [email] }\n  groups"
        ),
    "",
    [Unsupported]
);
case!(
    conflict,
    with("not_exported:\n  issues: private\n"),
    "",
    [Conflict]
);

#[test]
fn schema_snapshot_errors_name_the_command() {
    let inputs = Inputs {
        config: SourceFile::new("import_export.yml", with("")),
        attributes: None,
        schema: SourceFile::new("schema.snapshot.json", "{\"format\": 1,\n \"tables\": [}\n"),
    };
    let out = fail_inputs(&inputs, &[Kind::SchemaSnapshot]);
    assert!(out.contains("forge schema dump"));
    insta::assert_snapshot!("schema_snapshot", out);
}

#[test]
fn every_kind_has_a_snapshot_case() {
    // Kinds covered above; keep in sync when adding kinds.
    let covered = [
        Kind::YamlSyntax,
        Kind::UnsupportedYaml,
        Kind::DuplicateKey,
        Kind::WrongType,
        Kind::UnknownTopLevelKey,
        Kind::UnknownOption,
        Kind::MissingKey,
        Kind::RootMissing,
        Kind::InvalidName,
        Kind::BadFormatVersion,
        Kind::SchemaSnapshot,
        Kind::UnknownTable,
        Kind::TableNotInTree,
        Kind::UnknownColumn,
        Kind::UnknownAssociation,
        Kind::AmbiguousForeignKey,
        Kind::DuplicateRelation,
        Kind::IncludedAndExcluded,
        Kind::ReorderUnknownColumn,
        Kind::BadDirection,
        Kind::BadNullsPosition,
        Kind::PolymorphicUnknownTable,
        Kind::PolymorphicMissingColumn,
        Kind::Cycle,
        Kind::MethodUnknownModel,
        Kind::UnknownConditionalRelation,
        Kind::UnknownPreload,
        Kind::TokenColumnMissing,
        Kind::ForeignReference,
        Kind::UndeclaredReference,
        Kind::MissingPrimaryKey,
        Kind::NameCollision,
        Kind::ColumnNotExported,
        Kind::Unsupported,
        Kind::Conflict,
    ];
    // `Internal` marks a bug in the emitter and cannot be provoked by a config.
    for k in Kind::ALL.iter().filter(|k| **k != Kind::Internal) {
        assert!(covered.contains(k), "no snapshot case for {k}");
    }
}

#[test]
fn attributes_file_errors_point_into_it() {
    let mut inputs = support::inputs(&with(""), SCHEMA);
    inputs.attributes = Some(SourceFile::new(
        "safe_model_attributes.yml",
        "issues:\n  - id\n  - [title]\n",
    ));
    let out = fail_inputs(&inputs, &[Kind::WrongType]);
    assert!(out.contains("safe_model_attributes.yml:3:5"), "{out}");
}
