//! Import order, id maps and cycles.
//!
//! * Top-level relations: a relation comes after every other top-level relation that owns a table
//!   it references (outside its own subtree). Otherwise config order.
//! * Tables: a child after its parent, a belongs_to parent after its target, a table after the
//!   tables its references and polymorphic ids point to. Self-references and references between
//!   tables of one top-level relation's subtree may be deferred by the importer, so they only
//!   order tables when that causes no cycle.
//! * `needs_id_map`: tables referenced other than by the nesting.
//!
//! "Owned" tables of a top-level relation: the tables of its subtree reached through has_many /
//! has_one links (a belongs_to node points at rows owned elsewhere).

use super::{Ctx, RNode, RoleN, TableN};
use crate::diagnostics::{Diagnostic, Kind};
use crate::order::{self, Edge};
use crate::plan::{Cardinality, LinkIr};
use std::collections::{BTreeMap, BTreeSet};

/// The result of ordering.
pub(crate) struct Order {
    /// Table names in import order.
    pub tables: Vec<String>,
    /// Tables that need an old→new id map.
    pub id_maps: BTreeSet<String>,
}

/// A reference from a node's row: (target table, column, through a polymorphic id).
type Ref = (String, String, bool);

/// References of `node`'s rows other than its own link.
fn refs(node: &RNode, tables: &BTreeMap<String, TableN>) -> Vec<Ref> {
    let Some(t) = tables.get(&node.table) else {
        return Vec::new();
    };
    let link_column = match &node.link {
        LinkIr::ChildFk { column } => Some(column.as_str()),
        LinkIr::Polymorphic { id_column, .. } => Some(id_column.as_str()),
        LinkIr::Root | LinkIr::ParentFk { .. } => None,
    };
    let mut out = Vec::new();
    for c in &t.columns {
        if Some(c.name.as_str()) == link_column {
            continue;
        }
        match &c.role {
            RoleN::Reference(target) => out.push((target.clone(), c.name.clone(), false)),
            RoleN::PolymorphicId { targets, .. } => {
                for (_, target) in targets {
                    out.push((target.clone(), c.name.clone(), true));
                }
            }
            _ => {}
        }
    }
    out
}

/// Nodes of a top-level relation's subtree that own their rows (not below a belongs_to).
fn owned_nodes(top: &RNode) -> Vec<&RNode> {
    fn go<'a>(n: &'a RNode, out: &mut Vec<&'a RNode>) {
        if n.cardinality == Cardinality::BelongsTo {
            return;
        }
        out.push(n);
        for c in &n.children {
            go(c, out);
        }
    }
    let mut out = Vec::new();
    go(top, &mut out);
    out
}

impl Ctx<'_> {
    pub fn ordering(
        &mut self,
        mut root: RNode,
        tables: &BTreeMap<String, TableN>,
    ) -> Option<(RNode, Order)> {
        let root_table = root.table.clone();

        // --- top-level relations ---
        let owned: Vec<BTreeSet<String>> = root
            .children
            .iter()
            .map(|r| {
                owned_nodes(r)
                    .into_iter()
                    .map(|n| n.table.clone())
                    .collect()
            })
            .collect();
        let mut edges = Vec::new();
        let mut reasons: BTreeMap<(usize, usize), String> = BTreeMap::new();
        for (i, r) in root.children.iter().enumerate() {
            for n in owned_nodes(r) {
                for (target, column, _) in refs(n, tables) {
                    if target == root_table || owned[i].contains(&target) {
                        continue;
                    }
                    for (j, other) in owned.iter().enumerate() {
                        if j != i && other.contains(&target) {
                            edges.push(Edge {
                                from: i,
                                to: j,
                                deferrable: false,
                            });
                            reasons.entry((i, j)).or_insert_with(|| {
                                format!(
                                    "`{}` needs `{}` first: `{}.{column}` references `{target}`",
                                    r.name.value, root.children[j].name.value, n.table
                                )
                            });
                        }
                    }
                }
            }
        }
        let rank: Vec<usize> = (0..root.children.len()).collect();
        match order::topological(root.children.len(), &edges, &rank) {
            Ok(perm) => {
                let mut old: Vec<Option<RNode>> = std::mem::take(&mut root.children)
                    .into_iter()
                    .map(Some)
                    .collect();
                root.children = perm.into_iter().filter_map(|i| old[i].take()).collect();
            }
            Err(cycle) => {
                let names: Vec<&str> = cycle
                    .iter()
                    .map(|&i| root.children[i].name.value.as_str())
                    .collect();
                let mut d = Diagnostic::new(
                    Kind::Cycle,
                    format!(
                        "top-level relations depend on each other in a cycle: {} → `{}`",
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" → "),
                        names[0]
                    ),
                )
                .at(root.children[cycle[0]].name.span, "part of the cycle")
                .help("break the cycle: exclude one of the referencing columns, or move the relations under one top-level relation");
                for k in 0..cycle.len() {
                    let (a, b) = (cycle[k], cycle[(k + 1) % cycle.len()]);
                    if let Some(reason) = reasons.get(&(a, b)) {
                        d = d.note(reason.clone());
                    }
                }
                self.error(d);
                return None;
            }
        }

        // --- tables ---
        let mut names: Vec<String> = Vec::new();
        root.walk(&mut |n, _| {
            if !names.contains(&n.table) {
                names.push(n.table.clone());
            }
        });
        let index: BTreeMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let owned_by: Vec<BTreeSet<String>> = root
            .children
            .iter()
            .map(|r| {
                owned_nodes(r)
                    .into_iter()
                    .map(|n| n.table.clone())
                    .collect()
            })
            .collect();
        let share_owner =
            |a: &str, b: &str| owned_by.iter().any(|o| o.contains(a) && o.contains(b));
        let mut edges = Vec::new();
        let mut reasons: BTreeMap<(usize, usize), String> = BTreeMap::new();
        let mut add = |from: &str, to: &str, deferrable: bool, reason: String| {
            if let (Some(&f), Some(&t)) = (index.get(from), index.get(to)) {
                edges.push(Edge {
                    from: f,
                    to: t,
                    deferrable,
                });
                reasons.entry((f, t)).or_insert(reason);
            }
        };
        root.walk(&mut |n, parent| {
            let Some(p) = parent else { return };
            match &n.link {
                LinkIr::ChildFk { column } => add(
                    &n.table,
                    &p.table,
                    false,
                    format!(
                        "`{}.{column}` links `{}` to its parent `{}`",
                        n.table, n.name.value, p.table
                    ),
                ),
                LinkIr::Polymorphic { id_column, .. } => add(
                    &n.table,
                    &p.table,
                    false,
                    format!(
                        "`{}.{id_column}` links `{}` to its parent `{}`",
                        n.table, n.name.value, p.table
                    ),
                ),
                LinkIr::ParentFk { column } => add(
                    &p.table,
                    &n.table,
                    false,
                    format!(
                        "`{}.{column}` references `{}` (belongs_to `{}`)",
                        p.table, n.table, n.name.value
                    ),
                ),
                LinkIr::Root => {}
            }
        });
        for t in tables.values() {
            for c in &t.columns {
                let targets: Vec<&String> = match &c.role {
                    RoleN::Reference(target) => vec![target],
                    RoleN::PolymorphicId { targets, .. } => {
                        targets.iter().map(|(_, t)| t).collect()
                    }
                    _ => Vec::new(),
                };
                for target in targets {
                    let deferrable = share_owner(&t.name, target);
                    add(
                        &t.name,
                        target,
                        deferrable,
                        format!("`{}.{}` references `{target}`", t.name, c.name),
                    );
                }
            }
        }
        let rank: Vec<usize> = (0..names.len()).collect();
        let perm = match order::topological(names.len(), &edges, &rank) {
            Ok(perm) => perm,
            Err(cycle) => {
                let cyc: Vec<&str> = cycle.iter().map(|&i| names[i].as_str()).collect();
                let span = tables.get(cyc[0]).map(|t| t.span).unwrap_or(root.name.span);
                let mut d = Diagnostic::new(
                    Kind::Cycle,
                    format!(
                        "tables depend on each other in a cycle: {} → `{}`",
                        cyc.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" → "),
                        cyc[0]
                    ),
                )
                .at(span, "first relation on a table of the cycle")
                .help("break the cycle: exclude one of the referencing columns, or put the tables under one top-level relation so the importer can defer the reference");
                for k in 0..cycle.len() {
                    let (a, b) = (cycle[k], cycle[(k + 1) % cycle.len()]);
                    if let Some(reason) = reasons.get(&(a, b)) {
                        d = d.note(reason.clone());
                    }
                }
                self.error(d);
                return None;
            }
        };

        // --- id maps ---
        let mut id_maps = BTreeSet::new();
        root.walk(&mut |n, _| {
            if n.cardinality == Cardinality::BelongsTo {
                id_maps.insert(n.table.clone());
            }
            for (target, _, poly) in refs(n, tables) {
                if poly || target != root_table {
                    id_maps.insert(target);
                }
            }
        });

        Some((
            root,
            Order {
                tables: perm.into_iter().map(|i| names[i].clone()).collect(),
                id_maps,
            },
        ))
    }
}
