//! Input files and positions inside them.

use std::fmt;

/// One input file: its display name (as the user wrote the path, e.g. `../import_export.yml`) and
/// its text. Diagnostics point into these by [`SourceId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Which input a [`Span`] points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceId {
    /// `import_export.yml`.
    Config,
    /// `safe_model_attributes.yml`.
    Attributes,
    /// The schema snapshot JSON.
    Schema,
}

/// A region of an input file: byte range plus the 1-based line and column (in characters) of its
/// start, as shown to users (`import_export.yml:12:7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub source: SourceId,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte (`start` for an empty span).
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column (in characters) of `start`.
    pub column: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Maps character indices and line/column pairs of one text to byte offsets.
#[derive(Debug)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the start of each line (line 1 at index 0).
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> LineIndex<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, line_starts }
    }

    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// Byte offset of 1-based `line`, 0-based character `col0`; clamped to the text.
    pub(crate) fn offset(&self, line: usize, col0: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        let within = rest
            .char_indices()
            .nth(col0)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        start + within
    }

    /// 1-based (line, column in characters) of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line + 1, col + 1)
    }

    /// Byte offset of the end of the line containing `offset` (before `\n` / `\r\n`).
    pub(crate) fn line_end(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        let end = self.text[offset..]
            .find('\n')
            .map(|i| offset + i)
            .unwrap_or(self.text.len());
        if end > offset && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// A span over `start..end` (bytes) of this text.
    pub(crate) fn span(&self, source: SourceId, start: usize, end: usize) -> Span {
        let (line, column) = self.position(start);
        Span {
            source,
            start,
            end: end.max(start),
            line,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_positions_agree() {
        let text = "ab\né: x\n\nlast";
        let idx = LineIndex::new(text);
        assert_eq!(idx.offset(2, 0), 3);
        assert_eq!(idx.offset(2, 1), 5); // after the two-byte é
        assert_eq!(idx.position(5), (2, 2));
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(text.len()), (4, 5));
        assert_eq!(idx.line_end(3), 8);
        assert_eq!(idx.offset(99, 0), text.len());
    }
}
