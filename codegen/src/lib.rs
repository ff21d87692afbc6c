//! hoist's config compiler: a pure library from `import_export.yml`, `safe_model_attributes.yml` and
//! the schema snapshot to a Plan, generated Rust and guard findings.
//!
//! Pipeline: [`parse`] (YAML with spans → [`config::Config`]) → [`resolve`] (config × schema →
//! [`plan::PlanIr`]) → [`emit`] (Plan → Rust tokens). Every stage adds to one list of
//! [`Diagnostics`]; nothing stops at the first error. The proc macro (`hoist::tenant!`) and the
//! build-script [`Builder`] only do I/O around [`generate`].

#[cfg(test)]
extern crate self as hoist_codegen;

pub mod builder;
pub mod config;
pub mod diagnostics;
pub mod emit;
pub mod guards;
pub mod inflect;
pub mod inputs;
pub mod order;
pub mod parse;
pub mod plan;
pub mod resolve;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod yaml;

pub use builder::{BuildError, Builder};
pub use diagnostics::{Diagnostic, Diagnostics, Kind};
pub use inputs::{InputError, InputKind, InputPaths};
pub use source::{SourceFile, SourceId, Span};

use config::{Config, SafeAttributes};
use plan::PlanIr;
use schema::{Schema, SchemaError};
use source::LineIndex;

/// The inputs of one compilation: file names (for messages) and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// `import_export.yml`.
    pub config: SourceFile,
    /// `safe_model_attributes.yml`, if the project has one (parsed and syntax-checked here; the
    /// guards compare it with the plan).
    pub attributes: Option<SourceFile>,
    /// The schema snapshot JSON.
    pub schema: SourceFile,
}

/// Everything a successful compilation knows (the guards use this).
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub config: Config,
    pub attributes: Option<SafeAttributes>,
    pub schema: Schema,
    pub plan: PlanIr,
}

/// Parse and resolve the inputs into a [`Compiled`] plan, or every problem found.
pub fn compile(inputs: &Inputs) -> Result<Compiled, Diagnostics> {
    let mut errors = Vec::new();
    let (config, e) = parse::parse_config(&inputs.config.text);
    errors.extend(e);
    let attributes = inputs.attributes.as_ref().and_then(|a| {
        let (attrs, e) = parse::parse_attributes(&a.text);
        errors.extend(e);
        attrs
    });
    let schema = match Schema::from_json(&inputs.schema.text) {
        Ok(schema) => Some(schema),
        Err(e) => {
            errors.push(schema_error(&inputs.schema, &e));
            None
        }
    };
    let plan = match (&config, &schema) {
        (Some(config), Some(schema)) => {
            let (plan, e) = resolve::resolve(config, schema);
            errors.extend(e);
            plan
        }
        _ => None,
    };
    match (config, schema, plan) {
        (Some(config), Some(schema), Some(plan)) if errors.is_empty() => Ok(Compiled {
            config,
            attributes,
            schema,
            plan,
        }),
        _ => Err(diagnostics(inputs, errors)),
    }
}

/// Wrap problems with the inputs they point into.
pub fn diagnostics(inputs: &Inputs, errors: Vec<Diagnostic>) -> Diagnostics {
    let mut sources = vec![
        (SourceId::Config, inputs.config.clone()),
        (SourceId::Schema, inputs.schema.clone()),
    ];
    if let Some(a) = &inputs.attributes {
        sources.push((SourceId::Attributes, a.clone()));
    }
    Diagnostics::new(sources, errors)
}

fn schema_error(file: &SourceFile, e: &SchemaError) -> Diagnostic {
    let index = LineIndex::new(&file.text);
    let (start, label) = match e {
        SchemaError::Json(j) if j.line() > 0 => (
            index.offset(j.line(), j.column().saturating_sub(1)),
            "the snapshot cannot be read here",
        ),
        SchemaError::Json(_) => (0, "the snapshot cannot be read"),
        SchemaError::Format { .. } => (
            file.text.find("\"format\"").unwrap_or(0),
            "unsupported snapshot format",
        ),
    };
    let end = index.line_end(start);
    Diagnostic::new(Kind::SchemaSnapshot, e.to_string())
        .at(index.span(SourceId::Schema, start, end), label)
        .help("regenerate the snapshot with `forge schema dump`")
}

/// Generated code for one tenant.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The resolved plan the code was generated from.
    pub plan: PlanIr,
    /// The items, for a proc macro to return.
    pub tokens: proc_macro2::TokenStream,
    /// The same items pretty-printed as a Rust file (with a `@generated` header), for a build
    /// script to write.
    pub code: String,
}

/// Compile the inputs into Rust: the tenant's `PLAN`, typed models and records, the `Methods` /
/// `ExportPolicy` traits and the `hooks()` glue. Pure: no I/O, deterministic output.
///
/// ```
/// use hoist_codegen::{generate, Inputs, SourceFile};
/// let schema = r#"{"format": 1, "tables": [
///   {"name": "projects", "primary_key": ["id"], "foreign_keys": [], "unique_indexes": [],
///    "columns": [{"name": "id", "type": "integer", "nullable": false},
///                {"name": "name", "type": "text", "nullable": false}]},
///   {"name": "issues", "primary_key": ["id"], "unique_indexes": [],
///    "columns": [{"name": "id", "type": "integer", "nullable": false},
///                {"name": "project_id", "type": "integer", "nullable": false},
///                {"name": "title", "type": "text", "nullable": true}],
///    "foreign_keys": [{"columns": ["project_id"], "references_table": "projects", "references_columns": ["id"]}]}
/// ]}"#;
/// let config = "format_version: 1\nroot: project\ntree:\n  project:\n    - :issues\n";
/// let inputs = Inputs {
///     config: SourceFile::new("import_export.yml", config),
///     attributes: None,
///     schema: SourceFile::new("schema.snapshot.json", schema),
/// };
/// let generated = generate(&inputs).expect("valid config");
/// assert!(generated.code.contains("pub struct Issue {"));
/// assert_eq!(generated.plan.tables[1].name, "issues");
///
/// // A typo is reported with its position and a fix.
/// let bad = Inputs { config: SourceFile::new("import_export.yml", config.replace(":issues", ":isues")), ..inputs };
/// let errors = generate(&bad).unwrap_err();
/// let text = errors.render();
/// assert!(text.contains("import_export.yml:5:7"));
/// assert!(text.contains("did you mean `issues`?"));
/// ```
pub fn generate(inputs: &Inputs) -> Result<Generated, Diagnostics> {
    let compiled = compile(inputs)?;
    let tokens = emit::emit(&compiled.plan);
    let header = format!(
        "// @generated by hoist-codegen from {} and {}. Do not edit: change the config and rebuild.\n\n",
        inputs.config.name, inputs.schema.name
    );
    match emit::pretty(&tokens, &header) {
        Ok(code) => Ok(Generated {
            plan: compiled.plan,
            tokens,
            code,
        }),
        Err(e) => Err(diagnostics(
            inputs,
            vec![Diagnostic::new(
                Kind::Internal,
                format!(
                    "hoist-codegen generated code that does not parse ({e}); please report this bug"
                ),
            )],
        )),
    }
}
