//! hoist's guard tests for forge, generated from forge's config by `hoist::guard_tests!`: they
//! fail when a migration adds a column nobody classified, a table linked to the tenant that
//! nobody considered, a sensitive or prohibited exported column, or leaves the schema snapshot
//! stale, and when a sample export carries a sensitive key. `forge check` runs the same guards
//! without cargo.

hoist::guard_tests! {
    config = "../import_export.yml",
    attributes = "../safe_model_attributes.yml",
    schema = "../schema.snapshot.json",
    live_schema = forge::guards::live_schema,
    export_sample = forge::guards::export_sample,
    dump_command = "forge schema dump",
}
