//! Running sha256 + byte and line counts of a member's content, and readers that keep one.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

/// sha256, byte count and newline count of everything fed to it.
#[derive(Clone, Default)]
pub(crate) struct MemberDigest {
    sha: Sha256,
    bytes: u64,
    lines: u64,
    last: Option<u8>,
    /// Length of the line being fed, so far.
    line: u64,
    longest_line: u64,
}

/// The final values of a [`MemberDigest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestResult {
    pub sha256: String,
    /// The same sha256 as 32 bytes.
    pub raw: [u8; 32],
    pub bytes: u64,
    pub lines: u64,
    /// `true` if the content is empty or ends with `\n`.
    pub ends_with_newline: bool,
    /// Length of the longest line, its newline excluded (an unterminated last line counts).
    pub longest_line: u64,
}

impl MemberDigest {
    pub(crate) fn update(&mut self, buf: &[u8]) {
        if buf.is_empty() {
            return;
        }
        self.sha.update(buf);
        self.bytes += buf.len() as u64;
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', buf) {
            self.longest_line = self.longest_line.max(self.line + (end - start) as u64);
            self.line = 0;
            self.lines += 1;
            start = end + 1;
        }
        self.line += (buf.len() - start) as u64;
        self.last = buf.last().copied();
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn finish(self) -> DigestResult {
        let raw: [u8; 32] = self.sha.finalize().into();
        DigestResult {
            sha256: hex::encode(raw),
            raw,
            bytes: self.bytes,
            lines: self.lines,
            ends_with_newline: self.last.is_none_or(|b| b == b'\n'),
            longest_line: self.longest_line.max(self.line),
        }
    }
}

/// Hex sha256 of a byte slice.
#[cfg(test)]
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

/// sha256 of a byte slice.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A reader that feeds everything it returns to a [`MemberDigest`].
pub(crate) struct DigestReader<R> {
    inner: R,
    digest: MemberDigest,
}

impl<R: Read> DigestReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        DigestReader {
            inner,
            digest: MemberDigest::default(),
        }
    }

    /// Reads and hashes whatever is left.
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        while self.read(&mut buf)? != 0 {}
        Ok(())
    }

    pub(crate) fn finish(self) -> DigestResult {
        self.digest.finish()
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_hashes() {
        let mut d = MemberDigest::default();
        d.update(b"{}\n{");
        d.update(b"}\n");
        let r = d.finish();
        assert_eq!(r.bytes, 6);
        assert_eq!(r.lines, 2);
        assert!(r.ends_with_newline);
        assert_eq!(r.longest_line, 2);
        assert_eq!(r.sha256, sha256_hex(b"{}\n{}\n"));
        let mut d = MemberDigest::default();
        for piece in [&b"ab"[..], b"c\nd", b"", b"efgh\n\nxyz"] {
            d.update(piece);
        }
        let r = d.finish();
        assert_eq!(
            (r.lines, r.longest_line, r.ends_with_newline),
            (3, 5, false)
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(MemberDigest::default().finish().ends_with_newline);
    }
}
