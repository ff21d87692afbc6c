//! Proc-macro shim over `hoist-codegen`.
