//! PostgreSQL `COPY … FROM STDIN` text format encoding.
//!
//! One line per row, columns separated by a tab, `\N` for NULL. In values, backslash, newline,
//! carriage return and tab are escaped (`\\`, `\n`, `\r`, `\t`); everything else is sent as UTF-8.
//! Booleans are `t`/`f`, timestamps `YYYY-MM-DD HH:MM:SS.ffffff+00`, JSON its compact text,
//! bytea the hex form `\x…` (its backslash escaped, as every backslash is), floats the shortest
//! text that reads back to the same `f64` (`NaN`, `Infinity`, `-Infinity` spelled as PostgreSQL
//! does).

use std::io::Write as _;

use super::timestamp;
use crate::value::{Row, Value};

/// `COPY` text is made and sent in pieces of about this size, each one message to the server.
/// sqlx's write buffer grows to the largest message and stays that large for the connection's
/// life: with 1 MiB messages it (and the encoding buffer of the time) held 1.5–3.5 MB during a
/// 1M-row import (valgrind massif), with 256 KiB ~0.8 MB. Four times the messages cost nothing
/// measurable.
const PIECE: usize = 256 << 10;

/// The `COPY` text of `rows` (already checked against the columns' logical types), in pieces of
/// about [`PIECE`] bytes that end with whole rows. Pieces of one size are reused by the allocator
/// batch after batch, where one buffer grown to a table's whole text would leave its earlier,
/// smaller copies behind.
pub(crate) fn encode_rows(rows: &[Row]) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    // The first piece grows with the text (most tables of a batch are small); the next ones are
    // made full size.
    let mut piece = Vec::new();
    for row in rows {
        encode_row(&mut piece, row);
        if piece.len() >= PIECE {
            pieces.push(std::mem::replace(
                &mut piece,
                Vec::with_capacity(PIECE + 4096),
            ));
        }
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// Append one row (already checked against the columns' logical types) to `buf`.
pub(crate) fn encode_row(buf: &mut Vec<u8>, row: &Row) {
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            buf.push(b'\t');
        }
        encode_value(buf, value);
    }
    buf.push(b'\n');
}

fn encode_value(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => buf.extend_from_slice(b"\\N"),
        Value::Int(i) => {
            let _ = write!(buf, "{i}");
        }
        Value::Float(f) => encode_float(buf, *f),
        Value::Bool(b) => buf.push(if *b { b't' } else { b'f' }),
        Value::Text(s) => escape(buf, s.as_bytes()),
        Value::Timestamp(ts) => timestamp::write_postgres(buf, ts),
        Value::Json(j) => escape(buf, j.to_string().as_bytes()),
        Value::Bytes(bytes) => {
            buf.extend_from_slice(b"\\\\x");
            buf.extend_from_slice(hex::encode(bytes).as_bytes());
        }
    }
}

fn encode_float(buf: &mut Vec<u8>, f: f64) {
    if f.is_nan() {
        buf.extend_from_slice(b"NaN");
    } else if f.is_infinite() {
        buf.extend_from_slice(if f > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else {
        // `Debug` is the shortest round-trip form and uses exponents for large/small magnitudes.
        let _ = write!(buf, "{f:?}");
    }
}

fn escape(buf: &mut Vec<u8>, bytes: &[u8]) {
    // Most values hold nothing to escape: one branch-free pass over 32-byte blocks (which the
    // compiler vectorizes) skips them, and the byte loop below starts at the first block that
    // needs it.
    let needs = |b: u8| b == b'\\' || b == b'\n' || b == b'\r' || b == b'\t';
    let clean = bytes
        .chunks(32)
        .take_while(|block| !block.iter().fold(false, |any, &b| any | needs(b)))
        .count()
        * 32;
    if clean >= bytes.len() {
        buf.extend_from_slice(bytes);
        return;
    }
    buf.extend_from_slice(&bytes[..clean]);
    let bytes = &bytes[clean..];
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(esc);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_comes_in_pieces_of_whole_rows() {
        let rows: Vec<Row> = (0..1_000)
            .map(|i| vec![Value::Int(i), Value::Text(format!("{i}\t").repeat(200))])
            .collect();
        let mut whole = Vec::new();
        for row in &rows {
            encode_row(&mut whole, row);
        }
        let pieces = encode_rows(&rows);
        assert!(pieces.len() > 2, "{} pieces", pieces.len());
        assert_eq!(pieces.concat(), whole);
        let (last, full) = pieces.split_last().unwrap();
        for piece in full {
            assert!(
                piece.len() >= PIECE && piece.len() < PIECE + 2_000,
                "{}",
                piece.len()
            );
        }
        assert!(!last.is_empty() && last.len() < PIECE + 2_000);
        for piece in &pieces {
            assert_eq!(piece.last(), Some(&b'\n'));
            // Each piece starts a row: its first field is the row's id.
            assert!(piece[0].is_ascii_digit());
        }
        assert!(encode_rows(&[]).is_empty());
    }

    fn line(row: Row) -> String {
        let mut buf = Vec::new();
        encode_row(&mut buf, &row);
        String::from_utf8(buf).expect("utf-8")
    }

    #[test]
    fn escapes_and_formats() {
        let ts = chrono::DateTime::parse_from_rfc3339("2024-01-02T03:04:05.000006Z")
            .expect("valid")
            .with_timezone(&chrono::Utc);
        let row = vec![
            Value::Int(-7),
            Value::Null,
            Value::Text("a\tb\nc\\d\re ünï".into()),
            Value::Bool(true),
            Value::Float(1e300),
            Value::Float(f64::NEG_INFINITY),
            Value::Timestamp(ts),
            Value::Json(serde_json::json!({"k": "tab\there \"q\" \\"})),
            Value::Bytes(vec![0, 255, 16]),
        ];
        insta::assert_snapshot!(line(row), @r#"
        -7	\N	a\tb\nc\\d\re ünï	t	1e300	-Infinity	2024-01-02 03:04:05.000006+00	{"k":"tab\\there \\"q\\" \\\\"}	\\x00ff10
        "#);
    }

    proptest::proptest! {
        /// Escaping is a byte-for-byte substitution of the four special bytes, wherever they sit
        /// (inside or across the 32-byte blocks, in clean runs or not).
        #[test]
        fn escaping_substitutes_exactly_the_special_bytes(
            // Printable ASCII below the backslash: nothing to escape.
            plain in proptest::collection::vec(b' '..=b'[', 0..100),
            mixed in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::num::u8::ANY,
                    1 => proptest::sample::select(vec![b'\\', b'\n', b'\r', b'\t']),
                ],
                0..200,
            ),
        ) {
            // Plain runs before and between the mixed ones, so whole clean blocks come before
            // and after blocks that need escaping.
            let bytes = [&plain[..], &mixed[..], &plain[..], &mixed[..]].concat();
            let mut expected = Vec::new();
            for &b in &bytes {
                match b {
                    b'\\' => expected.extend_from_slice(b"\\\\"),
                    b'\n' => expected.extend_from_slice(b"\\n"),
                    b'\r' => expected.extend_from_slice(b"\\r"),
                    b'\t' => expected.extend_from_slice(b"\\t"),
                    _ => expected.push(b),
                }
            }
            let mut buf = b"<".to_vec();
            escape(&mut buf, &bytes);
            proptest::prop_assert_eq!(&buf[1..], &expected[..]);
        }
    }

    #[test]
    fn floats_round_trip() {
        for f in [
            0.1,
            -0.0,
            1.0 / 3.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            123456789.0,
        ] {
            let mut buf = Vec::new();
            encode_float(&mut buf, f);
            let text = String::from_utf8(buf).expect("utf-8");
            assert_eq!(
                text.parse::<f64>().expect("parses").to_bits(),
                f.to_bits(),
                "{text}"
            );
        }
    }
}
