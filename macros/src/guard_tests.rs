//! `guard_tests!`: one `#[test]` per guard in the app's test suite (re-exported as
//! `hoist::guard_tests!`).
//!
//! ```ignore
//! hoist::guard_tests! {
//!     config = "../import_export.yml",
//!     attributes = "../safe_model_attributes.yml",
//!     schema = "../schema.snapshot.json",
//!     live_schema = forge::guards::live_schema,     // async fn() -> Result<Schema, impl Display>
//!     export_sample = forge::guards::export_sample, // async fn(&Path) -> Result<PathBuf, impl Display>
//!     dump_command = "forge schema dump",
//! }
//! ```
//!
//! Expands to `guard_attributes`, `guard_models`, `guard_sensitive_words`,
//! `guard_prohibited_references`, `guard_snapshot` and (with `export_sample`) `guard_export_scan`.
//! Each reads the files when the test runs (paths relative to `CARGO_MANIFEST_DIR`, so a test
//! sees the current YAML), prints every finding and fails if there is any. The files are also
//! `include_bytes!`-ed so that cargo rebuilds the tests when they change.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use std::path::Path;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// The macro's arguments.
struct Args {
    config: LitStr,
    attributes: LitStr,
    schema: LitStr,
    live_schema: syn::Path,
    export_sample: Option<syn::Path>,
    dump_command: LitStr,
}

const KEYS: &str =
    "`config`, `attributes`, `schema`, `live_schema`, `export_sample` or `dump_command`";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let (mut config, mut attributes, mut schema, mut dump_command) = (None, None, None, None);
        let (mut live_schema, mut export_sample) = (None, None);
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let twice = || syn::Error::new(key.span(), format!("`{key}` is given twice"));
            match key.to_string().as_str() {
                "config" | "attributes" | "schema" | "dump_command" => {
                    let value: LitStr = input.parse()?;
                    let slot = match key.to_string().as_str() {
                        "config" => &mut config,
                        "attributes" => &mut attributes,
                        "schema" => &mut schema,
                        _ => &mut dump_command,
                    };
                    if slot.replace(value).is_some() {
                        return Err(twice());
                    }
                }
                "live_schema" | "export_sample" => {
                    let value: syn::Path = input.parse()?;
                    let slot = if key == "live_schema" {
                        &mut live_schema
                    } else {
                        &mut export_sample
                    };
                    if slot.replace(value).is_some() {
                        return Err(twice());
                    }
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown argument `{other}`; expected {KEYS}"),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let missing = |what: &str, example: &str| {
            syn::Error::new(Span::call_site(), format!("missing `{what} = {example}`"))
        };
        Ok(Args {
            config: config.ok_or_else(|| {
                missing("config", "\"…\"` (path relative to CARGO_MANIFEST_DIR")
            })?,
            attributes: attributes.ok_or_else(|| {
                missing("attributes", "\"…\"` (path relative to CARGO_MANIFEST_DIR")
            })?,
            schema: schema.ok_or_else(|| {
                missing("schema", "\"…\"` (path relative to CARGO_MANIFEST_DIR")
            })?,
            live_schema: live_schema.ok_or_else(|| {
                missing(
                    "live_schema",
                    "path::to::fn` (an `async fn() -> Result<Schema, E>` that migrates a fresh database and introspects it",
                )
            })?,
            export_sample,
            dump_command: dump_command.ok_or_else(|| {
                missing(
                    "dump_command",
                    "\"…\"` (the app's command that rewrites the schema snapshot",
                )
            })?,
        })
    }
}

/// The expansion for `input`; `base` is the invoking crate's `CARGO_MANIFEST_DIR` (for rebuild
/// tracking only: the tests read the files at run time).
pub(crate) fn expand(input: TokenStream, base: &Path) -> TokenStream {
    let args: Args = match syn::parse2(input) {
        Ok(args) => args,
        Err(e) => return e.to_compile_error(),
    };
    let Args {
        config,
        attributes,
        schema,
        live_schema,
        export_sample,
        dump_command,
    } = &args;
    // Rebuild the tests when an input changes. A missing file is reported by the tests.
    let tracked = [config, attributes, schema].into_iter().filter_map(|lit| {
        let abs = base.join(lit.value());
        abs.exists().then(|| {
            let abs = abs.display().to_string();
            quote!(
                const _: &[u8] = ::core::include_bytes!(#abs);
            )
        })
    });
    let h = quote!(::hoist::__private::v1::guards);
    let spec = quote! {
        #h::Spec {
            manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
            config: #config,
            attributes: #attributes,
            schema: #schema,
            dump_command: #dump_command,
        }
    };
    let schema_guards = [
        ("guard_attributes", "Attributes", "every column of every tree table is listed in safe_model_attributes.yml or excluded"),
        ("guard_models", "Models", "every table linked to the tree is in the tree or in `not_exported`"),
        ("guard_sensitive_words", "SensitiveWords", "no exported column name contains a sensitive word unless safelisted"),
        ("guard_prohibited_references", "ProhibitedReferences", "no exported `*_id`, `*_ids`, `*_html`, `cached_markdown_version` or `*attributes*` column unless it is a declared reference"),
        ("guard_snapshot", "Snapshot", "the checked-in schema snapshot equals the migrated schema"),
    ]
    .into_iter()
    .map(|(name, variant, doc)| {
        let name = format_ident!("{name}");
        let variant = format_ident!("{variant}");
        let doc = format!("hoist guard: {doc}.");
        quote! {
            #[doc = #doc]
            #[test]
            fn #name() {
                #h::assert_passes(#h::schema_guard(&#spec, #h::Guard::#variant, #live_schema));
            }
        }
    });
    let export_scan = export_sample.as_ref().map(|sample| {
        quote! {
            /// hoist guard: no key of a sample export contains a sensitive word unless safelisted.
            #[test]
            fn guard_export_scan() {
                #h::assert_passes(#h::export_scan(&#spec, #sample));
            }
        }
    });
    quote! {
        #(#tracked)*
        #(#schema_guards)*
        #export_scan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
    }

    #[test]
    fn expands_one_test_per_guard_with_rebuild_tracking() {
        let out = expand(
            quote!(
                config = "../import_export.yml",
                attributes = "../safe_model_attributes.yml",
                schema = "../schema.snapshot.json",
                live_schema = app::guards::live_schema,
                export_sample = app::guards::export_sample,
                dump_command = "app schema dump",
            ),
            &repo(),
        );
        let file: syn::File = syn::parse2(out.clone()).expect("items");
        let tests: Vec<String> = file
            .items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Fn(f) => Some(f.sig.ident.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            tests,
            [
                "guard_attributes",
                "guard_models",
                "guard_sensitive_words",
                "guard_prohibited_references",
                "guard_snapshot",
                "guard_export_scan"
            ]
        );
        let text = out.to_string();
        assert_eq!(text.matches("include_bytes").count(), 3, "{text}");
        assert!(text.contains("app :: guards :: live_schema"), "{text}");
        assert!(text.contains("\"app schema dump\""), "{text}");
        assert!(text.contains("CARGO_MANIFEST_DIR"), "{text}");
    }

    #[test]
    fn export_scan_is_optional_and_missing_files_are_left_to_the_tests() {
        let out = expand(
            quote!(
                config = "../nope.yml",
                attributes = "../safe_model_attributes.yml",
                schema = "../schema.snapshot.json",
                live_schema = live,
                dump_command = "x",
            ),
            &repo(),
        )
        .to_string();
        assert!(!out.contains("guard_export_scan"), "{out}");
        assert!(out.contains("guard_snapshot"), "{out}");
        assert_eq!(out.matches("include_bytes").count(), 2, "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn bad_arguments_are_reported() {
        let out = expand(quote!(config = "x.yml", schemas = "y"), &repo()).to_string();
        assert!(out.contains("unknown argument `schemas`"), "{out}");
        let out = expand(
            quote!(
                config = "x.yml",
                attributes = "a",
                schema = "s",
                dump_command = "d"
            ),
            &repo(),
        )
        .to_string();
        assert!(out.contains("missing `live_schema"), "{out}");
        let out = expand(quote!(config = "x.yml", config = "y.yml"), &repo()).to_string();
        assert!(out.contains("`config` is given twice"), "{out}");
        let out = expand(quote!(live_schema = "not a path"), &repo()).to_string();
        assert!(out.contains("compile_error"), "{out}");
    }
}
