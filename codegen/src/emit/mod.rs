//! Emit: [`PlanIr`] → the Rust items of one tenant (pure; output is deterministic).
//!
//! ```text
//! pub const FORMAT_VERSION: u32;      pub const SCHEMA_DIGEST: &str;
//! pub static PLAN: Plan               the runtime's contract, as a literal
//! pub mod models                      one row struct per table (serde, sqlx::FromRow, TableRow)
//! pub mod records                     nested archive records
//! pub mod policy                      what each export policy reads (`policy_columns`)
//! pub trait Methods / ExportPolicy    typed app callbacks (`methods`, `include_if_exportable`)
//! pub fn hooks(&methods, &policy)     the runtime's `Hooks`, decoding rows for the typed traits
//! ```
//! Every path into the runtime goes through `::hoist::__private::v1`.

mod hooks;
mod models;
mod names;
mod plan_literal;
mod policy;
mod records;

use crate::plan::PlanIr;
use proc_macro2::TokenStream;
use quote::quote;

/// The generated items as tokens.
pub fn emit(plan: &PlanIr) -> TokenStream {
    let model_names = names::model_names(plan);
    let format_version = proc_macro2::Literal::u32_unsuffixed(plan.format_version);
    let digest = &plan.schema_digest;
    let plan_static = plan_literal::plan_static(plan);
    let models = models::models(plan, &model_names);
    let records = records::records(plan, &model_names);
    let policy = policy::policy(plan, &model_names);
    let hooks = hooks::hooks(plan, &model_names);
    quote! {
        /// Archive format version (`format_version` in import_export.yml).
        pub const FORMAT_VERSION: u32 = #format_version;

        /// sha256 of the schema snapshot this code was generated from (goes into each manifest).
        pub const SCHEMA_DIGEST: &str = #digest;

        #plan_static

        #models

        #records

        #policy

        #hooks
    }
}

/// Pretty-print generated tokens as a Rust file, after a `header` comment.
pub fn pretty(tokens: &TokenStream, header: &str) -> Result<String, syn::Error> {
    let file: syn::File = syn::parse2(tokens.clone())?;
    let mut out = String::from(header);
    out.push_str(&prettyplease::unparse(&file));
    Ok(out)
}
