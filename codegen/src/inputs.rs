//! Reading the input files (the only I/O of the compiler, used by the proc macro and [`crate::Builder`]).

use crate::{Inputs, SourceFile};
use std::path::{Path, PathBuf};

/// Which input a file is, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Config,
    Attributes,
    Schema,
}

impl InputKind {
    fn what(self) -> &'static str {
        match self {
            InputKind::Config => "the tenant config (import_export.yml)",
            InputKind::Attributes => "the attribute classification (safe_model_attributes.yml)",
            InputKind::Schema => "the schema snapshot",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            InputKind::Config => "create it as described in docs/config.md, or fix the path",
            InputKind::Attributes => {
                "list every exported column per table (see docs/config.md), or fix the path"
            }
            InputKind::Schema => {
                "write it with `forge schema dump` from a migrated database, or fix the path"
            }
        }
    }
}

/// An input file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {} `{}`: {source}; {}", .kind.what(), .path.display(), .kind.hint())]
pub struct InputError {
    pub kind: InputKind,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Read one input; `display` is the name used in diagnostics (the path as the user wrote it).
pub fn read(kind: InputKind, path: &Path, display: &str) -> Result<SourceFile, InputError> {
    std::fs::read_to_string(path)
        .map(|text| SourceFile::new(display, text))
        .map_err(|source| InputError {
            kind,
            path: path.to_path_buf(),
            source,
        })
}

/// Paths of the inputs of one compilation, resolved against a base directory; display names are
/// the paths as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputPaths {
    pub config: PathBuf,
    pub attributes: Option<PathBuf>,
    pub schema: PathBuf,
}

impl InputPaths {
    /// Every path, for rebuild tracking.
    pub fn all(&self) -> Vec<&Path> {
        let mut v = vec![self.config.as_path()];
        v.extend(self.attributes.as_deref());
        v.push(self.schema.as_path());
        v
    }

    /// Read every input relative to `base`; diagnostics name each file by its path as given.
    pub fn read(&self, base: &Path) -> Result<Inputs, InputError> {
        let name = |p: &Path| p.display().to_string();
        Ok(Inputs {
            config: read(
                InputKind::Config,
                &base.join(&self.config),
                &name(&self.config),
            )?,
            attributes: match &self.attributes {
                Some(a) => Some(read(InputKind::Attributes, &base.join(a), &name(a))?),
                None => None,
            },
            schema: read(
                InputKind::Schema,
                &base.join(&self.schema),
                &name(&self.schema),
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_name_the_path_and_the_fix() {
        let paths = InputPaths {
            config: "import_export.yml".into(),
            attributes: None,
            schema: "no-such-dir/schema.snapshot.json".into(),
        };
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let err = paths.read(&base).expect_err("missing snapshot");
        let msg = err.to_string();
        assert!(msg.contains("schema snapshot"), "{msg}");
        assert!(msg.contains("no-such-dir/schema.snapshot.json"), "{msg}");
        assert!(msg.contains("forge schema dump"), "{msg}");
    }
}
