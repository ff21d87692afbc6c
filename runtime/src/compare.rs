//! Compare two archives of the same plan for equivalence, ignoring what an import changes by design:
//! ids (replaced by their rank within their table), foreign keys (rewritten the same way), user ids
//! (replaced by the user's natural key), the order of `users.ndjson` (it follows the user ids of
//! the exporting database; users are compared as a set), upload paths (the file hash stays), and
//! root columns the caller names (e.g. a new `path`).
//!
//! Both archives are streamed side by side on their own threads; memory holds the ids of each table
//! and the referenced users, never the records.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde_json::{Map, Value as Json};

use crate::archive::{ArchiveError, ArchiveReader, Limits, StreamError};
use crate::events::{Event, stream};
use crate::plan::{Node, Plan, Role};

/// One record that differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// Relation path (`project/issues`), or `users`.
    pub relation: String,
    /// 1-based position of the record within its relation.
    pub position: u64,
    /// The first normalized JSON path that differs, with both values.
    pub detail: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} record {}: {}",
            self.relation, self.position, self.detail
        )
    }
}

/// Compare archives `a` and `b`; returns at most `max` differences (empty: equivalent).
/// `ignore_root` names root columns that may differ (e.g. `["path", "name"]`).
pub fn compare(
    plan: &'static Plan,
    a: &Path,
    b: &Path,
    ignore_root: &[&str],
    max: usize,
) -> Result<Vec<Difference>, ArchiveError> {
    let ignore: Vec<String> = ignore_root.iter().map(|s| s.to_string()).collect();
    let left = normalized(plan, a.to_path_buf(), ignore.clone());
    let right = normalized(plan, b.to_path_buf(), ignore);
    let mut out = Vec::new();
    let mut position: HashMap<String, u64> = HashMap::new();
    loop {
        let (l, r) = (left.recv(), right.recv());
        let (l, r) = match (l, r) {
            (Err(_), Err(_)) => break,
            (Ok(Err(e)), _) | (_, Ok(Err(e))) => return Err(e),
            (Ok(Ok(l)), Ok(Ok(r))) => (Some(l), Some(r)),
            (Ok(Ok(l)), Err(_)) => (Some(l), None),
            (Err(_), Ok(Ok(r))) => (None, Some(r)),
        };
        let relation = l
            .as_ref()
            .or(r.as_ref())
            .map(|x| x.0.clone())
            .unwrap_or_default();
        let pos = position.entry(relation.clone()).or_default();
        *pos += 1;
        let detail = match (&l, &r) {
            (Some((lr, _)), Some((rr, _))) if lr != rr => {
                Some(format!("relation order differs: {lr} vs {rr}"))
            }
            (Some((_, lv)), Some((_, rv))) => first_difference("", lv, rv),
            (Some(_), None) => Some("only in the first archive".into()),
            (None, Some(_)) => Some("only in the second archive".into()),
            (None, None) => None,
        };
        if let Some(detail) = detail {
            out.push(Difference {
                relation,
                position: *pos,
                detail,
            });
            if out.len() >= max {
                break;
            }
        }
    }
    Ok(out)
}

type Line = Result<(String, Json), ArchiveError>;

/// Stream the normalized records of one archive from a thread.
fn normalized(
    plan: &'static Plan,
    path: PathBuf,
    ignore_root: Vec<String>,
) -> mpsc::Receiver<Line> {
    let (tx, rx) = mpsc::sync_channel::<Line>(64);
    std::thread::spawn(move || {
        if let Err(e) = normalize_into(plan, &path, &ignore_root, &tx) {
            let _ = tx.send(Err(e));
        }
    });
    rx
}

fn normalize_into(
    plan: &'static Plan,
    path: &Path,
    ignore_root: &[String],
    tx: &mpsc::SyncSender<Line>,
) -> Result<(), ArchiveError> {
    let verified = ArchiveReader::verify(
        path,
        &Limits::default(),
        plan.format_version,
        plan.root.name,
    )?;
    // Pass 1: ids of every table, and users' natural keys.
    let mut ids: Vec<Vec<i64>> = plan.tables.iter().map(|_| Vec::new()).collect();
    let mut users: HashMap<i64, String> = HashMap::new();
    let scan = stream(
        &verified,
        |ev| -> Result<(), std::convert::Infallible> {
            match ev {
                Event::Root(obj) => collect(&plan.root, &Json::Object(obj), &mut ids),
                Event::Record {
                    relation, value, ..
                } => {
                    if let Some(n) = plan.root.children.iter().find(|n| n.name == relation) {
                        collect(n, &Json::Object(value), &mut ids);
                    }
                }
                Event::User { value } => {
                    if let Some(id) = value.get("id").and_then(Json::as_i64) {
                        let key = plan
                            .users
                            .as_ref()
                            .and_then(|u| u.natural_keys.first())
                            .and_then(|k| value.get(*k))
                            .map(|v| v.to_string())
                            .unwrap_or_default();
                        users.insert(id, key);
                    }
                }
                _ => {}
            }
            Ok(())
        },
        |_, _| Ok(()),
    );
    match scan {
        Ok(()) => {}
        Err(StreamError::Archive(e)) => return Err(e),
        Err(StreamError::Sink(never)) => match never {},
    }
    for list in &mut ids {
        list.sort_unstable();
        list.dedup();
    }
    let mut n = Normalizer {
        plan,
        ids: &ids,
        users: &users,
        seen: plan.tables.iter().map(|_| HashMap::new()).collect(),
    };
    // Pass 2: normalized records in archive order. Users are shared rows whose archive order
    // follows their ids in the exporting database, which an import does not keep: they are
    // compared as a set (sorted by their natural keys), sent where the users member ends.
    let root_name = plan.root.name;
    let mut users_seen: Vec<Json> = Vec::new();
    let send_users = |users: &mut Vec<Json>| -> Result<(), Closed> {
        let mut sorted: Vec<(String, Json)> = users.drain(..).map(|u| (u.to_string(), u)).collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, user) in sorted {
            tx.send(Ok(("users".to_string(), user)))
                .map_err(|_| Closed)?;
        }
        Ok(())
    };
    let result = stream(
        &verified,
        |ev| -> Result<(), Closed> {
            if !matches!(ev, Event::User { .. }) && !users_seen.is_empty() {
                send_users(&mut users_seen)?;
            }
            let item = match ev {
                Event::Root(obj) => {
                    let mut v = n.record(&plan.root, Json::Object(obj));
                    if let Json::Object(m) = &mut v {
                        for k in ignore_root {
                            m.remove(k);
                        }
                    }
                    Some((root_name.to_string(), v))
                }
                Event::Record {
                    relation, value, ..
                } => plan
                    .root
                    .children
                    .iter()
                    .find(|n| n.name == relation)
                    .map(|node| {
                        (
                            format!("{root_name}/{relation}"),
                            n.record(node, Json::Object(value)),
                        )
                    }),
                Event::User { mut value } => {
                    value.remove("id");
                    users_seen.push(Json::Object(value));
                    None
                }
                _ => None,
            };
            if let Some(item) = item {
                tx.send(Ok(item)).map_err(|_| Closed)?;
            }
            Ok(())
        },
        |_, _| Ok(()),
    );
    let result = result.and_then(|()| send_users(&mut users_seen).map_err(StreamError::Sink));
    match result {
        // The comparer stopped listening: it has seen enough.
        Ok(()) | Err(StreamError::Sink(Closed)) => Ok(()),
        Err(StreamError::Archive(e)) => Err(e),
    }
}

/// The receiving side hung up.
struct Closed;

fn collect(node: &Node, value: &Json, ids: &mut [Vec<i64>]) {
    let Json::Object(obj) = value else { return };
    if let Some(id) = obj.get("id").and_then(Json::as_i64) {
        ids[node.table].push(id);
    }
    for child in node.children {
        match obj.get(child.name) {
            Some(Json::Array(items)) => items.iter().for_each(|i| collect(child, i, ids)),
            Some(v @ Json::Object(_)) => collect(child, v, ids),
            _ => {}
        }
    }
}

/// Replaces ids by ranks. Tables with an id map keep the relative order of their ids through an
/// import, so their ids become their rank among all ids of the table; the importer numbers other
/// tables in archive order, so their ids become their order of appearance.
struct Normalizer<'a> {
    plan: &'static Plan,
    ids: &'a [Vec<i64>],
    users: &'a HashMap<i64, String>,
    /// Order of appearance of ids of tables without an id map.
    seen: Vec<HashMap<i64, usize>>,
}

impl Normalizer<'_> {
    fn rank(&mut self, table: usize, v: &Json) -> Json {
        if table == self.plan.root.table {
            return Json::String("root".into());
        }
        let name = self.plan.tables[table].name;
        if !self.plan.tables[table].needs_id_map {
            return match v.as_i64() {
                Some(id) => {
                    let next = self.seen[table].len() + 1;
                    let n = *self.seen[table].entry(id).or_insert(next);
                    Json::String(format!("{name}@{n}"))
                }
                None => v.clone(),
            };
        }
        match v.as_i64() {
            Some(id) => match self.ids[table].binary_search(&id) {
                Ok(i) => Json::String(format!("{}#{}", self.plan.tables[table].name, i + 1)),
                Err(_) => Json::String(format!("{}#missing", self.plan.tables[table].name)),
            },
            None => v.clone(),
        }
    }

    fn record(&mut self, node: &Node, value: Json) -> Json {
        let Json::Object(obj) = value else {
            return value;
        };
        let table = self.plan.table_of(node);
        let mut out = Map::new();
        for (k, v) in obj {
            let column = table.column(&k).map(|(_, c)| c);
            let child = node.children.iter().find(|c| c.name == k);
            let nv = match (column, child) {
                (_, Some(child)) => match v {
                    Json::Array(items) => {
                        Json::Array(items.into_iter().map(|i| self.record(child, i)).collect())
                    }
                    other => self.record(child, other),
                },
                (Some(c), None) => match &c.role {
                    Role::PrimaryKey => self.rank(node.table, &v),
                    Role::Reference { table } => self.rank(*table, &v),
                    // Ranked below, once the whole object (and so its type column) is known.
                    Role::PolymorphicId { .. } => v,
                    Role::UserReference => match v.as_i64() {
                        Some(id) => Json::String(
                            self.users
                                .get(&id)
                                .cloned()
                                .unwrap_or_else(|| format!("user#{id}")),
                        ),
                        None => v,
                    },
                    _ if table.upload.as_ref().is_some_and(|u| u.path_column == k) => {
                        Json::String("<upload path>".into())
                    }
                    _ => v,
                },
                (None, None) => v,
            };
            out.insert(k, nv);
        }
        // Polymorphic ids, ranked within the table their type names.
        for c in table.columns {
            if let Role::PolymorphicId {
                type_column,
                targets,
            } = &c.role
                && let (Some(Json::String(ty)), Some(v)) =
                    (out.get(*type_column).cloned(), out.get(c.name).cloned())
                && v.is_i64()
                && let Some((_, t)) = targets.iter().find(|(tv, _)| *tv == ty)
            {
                out.insert(c.name.to_string(), self.rank(*t, &v));
            }
        }
        Json::Object(out)
    }
}

/// The first path where two JSON values differ, with both sides.
fn first_difference(path: &str, a: &Json, b: &Json) -> Option<String> {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            for (k, va) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(&p, va, vb) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{p}: only in the first archive")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}: only in the second archive"))
        }
        (Json::Array(x), Json::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(&format!("{path}[{i}]"), va, vb) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{path}: {} items vs {}", x.len(), y.len()))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_difference_names_the_path() {
        let a = json!({"a": 1, "b": [{"c": "x"}]});
        let b = json!({"a": 1, "b": [{"c": "y"}]});
        assert_eq!(
            first_difference("", &a, &b).as_deref(),
            Some(".b[0].c: \"x\" vs \"y\"")
        );
        assert_eq!(first_difference("", &a, &a), None);
        assert!(first_difference("", &json!({"a": 1}), &json!({})).is_some());
        assert!(first_difference("", &json!([1]), &json!([1, 2])).is_some());
    }
}
