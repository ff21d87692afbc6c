//! The shared users: `user #1` is the instance admin (`root`), the others ordinary people. A user's row
//! depends only on its position, so every seed run agrees on them and creates only the missing ones.

use std::collections::BTreeMap;

use hoist::backend::{Database, ImportTx};
use hoist::value::Value;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::clock::{DAY, HOUR, MINUTE, USERS_EPOCH, ts};
use super::columns;
use super::sink::Sink;
use super::text;
use super::writer::Writer;
use crate::ForgeError;

/// Username of user number `n` (1-based).
pub fn username(n: usize) -> String {
    if n == 1 {
        "root".to_owned()
    } else {
        let mut rng = user_rng(n);
        let (first, _) = text::person(&mut rng);
        format!("{}{n}", ascii_fold(first).to_lowercase())
    }
}

fn user_rng(n: usize) -> StdRng {
    StdRng::seed_from_u64(super::stream_seed(0, n as u64, "users"))
}

/// Make sure users `1..=count` exist; create the missing ones (and their personal access tokens) in
/// one transaction. Returns their ids in order.
pub async fn ensure_users(
    db: &Database,
    count: usize,
    rows: &mut BTreeMap<String, u64>,
) -> Result<Vec<i64>, ForgeError> {
    let mut tx = db.begin_import().await?;
    // Look the users up on the transaction first, then hand it to a writer for the inserts.
    let mut ids = Vec::with_capacity(count);
    let mut missing = Vec::new();
    let looked_up = async {
        for n in 1..=count {
            let name = username(n);
            match tx
                .find_id("users", &[("username", Value::Text(name))])
                .await?
            {
                Some(id) => ids.push(id),
                None => {
                    missing.push((n, ids.len()));
                    ids.push(0);
                }
            }
        }
        Ok::<(), ForgeError>(())
    }
    .await;
    if let Err(e) = looked_up {
        rollback(tx).await;
        return Err(e);
    }
    if missing.is_empty() {
        tx.commit().await?;
        return Ok(ids);
    }
    let mut w = Writer::start(tx);
    let created = async {
        let mut users = Sink::tracked("users", columns::USERS);
        let mut tokens = Sink::new("personal_access_tokens", columns::PERSONAL_ACCESS_TOKENS);
        for &(n, _) in &missing {
            let (row, at) = user_row(n);
            users.push(&mut w, row, at).await?;
        }
        let created = users.finish(&mut w, rows).await?;
        for (&(n, slot), user) in missing.iter().zip(&created) {
            ids[slot] = user.id;
            let mut rng = StdRng::seed_from_u64(super::stream_seed(0, n as u64, "tokens"));
            let how_many = if rng.random_bool(0.3) { 2 } else { 1 };
            for k in 0..how_many {
                let at = user.at + rng.random_range(DAY..200 * DAY) * (k + 1);
                let row = vec![
                    Value::Null,
                    Value::Int(user.id),
                    Value::Text(
                        text::pick(&mut rng, &["ci", "laptop", "api", "backup-script"]).into(),
                    ),
                    Value::Text(text::hex(&mut rng, 64)),
                    Value::Bool(rng.random_bool(0.2)),
                    ts(at),
                ];
                tokens.push(&mut w, row, at).await?;
            }
        }
        tokens.finish(&mut w, rows).await?;
        Ok::<(), ForgeError>(())
    }
    .await;
    let (tx, written) = w.finish().await?;
    // The writer's error, if any, is the cause of the generator's.
    if let Err(e) = written.and(created) {
        rollback(tx).await;
        return Err(e);
    }
    tx.commit().await?;
    tracing::info!(
        created = missing.len(),
        existing = count - missing.len(),
        "users ready"
    );
    Ok(ids)
}

async fn rollback(tx: ImportTx) {
    if let Err(e) = tx.rollback().await {
        tracing::warn!(error = %e, "rolling back the users transaction failed");
    }
}

/// The row of user number `n` (id placeholder in column 0) and its `created_at`.
fn user_row(n: usize) -> (Vec<Value>, i64) {
    let mut rng = user_rng(n);
    let (first, last) = text::person(&mut rng);
    let created = USERS_EPOCH + (n as i64) * 6 * HOUR + rng.random_range(0..5 * HOUR);
    let updated = created + rng.random_range(MINUTE..400 * DAY);
    let (name, email) = if n == 1 {
        ("Administrator".to_owned(), "admin@forge.test".to_owned())
    } else {
        (
            format!("{first} {last}"),
            format!(
                "{}.{}.{n}@forge.test",
                ascii_fold(first).to_lowercase(),
                ascii_fold(last).to_lowercase()
            ),
        )
    };
    let row = vec![
        Value::Null,
        Value::Text(email),
        Value::Text(username(n)),
        Value::Text(name),
        Value::Text(format!("$2a$10${}", bcrypt_chars(&mut rng, 53))),
        if rng.random_bool(0.2) {
            Value::Text(base32(&mut rng, 32))
        } else {
            Value::Null
        },
        Value::Bool(n == 1),
        ts(created),
        ts(updated),
    ];
    (row, created)
}

fn bcrypt_chars(rng: &mut StdRng, n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..64usize)] as char)
        .collect()
}

fn base32(rng: &mut StdRng, n: usize) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..32usize)] as char)
        .collect()
}

/// Drop accents and anything else that does not belong in a username or an email address.
fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => Some(c),
            'á' | 'à' | 'ä' | 'å' | 'ã' | 'â' => Some('a'),
            'é' | 'è' | 'ë' | 'ê' => Some('e'),
            'í' | 'ì' | 'ï' | 'î' => Some('i'),
            'ó' | 'ò' | 'ö' | 'ø' | 'ô' | 'õ' => Some('o'),
            'ú' | 'ù' | 'ü' | 'û' => Some('u'),
            'ñ' | 'ń' => Some('n'),
            'ç' => Some('c'),
            'ł' => Some('l'),
            'Ø' | 'Ö' => Some('O'),
            'Ü' => Some('U'),
            'Å' | 'Ä' | 'Á' => Some('A'),
            'É' => Some('E'),
            'Ś' | 'ś' => Some('s'),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_unique_and_ascii() {
        let names: Vec<String> = (1..=500).map(username).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert_eq!(names[0], "root");
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_alphanumeric()))
        );
    }

    #[test]
    fn user_rows_depend_only_on_position() {
        assert_eq!(user_row(7), user_row(7));
        assert_ne!(user_row(7).0, user_row(8).0);
        let (root, _) = user_row(1);
        assert_eq!(root[6], Value::Bool(true));
        assert_eq!(user_row(2).0[6], Value::Bool(false));
    }

    #[test]
    fn fold_keeps_ascii_letters() {
        assert_eq!(ascii_fold("Søren"), "Soren");
        assert_eq!(ascii_fold("O'Brien"), "OBrien");
        assert_eq!(ascii_fold("Eun-ji"), "Eunji");
    }
}
