//! `tenant!`: the proc-macro front end of hoist's config compiler (re-exported as
//! `hoist::tenant!`).
//!
//! ```ignore
//! mod tenant {
//!     hoist::tenant! {
//!         config = "../import_export.yml",
//!         attributes = "../safe_model_attributes.yml",
//!         schema = "../schema.snapshot.json",
//!     }
//! }
//! ```
//!
//! Paths are relative to the invoking crate's `CARGO_MANIFEST_DIR`; `attributes` is optional. The
//! macro reads the files, calls [`hoist_codegen::generate`] and returns the generated items. Every
//! config error becomes its own `compile_error!` naming `import_export.yml:LINE:COL`. Each input is
//! also `include_bytes!`-ed so that editing the YAML or the snapshot rebuilds the crate.
//!
//! This crate is a thin shim: all logic lives in `hoist-codegen`, where it is tested as a library.

mod guard_tests;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use std::path::{Path, PathBuf};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// Generate a tenant's plan, models, records and hooks from its config files. See the crate docs.
#[proc_macro]
pub fn tenant(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    expand(input.into(), &base).into()
}

/// Generate an app's guard tests: one `#[test]` per guard (`guard_attributes`, `guard_models`,
/// `guard_sensitive_words`, `guard_prohibited_references`, `guard_snapshot`, `guard_export_scan`).
///
/// ```ignore
/// hoist::guard_tests! {
///     config = "../import_export.yml",
///     attributes = "../safe_model_attributes.yml",
///     schema = "../schema.snapshot.json",
///     live_schema = forge::guards::live_schema,     // async fn() -> Result<Schema, impl Display>
///     export_sample = forge::guards::export_sample, // optional: async fn(&Path) -> Result<PathBuf, impl Display>
///     dump_command = "forge schema dump",
/// }
/// ```
#[proc_macro]
pub fn guard_tests(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    guard_tests::expand(input.into(), &base).into()
}

/// The macro's arguments: `config = "…", attributes = "…", schema = "…"`.
struct Args {
    config: LitStr,
    attributes: Option<LitStr>,
    schema: LitStr,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let (mut config, mut attributes, mut schema) = (None, None, None);
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            let slot = match key.to_string().as_str() {
                "config" => &mut config,
                "attributes" => &mut attributes,
                "schema" => &mut schema,
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{other}`; expected `config`, `attributes` or `schema`"
                        ),
                    ));
                }
            };
            if slot.replace(value).is_some() {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{key}` is given twice"),
                ));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let missing = |what: &str| {
            syn::Error::new(
                Span::call_site(),
                format!("missing `{what} = \"…\"` (path relative to CARGO_MANIFEST_DIR)"),
            )
        };
        Ok(Args {
            config: config.ok_or_else(|| missing("config"))?,
            attributes,
            schema: schema.ok_or_else(|| missing("schema"))?,
        })
    }
}

/// The expansion for `input`, with input paths relative to `base` (testable without a compiler).
pub(crate) fn expand(input: TokenStream, base: &Path) -> TokenStream {
    let args: Args = match syn::parse2(input) {
        Ok(args) => args,
        Err(e) => return e.to_compile_error(),
    };
    let paths = hoist_codegen::InputPaths {
        config: args.config.value().into(),
        attributes: args.attributes.as_ref().map(|a| a.value().into()),
        schema: args.schema.value().into(),
    };
    // Rebuild when any input changes, whatever the outcome.
    let tracked = paths.all().into_iter().filter_map(|p| {
        let abs = base.join(p);
        abs.exists().then(|| {
            let abs = abs.display().to_string();
            quote!(
                const _: &[u8] = ::core::include_bytes!(#abs);
            )
        })
    });
    let tracked = quote!(#(#tracked)*);
    let inputs = match paths.read(base) {
        Ok(inputs) => inputs,
        Err(e) => {
            let lit = match e.kind {
                hoist_codegen::InputKind::Config => &args.config,
                hoist_codegen::InputKind::Attributes => {
                    args.attributes.as_ref().unwrap_or(&args.config)
                }
                hoist_codegen::InputKind::Schema => &args.schema,
            };
            let msg = e.to_string();
            return quote_spanned!(lit.span()=> #tracked ::core::compile_error!(#msg););
        }
    };
    match hoist_codegen::generate(&inputs) {
        Ok(generated) => {
            let tokens = generated.tokens;
            quote!(#tracked #tokens)
        }
        Err(diagnostics) => {
            let errors = diagnostics.iter().map(|d| {
                let lit = match d.span.map(|s| s.source) {
                    Some(hoist_codegen::SourceId::Schema) => &args.schema,
                    Some(hoist_codegen::SourceId::Attributes) => {
                        args.attributes.as_ref().unwrap_or(&args.config)
                    }
                    _ => &args.config,
                };
                let msg = diagnostics.render_one(d);
                quote_spanned!(lit.span()=> ::core::compile_error!(#msg);)
            });
            quote!(#tracked #(#errors)*)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
    }

    #[test]
    fn expands_the_reference_config_with_rebuild_tracking() {
        let out = expand(
            quote!(
                config = "../import_export.yml",
                attributes = "../safe_model_attributes.yml",
                schema = "../schema.snapshot.json"
            ),
            &repo(),
        )
        .to_string();
        assert!(out.contains("include_bytes"), "{out}");
        assert!(out.contains("import_export.yml"));
        assert!(out.contains("schema.snapshot.json"));
        assert!(out.contains("pub static PLAN"));
        assert!(!out.contains("compile_error"));
    }

    #[test]
    fn config_errors_become_compile_errors_with_positions() {
        let dir = std::env::temp_dir().join(format!("hoist-macros-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config = std::fs::read_to_string(repo().join("../import_export.yml")).expect("config");
        let broken = config.replacen(
            "    - :archived\n",
            "    - :archived\n    - :no_such_column\n",
            1,
        );
        std::fs::write(dir.join("import_export.yml"), &broken).expect("write");
        let schema = repo().join("../schema.snapshot.json").display().to_string();
        let out = expand(quote!(config = "import_export.yml", schema = #schema), &dir).to_string();
        std::fs::remove_dir_all(&dir).ok();
        let line = broken
            .lines()
            .position(|l| l.contains(":no_such_column"))
            .map(|i| i + 1)
            .expect("line");
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains(&format!("import_export.yml:{line}:7")),
            "{out}"
        );
        assert!(out.contains("included_attributes.project"), "{out}");
        assert!(
            out.contains("include_bytes"),
            "rebuild tracking also on error"
        );
    }

    #[test]
    fn missing_snapshot_names_the_command_that_writes_it() {
        let out = expand(
            quote!(
                config = "../import_export.yml",
                schema = "../nope.snapshot.json"
            ),
            &repo(),
        )
        .to_string();
        assert!(out.contains("compile_error"));
        assert!(out.contains("forge schema dump"), "{out}");
        assert!(out.contains("nope.snapshot.json"), "{out}");
    }

    #[test]
    fn bad_arguments_are_reported() {
        let out = expand(quote!(config = "x.yml", schemas = "y"), &repo()).to_string();
        assert!(out.contains("unknown argument `schemas`"), "{out}");
        let out = expand(quote!(config = "x.yml"), &repo()).to_string();
        assert!(out.contains("missing `schema"), "{out}");
    }
}
