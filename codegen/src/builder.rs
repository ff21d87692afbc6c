//! [`Builder`]: generate the tenant's code from a build script into a file.
//!
//! ```no_run
//! // in build.rs's `main`:
//! if let Err(e) = hoist_codegen::Builder::new()
//!     .config("import_export.yml")
//!     .attributes("safe_model_attributes.yml")
//!     .schema("schema.snapshot.json")
//!     .compile()
//! {
//!     eprintln!("{e}");
//!     std::process::exit(1);
//! }
//! // and in src/lib.rs:
//! // mod tenant { include!(concat!(env!("OUT_DIR"), "/hoist_tenant.rs")); }
//! ```

use crate::inputs::{InputError, InputPaths};
use crate::{Diagnostics, Generated, generate};
use std::path::{Path, PathBuf};

/// Why [`Builder::compile`] failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An input file is missing or unreadable.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The config has errors (every one, rendered).
    #[error("{0}")]
    Config(Diagnostics),
    /// No `out_file` was set and `OUT_DIR` is not set (not running in a build script).
    #[error(
        "no output file: call `.out_file(path)` or run from a build script (OUT_DIR is not set)"
    )]
    NoOutFile,
    /// Writing the generated file failed.
    #[error("cannot write generated code to `{}`: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Build-script front end: reads the inputs, generates, writes the file only when its content
/// changes, and prints `cargo:rerun-if-changed` for every input.
#[derive(Debug, Clone)]
pub struct Builder {
    config: PathBuf,
    attributes: Option<PathBuf>,
    schema: PathBuf,
    out_file: Option<PathBuf>,
    base_dir: PathBuf,
    rerun_if_changed: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: `import_export.yml`, no attributes file, `schema.snapshot.json`, output
    /// `$OUT_DIR/hoist_tenant.rs`, paths relative to the current directory (a build script runs
    /// in its package's directory).
    pub fn new() -> Builder {
        Builder {
            config: "import_export.yml".into(),
            attributes: None,
            schema: "schema.snapshot.json".into(),
            out_file: None,
            base_dir: PathBuf::new(),
            rerun_if_changed: true,
        }
    }

    /// Path of `import_export.yml`.
    pub fn config(mut self, path: impl Into<PathBuf>) -> Builder {
        self.config = path.into();
        self
    }

    /// Path of `safe_model_attributes.yml`.
    pub fn attributes(mut self, path: impl Into<PathBuf>) -> Builder {
        self.attributes = Some(path.into());
        self
    }

    /// Path of the schema snapshot JSON.
    pub fn schema(mut self, path: impl Into<PathBuf>) -> Builder {
        self.schema = path.into();
        self
    }

    /// Where to write the generated Rust file.
    pub fn out_file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.out_file = Some(path.into());
        self
    }

    /// Directory the input paths are relative to (default: the current directory).
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.base_dir = dir.into();
        self
    }

    /// Print `cargo:rerun-if-changed` lines (default: yes; turn off outside build scripts).
    pub fn rerun_if_changed(mut self, yes: bool) -> Builder {
        self.rerun_if_changed = yes;
        self
    }

    fn paths(&self) -> InputPaths {
        InputPaths {
            config: self.config.clone(),
            attributes: self.attributes.clone(),
            schema: self.schema.clone(),
        }
    }

    /// Read and generate without writing.
    pub fn generate(&self) -> Result<Generated, BuildError> {
        let paths = self.paths();
        if self.rerun_if_changed {
            for p in paths.all() {
                println!("cargo:rerun-if-changed={}", self.base_dir.join(p).display());
            }
        }
        let inputs = paths.read(&self.base_dir)?;
        generate(&inputs).map_err(BuildError::Config)
    }

    /// Generate and write the output file (only if its content changed). Returns its path.
    pub fn compile(&self) -> Result<PathBuf, BuildError> {
        let out = match &self.out_file {
            Some(p) => p.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(|d| Path::new(&d).join("hoist_tenant.rs"))
                .ok_or(BuildError::NoOutFile)?,
        };
        let generated = self.generate()?;
        let unchanged = std::fs::read_to_string(&out).is_ok_and(|old| old == generated.code);
        if !unchanged {
            std::fs::write(&out, &generated.code).map_err(|source| BuildError::Write {
                path: out.clone(),
                source,
            })?;
        }
        Ok(out)
    }
}
