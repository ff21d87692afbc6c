//! Upload files: deterministic bytes written under the uploads directory, described by `uploads` rows.

use std::path::{Path, PathBuf};

use rand::RngExt;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};

use super::text;
use crate::ForgeError;

/// One file to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    /// Path relative to the uploads directory (`<project id>/<32 hex>/<filename>`).
    pub path: String,
    pub filename: String,
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`, lowercase hex.
    pub checksum: String,
}

/// Makes upload contents (some duplicating earlier ones, as users re-upload the same screenshot) and
/// writes them; remembers what it wrote so a failed seed can remove it.
pub struct Uploads {
    dir: PathBuf,
    written: Vec<PathBuf>,
    recent: Vec<(String, Vec<u8>)>,
}

impl Uploads {
    pub fn new(dir: &Path) -> Uploads {
        Uploads {
            dir: dir.to_owned(),
            written: Vec::new(),
            recent: Vec::new(),
        }
    }

    /// The next file of project `project_id`.
    pub fn make(&mut self, rng: &mut StdRng, project_id: i64) -> UploadFile {
        let (filename, bytes) = match self.recent.len() {
            n if n > 0 && rng.random_bool(0.2) => self.recent[rng.random_range(0..n)].clone(),
            _ => {
                let made = content(rng);
                if self.recent.len() < 8 {
                    self.recent.push(made.clone());
                } else {
                    let slot = rng.random_range(0..self.recent.len());
                    self.recent[slot] = made.clone();
                }
                made
            }
        };
        let checksum = hex::encode(Sha256::digest(&bytes));
        let path = format!("{project_id}/{}/{filename}", text::hex(rng, 32));
        UploadFile {
            path,
            filename,
            bytes,
            checksum,
        }
    }

    /// Write `file` to `<dir>/<file.path>`.
    pub async fn write(&mut self, file: &UploadFile) -> Result<(), ForgeError> {
        let full = self.dir.join(&file.path);
        if let Some(parent) = full.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| ForgeError::Io {
                    action: "creating upload directory",
                    path: parent.to_owned(),
                    source,
                })?;
        }
        tokio::fs::write(&full, &file.bytes)
            .await
            .map_err(|source| ForgeError::Io {
                action: "writing upload",
                path: full.clone(),
                source,
            })?;
        self.written.push(full);
        Ok(())
    }

    /// Remove every file written so far (after a failed transaction), and the directories that held
    /// them once empty.
    pub async fn remove_written(&mut self) {
        for path in self.written.drain(..) {
            if let Err(e) = tokio::fs::remove_file(&path).await {
                tracing::warn!(path = %path.display(), error = %e, "could not remove upload of a failed seed");
            }
            // `<32 hex>/` then `<project id>/`: removing a directory only succeeds when it is
            // empty, which is what we want.
            for dir in path.ancestors().skip(1).take(2) {
                if dir.starts_with(&self.dir) && dir != self.dir {
                    let _ = tokio::fs::remove_dir(dir).await;
                }
            }
        }
    }
}

/// A file name and its bytes: a PNG screenshot, a PDF, a log or a patch.
fn content(rng: &mut StdRng) -> (String, Vec<u8>) {
    let size = text::log_len(rng, 100, 16 * 1024);
    match rng.random_range(0..5u32) {
        0 | 1 => {
            let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            bytes.extend((0..size).map(|_| rng.random::<u8>()));
            let name = if rng.random_bool(0.5) {
                format!(
                    "Screenshot 2023-{:02}-{:02} at {:02}.{:02}.{:02}.png",
                    rng.random_range(1..=12u32),
                    rng.random_range(1..=28u32),
                    rng.random_range(0..24u32),
                    rng.random_range(0..60u32),
                    rng.random_range(0..60u32)
                )
            } else {
                format!("image-{}.png", rng.random_range(1..1000u32))
            };
            (name, bytes)
        }
        2 => {
            let mut bytes = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
            bytes.extend((0..size).map(|_| rng.random::<u8>()));
            let name = text::pick(rng, &["design-spec.pdf", "résumé.pdf", "invoice 2023.pdf"]);
            (name.to_owned(), bytes)
        }
        3 => (
            text::pick(rng, &["build.log", "production.log", "trace.txt"]).to_owned(),
            text::trace(rng, size).into_bytes(),
        ),
        _ => (
            format!("fix-{}.patch", rng.random_range(1..500u32)),
            text::diff(rng, size).into_bytes(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn files_are_deterministic_and_checksummed() {
        let dir = Path::new("/nonexistent");
        let (mut a, mut b) = (Uploads::new(dir), Uploads::new(dir));
        let (mut ra, mut rb) = (StdRng::seed_from_u64(3), StdRng::seed_from_u64(3));
        let mut duplicates = 0;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100 {
            let (fa, fb) = (a.make(&mut ra, 9), b.make(&mut rb, 9));
            assert_eq!(fa, fb);
            assert_eq!(fa.checksum, hex::encode(Sha256::digest(&fa.bytes)));
            assert!(fa.path.starts_with("9/") && fa.path.ends_with(&fa.filename));
            if !seen.insert(fa.checksum.clone()) {
                duplicates += 1;
            }
        }
        assert!(duplicates > 0, "some uploads share their content");
    }
}
