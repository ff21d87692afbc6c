//! `pub mod models`: one row struct per plan table, with serde, sqlx `FromRow` and hoist
//! `TableRow` impls.

use super::names;
use crate::plan::{ColumnIr, PlanIr, RoleIr, TableIr};
use crate::schema::LogicalType;
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use std::collections::BTreeSet;

/// The Rust type of a column (inside the generated modules, where `__hoist` is the runtime's
/// private surface and the prelude is not shadowed).
pub fn rust_type(c: &ColumnIr) -> TokenStream {
    let base = match c.ty {
        LogicalType::Integer => quote!(i64),
        LogicalType::Float => quote!(f64),
        LogicalType::Boolean => quote!(bool),
        LogicalType::Text => quote!(String),
        LogicalType::Timestamp => quote!(__hoist::chrono::DateTime<__hoist::chrono::Utc>),
        LogicalType::Json => quote!(__hoist::serde_json::Value),
        LogicalType::Binary => quote!(Vec<u8>),
    };
    if c.nullable {
        quote!(Option<#base>)
    } else {
        base
    }
}

/// Field idents of a table's columns (unique within the struct) and their serde renames.
pub fn fields(t: &TableIr) -> Vec<(Ident, Option<String>)> {
    let mut used = BTreeSet::new();
    t.columns
        .iter()
        .map(|c| {
            let (mut ident, mut rename) = names::field(&c.name);
            let mut n = 2;
            while !used.insert(ident.to_string()) {
                ident = names::ident(&format!(
                    "{}_{n}",
                    ident.to_string().trim_start_matches("r#")
                ));
                rename = Some(c.name.clone());
                n += 1;
            }
            (ident, rename)
        })
        .collect()
}

fn role_doc(plan: &PlanIr, c: &ColumnIr) -> String {
    let ty = c.ty.as_str();
    let null = if c.nullable { ", nullable" } else { "" };
    let role = match &c.role {
        RoleIr::Data => String::new(),
        RoleIr::PrimaryKey => "; primary key".into(),
        RoleIr::Reference { table } => format!(
            "; references `{}`",
            plan.tables
                .get(*table)
                .map(|t| t.name.as_str())
                .unwrap_or("?")
        ),
        RoleIr::PolymorphicId { type_column, .. } => {
            format!("; polymorphic id (type in `{type_column}`)")
        }
        RoleIr::PolymorphicType => "; polymorphic type".into(),
        RoleIr::UserReference => "; references a user".into(),
    };
    format!(" `{}` ({ty}{null}{role})", c.name)
}

fn model(plan: &PlanIr, index: usize, t: &TableIr, name: &str) -> TokenStream {
    let ident = names::type_ident(name);
    let table_name = &t.name;
    let fields = fields(t);
    let decls = t.columns.iter().zip(&fields).map(|(c, (f, rename))| {
        let ty = rust_type(c);
        let doc = role_doc(plan, c);
        let rename = rename.as_ref().map(|r| quote!(#[serde(rename = #r)]));
        // Timestamps and bytes travel in the archive's encoding, not serde's defaults.
        let with = match (c.ty, c.nullable) {
            (LogicalType::Timestamp, false) => Some("::hoist::__private::v1::serde_timestamp"),
            (LogicalType::Timestamp, true) => {
                Some("::hoist::__private::v1::serde_timestamp::option")
            }
            (LogicalType::Binary, false) => Some("::hoist::__private::v1::serde_hex"),
            (LogicalType::Binary, true) => Some("::hoist::__private::v1::serde_hex::option"),
            _ => None,
        }
        .map(|path| quote!(#[serde(with = #path)]));
        quote! {
            #[doc = #doc]
            #rename
            #with
            pub #f: #ty
        }
    });
    // One bound per distinct field type, in column order.
    let mut seen = BTreeSet::new();
    let bounds = t
        .columns
        .iter()
        .map(rust_type)
        .filter(|ty| seen.insert(ty.to_string()))
        .map(|ty| quote!(#ty: __hoist::sqlx::Decode<'r, R::Database> + __hoist::sqlx::Type<R::Database>))
        .collect::<Vec<_>>();
    let sqlx_gets = t.columns.iter().zip(&fields).map(|(c, (f, _))| {
        let col = &c.name;
        quote!(#f: __hoist::sqlx::Row::try_get(row, #col)?)
    });
    let hoist_gets = t
        .columns
        .iter()
        .zip(&fields)
        .enumerate()
        .map(|(i, (c, (f, _)))| {
            let col = &c.name;
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            quote!(#f: __hoist::column(row, #i, #table_name, #col)?)
        });
    let puts = fields
        .iter()
        .map(|(f, _)| quote!(__hoist::IntoValue::into_value(self.#f)));
    let doc = format!(
        " A row of `{table_name}`: its exported columns, in plan order (`PLAN.tables[{index}]`)."
    );
    let index_lit = proc_macro2::Literal::usize_unsuffixed(index);
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, __hoist::serde::Serialize, __hoist::serde::Deserialize)]
        #[serde(crate = "::hoist::__private::v1::serde")]
        pub struct #ident {
            #(#decls,)*
        }

        impl #ident {
            /// Index of this table in `PLAN.tables`.
            pub const TABLE_INDEX: usize = #index_lit;
        }

        impl<'r, R: __hoist::sqlx::Row> __hoist::sqlx::FromRow<'r, R> for #ident
        where
            &'r str: __hoist::sqlx::ColumnIndex<R>,
            #(#bounds,)*
        {
            fn from_row(row: &'r R) -> __hoist::sqlx::Result<Self> {
                Ok(Self { #(#sqlx_gets,)* })
            }
        }

        impl __hoist::TableRow for #ident {
            const TABLE: &'static str = #table_name;

            fn from_row(row: &__hoist::Row) -> Result<Self, __hoist::RowError> {
                Ok(Self { #(#hoist_gets,)* })
            }

            fn into_row(self) -> __hoist::Row {
                vec![#(#puts),*]
            }
        }
    }
}

/// `pub mod models { … }`.
pub fn models(plan: &PlanIr, names: &[String]) -> TokenStream {
    let items = plan
        .tables
        .iter()
        .zip(names)
        .enumerate()
        .map(|(i, (t, n))| model(plan, i, t, n));
    quote! {
        /// Typed rows: one struct per tenant table with its exported columns, in plan order.
        pub mod models {
            #[allow(unused_imports)]
            use ::hoist::__private::v1 as __hoist;

            #(#items)*
        }
    }
}
