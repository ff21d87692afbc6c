//! The SQL of the COPY baseline: which rows of each table belong to the tenant, from the Plan.
//!
//! hoist's export walks the Plan's relation tree from the root row; the baseline selects exactly
//! the rows that walk reaches, with exactly the exported columns, so both move the same data.
//! Every node of the tree (except `import_only` ones, which are never exported) yields a subquery
//! of the ids of its rows, built from its parent's:
//!
//! | link | ids of the node's rows |
//! |---|---|
//! | root | `SELECT "id" FROM root WHERE "id" = <root id>` |
//! | `ChildFk { column }` (has_many, has_one) | `SELECT "id" FROM t WHERE column IN (<parent ids>)` |
//! | `Polymorphic { id_column, type_column, type_value }` | `… WHERE type_column = 'Type' AND id_column IN (<parent ids>)` |
//! | `ParentFk { column }` (belongs_to) | `SELECT column FROM parent WHERE "id" IN (<parent ids>)` |
//!
//! A table reached by several nodes (notes under issues, merge requests and snippets) selects
//! `"id" IN (<ids of node 1> UNION ALL <ids of node 2> …)`; rows reached twice (a label under
//! `labels` and under `label_links/label`) are copied once. `include_if_exportable` is not
//! applied: the bench exports as an administrator, for whom forge's policy passes every row.

use hoist::plan::{Link, Node, Plan};

use crate::scratch::quote_ident;

/// For each table of `plan` (by index), the subqueries selecting the ids of the tenant's rows
/// (empty for a table no exported node reads).
pub fn tenant_id_queries(plan: &Plan, root_id: i64) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new(); plan.tables.len()];
    let root_table = plan.table_of(&plan.root);
    let root_ids = format!(
        "SELECT \"id\" FROM {} WHERE \"id\" = {root_id}",
        quote_ident(root_table.name)
    );
    out[plan.root.table].push(root_ids.clone());
    for child in plan.root.children {
        walk(plan, &plan.root, child, &root_ids, &mut out);
    }
    out
}

fn walk(plan: &Plan, parent: &Node, node: &Node, parent_ids: &str, out: &mut [Vec<String>]) {
    if node.import_only {
        return;
    }
    let table = quote_ident(plan.table_of(node).name);
    let ids = match node.link {
        Link::ChildFk { column } => format!(
            "SELECT \"id\" FROM {table} WHERE {} IN ({parent_ids})",
            quote_ident(column)
        ),
        Link::Polymorphic {
            id_column,
            type_column,
            type_value,
        } => format!(
            "SELECT \"id\" FROM {table} WHERE {} = {} AND {} IN ({parent_ids})",
            quote_ident(type_column),
            quote_literal(type_value),
            quote_ident(id_column)
        ),
        Link::ParentFk { column } => format!(
            "SELECT {} FROM {} WHERE \"id\" IN ({parent_ids})",
            quote_ident(column),
            quote_ident(plan.table_of(parent).name)
        ),
        // Only the root has this link; a nested one would be a broken plan, and hoist's export
        // refuses it too. Select nothing rather than everything.
        Link::Root => format!("SELECT \"id\" FROM {table} WHERE false"),
    };
    out[node.table].push(ids.clone());
    for child in node.children {
        walk(plan, node, child, &ids, out);
    }
}

/// `COPY (SELECT <exported columns> FROM t WHERE "id" IN (…)) TO STDOUT` for table `index`, or
/// `None` when no exported node reads the table.
pub fn copy_out_statement(plan: &Plan, queries: &[Vec<String>], index: usize) -> Option<String> {
    let ids = queries.get(index).filter(|q| !q.is_empty())?;
    let table = &plan.tables[index];
    Some(format!(
        "COPY (SELECT {} FROM {} WHERE \"id\" IN ({})) TO STDOUT",
        column_list(plan, index),
        quote_ident(table.name),
        ids.join(" UNION ALL ")
    ))
}

/// `COPY t (<exported columns>) FROM STDIN` for table `index`.
pub fn copy_in_statement(plan: &Plan, index: usize) -> String {
    format!(
        "COPY {} ({}) FROM STDIN",
        quote_ident(plan.tables[index].name),
        column_list(plan, index)
    )
}

fn column_list(plan: &Plan, index: usize) -> String {
    plan.tables[index]
        .columns
        .iter()
        .map(|c| quote_ident(c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A SQL string literal.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist::plan::{Cardinality, Column, LogicalType, Role, Table};

    const fn col(name: &'static str, role: Role) -> Column {
        Column {
            name,
            ty: LogicalType::Integer,
            nullable: false,
            role,
        }
    }

    const fn table(name: &'static str, columns: &'static [Column]) -> Table {
        Table {
            name,
            columns,
            needs_id_map: false,
            existing_match: &[],
            tokens: &[],
            upload: None,
            access_level: None,
            policy_columns: &[],
            user_unique: &[],
        }
    }

    const fn node(
        name: &'static str,
        table: usize,
        cardinality: Cardinality,
        link: Link,
        children: &'static [Node],
    ) -> Node {
        Node {
            name,
            table,
            cardinality,
            link,
            order: &[],
            methods: &[],
            conditional: false,
            import_only: false,
            children,
        }
    }

    static TINY: Plan = Plan {
        format_version: 1,
        schema_digest: "test",
        tables: &[
            table("projects", &[col("id", Role::PrimaryKey)]),
            table(
                "tags",
                &[
                    col("id", Role::PrimaryKey),
                    col("project_id", Role::Reference { table: 0 }),
                ],
            ),
            table(
                "issues",
                &[
                    col("id", Role::PrimaryKey),
                    col("project_id", Role::Reference { table: 0 }),
                    col("tag_id", Role::Reference { table: 1 }),
                ],
            ),
            table(
                "notes",
                &[
                    col("id", Role::PrimaryKey),
                    col("noteable_type", Role::PolymorphicType),
                    col(
                        "noteable_id",
                        Role::PolymorphicId {
                            type_column: "noteable_type",
                            targets: &[("Issue", 2)],
                        },
                    ),
                ],
            ),
        ],
        root: node(
            "project",
            0,
            Cardinality::Root,
            Link::Root,
            &[
                node(
                    "tags",
                    1,
                    Cardinality::HasMany,
                    Link::ChildFk {
                        column: "project_id",
                    },
                    &[],
                ),
                node(
                    "issues",
                    2,
                    Cardinality::HasMany,
                    Link::ChildFk {
                        column: "project_id",
                    },
                    &[
                        node(
                            "tag",
                            1,
                            Cardinality::BelongsTo,
                            Link::ParentFk { column: "tag_id" },
                            &[],
                        ),
                        node(
                            "notes",
                            3,
                            Cardinality::HasMany,
                            Link::Polymorphic {
                                id_column: "noteable_id",
                                type_column: "noteable_type",
                                type_value: "Issue",
                            },
                            &[],
                        ),
                        Node {
                            import_only: true,
                            ..node(
                                "legacy_notes",
                                3,
                                Cardinality::HasMany,
                                Link::ChildFk { column: "legacy" },
                                &[],
                            )
                        },
                    ],
                ),
            ],
        ),
        users: None,
    };

    #[test]
    fn every_link_kind_becomes_a_subquery() {
        let q = tenant_id_queries(&TINY, 7);
        let statements: Vec<String> = (0..TINY.tables.len())
            .map(|i| copy_out_statement(&TINY, &q, i).unwrap())
            .collect();
        insta::assert_snapshot!(statements.join("\n"), @r#"
        COPY (SELECT "id" FROM "projects" WHERE "id" IN (SELECT "id" FROM "projects" WHERE "id" = 7)) TO STDOUT
        COPY (SELECT "id", "project_id" FROM "tags" WHERE "id" IN (SELECT "id" FROM "tags" WHERE "project_id" IN (SELECT "id" FROM "projects" WHERE "id" = 7) UNION ALL SELECT "tag_id" FROM "issues" WHERE "id" IN (SELECT "id" FROM "issues" WHERE "project_id" IN (SELECT "id" FROM "projects" WHERE "id" = 7)))) TO STDOUT
        COPY (SELECT "id", "project_id", "tag_id" FROM "issues" WHERE "id" IN (SELECT "id" FROM "issues" WHERE "project_id" IN (SELECT "id" FROM "projects" WHERE "id" = 7))) TO STDOUT
        COPY (SELECT "id", "noteable_type", "noteable_id" FROM "notes" WHERE "id" IN (SELECT "id" FROM "notes" WHERE "noteable_type" = 'Issue' AND "noteable_id" IN (SELECT "id" FROM "issues" WHERE "project_id" IN (SELECT "id" FROM "projects" WHERE "id" = 7)))) TO STDOUT
        "#);
        assert_eq!(
            copy_in_statement(&TINY, 3),
            r#"COPY "notes" ("id", "noteable_type", "noteable_id") FROM STDIN"#
        );
    }

    #[test]
    fn import_only_nodes_are_not_exported() {
        let q = tenant_id_queries(&TINY, 1);
        assert_eq!(q[3].len(), 1, "{:?}", q[3]);
        assert!(!q[3][0].contains("legacy"));
    }

    #[test]
    fn literals_are_quoted() {
        assert_eq!(quote_literal("O'Brien"), "'O''Brien'");
    }

    /// forge's plan: every exported table is reached, the shared notes table by its three parents,
    /// labels by the top-level relation and by `label_links/label`.
    #[test]
    fn forge_tables_are_all_reached() {
        let plan = &forge::tenant::PLAN;
        let q = tenant_id_queries(plan, 1);
        for (i, t) in plan.tables.iter().enumerate() {
            assert!(!q[i].is_empty(), "table {} is not reached", t.name);
        }
        let (notes, _) = plan.table("notes").unwrap();
        assert_eq!(q[notes].len(), 3, "{:#?}", q[notes]);
        let (labels, _) = plan.table("labels").unwrap();
        assert_eq!(q[labels].len(), 3, "{:#?}", q[labels]);
    }
}
