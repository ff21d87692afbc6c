//! Property: keyset pagination returns exactly the full ORDER BY result, in order, for random
//! rows with NULLs and ties, random order specs (direction, NULL placement) and random page
//! sizes. Checked against SQLite, with the full result itself checked against a model sort.
//! SQLite timestamps are written in mixed ISO forms (`T`/space, `Z`, offsets, no fraction) to
//! prove the `julianday` normalization. Run: `cargo test -p hoist backend`.

mod backend {
    use std::cmp::Ordering;

    use hoist::backend::{Database, Filter, Select};
    use hoist::plan::OrderBy;
    use hoist::value::{LogicalType, Row, Value};
    use proptest::prelude::*;

    const COLS: &[(&str, LogicalType)] = &[
        ("id", LogicalType::Integer),
        ("grp", LogicalType::Integer),
        ("a", LogicalType::Integer),
        ("b", LogicalType::Text),
        ("c", LogicalType::Timestamp),
        ("d", LogicalType::Float),
    ];
    const ORDERABLE: [&str; 4] = ["a", "b", "c", "d"];

    /// One generated row: grp, a, b, c (instant index and text form), d.
    type Gen = (
        i64,
        Option<i64>,
        Option<&'static str>,
        Option<(usize, usize)>,
        Option<f64>,
    );

    /// Instants, each writable in several equivalent text forms.
    const INSTANTS: [[&str; 3]; 4] = [
        [
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:00Z",
            "2024-01-01 00:00:00.000000",
        ],
        [
            "2024-01-01 00:00:00.250",
            "2024-01-01T00:00:00.25+00:00",
            "2024-01-01T01:00:00.250000+01:00",
        ],
        [
            "2023-12-31 23:59:59",
            "2023-12-31T23:59:59.000Z",
            "2024-01-01T00:59:59+01:00",
        ],
        [
            "2024-06-30 12:00:00.5",
            "2024-06-30T12:00:00.500Z",
            "2024-06-30 10:00:00.5-02:00",
        ],
    ];

    fn gen_row() -> impl Strategy<Value = Gen> {
        (
            0i64..3,
            proptest::option::of(0i64..4),
            proptest::option::of(prop_oneof![Just("x"), Just("y"), Just("Z"), Just("")]),
            proptest::option::of((0usize..4, 0usize..3)),
            proptest::option::of(prop_oneof![Just(-1.5), Just(0.0), Just(2.25)]),
        )
    }

    fn gen_order() -> impl Strategy<Value = Vec<(usize, bool, bool)>> {
        proptest::collection::vec((0usize..4, any::<bool>(), any::<bool>()), 0..=4).prop_map(
            |mut keys| {
                // Distinct columns, first occurrence wins.
                let mut seen = [false; 4];
                keys.retain(|(c, _, _)| !std::mem::replace(&mut seen[*c], true));
                keys
            },
        )
    }

    fn cmp_values(x: &Value, y: &Value) -> Ordering {
        match (x, y) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            // SQLite's default BINARY collation is byte order.
            (Value::Text(a), Value::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::Timestamp(a), Value::Timestamp(b)) => a.cmp(b),
            _ => panic!("incomparable {x:?} {y:?}"),
        }
    }

    /// The order the spec asks for, computed without the database.
    fn model_sort(rows: &mut [Row], order: &[OrderBy]) {
        let pos = |c: &str| COLS.iter().position(|(n, _)| *n == c).expect("column");
        rows.sort_by(|r, s| {
            for o in order {
                let (x, y) = (&r[pos(o.column)], &s[pos(o.column)]);
                let ord = match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) if o.nulls_first => Ordering::Less,
                    (true, false) => Ordering::Greater,
                    (false, true) if o.nulls_first => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) if o.descending => cmp_values(y, x),
                    (false, false) => cmp_values(x, y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            cmp_values(&r[0], &s[0])
        });
    }

    async fn check(
        rows: Vec<Gen>,
        order: Vec<(usize, bool, bool)>,
        pages: Vec<usize>,
        groups: Option<Vec<i64>>,
    ) -> Result<(), TestCaseError> {
        let db = Database::connect("sqlite::memory:").await.expect("connect");
        db.execute_script(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, a INTEGER, b TEXT,
                             c DATETIME, d REAL)",
        )
        .await
        .expect("ddl");
        let pool = db.as_sqlite().expect("sqlite");
        for (i, (grp, a, b, c, d)) in rows.iter().enumerate() {
            // Ids out of insertion order, so `id` order is not rowid-scan order by accident.
            let id = ((i as i64) * 37) % 101 + 1000 * (i as i64 / 101);
            sqlx::query("INSERT INTO t (id, grp, a, b, c, d) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(id)
                .bind(grp)
                .bind(a)
                .bind(b)
                .bind(c.map(|(instant, form)| INSTANTS[instant][form]))
                .bind(d)
                .execute(pool)
                .await
                .expect("insert");
        }

        let order: Vec<OrderBy> = order
            .iter()
            .map(|(c, descending, nulls_first)| OrderBy {
                column: ORDERABLE[*c],
                descending: *descending,
                nulls_first: *nulls_first,
            })
            .collect();
        let filter = match &groups {
            Some(g) => Filter::In {
                column: "grp",
                values: g,
            },
            None => Filter::All,
        };
        let q = Select {
            table: "t",
            columns: COLS,
            filter,
            type_eq: None,
            order: &order,
            after: None,
            limit: None,
        };
        let positions: Vec<usize> = order
            .iter()
            .map(|o| {
                COLS.iter()
                    .position(|(n, _)| *n == o.column)
                    .expect("column")
            })
            .chain([0])
            .collect();

        let mut snap = db.snapshot().await.expect("snapshot");
        let full = snap.select(&q).await.expect("full select");

        // The full result is the requested order.
        let mut model = full.clone();
        model_sort(&mut model, &order);
        prop_assert_eq!(
            &full,
            &model,
            "ORDER BY differs from the model for {:?}",
            order
        );
        let expected_len = rows
            .iter()
            .filter(|r| groups.as_ref().is_none_or(|g| g.contains(&r.0)))
            .count();
        prop_assert_eq!(full.len(), expected_len);

        // Paging with the keyset cursor returns the same rows in the same order.
        let mut paged: Vec<Row> = Vec::new();
        let mut sizes = pages.iter().cycle();
        loop {
            let size = *sizes.next().expect("non-empty page sizes");
            let cursor: Option<Vec<Value>> = paged
                .last()
                .map(|last| positions.iter().map(|p| last[*p].clone()).collect());
            let page = snap
                .select(&Select {
                    after: cursor.as_deref(),
                    limit: Some(size),
                    ..q
                })
                .await
                .expect("page");
            prop_assert!(page.len() <= size);
            let done = page.len() < size;
            paged.extend(page);
            prop_assert!(paged.len() <= full.len(), "paging returned extra rows");
            if done {
                break;
            }
        }
        snap.finish().await.expect("finish");
        prop_assert_eq!(
            paged,
            full,
            "paging differs for order {:?}, pages {:?}",
            order,
            pages
        );
        db.close().await;
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn keyset_pages_equal_the_full_order(
            rows in proptest::collection::vec(gen_row(), 0..60),
            order in gen_order(),
            pages in proptest::collection::vec(1usize..12, 1..5),
            groups in proptest::option::of(proptest::collection::vec(0i64..4, 0..3)),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(check(rows, order, pages, groups))?;
        }
    }
}
