//! `pub mod policy`: per table of an `include_if_exportable` relation, the row its export policy
//! sees — `id` and the columns listed under `policy_columns`, nothing else. The export reads just
//! these columns in its policy pass, so a policy costs a narrow scan instead of a second full read.

use super::models::{fields, rust_type};
use super::names;
use crate::plan::PlanIr;
use proc_macro2::TokenStream;
use quote::quote;

/// `pub mod policy { … }`, or nothing when no relation is conditional.
pub fn policy(plan: &PlanIr, models: &[String]) -> TokenStream {
    let with_policy = plan
        .tables
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.policy_columns.is_empty());
    let items = with_policy.map(|(index, t)| {
        let ident = names::type_ident(&models[index]);
        let table_name = &t.name;
        let all = fields(t);
        let picked: Vec<_> = t
            .policy_columns
            .iter()
            .filter_map(|name| {
                let i = t.columns.iter().position(|c| &c.name == name)?;
                Some((&t.columns[i], &all[i].0))
            })
            .collect();
        let decls = picked.iter().map(|(c, f)| {
            let ty = rust_type(c);
            let doc = format!(" `{}`", c.name);
            quote! {
                #[doc = #doc]
                pub #f: #ty
            }
        });
        let gets = picked.iter().enumerate().map(|(i, (c, f))| {
            let col = &c.name;
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            quote!(#f: __hoist::column(row, #i, #table_name, #col)?)
        });
        let doc = format!(
            " What the export policy sees of one `{table_name}` row: `id` and `policy_columns.{table_name}`."
        );
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq)]
            pub struct #ident {
                #(#decls,)*
            }

            impl #ident {
                /// Decode a row of the policy columns, in `PLAN` order (`Table::policy_columns`).
                #[doc(hidden)]
                pub fn __from_row(row: &__hoist::Row) -> Result<Self, __hoist::RowError> {
                    Ok(Self { #(#gets,)* })
                }
            }
        }
    });
    let items: Vec<_> = items.collect();
    if items.is_empty() {
        return TokenStream::new();
    }
    quote! {
        /// What each `include_if_exportable` policy reads: one struct per table, with `id` and the
        /// table's `policy_columns`.
        pub mod policy {
            #[allow(unused_imports)]
            use ::hoist::__private::v1 as __hoist;

            #(#items)*
        }
    }
}
