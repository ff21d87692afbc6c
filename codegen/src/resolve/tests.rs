//! Resolve rules on small fixtures.

#[path = "../../tests/support/mod.rs"]
mod support;

use super::*;
use crate::parse::parse_config;

const USERS: &str = "references:\n  users: { table: users, natural_keys: [email] }\n";

fn run(yaml: &str, spec: &str) -> (Option<PlanIr>, Vec<Diagnostic>) {
    let (config, errors) = parse_config(yaml);
    assert!(errors.is_empty(), "parse errors: {errors:#?}");
    resolve(&config.expect("config"), &support::schema(spec))
}

fn plan(yaml: &str, spec: &str) -> PlanIr {
    let (plan, errors) = run(yaml, spec);
    assert!(
        errors.is_empty(),
        "{:#?}",
        errors
            .iter()
            .map(|e| (&e.kind, &e.message, &e.help))
            .collect::<Vec<_>>()
    );
    plan.expect("plan")
}

fn kinds(yaml: &str, spec: &str) -> Vec<Kind> {
    let (plan, errors) = run(yaml, spec);
    assert!(plan.is_none());
    errors.iter().map(|e| e.kind).collect()
}

fn node<'a>(plan: &'a PlanIr, path: &str) -> &'a NodeIr {
    let mut n = &plan.root;
    for part in path.split('/') {
        n = n
            .children
            .iter()
            .find(|c| c.name == part)
            .unwrap_or_else(|| panic!("no {part} in {path}"));
    }
    n
}

fn table_names(plan: &PlanIr) -> Vec<&str> {
    plan.tables.iter().map(|t| t.name.as_str()).collect()
}

fn role<'a>(plan: &'a PlanIr, table: &str, column: &str) -> &'a RoleIr {
    let (_, t) = plan.table(table).expect("table");
    &t.column(column).expect("column").1.role
}

fn tree(body: &str) -> String {
    format!("format_version: 1\nroot: project\ntree:\n  project:\n{body}")
}

#[test]
fn has_many_through_the_single_foreign_key() {
    let p = plan(
        &tree("    - :issues\n"),
        "projects: id name\nissues: id project_id>projects title",
    );
    let issues = node(&p, "issues");
    assert_eq!(issues.cardinality, Cardinality::HasMany);
    assert_eq!(
        issues.link,
        LinkIr::ChildFk {
            column: "project_id".into()
        }
    );
    assert_eq!(p.tables[issues.table].name, "issues");
}

#[test]
fn several_foreign_keys_are_ambiguous_until_an_association_picks_one() {
    let spec = "projects: id\nissues: id project_id>projects moved_from_project_id>projects";
    let (_, errors) = run(&tree("    - :issues\n"), spec);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, Kind::AmbiguousForeignKey);
    assert_eq!(
        errors[0].help.as_deref(),
        Some("ambiguous, set associations.projects.issues.foreign_key to one of them")
    );
    let yaml = format!(
        "{}associations:\n  project:\n    issues: {{ foreign_key: project_id }}\n",
        tree("    - :issues\n")
    );
    let (plan, errors) = run(&yaml, spec);
    // `moved_from_project_id` references the root: a plain Reference, fine.
    assert!(errors.is_empty(), "{errors:#?}");
    let p = plan.expect("plan");
    assert_eq!(
        node(&p, "issues").link,
        LinkIr::ChildFk {
            column: "project_id".into()
        }
    );
}

#[test]
fn polymorphic_children_link_by_type_value() {
    let yaml = format!(
        "{}polymorphic:\n  notes:\n    noteable: {{ Issue: issues, Project: projects }}\n",
        tree("    - issues:\n      - :notes\n    - :notes\n")
    );
    let p = plan(
        &yaml,
        "projects: id\nissues: id project_id>projects\nnotes: id noteable_type noteable_id body",
    );
    assert_eq!(
        node(&p, "issues/notes").link,
        LinkIr::Polymorphic {
            id_column: "noteable_id".into(),
            type_column: "noteable_type".into(),
            type_value: "Issue".into()
        }
    );
    assert_eq!(
        node(&p, "notes").link,
        LinkIr::Polymorphic {
            id_column: "noteable_id".into(),
            type_column: "noteable_type".into(),
            type_value: "Project".into()
        }
    );
    assert_eq!(role(&p, "notes", "noteable_type"), &RoleIr::PolymorphicType);
    let (issues, _) = p.table("issues").expect("issues");
    let (projects, _) = p.table("projects").expect("projects");
    assert_eq!(
        role(&p, "notes", "noteable_id"),
        &RoleIr::PolymorphicId {
            type_column: "noteable_type".into(),
            targets: vec![("Issue".into(), issues), ("Project".into(), projects)]
        }
    );
}

#[test]
fn singular_names_are_belongs_to_or_has_one() {
    let spec = "projects: id\nproject_features: id project_id>projects\nlabels: id project_id>projects\n\
                label_links: id label_id>labels issue_id>issues\nissues: id project_id>projects";
    let p = plan(
        &tree(
            "    - :project_feature\n    - :labels\n    - issues:\n      - label_links:\n        - :label\n",
        ),
        spec,
    );
    let feature = node(&p, "project_feature");
    assert_eq!(
        (feature.cardinality, &feature.link),
        (
            Cardinality::HasOne,
            &LinkIr::ChildFk {
                column: "project_id".into()
            }
        )
    );
    let label = node(&p, "issues/label_links/label");
    assert_eq!(
        (label.cardinality, &label.link),
        (
            Cardinality::BelongsTo,
            &LinkIr::ParentFk {
                column: "label_id".into()
            }
        )
    );
    assert_eq!(p.tables[label.table].name, "labels");
    // belongs_to targets need an id map; pure has_many children do not
    assert!(p.table("labels").expect("labels").1.needs_id_map);
    assert!(!p.table("label_links").expect("label_links").1.needs_id_map);
}

#[test]
fn explicit_associations_override_the_convention() {
    let spec = "projects: id\nlabels: id project_id>projects\nlabel_priorities: id label_id>labels project_id>projects\n\
                issues: id project_id>projects\nissue_links: id source_id>issues target_id>issues";
    let yaml = format!(
        "{}associations:\n  labels:\n    priorities: {{ table: label_priorities }}\n  issue:\n    issue_links: {{ foreign_key: source_id }}\n",
        tree("    - labels:\n      - :priorities\n    - issues:\n      - :issue_links\n")
    );
    let p = plan(&yaml, spec);
    let pri = node(&p, "labels/priorities");
    assert_eq!(p.tables[pri.table].name, "label_priorities");
    assert_eq!(
        (pri.cardinality, &pri.link),
        (
            Cardinality::HasMany,
            &LinkIr::ChildFk {
                column: "label_id".into()
            }
        )
    );
    assert_eq!(
        node(&p, "issues/issue_links").link,
        LinkIr::ChildFk {
            column: "source_id".into()
        }
    );
    // target_id is not the link: issues need an id map
    assert!(p.table("issues").expect("issues").1.needs_id_map);
}

#[test]
fn unknown_relations_suggest_a_name() {
    let (_, errors) = run(
        &tree("    - :isues\n"),
        "projects: id\nissues: id project_id>projects",
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, Kind::UnknownAssociation);
    assert_eq!(errors[0].help.as_deref(), Some("did you mean `issues`?"));
    assert_eq!(errors[0].span.map(|s| (s.line, s.column)), Some((5, 7)));
}

#[test]
fn tables_without_a_link_are_reported() {
    let k = kinds(&tree("    - :tags\n"), "projects: id\ntags: id name");
    assert_eq!(k, [Kind::UnknownAssociation]);
}

#[test]
fn roles_follow_foreign_keys_and_declarations() {
    let spec = "projects: id creator_id?>users\nissues: id project_id>projects author_id>users milestone_id?>milestones iid:int title\n\
                milestones: id project_id>projects\nusers: id email";
    let p = plan(
        &format!("{}{USERS}", tree("    - :milestones\n    - :issues\n")),
        spec,
    );
    let (milestones, _) = p.table("milestones").expect("milestones");
    let (projects, _) = p.table("projects").expect("projects");
    assert_eq!(role(&p, "issues", "id"), &RoleIr::PrimaryKey);
    assert_eq!(
        role(&p, "issues", "project_id"),
        &RoleIr::Reference { table: projects }
    );
    assert_eq!(role(&p, "issues", "author_id"), &RoleIr::UserReference);
    assert_eq!(
        role(&p, "issues", "milestone_id"),
        &RoleIr::Reference { table: milestones }
    );
    assert_eq!(role(&p, "issues", "iid"), &RoleIr::Data);
    assert_eq!(role(&p, "projects", "creator_id"), &RoleIr::UserReference);
    assert_eq!(p.users.as_ref().map(|u| u.table.as_str()), Some("users"));
    // Reference to the root never needs a map; milestones referenced by issues do.
    assert!(!p.tables[projects].needs_id_map);
    assert!(p.tables[milestones].needs_id_map);
}

#[test]
fn references_outside_the_tenant_are_errors() {
    let spec = "projects: id\nissues: id project_id>projects namespace_id>namespaces author_id>users legacy_id\nnamespaces: id\nusers: id";
    let (_, errors) = run(&tree("    - :issues\n"), spec);
    let got: Vec<_> = errors.iter().map(|e| (e.kind, e.message.clone())).collect();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(got[0].0, Kind::ForeignReference);
    assert!(got[0].1.contains("issues.namespace_id"));
    assert_eq!(got[1].0, Kind::ForeignReference);
    assert!(
        errors[1]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("references:")),
        "users hint"
    );
    assert_eq!(got[2].0, Kind::UndeclaredReference);
    // excluding them fixes it
    let yaml = format!(
        "{}excluded_attributes:\n  issues: [:namespace_id, :author_id, :legacy_id]\n",
        tree("    - :issues\n")
    );
    plan(&yaml, spec);
}

#[test]
fn exported_columns_start_with_id_and_honour_lists() {
    let spec = "projects: id name path secret runners_token description\nissues: id project_id>projects title body";
    let yaml = format!(
        "{}included_attributes:\n  project: [:path, :name]\nexcluded_attributes:\n  issues: [:body, :project_id]\ntokens:\n  issues: [title]\n",
        tree("    - :issues\n")
    );
    let p = plan(&yaml, spec);
    let cols = |t: &str| {
        p.table(t)
            .expect("t")
            .1
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(cols("projects"), ["id", "name", "path"]);
    // project_id is the link: always exported even when excluded
    assert_eq!(cols("issues"), ["id", "project_id"]);
    assert_eq!(p.table("issues").expect("issues").1.tokens, ["title"]);
}

#[test]
fn column_list_errors() {
    let spec = "projects: id name\nissues: id project_id>projects title";
    let yaml = format!(
        "{}included_attributes:\n  issues: [:title, :titel]\nexcluded_attributes:\n  issues: [:title]\ntokens:\n  issue: [:token]\n",
        tree("    - :issues\n")
    );
    assert_eq!(
        kinds(&yaml, spec),
        [
            Kind::UnknownColumn,
            Kind::TokenColumnMissing,
            Kind::IncludedAndExcluded
        ]
    );
}

#[test]
fn missing_integer_id_is_an_error() {
    let k = kinds(
        &tree("    - :tags\n"),
        "projects: id\ntags: uuid project_id>projects",
    );
    assert_eq!(k, [Kind::MissingPrimaryKey]);
}

#[test]
fn top_level_relations_follow_their_references() {
    // issues listed first but reference milestones, which are top-level too
    let spec = "projects: id\nissues: id project_id>projects milestone_id?>milestones\nmilestones: id project_id>projects\nwebhooks: id project_id>projects";
    let p = plan(
        &tree("    - :issues\n    - :webhooks\n    - :milestones\n"),
        spec,
    );
    let order: Vec<_> = p.root.children.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(order, ["webhooks", "milestones", "issues"]);
    let tables = table_names(&p);
    assert_eq!(tables, ["projects", "webhooks", "milestones", "issues"]);
    assert!(p.table("milestones").expect("m").1.needs_id_map);
    assert!(!p.table("issues").expect("i").1.needs_id_map);
}

#[test]
fn cycles_between_top_level_relations_are_errors() {
    let spec = "projects: id
issues: id project_id>projects epic_id?>epics
epics: id project_id>projects issue_id?>issues";
    let (_, errors) = run(&tree("    - :issues\n    - :epics\n"), spec);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, Kind::Cycle);
    assert_eq!(
        errors[0].message,
        "top-level relations depend on each other in a cycle: `issues` → `epics` → `issues`"
    );
    assert_eq!(errors[0].notes.len(), 2);
}

#[test]
fn references_inside_one_subtree_are_deferred() {
    // merge_requests.latest_diff_id → merge_request_diffs, which are its children: allowed
    let spec = "projects: id\nmerge_requests: id project_id>projects latest_diff_id?>merge_request_diffs\n\
                merge_request_diffs: id merge_request_id>merge_requests\nissues: id project_id>projects duplicate_of_id?>issues";
    let p = plan(
        &tree("    - merge_requests:\n      - :merge_request_diffs\n    - :issues\n"),
        spec,
    );
    assert_eq!(
        table_names(&p),
        [
            "projects",
            "merge_requests",
            "merge_request_diffs",
            "issues"
        ]
    );
    assert!(p.table("merge_request_diffs").expect("d").1.needs_id_map);
    // self-reference: the table needs a map for its own rows
    assert!(p.table("issues").expect("i").1.needs_id_map);
}

#[test]
fn import_order_respects_polymorphic_targets() {
    let spec = "projects: id\nevents: id project_id>projects target_type? target_id?\nissues: id project_id>projects";
    let yaml = format!(
        "{}polymorphic:\n  events:\n    target: {{ Issue: issues }}\n",
        tree("    - :events\n    - :issues\n")
    );
    let p = plan(&yaml, spec);
    assert_eq!(table_names(&p), ["projects", "issues", "events"]);
    let order: Vec<_> = p.root.children.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(order, ["issues", "events"]);
    assert!(p.table("issues").expect("i").1.needs_id_map);
}

#[test]
fn import_only_tree_is_merged() {
    let spec = "projects: id\nissues: id project_id>projects\nissue_events: id issue_id>issues\nboards: id project_id>projects";
    let yaml = format!(
        "{}import_only_tree:\n  project:\n    - issues:\n      - :issue_events\n    - :boards\n",
        tree("    - :issues\n")
    );
    let p = plan(&yaml, spec);
    assert!(!node(&p, "issues").import_only);
    assert!(node(&p, "issues/issue_events").import_only);
    assert!(node(&p, "boards").import_only);
}

#[test]
fn node_settings() {
    let spec = "projects: id\nissues: id project_id>projects relative_position:int? title\nlabels: id project_id>projects color";
    let yaml = format!(
        "{}methods:\n  label: [:text_color]\nexport_reorders:\n  project:\n    issues:\n      relative_position: {{ direction: desc }}\n      id: {{ direction: asc, nulls_position: nulls_first }}\n\
         include_if_exportable:\n  project: [:issues]\npolicy_columns:\n  issues: [:title, :id, :title]\npreloads:\n  project: [:labels]\n",
        tree("    - :issues\n    - :labels\n")
    );
    let p = plan(&yaml, spec);
    let issues = node(&p, "issues");
    assert!(issues.conditional);
    // `id` first, once; then the listed columns, each once.
    assert_eq!(
        p.table("issues").expect("i").1.policy_columns,
        ["id", "title"]
    );
    assert!(p.table("labels").expect("l").1.policy_columns.is_empty());
    assert_eq!(
        issues.order,
        [
            OrderByIr {
                column: "relative_position".into(),
                descending: true,
                nulls_first: true
            },
            OrderByIr {
                column: "id".into(),
                descending: false,
                nulls_first: true
            },
        ]
    );
    assert_eq!(node(&p, "labels").methods, ["text_color"]);
    assert!(!node(&p, "labels").conditional);
}

#[test]
fn node_setting_errors() {
    let spec = "projects: id\nissues: id project_id>projects title";
    let yaml = format!(
        "{}methods:\n  labelz: [:text_color]\nexport_reorders:\n  project:\n    issues:\n      position: {{ direction: asc }}\n\
         include_if_exportable:\n  project: [:isues]\npreloads:\n  issues: [:notes]\n",
        tree("    - :issues\n")
    );
    assert_eq!(
        kinds(&yaml, spec),
        [
            Kind::MethodUnknownModel,
            Kind::ReorderUnknownColumn,
            Kind::UnknownConditionalRelation,
            Kind::UnknownPreload
        ]
    );
}

#[test]
fn policy_column_errors() {
    let spec = "projects: id\nissues: id project_id>projects title secret\nsnippets: id project_id>projects\nlabels: id project_id>projects";
    let yaml = |extra: &str| {
        format!(
            "{}excluded_attributes:\n  issues: [:secret]\ninclude_if_exportable:\n  project: [:issues, :snippets]\n{extra}",
            tree("    - :issues\n    - :snippets\n    - :labels\n")
        )
    };
    // Every conditional table says what its policy reads.
    let (_, errors) = run(&yaml("policy_columns:\n  issues: [:title]\n"), spec);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].kind, Kind::MissingKey);
    assert!(
        errors[0].message.contains("`snippets`"),
        "{}",
        errors[0].message
    );
    assert!(
        errors[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("policy_columns: { snippets:")),
        "{:?}",
        errors[0].help
    );
    // Unknown, unexported, and listed for a table no policy decides.
    assert_eq!(
        kinds(
            &yaml(
                "policy_columns:\n  issues: [:titel, :secret]\n  snippets: []\n  labels: [:id]\n"
            ),
            spec
        ),
        [Kind::UnknownColumn, Kind::ColumnNotExported, Kind::Conflict]
    );
}

#[test]
fn table_settings() {
    let spec = "projects: id\nlabels: id project_id>projects title\nuploads: id project_id>projects path\nmembers: id project_id>projects access_level:int user_id>users\nusers: id email admin:bool";
    let yaml = format!(
        "{}references:\n  users: {{ table: users, natural_keys: [email], admin_column: admin }}\nexisting_objects:\n  labels: [title]\n\
         uploads:\n  uploads: {{ path_column: path }}\naccess_levels:\n  members: access_level\nnot_exported:\n  users: shared\n",
        tree("    - :labels\n    - :uploads\n    - :members\n")
    );
    let p = plan(&yaml, spec);
    assert_eq!(p.table("labels").expect("l").1.existing_match, ["title"]);
    assert_eq!(
        p.table("uploads").expect("u").1.upload,
        Some(UploadIr {
            path_column: "path".into()
        })
    );
    assert_eq!(
        p.table("members").expect("m").1.access_level.as_deref(),
        Some("access_level")
    );
    assert_eq!(
        p.users,
        Some(UsersIr {
            table: "users".into(),
            natural_keys: vec!["email".into()],
            admin_column: Some("admin".into())
        })
    );
}

#[test]
fn a_table_named_by_two_entries() {
    let spec = "projects: id\nissues: id project_id>projects title body\n\
                uploads: id project_id>projects path alt\n\
                members: id project_id>projects access_level:int guest_level:int";
    let yaml = |extra: &str| {
        format!(
            "{}include_if_exportable:\n  project: [:issues]\npolicy_columns:\n  issue: [:title]\n  issues: [:body, :title]\n{extra}",
            tree("    - :issues\n    - :uploads\n    - :members\n")
        )
    };
    // policy_columns add up, as existing_objects and methods do.
    let same = "uploads:\n  upload: { path_column: path }\n  uploads: { path_column: path }\n\
                access_levels:\n  member: access_level\n  members: access_level\n";
    let p = plan(&yaml(same), spec);
    assert_eq!(
        p.table("issues").expect("i").1.policy_columns,
        ["id", "title", "body"]
    );
    // One column per table for uploads and access_levels: a second, different one is an error
    // that points at both.
    let different = "uploads:\n  upload: { path_column: path }\n  uploads: { path_column: alt }\n\
                     access_levels:\n  member: access_level\n  members: guest_level\n";
    let (plan, errors) = run(&yaml(different), spec);
    assert!(plan.is_none());
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.kind, e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                Kind::Conflict,
                "`uploads` names two columns of `uploads`: `path` and `alt`"
            ),
            (
                Kind::Conflict,
                "`access_levels` names two columns of `members`: `access_level` and `guest_level`"
            ),
        ]
    );
}

#[test]
fn polymorphic_declaration_errors() {
    let spec = "projects: id\nnotes: id project_id>projects noteable_type noteable_id";
    let yaml = format!(
        "{}polymorphic:\n  notes:\n    noteable: {{ Issue: isues }}\n    target: {{ Issue: projects }}\n",
        tree("    - :notes\n")
    );
    assert_eq!(
        kinds(&yaml, spec),
        [
            Kind::PolymorphicUnknownTable,
            Kind::PolymorphicMissingColumn,
            Kind::PolymorphicMissingColumn
        ]
    );
}

#[test]
fn duplicate_relations_and_root_errors() {
    let spec = "projects: id\nissues: id project_id>projects";
    assert_eq!(
        kinds(&tree("    - :issues\n    - :issues\n"), spec),
        [Kind::DuplicateRelation]
    );
    assert_eq!(
        kinds(
            "format_version: 1\ntree:\n  project:\n    - :issues\n",
            spec
        ),
        [Kind::RootMissing]
    );
    assert_eq!(
        kinds(
            "format_version: 1\nroot: projekt\ntree:\n  project:\n    - :issues\n",
            spec
        ),
        [Kind::RootMissing]
    );
    assert_eq!(
        kinds("root: project\ntree:\n  project: []\n", spec),
        [Kind::MissingKey]
    );
}

#[test]
fn every_problem_is_reported_in_one_pass() {
    let spec = "projects: id\nissues: id project_id>projects title";
    let yaml = format!(
        "{}included_attributes:\n  issues: [:nope]\nexcluded_attributes:\n  issue: [:neither]\nmethods:\n  nothing: [:x]\n",
        tree("    - :issues\n    - :missing\n")
    );
    assert_eq!(
        kinds(&yaml, spec),
        [
            Kind::UnknownAssociation,
            Kind::UnknownColumn,
            Kind::UnknownColumn,
            Kind::MethodUnknownModel
        ]
    );
}

#[test]
fn the_reference_config_resolves() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}/../{f}")).expect("reference file");
    let (config, errors) = parse_config(&read("import_export.yml"));
    assert!(errors.is_empty());
    let schema = Schema::from_json(&read("schema.snapshot.json")).expect("snapshot");
    let (plan, errors) = resolve(&config.expect("config"), &schema);
    assert!(errors.is_empty(), "{errors:#?}");
    let p = plan.expect("plan");
    assert_eq!(p.tables.len(), 23);
    assert_eq!(p.tables[0].name, "projects");
    // every table comes after the tables it references (except deferrable self/subtree refs)
    for (i, t) in p.tables.iter().enumerate() {
        for c in &t.columns {
            if let RoleIr::Reference { table } = c.role {
                assert!(table <= i, "{}.{} references a later table", t.name, c.name);
            }
        }
    }
    let with_maps: Vec<_> = p
        .tables
        .iter()
        .filter(|t| t.needs_id_map)
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        with_maps,
        [
            "labels",
            "milestones",
            "ci_pipelines",
            "issues",
            "merge_requests",
            "notes"
        ]
    );
    assert_eq!(
        node(&p, "issues/label_links/label").cardinality,
        Cardinality::BelongsTo
    );
    assert_eq!(p.schema_digest, schema_digest(&schema));
    assert_eq!(p.schema_digest.len(), 64);
}
