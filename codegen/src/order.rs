//! Dependency ordering: a stable topological sort that can defer some edges.
//!
//! Used for the import order of tables and of top-level relations. Among the items that are ready,
//! the one with the lowest rank (its position in the config) goes first, so the result follows the
//! config wherever dependencies allow.

use std::collections::BTreeSet;

/// `from` must come after `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    /// May be dropped when it is part of a cycle (the importer fills such references in a second
    /// step: self-references and references inside one top-level relation's subtree).
    pub deferrable: bool,
}

/// Order `0..n` so that every kept edge's `from` comes after its `to`; ties by `rank` (then index).
///
/// Self-edges are ignored. Deferrable edges that lie on a cycle (inside one strongly connected
/// component) are dropped; if a cycle remains, `Err` holds one cycle `[a, b, …]` (a after b after
/// … after a).
pub fn topological(n: usize, edges: &[Edge], rank: &[usize]) -> Result<Vec<usize>, Vec<usize>> {
    let mut sorted: Vec<Edge> = edges
        .iter()
        .copied()
        .filter(|e| e.from != e.to && e.from < n && e.to < n)
        .collect();
    sorted.sort();
    // One edge per (from, to); deferrable only if every duplicate is.
    let mut edges: Vec<Edge> = Vec::with_capacity(sorted.len());
    for e in sorted {
        match edges.last_mut() {
            Some(last) if last.from == e.from && last.to == e.to => last.deferrable &= e.deferrable,
            _ => edges.push(e),
        }
    }
    // Deferrable edges inside a strongly connected component are what make it cyclic; drop them
    // up front so the remaining order still follows rank.
    let comp = components(n, &edges);
    edges.retain(|e| !(e.deferrable && comp[e.from] == comp[e.to]));
    let key = |i: usize| (rank.get(i).copied().unwrap_or(usize::MAX), i);
    let mut pending = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in &edges {
        pending[e.from] += 1;
        dependents[e.to].push(e.from);
    }
    let mut ready: BTreeSet<(usize, usize)> =
        (0..n).filter(|&i| pending[i] == 0).map(key).collect();
    let mut placed = vec![false; n];
    let mut out = Vec::with_capacity(n);
    while let Some(&(r, i)) = ready.iter().next() {
        ready.remove(&(r, i));
        placed[i] = true;
        out.push(i);
        for &from in &dependents[i] {
            pending[from] -= 1;
            if pending[from] == 0 {
                ready.insert(key(from));
            }
        }
    }
    if out.len() < n {
        return Err(find_cycle(n, &edges, &placed));
    }
    Ok(out)
}

/// Strongly connected component id of each item (Tarjan, iterative).
fn components(n: usize, edges: &[Edge]) -> Vec<usize> {
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in edges {
        adj[e.from].push(e.to);
    }
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comp = vec![usize::MAX; n];
    let mut next_index = 0;
    let mut next_comp = 0;
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        // (node, next child position)
        let mut call: Vec<(usize, usize)> = vec![(start, 0)];
        index[start] = next_index;
        low[start] = next_index;
        next_index += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&mut (v, ref mut pos)) = call.last_mut() {
            if let Some(&w) = adj[v].get(*pos) {
                *pos += 1;
                if index[w] == usize::MAX {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = next_comp;
                    if w == v {
                        break;
                    }
                }
                next_comp += 1;
            }
        }
    }
    comp
}

fn find_cycle(n: usize, edges: &[Edge], placed: &[bool]) -> Vec<usize> {
    let Some(start) = (0..n).find(|&i| !placed[i]) else {
        return Vec::new();
    };
    let mut path = vec![start];
    let mut seen = vec![usize::MAX; n];
    seen[start] = 0;
    let mut current = start;
    // Every unplaced item still waits on an unplaced item, so this walk ends on a repeat.
    while let Some(next) = edges
        .iter()
        .find(|e| e.from == current && !placed[e.to])
        .map(|e| e.to)
    {
        if seen[next] != usize::MAX {
            return path.split_off(seen[next]);
        }
        seen[next] = path.len();
        path.push(next);
        current = next;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e(from: usize, to: usize) -> Edge {
        Edge {
            from,
            to,
            deferrable: false,
        }
    }

    #[test]
    fn follows_rank_where_free() {
        // 0 after 2; otherwise rank order 0,1,2
        let order = topological(3, &[e(0, 2)], &[0, 1, 2]);
        assert_eq!(order, Ok(vec![1, 2, 0]));
    }

    #[test]
    fn reports_a_cycle() {
        let err = topological(4, &[e(1, 2), e(2, 3), e(3, 1), e(0, 1)], &[0, 1, 2, 3]);
        let cycle = err.expect_err("cycle");
        assert_eq!(cycle.len(), 3);
        assert!(cycle.contains(&1) && cycle.contains(&2) && cycle.contains(&3));
    }

    #[test]
    fn defers_deferrable_edges_only_when_needed() {
        let d = |from, to| Edge {
            from,
            to,
            deferrable: true,
        };
        // 1 after 0 (hard), 0 after 1 (deferrable): cycle broken by deferring.
        assert_eq!(topological(2, &[e(1, 0), d(0, 1)], &[1, 0]), Ok(vec![0, 1]));
        // A deferrable edge outside a cycle is honoured.
        assert_eq!(topological(2, &[d(0, 1)], &[0, 1]), Ok(vec![1, 0]));
        assert_eq!(topological(1, &[e(0, 0)], &[0]), Ok(vec![0]));
    }

    proptest! {
        /// For random DAGs, the order is a permutation that respects every edge.
        #[test]
        fn respects_every_edge_of_random_dags(
            n in 1usize..24,
            seed_edges in proptest::collection::vec((0usize..24, 0usize..24), 0..80),
            perm_seed in proptest::collection::vec(0usize..1000, 24),
        ) {
            // A hidden order makes the graph acyclic: edges go from later to earlier in `hidden`.
            let mut hidden: Vec<usize> = (0..n).collect();
            hidden.sort_by_key(|&i| (perm_seed[i], i));
            let pos: Vec<usize> = {
                let mut p = vec![0; n];
                for (k, &i) in hidden.iter().enumerate() { p[i] = k; }
                p
            };
            let edges: Vec<Edge> = seed_edges
                .into_iter()
                .map(|(a, b)| (a % n, b % n))
                .filter(|(a, b)| pos[*a] > pos[*b])
                .map(|(a, b)| e(a, b))
                .collect();
            let rank: Vec<usize> = (0..n).rev().collect();
            let order = topological(n, &edges, &rank).expect("acyclic");
            let mut sorted = order.clone();
            sorted.sort();
            prop_assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            let mut at = vec![0; n];
            for (k, &i) in order.iter().enumerate() { at[i] = k; }
            for edge in &edges {
                prop_assert!(at[edge.from] > at[edge.to], "{:?} violated in {:?}", edge, order);
            }
        }
    }
}
