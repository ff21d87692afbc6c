//! `<model>` keys of the guard inputs → table names, the way the compiler reads them: a table
//! name, its singular, or a relation name used in the tree.

use crate::Compiled;
use crate::inflect;
use crate::schema::Schema;

/// Resolves model keys against the snapshot, the live schema and the plan's relations.
pub(crate) struct Names<'a> {
    compiled: &'a Compiled,
    live: &'a Schema,
}

impl<'a> Names<'a> {
    pub fn new(compiled: &'a Compiled, live: &'a Schema) -> Names<'a> {
        Names { compiled, live }
    }

    fn exists(&self, table: &str) -> bool {
        self.compiled.schema.table(table).is_some() || self.live.table(table).is_some()
    }

    /// The table a `<model>` key names, if any.
    pub fn table(&self, key: &str) -> Option<String> {
        if self.exists(key) {
            return Some(key.to_string());
        }
        let plural = inflect::pluralize(key);
        if self.exists(&plural) {
            return Some(plural);
        }
        let plan = &self.compiled.plan;
        plan.nodes()
            .into_iter()
            .find(|n| n.name == key)
            .and_then(|n| plan.tables.get(n.table))
            .map(|t| t.name.clone())
    }
}
