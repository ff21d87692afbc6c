//! hoist's config compiler: a pure library from `import_export.yml`, `safe_model_attributes.yml` and
//! the schema snapshot to a Plan, generated Rust and guard findings.

pub mod schema;
