//! The app-facing traits (`Methods`, `ExportPolicy`) and `hooks()`, the glue that implements the
//! runtime's untyped `Hooks` by decoding rows into model structs and calling the typed traits.

use super::names;
use crate::plan::PlanIr;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::collections::BTreeMap;

/// One typed callback: (table index, archive name, fn name).
struct Callback {
    table: usize,
    name: String,
    func: String,
}

fn methods(plan: &PlanIr) -> Vec<Callback> {
    let mut seen = BTreeMap::new();
    for n in plan.nodes() {
        for m in &n.methods {
            seen.entry((n.table, m.clone())).or_insert_with(|| {
                let table = &plan.tables[n.table].name;
                format!("{table}_{m}")
            });
        }
    }
    seen.into_iter()
        .map(|((table, name), func)| Callback { table, name, func })
        .collect()
}

fn conditionals(plan: &PlanIr) -> Vec<Callback> {
    let mut pairs: Vec<(usize, String)> = Vec::new();
    for n in plan.nodes() {
        if n.conditional && !pairs.iter().any(|(t, r)| *t == n.table && *r == n.name) {
            pairs.push((n.table, n.name.clone()));
        }
    }
    pairs
        .iter()
        .map(|(table, rel)| {
            let unique = pairs.iter().filter(|(_, r)| r == rel).count() == 1;
            let func = if unique {
                rel.clone()
            } else {
                format!("{rel}_{}", plan.tables[*table].name)
            };
            Callback {
                table: *table,
                name: rel.clone(),
                func,
            }
        })
        .collect()
}

/// `Methods`, `ExportPolicy` and `hooks()`.
pub fn hooks(plan: &PlanIr, models: &[String]) -> TokenStream {
    let v1 = quote!(::hoist::__private::v1);
    let model = |t: usize| {
        let m = names::type_ident(&models[t]);
        quote!(self::models::#m)
    };

    let methods = methods(plan);
    let method_fns = methods.iter().map(|c| {
        let f = names::ident(&c.func);
        let m = model(c.table);
        let doc = format!(
            " The value exported under `{}` for each `{}` row (`methods: {{ {}: [:{}] }}`).",
            c.name, plan.tables[c.table].name, plan.tables[c.table].name, c.name
        );
        quote! {
            #[doc = #doc]
            fn #f(&self, row: &#m) -> #v1::serde_json::Value;
        }
    });
    let methods_trait = if methods.is_empty() {
        quote! {
            /// Computed values of `methods:`; the config declares none, so every type implements it.
            pub trait Methods {}
            impl<T: ?Sized> Methods for T {}
        }
    } else {
        quote! {
            /// Computed values exported under the names listed in `methods:`, one fn per (model, method).
            #[diagnostic::on_unimplemented(
                message = "`{Self}` does not compute the values declared under `methods:`",
                note = "declared under `methods:` in import_export.yml; implement one fn per model and method"
            )]
            pub trait Methods {
                #(#method_fns)*
            }
        }
    };

    let conds = conditionals(plan);
    let policy_row = |t: usize| {
        let m = names::type_ident(&models[t]);
        quote!(self::policy::#m)
    };
    let policy_fns = conds.iter().map(|c| {
        let f = names::ident(&c.func);
        let m = policy_row(c.table);
        let doc = format!(
            " Whether one `{}` record may be exported for the exporting user (`include_if_exportable`).",
            c.name
        );
        quote! {
            #[doc = #doc]
            fn #f(&self, row: &#m) -> bool;
        }
    });
    let policy_trait = if conds.is_empty() {
        quote! {
            /// The export policy of `include_if_exportable:`; the config lists nothing, so every type
            /// implements it.
            pub trait ExportPolicy {}
            impl<T: ?Sized> ExportPolicy for T {}
        }
    } else {
        quote! {
            /// Decides, per record, whether relations listed in `include_if_exportable:` are exported.
            #[diagnostic::on_unimplemented(
                message = "`{Self}` does not decide the relations listed in `include_if_exportable:`",
                note = "declared under `include_if_exportable:` in import_export.yml; implement one fn per relation"
            )]
            pub trait ExportPolicy {
                #(#policy_fns)*
            }
        }
    };

    let decode = |t: usize| {
        let m = model(t);
        quote! {
            <#m as #v1::TableRow>::from_row(row)
                .map_err(|e| #v1::HookError::new(table, ::std::string::ToString::to_string(&e)))?
        }
    };
    let method_arms = methods.iter().map(|c| {
        let t = proc_macro2::Literal::usize_unsuffixed(c.table);
        let name = &c.name;
        let f = names::ident(&c.func);
        let decoded = decode(c.table);
        quote! {
            (#t, #name) => {
                let row = #decoded;
                ::core::result::Result::Ok(Methods::#f(self.methods, &row))
            }
        }
    });
    let include_arms = conds.iter().map(|c| {
        let t = proc_macro2::Literal::usize_unsuffixed(c.table);
        let name = &c.name;
        let f = names::ident(&c.func);
        let m = policy_row(c.table);
        quote! {
            (#t, #name) => {
                let row = #m::__from_row(row)
                    .map_err(|e| #v1::HookError::new(table, ::std::string::ToString::to_string(&e)))?;
                ::core::result::Result::Ok(ExportPolicy::#f(self.policy, &row))
            }
        }
    });
    let glue = format_ident!("__HoistHooks");
    quote! {
        #methods_trait

        #policy_trait

        /// The runtime's `Hooks` for this tenant: decodes each row into its model struct and calls
        /// `methods` / `policy`.
        pub fn hooks<'a, M, P>(methods: &'a M, policy: &'a P) -> impl #v1::Hooks + 'a
        where
            M: Methods + ::core::marker::Sync + ?::core::marker::Sized,
            P: ExportPolicy + ::core::marker::Sync + ?::core::marker::Sized,
        {
            #[allow(dead_code)]
            struct #glue<'a, M: ?::core::marker::Sized, P: ?::core::marker::Sized> {
                methods: &'a M,
                policy: &'a P,
            }

            impl<M, P> #v1::Hooks for #glue<'_, M, P>
            where
                M: Methods + ::core::marker::Sync + ?::core::marker::Sized,
                P: ExportPolicy + ::core::marker::Sync + ?::core::marker::Sized,
            {
                #[allow(unused_variables)]
                fn method(
                    &self,
                    table: usize,
                    method: &str,
                    row: &#v1::Row,
                ) -> ::core::result::Result<#v1::serde_json::Value, #v1::HookError> {
                    match (table, method) {
                        #(#method_arms)*
                        _ => ::core::result::Result::Err(#v1::HookError::new(
                            table,
                            ::std::format!("no method `{method}` is declared for this table in import_export.yml"),
                        )),
                    }
                }

                #[allow(unused_variables)]
                fn include(
                    &self,
                    relation: &str,
                    table: usize,
                    row: &#v1::Row,
                ) -> ::core::result::Result<bool, #v1::HookError> {
                    match (table, relation) {
                        #(#include_arms)*
                        _ => ::core::result::Result::Err(#v1::HookError::new(
                            table,
                            ::std::format!("relation `{relation}` is not listed in include_if_exportable"),
                        )),
                    }
                }
            }

            #glue { methods, policy }
        }
    }
}
