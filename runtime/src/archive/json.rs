//! Strict JSON for archive records: one value per input, objects with unique keys at every depth
//! (a duplicate key is a parser differential waiting to happen, so it is an error), the usual
//! serde_json recursion limit.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// Why a record was refused.
#[derive(Debug)]
pub(crate) enum RecordError {
    /// Not valid JSON, trailing characters, or a duplicate key.
    Json(serde_json::Error),
    /// Valid JSON, but not an object; holds the JSON type found.
    NotAnObject(&'static str),
}

/// Parses one JSON value from `bytes`, rejecting duplicate keys and trailing characters.
pub(crate) fn parse_value(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    deserialize_whole(bytes, StrictValue)
}

/// Checks that `bytes` is one JSON value exactly as [`parse_value`] would accept it, without
/// building it: a caller can then deserialize its own type straight from the bytes (serde's
/// derive alone would let a duplicate map key replace the first).
pub(crate) fn check_value(bytes: &[u8]) -> Result<(), serde_json::Error> {
    deserialize_whole(bytes, Validate::default()).map(|_| ())
}

/// Runs `seed` on `bytes`, which must hold one JSON value and nothing more.
///
/// Input that is valid UTF-8 as a whole (all valid records are) is checked as such once and read
/// as a `str`, so that serde_json does not check each string again; other input is read as bytes,
/// which reports the same error as before at the same place.
fn deserialize_whole<'de, T: DeserializeSeed<'de>>(
    bytes: &'de [u8],
    seed: T,
) -> Result<T::Value, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => only_value(serde_json::Deserializer::from_str(text), seed),
        Err(_) => only_value(serde_json::Deserializer::from_slice(bytes), seed),
    }
}

/// Runs `seed` on `de`'s input, which must hold nothing after the value.
fn only_value<'de, R: serde_json::de::Read<'de>, T: DeserializeSeed<'de>>(
    mut de: serde_json::Deserializer<R>,
    seed: T,
) -> Result<T::Value, serde_json::Error> {
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Parses one record: a JSON object with unique keys.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, RecordError> {
    match parse_value(bytes).map_err(RecordError::Json)? {
        Value::Object(map) => Ok(map),
        other => Err(RecordError::NotAnObject(type_name(&other))),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Deserializes a [`Value`] like serde_json does, but fails on a duplicate object key.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot spell NaN or infinities, so this only yields `Null` if a number
        // literal overflows f64, which serde_json reports as an error before reaching here.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        StrictValue.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            // One lookup for both the check and the insertion.
            match map.entry(key) {
                Entry::Occupied(entry) => return Err(duplicate_key(entry.key())),
                Entry::Vacant(entry) => {
                    entry.insert(access.next_value_seed(StrictValue)?);
                }
            }
        }
        Ok(Value::Object(map))
    }
}

/// What the verify pass tells an observer about the records it checks, in the same walk over
/// each record's JSON (see [`ArchiveReader::verify_watching`](super::ArchiveReader::verify_watching)).
///
/// Places are the watcher's own numbers for where a value sits in its record tree (an importer:
/// its relations). A watched object's keys are offered to [`child`](Self::child); the values of
/// the keys it names are watched in turn (an object there, or each object of an array there).
/// Calls arrive before the record's member is known to be intact: discard what was learnt if the
/// verification fails.
pub trait RecordWatch: Send {
    /// The place of a top-level record of `relation` (the root record: the root relation's name),
    /// or `None` to leave it unwatched.
    fn relation(&self, relation: &str) -> Option<usize>;
    /// The place of the value at `key` of a watched object at `place`, if it is watched.
    fn child(&self, place: usize, key: &str) -> Option<usize>;
    /// An object at `place` (a record).
    fn object(&mut self, place: usize);
    /// The object at `place` has an integer `id` (seen after [`object`](Self::object)).
    fn id(&mut self, place: usize, id: i64);
}

/// Checks that `bytes` is one record exactly as [`parse_object`] would accept it, without
/// building it (the verify pass does not need the values, only the verdict); tells `watch` (the
/// record being at the place given with it) what it asks for in the same walk.
pub(crate) fn validate_object(
    bytes: &[u8],
    watch: Option<(&mut dyn RecordWatch, usize)>,
) -> Result<(), RecordError> {
    match deserialize_whole(bytes, Validate { watch }).map_err(RecordError::Json)? {
        Found::Object => Ok(()),
        other => Err(RecordError::NotAnObject(other.type_name())),
    }
}

/// What [`Validate`] found: the value's type, and an integer's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Null,
    Bool,
    Integer(i64),
    Number,
    String,
    Array,
    Object,
}

impl Found {
    /// As [`type_name`].
    fn type_name(self) -> &'static str {
        match self {
            Found::Null => "null",
            Found::Bool => "a boolean",
            Found::Integer(_) | Found::Number => "a number",
            Found::String => "a string",
            Found::Array => "an array",
            Found::Object => "an object",
        }
    }
}

/// Walks a JSON value without building it; returns what it found. Rejects duplicate keys like
/// [`StrictValue`]. With a watch, tells it about the objects at watched places.
#[derive(Default)]
struct Validate<'w> {
    watch: Option<(&'w mut dyn RecordWatch, usize)>,
}

/// Objects up to this many keys check duplicates by linear scan; larger ones use a hash set.
const LINEAR_KEYS: usize = 16;

impl<'de> DeserializeSeed<'de> for Validate<'_> {
    type Value = Found;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Found, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Validate<'_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Found, E> {
        Ok(Found::Bool)
    }

    fn visit_i64<E>(self, v: i64) -> Result<Found, E> {
        Ok(Found::Integer(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Found, E> {
        Ok(i64::try_from(v).map_or(Found::Number, Found::Integer))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Found, E> {
        Ok(if v.is_finite() {
            Found::Number
        } else {
            Found::Null
        })
    }

    fn visit_str<E>(self, _: &str) -> Result<Found, E> {
        Ok(Found::String)
    }

    fn visit_unit<E>(self) -> Result<Found, E> {
        Ok(Found::Null)
    }

    fn visit_none<E>(self) -> Result<Found, E> {
        Ok(Found::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Found, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Found, A::Error> {
        // Each element sits where the array does.
        while seq.next_element_seed(self.at(Some))?.is_some() {}
        Ok(Found::Array)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut access: A) -> Result<Found, A::Error> {
        let mut seen = SeenKeys::new();
        if let Some((watch, place)) = &mut self.watch {
            watch.object(*place);
        }
        while let Some(key) = access.next_key_seed(Key)? {
            let is_id = self.watch.is_some() && key == "id";
            let child = match &self.watch {
                Some((watch, place)) if !is_id => watch.child(*place, &key),
                _ => None,
            };
            seen.insert(key).map_err(|key| duplicate_key(&key))?;
            let found = access.next_value_seed(self.at(|_| child))?;
            if let (true, Found::Integer(id), Some((watch, place))) =
                (is_id, found, &mut self.watch)
            {
                watch.id(*place, id);
            }
        }
        Ok(Found::Object)
    }
}

impl Validate<'_> {
    /// The walk of a value inside this one: watched at `place(this place)`, if this value is
    /// watched and that gives a place.
    fn at(&mut self, place: impl FnOnce(usize) -> Option<usize>) -> Validate<'_> {
        match &mut self.watch {
            Some((watch, here)) => match place(*here) {
                Some(place) => Validate {
                    watch: Some((&mut **watch, place)),
                },
                None => Validate::default(),
            },
            None => Validate::default(),
        }
    }
}

/// The error for an object key seen twice.
fn duplicate_key<E: de::Error>(key: &str) -> E {
    E::custom(format_args!(
        "duplicate key {:?}",
        super::names::display_name(key.as_bytes())
    ))
}

/// The keys of one object so far, for [`Validate`]'s duplicate check. Up to [`LINEAR_KEYS`] keys
/// are kept without allocating (keys borrowed from the input in an inline array; keys that had
/// escapes, and so arrive owned, in a `Vec` that allocates only if there is one) and searched
/// linearly; beyond that they move to a hash set (SipHash, randomly keyed: hostile input cannot
/// make it quadratic).
struct SeenKeys<'de> {
    borrowed: [&'de str; LINEAR_KEYS],
    borrowed_len: usize,
    owned: Vec<String>,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> SeenKeys<'de> {
    fn new() -> Self {
        SeenKeys {
            borrowed: [""; LINEAR_KEYS],
            borrowed_len: 0,
            owned: Vec::new(),
            many: None,
        }
    }

    /// Adds `key`; gives it back if it was already there.
    fn insert(&mut self, key: Cow<'de, str>) -> Result<(), Cow<'de, str>> {
        if let Some(many) = &mut self.many {
            if many.contains(&*key) {
                return Err(key);
            }
            many.insert(key);
            return Ok(());
        }
        let borrowed = &self.borrowed[..self.borrowed_len];
        if borrowed.contains(&&*key) || self.owned.iter().any(|k| **k == *key) {
            return Err(key);
        }
        if self.borrowed_len + self.owned.len() < LINEAR_KEYS {
            match key {
                Cow::Borrowed(key) => {
                    self.borrowed[self.borrowed_len] = key;
                    self.borrowed_len += 1;
                }
                Cow::Owned(key) => self.owned.push(key),
            }
        } else {
            let mut many = HashSet::with_capacity(2 * LINEAR_KEYS);
            many.extend(borrowed.iter().map(|&k| Cow::Borrowed(k)));
            many.extend(self.owned.drain(..).map(Cow::Owned));
            many.insert(key);
            self.many = Some(many);
        }
        Ok(())
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_values_as_serde_json() {
        let text = br#"{"a":1,"b":-2,"c":1.5,"d":18446744073709551615,"e":[true,null,"x\u00e9"],"f":{"g":{}}}"#;
        let strict = parse_value(text).map_err(|e| e.to_string());
        let plain: Result<Value, String> = serde_json::from_slice(text).map_err(|e| e.to_string());
        assert_eq!(strict, plain);
        // Key order is kept (serde_json's preserve_order).
        let keys: Vec<String> = parse_object(text)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f"]);
    }

    /// `validate_object` and `parse_object` accept and reject exactly the same inputs.
    fn agree(text: &[u8]) {
        let parsed = parse_object(text).map(|_| ()).map_err(|e| format!("{e:?}"));
        let validated = validate_object(text, None).map_err(|e| format!("{e:?}"));
        assert_eq!(parsed, validated, "{}", String::from_utf8_lossy(text));
        let watched = validate_object(text, Some((&mut WatchAll::default(), 0)));
        let watched = watched.map_err(|e| format!("{e:?}"));
        assert_eq!(parsed, watched, "{}", String::from_utf8_lossy(text));
    }

    /// Watches every key at every depth; counts what it is told.
    #[derive(Default)]
    struct WatchAll {
        objects: Vec<usize>,
        ids: Vec<(usize, i64)>,
    }

    impl RecordWatch for WatchAll {
        fn relation(&self, _: &str) -> Option<usize> {
            Some(0)
        }
        fn child(&self, place: usize, key: &str) -> Option<usize> {
            (key != "skip").then_some(place + 1)
        }
        fn object(&mut self, place: usize) {
            self.objects.push(place);
        }
        fn id(&mut self, place: usize, id: i64) {
            self.ids.push((place, id));
        }
    }

    #[test]
    fn the_watch_sees_objects_and_integer_ids_where_it_looks() {
        let mut watch = WatchAll::default();
        let text = br#"{"id":1,"a":[{"id":2},{"id":"3"},4,[{"id":-5}]],"skip":{"id":6},"b":{"id":1.5,"c":{"id":18446744073709551615}}}"#;
        validate_object(text, Some((&mut watch, 0))).unwrap();
        // Places: depth below the record; arrays (nested too) keep their place; `skip` is not
        // watched; non-integer ids and ids beyond i64 are not reported.
        assert_eq!(watch.ids, vec![(0, 1), (1, 2), (1, -5)]);
        assert_eq!(watch.objects, vec![0, 1, 1, 1, 1, 2]);
    }

    #[test]
    fn validate_agrees_with_parse() {
        let many_keys: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        let many_dup = format!("{{{many_keys}\"k3\":0}}");
        let many_ok = format!("{{{many_keys}\"z\":0}}");
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for text in [
            &br#"{"a":1,"b":[1,2,{"c":null}],"d":"x"}"#[..],
            br#"{"a":1,"a":2}"#,
            br#"{"a\u0062":1,"ab":2}"#,
            br#"{"a":{"b":1,"b":1}}"#,
            br#"[{"a":1}]"#,
            br#""text""#,
            b"12",
            b"1e400",
            b"null",
            b"true",
            b"{}",
            b"{} x",
            b"",
            b"{\"a\":\"\\ud800\"}",
            b"{\"\xff\":1}",
            many_dup.as_bytes(),
            many_ok.as_bytes(),
            deep.as_bytes(),
        ] {
            agree(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn validate_agrees_with_parse_on_any_input(text in r#"[{}\[\]":, 0-9abu.e+\\-]{0,48}"#) {
            agree(text.as_bytes());
        }

        /// See [`readers_agree`]: arbitrary short texts.
        #[test]
        fn str_and_slice_readers_agree(text in r#"[{}\[\]":, 0-9abu.e+\\-é€😀\u{7f}\t\n]{0,48}"#) {
            readers_agree(&text);
        }

        /// See [`readers_agree`]: objects whose keys and strings hold non-ASCII characters and
        /// escapes, valid or not (lone surrogates, unknown escapes, raw control characters).
        #[test]
        fn str_and_slice_readers_agree_on_strings(
            parts in proptest::collection::vec(
                r#"([a-zé€😀 ]|\\u(d8|dc|00)[0-9a-f]{2}|\\[nt"/\\x]|\t){0,6}"#,
                1..6,
            )
        ) {
            let body: Vec<String> = parts
                .chunks(2)
                .map(|kv| format!("\"{}\":\"{}\"", kv[0], kv.get(1).map_or("", |v| v)))
                .collect();
            readers_agree(&format!("{{{}}}", body.join(",")));
        }

        #[test]
        fn validate_agrees_on_objects(keys in proptest::collection::vec("[ab]{1,2}", 0..24)) {
            let body: Vec<String> = keys.iter().map(|k| format!("\"{k}\":[{{\"{k}\":1}}]")).collect();
            agree(format!("{{{}}}", body.join(",")).as_bytes());
        }
    }

    /// `key` as a JSON string, each character escaped (`\u00XX`) where `escape` says so: escaped
    /// keys reach the visitors owned, the others borrowed.
    fn spell(key: &str, escape: &[bool]) -> String {
        let mut out = String::from("\"");
        for (i, c) in key.chars().enumerate() {
            if escape.get(i).copied().unwrap_or(false) {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            } else {
                out.push(c);
            }
        }
        out.push('"');
        out
    }

    proptest::proptest! {
        /// An object is refused, by both parsers and at any depth, exactly when a key repeats,
        /// whatever the number of keys (either side of `LINEAR_KEYS`) and however they are
        /// spelled; the error names the first repeated key.
        #[test]
        fn duplicate_key_iff_repeated(
            keys in proptest::collection::vec("[a-z]{1,3}", 0..48),
            dup in proptest::option::of((0usize..48, 0usize..48)),
            escapes in proptest::collection::vec(proptest::collection::vec(proptest::bool::ANY, 3), 49),
            depth in 0usize..3,
        ) {
            let mut keys: Vec<String> = keys;
            let mut unique = HashSet::new();
            keys.retain(|k| unique.insert(k.clone()));
            if let Some((from, to)) = dup
                && !keys.is_empty()
            {
                let key = keys[from % keys.len()].clone();
                keys.insert(to % (keys.len() + 1), key);
            }
            let body: Vec<String> = keys
                .iter()
                .zip(&escapes)
                .enumerate()
                .map(|(i, (k, escape))| format!("{}:{i}", spell(k, escape)))
                .collect();
            let mut text = format!("{{{}}}", body.join(","));
            for _ in 0..depth {
                text = format!("{{\"n\":[1,{text}],\"m\":{{}}}}");
            }
            let mut earlier = HashSet::new();
            let first_repeat = keys.iter().find(|k| !earlier.insert(*k));
            let parsed = parse_object(text.as_bytes()).map(|_| ());
            let validated = validate_object(text.as_bytes(), None);
            for result in [parsed, validated] {
                match (first_repeat, result) {
                    (None, Ok(())) => {}
                    (Some(key), Err(RecordError::Json(e))) => {
                        let expected = format!("duplicate key {key:?} at line 1 column ");
                        proptest::prop_assert!(e.to_string().starts_with(&expected), "{e} / {text}");
                    }
                    (expected, got) => {
                        proptest::prop_assert!(false, "{expected:?} vs {got:?} for {text}");
                    }
                }
            }
            agree(text.as_bytes());
        }
    }

    /// Reading valid UTF-8 as a `str` (what `deserialize_whole` does) builds, accepts and refuses
    /// exactly what reading it as bytes (`from_slice`, as before) does, with the same error at
    /// the same place.
    fn readers_agree(text: &str) {
        let bytes = text.as_bytes();
        let strict = only_value(serde_json::Deserializer::from_slice(bytes), StrictValue);
        let validated = only_value(
            serde_json::Deserializer::from_slice(bytes),
            Validate::default(),
        );
        let by_slice = (
            strict.map_err(|e| e.to_string()),
            validated.map_err(|e| e.to_string()),
        );
        let by_str = (
            parse_value(bytes).map_err(|e| e.to_string()),
            deserialize_whole(bytes, Validate::default()).map_err(|e| e.to_string()),
        );
        assert_eq!(by_str, by_slice, "{text}");
    }

    #[test]
    fn str_and_slice_readers_agree_on_samples() {
        for text in [
            r#"{"a":"é€😀","b":"\u00e9\ud83d\ude00"}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\udc00x"}"#,
            r#"{"a":"\q"}"#,
            "{\"a\":\"\t\"}",
            r#"{"é":1,"\u00e9":2}"#,
            r#"{"a":1} é"#,
            r#"{"a":[1,2,"€"],"b":{"c":null}}"#,
            "",
        ] {
            readers_agree(text);
        }
    }

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        for text in [&br#"{"id":1,"id":2}"#[..], br#"{"a":[{"x":1,"x":1}]}"#] {
            match parse_object(text) {
                Err(RecordError::Json(e)) => {
                    assert!(e.to_string().contains("duplicate key"), "{e}")
                }
                other => panic!("expected a duplicate key error, got {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_non_objects_and_trailing_text() {
        assert!(matches!(
            parse_object(b"[1]"),
            Err(RecordError::NotAnObject("an array"))
        ));
        assert!(matches!(parse_object(b"{} {}"), Err(RecordError::Json(_))));
        assert!(matches!(parse_object(b""), Err(RecordError::Json(_))));
        assert!(matches!(
            parse_object(br#"{"a":"\ud800"}"#),
            Err(RecordError::Json(_))
        ));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            parse_object(deep.as_bytes()),
            Err(RecordError::Json(_))
        ));
    }
}
