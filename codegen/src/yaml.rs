//! A YAML loader that keeps the source position of every node and resolves anchors and aliases.
//!
//! Built on `yaml-rust2`'s event parser. (`marked-yaml` 0.8, built on the same parser, rejects any
//! anchor with "Unexpected definition of anchor" and panics on an alias event, so it cannot read
//! GitLab-style configs that share subtrees with `&notes` / `*notes`.) An alias becomes a copy of
//! the anchored node, keeping the anchored node's spans, so an error inside shared YAML points at
//! the place where it is written.

use crate::diagnostics::{Diagnostic, Kind};
use crate::source::{LineIndex, SourceId, Span};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Upper bound on nodes created by alias expansion (guards against "billion laughs" documents).
const MAX_NODES: usize = 1_000_000;

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// For scalars the token itself; for collections the first line of the collection.
    pub span: Span,
    pub value: Value,
}

/// The content of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Entries in document order.
    Map(Vec<Entry>),
}

/// A scalar's text and whether it was written plain (unquoted, so `~`, `null` and empty are null).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    pub plain: bool,
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    /// The scalar's text, if this is a non-null scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) if !self.is_null() => Some(&s.text),
            _ => None,
        }
    }

    /// A plain empty scalar, `~` or `null`.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s) if s.plain && matches!(s.text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// What this node is, for "expected …, found …" messages.
    pub fn describe(&self) -> &'static str {
        match &self.value {
            _ if self.is_null() => "nothing (null)",
            Value::Scalar(_) => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    fn count(&self) -> usize {
        1 + match &self.value {
            Value::Scalar(_) => 0,
            Value::Seq(items) => items.iter().map(Node::count).sum(),
            Value::Map(entries) => entries.iter().map(|e| e.value.count()).sum(),
        }
    }
}

/// Parse one YAML document whose top level is a mapping (an empty document is an empty mapping).
///
/// Returns the document, or `None` when it could not be read at all, plus every problem found
/// (syntax errors, duplicate keys, tags).
pub fn parse(source: SourceId, text: &str) -> (Option<Node>, Vec<Diagnostic>) {
    let index = LineIndex::new(text);
    let mut loader = Loader {
        source,
        index: &index,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        errors: Vec::new(),
        nodes: 0,
        failed: false,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut loader, false) {
        let at = loader.offset(e.marker());
        let span = index.span(source, at, at);
        let span = widen_to_char(&index, span);
        loader.errors.push(
            Diagnostic::new(Kind::YamlSyntax, format!("YAML syntax error: {}", e.info()))
                .at(span, "the parser stopped here"),
        );
        return (None, loader.errors);
    }
    if loader.failed {
        return (None, loader.errors);
    }
    let root = loader.root.take();
    let errors = loader.errors;
    match root {
        None => {
            let span = index.span(source, 0, 0);
            (
                Some(Node {
                    span,
                    value: Value::Map(Vec::new()),
                }),
                errors,
            )
        }
        Some(node) if matches!(node.value, Value::Map(_)) => (Some(node), errors),
        Some(node) => {
            let mut errors = errors;
            errors.push(
                Diagnostic::new(
                    Kind::WrongType,
                    format!("the top level must be a map, found {}", node.describe()),
                )
                .at(node.span, "expected `key: value` lines"),
            );
            (None, errors)
        }
    }
}

/// Make an empty span cover the character at its position (if any), so it renders visibly.
fn widen_to_char(index: &LineIndex<'_>, span: Span) -> Span {
    let text = index.text();
    match text.get(span.start..).and_then(|r| r.chars().next()) {
        Some(c) if c != '\n' => Span {
            end: span.start + c.len_utf8(),
            ..span
        },
        _ => span,
    }
}

enum Frame {
    Seq {
        start: usize,
        flow: bool,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        /// Byte offset of the `{` or of the first key (block maps: set when the first key arrives).
        start: Option<usize>,
        fallback: usize,
        flow: bool,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<(String, Span)>,
    },
}

struct Loader<'i, 't> {
    source: SourceId,
    index: &'i LineIndex<'t>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    errors: Vec<Diagnostic>,
    nodes: usize,
    failed: bool,
}

impl Loader<'_, '_> {
    fn offset(&self, m: &Marker) -> usize {
        self.index.offset(m.line(), m.col())
    }

    fn in_flow(&self) -> bool {
        self.stack.iter().any(|f| match f {
            Frame::Seq { flow, .. } | Frame::Map { flow, .. } => *flow,
        })
    }

    /// Span of a collection: from its start to the end of that line (comments and trailing blanks
    /// dropped).
    fn head_span(&self, start: usize) -> Span {
        let text = self.index.text();
        let mut end = self.index.line_end(start);
        if let Some(hash) = text[start..end].find(" #") {
            end = start + hash;
        }
        let end = start + text[start..end].trim_end().len();
        self.index.span(self.source, start, end)
    }

    fn scalar_end(&self, start: usize, style: TScalarStyle) -> usize {
        let text = self.index.text();
        let bytes = text.as_bytes();
        match style {
            TScalarStyle::DoubleQuoted => {
                let mut i = start + 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => return i + 1,
                        _ => i += 1,
                    }
                }
                bytes.len()
            }
            TScalarStyle::SingleQuoted => {
                let mut i = start + 1;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        return i + 1;
                    }
                    i += 1;
                }
                bytes.len()
            }
            TScalarStyle::Plain => {
                let flow = self.in_flow();
                let line_end = self.index.line_end(start);
                let mut end = line_end;
                let mut i = start;
                while i < line_end {
                    let b = bytes[i];
                    let next = bytes.get(i + 1).copied();
                    let ends_here = (b == b':'
                        && i > start
                        && matches!(
                            next,
                            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b']' | b'}')
                        ))
                        || (b == b'#' && i > start && matches!(bytes[i - 1], b' ' | b'\t'))
                        || (flow && matches!(b, b',' | b']' | b'}' | b'[' | b'{'));
                    if ends_here {
                        end = i;
                        break;
                    }
                    i += 1;
                }
                start + text[start..end].trim_end().len()
            }
            // Block scalars: the marker is on the first content line; show that line.
            _ => {
                let end = self.index.line_end(start);
                start + text[start..end].trim_end().len()
            }
        }
    }

    fn add(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                start,
                entries,
                key,
                ..
            }) => match key.take() {
                None => {
                    if start.is_none() {
                        *start = Some(node.span.start);
                    }
                    match node.value {
                        Value::Scalar(s) => *key = Some((s.text, node.span)),
                        _ => {
                            self.errors.push(
                                Diagnostic::new(
                                    Kind::UnsupportedYaml,
                                    "map keys must be plain names, not lists or maps",
                                )
                                .at(node.span, "this key is a collection"),
                            );
                            *key = Some((String::new(), node.span));
                        }
                    }
                }
                Some((key, key_span)) => {
                    let mut value = node;
                    if value.is_null() && value.span.start == value.span.end {
                        // `key:` with nothing after it: point at the key.
                        value.span = key_span;
                    }
                    if let Some(prev) = entries.iter().find(|e| e.key == key) {
                        let prev_span = prev.key_span;
                        self.errors.push(
                            Diagnostic::new(
                                Kind::DuplicateKey,
                                format!("duplicate key `{key}` in this map"),
                            )
                            .at(key_span, "second occurrence")
                            .context(prev_span, "first defined here")
                            .help("merge the two entries into one"),
                        );
                        return;
                    }
                    entries.push(Entry {
                        key,
                        key_span,
                        value,
                    });
                }
            },
        }
    }

    fn register(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            let count = node.count();
            self.anchors.insert(anchor, (node.clone(), count));
        }
    }

    fn reject_tag(&mut self, at: usize) {
        let span = self.head_span(at);
        self.errors.push(
            Diagnostic::new(
                Kind::UnsupportedYaml,
                "YAML tags (`!foo`, `!!str`) are not supported",
            )
            .at(span, "tagged node")
            .help("remove the tag; hoist reads names, lists and maps only"),
        );
    }
}

impl MarkedEventReceiver for Loader<'_, '_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.failed {
            return;
        }
        let at = self.offset(&mark);
        match ev {
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
            Event::Scalar(text, style, anchor, tag) => {
                if tag.is_some() {
                    self.reject_tag(at);
                }
                let end = if text.is_empty() && style == TScalarStyle::Plain {
                    at // an empty value: the marker is already on the next token
                } else {
                    self.scalar_end(at, style)
                };
                let span = self.index.span(self.source, at, end);
                let node = Node {
                    span,
                    value: Value::Scalar(Scalar {
                        text,
                        plain: style == TScalarStyle::Plain,
                    }),
                };
                self.nodes += 1;
                self.register(anchor, &node);
                self.add(node);
            }
            Event::SequenceStart(anchor, tag) => {
                if tag.is_some() {
                    self.reject_tag(at);
                }
                let flow = self.index.text().as_bytes().get(at) == Some(&b'[');
                self.stack.push(Frame::Seq {
                    start: at,
                    flow,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, tag) => {
                if tag.is_some() {
                    self.reject_tag(at);
                }
                let flow = self.index.text().as_bytes().get(at) == Some(&b'{');
                self.stack.push(Frame::Map {
                    start: flow.then_some(at),
                    fallback: at,
                    flow,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    start,
                    anchor,
                    items,
                    ..
                }) = self.stack.pop()
                {
                    let node = Node {
                        span: self.head_span(start),
                        value: Value::Seq(items),
                    };
                    self.nodes += 1;
                    self.register(anchor, &node);
                    self.add(node);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    start,
                    fallback,
                    anchor,
                    entries,
                    ..
                }) = self.stack.pop()
                {
                    let node = Node {
                        span: self.head_span(start.unwrap_or(fallback)),
                        value: Value::Map(entries),
                    };
                    self.nodes += 1;
                    self.register(anchor, &node);
                    self.add(node);
                }
            }
            Event::Alias(id) => {
                let Some(count) = self.anchors.get(&id).map(|(_, count)| *count) else {
                    let span = self.head_span(at);
                    self.errors.push(
                        Diagnostic::new(
                            Kind::YamlSyntax,
                            "this alias refers to an anchor that is not complete here (an alias cannot point into its own anchor)",
                        )
                        .at(span, "alias"),
                    );
                    self.failed = true;
                    return;
                };
                self.nodes += count;
                if self.nodes > MAX_NODES {
                    let span = self.head_span(at);
                    self.errors.push(
                        Diagnostic::new(
                            Kind::YamlSyntax,
                            format!("aliases expand to more than {MAX_NODES} nodes"),
                        )
                        .at(span, "expanding this alias exceeds the limit"),
                    );
                    self.failed = true;
                    return;
                }
                if let Some((node, _)) = self.anchors.get(&id) {
                    let node = node.clone();
                    self.add(node);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Node {
        let (node, errors) = parse(SourceId::Config, text);
        assert!(errors.is_empty(), "{errors:?}");
        node.expect("document")
    }

    fn entry<'a>(node: &'a Node, key: &str) -> &'a Entry {
        match &node.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).expect("key"),
            other => panic!("not a map: {other:?}"),
        }
    }

    fn slice(text: &str, span: Span) -> &str {
        &text[span.start..span.end]
    }

    #[test]
    fn spans_cover_tokens() {
        let text = "# c\nfoo:\n  - :x\n  - é: [b, \"c d\"]  # note\nbar: 'q'\n";
        let root = load(text);
        let foo = entry(&root, "foo");
        assert_eq!((foo.key_span.line, foo.key_span.column), (2, 1));
        let Value::Seq(items) = &foo.value.value else {
            panic!()
        };
        assert_eq!(slice(text, items[0].span), ":x");
        assert_eq!((items[0].span.line, items[0].span.column), (3, 5));
        let inner = entry(&items[1], "é");
        assert_eq!(slice(text, items[1].span), "é: [b, \"c d\"]");
        let Value::Seq(flow) = &inner.value.value else {
            panic!()
        };
        assert_eq!(slice(text, flow[0].span), "b");
        assert_eq!(slice(text, flow[1].span), "\"c d\"");
        assert_eq!(flow[1].as_str(), Some("c d"));
        assert_eq!(slice(text, entry(&root, "bar").value.span), "'q'");
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let text = "a: &x\n  - :one\n  - two: [three]\nb: *x\n";
        let root = load(text);
        assert_eq!(entry(&root, "a").value, entry(&root, "b").value);
        assert_eq!(entry(&root, "b").value.span.line, 2);
    }

    #[test]
    fn null_values_point_at_their_key() {
        let text = "a:\nb: 1\n";
        let root = load(text);
        let a = &entry(&root, "a").value;
        assert!(a.is_null());
        assert_eq!(slice(text, a.span), "a");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let (node, errors) = parse(SourceId::Config, "a: [b\nc: d: e\n");
        assert!(node.is_none());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, Kind::YamlSyntax);
        let span = errors[0].span.expect("span");
        assert_eq!((span.line, span.column), (2, 2));
    }

    #[test]
    fn duplicate_keys_and_tags_are_reported() {
        let (node, errors) = parse(SourceId::Config, "a: 1\nb: !!str 2\na: 3\n");
        assert!(node.is_some());
        let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![Kind::UnsupportedYaml, Kind::DuplicateKey]);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let (node, errors) = parse(SourceId::Config, &text);
        assert!(node.is_none());
        assert!(errors[0].message.contains("more than"));
    }

    #[test]
    fn top_level_must_be_a_map() {
        let (node, errors) = parse(SourceId::Config, "- a\n- b\n");
        assert!(node.is_none());
        assert_eq!(errors[0].kind, Kind::WrongType);
        let (node, errors) = parse(SourceId::Config, "# only a comment\n");
        assert!(errors.is_empty());
        assert_eq!(node.map(|n| n.value), Some(Value::Map(Vec::new())));
    }
}
