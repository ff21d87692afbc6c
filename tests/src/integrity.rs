//! Internal consistency of an archive, checked by walking the plan's roles: every reference,
//! polymorphic reference and user reference of every record points at a record present in the
//! archive (or at the root, or at a user of `users.ndjson`); nested records agree with the record
//! they hang from; no id appears twice; the manifest's counts equal the records; no token and no
//! key outside the plan travels.

use std::collections::{BTreeMap, BTreeSet};

use forge::tenant::PLAN;
use hoist::export::UPLOAD_KEY;
use hoist::plan::{Cardinality, Column, Link, Role};
use serde_json::Value as Json;

use crate::archive::{Contents, Record, Visit};

/// Every problem found in `contents` (empty: consistent).
pub fn problems(contents: &Contents) -> Vec<String> {
    let mut problems = Vec::new();
    let root_id = contents.root.get("id").and_then(Json::as_i64);
    if root_id.is_none() {
        problems.push("the root record has no integer id".to_string());
    }
    let users: BTreeSet<i64> = contents
        .users
        .iter()
        .filter_map(|u| u.get("id").and_then(Json::as_i64))
        .collect();

    // Ids per table (belongs_to records repeat rows of another relation: checked separately).
    let mut ids: Vec<BTreeMap<i64, u32>> = PLAN.tables.iter().map(|_| BTreeMap::new()).collect();
    let mut belongs: Vec<(String, usize, Option<i64>)> = Vec::new();
    contents.walk(|v| {
        let id = v.record.get("id").and_then(Json::as_i64);
        if v.node.cardinality == Cardinality::BelongsTo {
            belongs.push((v.path.clone(), v.node.table, id));
        } else if let Some(id) = id {
            *ids[v.node.table].entry(id).or_default() += 1;
        }
    });
    for (table, seen) in PLAN.tables.iter().zip(&ids) {
        for (id, n) in seen {
            if *n > 1 {
                problems.push(format!("{} #{id} appears {n} times", table.name));
            }
        }
    }
    for (path, table, id) in &belongs {
        match id {
            Some(id) if ids[*table].contains_key(id) => {}
            _ => problems.push(format!(
                "{path}: belongs_to record {id:?} is not a {} record of the archive",
                PLAN.tables[*table].name
            )),
        }
    }

    let resolves = |table: usize, id: i64| -> bool {
        if table == PLAN.root.table {
            Some(id) == root_id
        } else {
            ids[table].contains_key(&id)
        }
    };

    contents.walk(|v| check_record(v, &resolves, &users, &mut problems));

    // Manifest counts against the records.
    let counted = contents.relation_counts();
    let declared: BTreeMap<String, u64> = contents
        .manifest
        .relations
        .iter()
        .map(|(k, v)| (k.clone(), v.records))
        .collect();
    for path in counted
        .keys()
        .chain(declared.keys())
        .collect::<BTreeSet<_>>()
    {
        let (c, d) = (counted.get(path), declared.get(path));
        if c.copied().unwrap_or(0) != d.copied().unwrap_or(0) {
            problems.push(format!(
                "manifest counts {d:?} records of {path}, the archive holds {c:?}"
            ));
        }
    }
    problems
}

/// Panic with the problems of `contents`, if any.
pub fn assert_consistent(contents: &Contents, what: &str) {
    let problems = problems(contents);
    assert!(
        problems.is_empty(),
        "{what} is not consistent ({} problems):\n  {}",
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

fn check_record(
    v: &Visit<'_>,
    resolves: &dyn Fn(usize, i64) -> bool,
    users: &BTreeSet<i64>,
    problems: &mut Vec<String>,
) {
    let table = PLAN.table_of(v.node);
    let record = v.record;
    let id = record.get("id").and_then(Json::as_i64);
    let at = format!(
        "{} {} #{}",
        v.path,
        table.name,
        id.map_or("?".into(), |i| i.to_string())
    );
    if id.is_none() {
        problems.push(format!("{at}: no integer id"));
    }

    // Keys: exported columns, child relations, methods, the upload hash; never a token.
    for key in record.keys() {
        let known = table.column(key).is_some()
            || v.node.children.iter().any(|c| c.name == key)
            || v.node.methods.contains(&key.as_str())
            || (table.upload.is_some() && key == UPLOAD_KEY);
        if table.tokens.contains(&key.as_str()) {
            problems.push(format!("{at}: token column {key} travels in the archive"));
        } else if !known {
            problems.push(format!("{at}: key {key} is not in the plan"));
        }
    }

    // The nesting agrees with the record it hangs from.
    if let Some((_, parent)) = v.parent {
        let parent_id = parent.get("id").and_then(Json::as_i64);
        match v.node.link {
            Link::ChildFk { column } => {
                if record.get(column).and_then(Json::as_i64) != parent_id {
                    problems.push(format!(
                        "{at}: {column} is not its parent's id {parent_id:?}"
                    ));
                }
            }
            Link::Polymorphic {
                id_column,
                type_column,
                type_value,
            } => {
                if record.get(id_column).and_then(Json::as_i64) != parent_id
                    || record.get(type_column).and_then(Json::as_str) != Some(type_value)
                {
                    problems.push(format!(
                        "{at}: {type_column}/{id_column} is not its parent {type_value} {parent_id:?}"
                    ));
                }
            }
            Link::ParentFk { column } => {
                if parent.get(column).and_then(Json::as_i64) != id {
                    problems.push(format!("{at}: the parent's {column} does not name it"));
                }
            }
            Link::Root => {}
        }
    }

    // Every reference resolves.
    for column in table.columns {
        let value = record.get(column.name).unwrap_or(&Json::Null);
        check_reference(&at, record, column, value, resolves, users, problems);
    }
}

fn check_reference(
    at: &str,
    record: &Record,
    column: &Column,
    value: &Json,
    resolves: &dyn Fn(usize, i64) -> bool,
    users: &BTreeSet<i64>,
    problems: &mut Vec<String>,
) {
    let name = column.name;
    let is_reference = matches!(
        column.role,
        Role::Reference { .. } | Role::PolymorphicId { .. } | Role::UserReference
    );
    if !is_reference {
        return;
    }
    let Some(target_id) = value.as_i64() else {
        if !value.is_null() {
            problems.push(format!("{at}: {name} = {value} is not an integer"));
        } else if !column.nullable {
            problems.push(format!("{at}: {name} is null but NOT NULL"));
        }
        return;
    };
    match &column.role {
        Role::Reference { table } if !resolves(*table, target_id) => {
            problems.push(format!(
                "{at}: {name} = {target_id} dangles ({} not in the archive)",
                PLAN.tables[*table].name
            ));
        }
        Role::PolymorphicId {
            type_column,
            targets,
        } => {
            let ty = record
                .get(*type_column)
                .and_then(Json::as_str)
                .unwrap_or("");
            match targets.iter().find(|(t, _)| *t == ty) {
                None => problems.push(format!("{at}: {type_column} {ty:?} is not a declared type")),
                Some((_, table)) if !resolves(*table, target_id) => {
                    problems.push(format!(
                        "{at}: {type_column}/{name} = {ty} #{target_id} dangles"
                    ));
                }
                Some(_) => {}
            }
        }
        Role::UserReference if !users.contains(&target_id) => {
            problems.push(format!(
                "{at}: {name} = user #{target_id} is not in users.ndjson"
            ));
        }
        _ => {}
    }
}
