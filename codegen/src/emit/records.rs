//! `pub mod records`: the archive's nested record types.
//!
//! One record type per distinct shape (table + methods + sub-relations, recursively): the notes
//! under issues and under merge requests share `NoteRecord` when they nest the same relations. A
//! table with a single shape names its record `<Model>Record`; a table with several shapes names
//! each by the path of its first occurrence (`IssueLabelLinkLabelRecord`), the root keeping
//! `<Model>Record`. The root record holds only the root row and its methods (`tree/<root>.json`);
//! each top-level relation's records are the lines of `tree/<root>/<relation>.ndjson`.

use super::names;
use crate::inflect;
use crate::plan::{Cardinality, NodeIr, PlanIr};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

struct Record {
    key: String,
    table: usize,
    methods: Vec<String>,
    /// (relation name, cardinality, record index)
    children: Vec<(String, Cardinality, usize)>,
    /// Paths (`project/issues/notes`) using this shape.
    paths: Vec<String>,
    first_path: Vec<String>,
    is_root: bool,
}

struct Builder {
    records: Vec<Record>,
    by_key: BTreeMap<String, usize>,
}

impl Builder {
    fn visit(&mut self, n: &NodeIr, path: &[String], is_root: bool) -> usize {
        let mut path = path.to_vec();
        path.push(n.name.clone());
        let children: Vec<(String, Cardinality, usize)> = if is_root {
            Vec::new()
        } else {
            n.children
                .iter()
                .map(|c| (c.name.clone(), c.cardinality, self.visit(c, &path, false)))
                .collect()
        };
        let key = format!(
            "{}|{}|{}",
            n.table,
            n.methods.join(","),
            children
                .iter()
                .map(|(name, card, idx)| format!("{name}:{card:?}:{}", self.records[*idx].key))
                .collect::<Vec<_>>()
                .join(";")
        );
        let joined = path.join("/");
        if let Some(&i) = self.by_key.get(&key) {
            self.records[i].paths.push(joined);
            self.records[i].is_root |= is_root;
            return i;
        }
        let i = self.records.len();
        self.records.push(Record {
            key: key.clone(),
            table: n.table,
            methods: n.methods.clone(),
            children,
            paths: vec![joined],
            first_path: path,
            is_root,
        });
        self.by_key.insert(key, i);
        i
    }
}

/// Record type names, in record order.
fn record_names(records: &[Record], models: &[String]) -> Vec<String> {
    let mut shapes_per_table: BTreeMap<usize, usize> = BTreeMap::new();
    for r in records {
        *shapes_per_table.entry(r.table).or_default() += 1;
    }
    let mut out: Vec<String> = Vec::new();
    for r in records {
        let model = models.get(r.table).cloned().unwrap_or_default();
        let base = if r.is_root || shapes_per_table.get(&r.table) == Some(&1) {
            format!("{model}Record")
        } else {
            let parts: String = r
                .first_path
                .iter()
                .skip(1)
                .map(|p| inflect::type_name(p))
                .collect();
            format!("{parts}Record")
        };
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

/// `pub mod records { … }`.
pub fn records(plan: &PlanIr, models: &[String]) -> TokenStream {
    let mut b = Builder {
        records: Vec::new(),
        by_key: BTreeMap::new(),
    };
    b.visit(&plan.root, &[], true);
    for c in &plan.root.children {
        b.visit(c, std::slice::from_ref(&plan.root.name), false);
    }
    let names = record_names(&b.records, models);
    let items = b.records.iter().zip(&names).map(|(r, name)| {
        let ident = names::type_ident(name);
        let model = names::type_ident(models.get(r.table).map(String::as_str).unwrap_or("Unknown"));
        let taken: Vec<&str> = r
            .methods
            .iter()
            .map(String::as_str)
            .chain(r.children.iter().map(|(n, _, _)| n.as_str()))
            .collect();
        let row_field = ["row", "row_", "__row"]
            .into_iter()
            .find(|f| !taken.contains(f))
            .unwrap_or("__row");
        let row_ident = names::ident(row_field);
        let methods = r.methods.iter().map(|m| {
            let (f, rename) = names::field(m);
            let rename = rename.map(|r| quote!(#[serde(rename = #r)]));
            let doc = format!(" Computed value of method `{m}` (`methods:` in import_export.yml).");
            quote! {
                #[doc = #doc]
                #[serde(default, skip_serializing_if = "Option::is_none")]
                #rename
                pub #f: Option<__hoist::serde_json::Value>
            }
        });
        let children = r.children.iter().map(|(rel, card, idx)| {
            let (f, rename) = names::field(rel);
            let rename = rename.map(|r| quote!(#[serde(rename = #r)]));
            let child = names::type_ident(&names[*idx]);
            let (ty, what) = match card {
                Cardinality::HasMany => (quote!(Vec<#child>), "has_many"),
                _ => (quote!(Option<Box<#child>>), if *card == Cardinality::BelongsTo { "belongs_to" } else { "has_one" }),
            };
            let doc = format!(" Relation `{rel}` ({what}).");
            quote! {
                #[doc = #doc]
                #[serde(default)]
                #rename
                pub #f: #ty
            }
        });
        let mut doc = if r.is_root {
            format!(" The root record (`tree/{}.json`).", plan.root.name)
        } else {
            String::from(" A record of the archive tree.")
        };
        let paths: Vec<&String> = r.paths.iter().filter(|p| p.contains('/')).collect();
        if !paths.is_empty() {
            doc.push_str(&format!(
                " Used at: {}.",
                paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq, __hoist::serde::Serialize, __hoist::serde::Deserialize)]
            #[serde(crate = "::hoist::__private::v1::serde")]
            pub struct #ident {
                /// The row's exported columns.
                #[serde(flatten)]
                pub #row_ident: super::models::#model,
                #(#methods,)*
                #(#children,)*
            }
        }
    });
    quote! {
        /// The archive's records: a row with its computed methods and nested relations, as stored in
        /// `tree/*.json` and `tree/*/*.ndjson`.
        pub mod records {
            #[allow(unused_imports)]
            use ::hoist::__private::v1 as __hoist;

            #(#items)*
        }
    }
}
