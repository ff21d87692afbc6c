use hoist::backend::testing::{TestDb, TestDbKind};
use hoist::backend::{Filter, Select};
use hoist::value::{LogicalType, Value};
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch() {
    for kind in TestDbKind::ALL {
        let t = TestDb::create(kind).await.unwrap();
        let db = t.connect().await;
        let ddl = match kind {
            TestDbKind::Sqlite => "CREATE TABLE x (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c DATETIME, d BOOLEAN)",
            TestDbKind::Postgres => "CREATE TABLE x (id BIGSERIAL PRIMARY KEY, a BIGINT, b TEXT, c TIMESTAMPTZ, d BOOLEAN)",
            TestDbKind::MySql => "CREATE TABLE x (id BIGINT AUTO_INCREMENT PRIMARY KEY, a BIGINT, b TEXT, c DATETIME(6), d TINYINT(1))",
        };
        db.execute_script(ddl).await.unwrap();
        let cols = [("id", LogicalType::Integer), ("a", LogicalType::Integer), ("b", LogicalType::Text), ("c", LogicalType::Timestamp), ("d", LogicalType::Boolean)];
        let n = 100_000;
        let start = std::time::Instant::now();
        let mut tx = db.begin_import().await.unwrap();
        let ids = tx.allocate_ids("x", n).await.unwrap();
        let now = chrono::Utc::now();
        let rows: Vec<Vec<Value>> = ids.iter().map(|id| vec![Value::Int(*id), Value::Int(id % 100), Value::Text(format!("row number {id} with some text")), Value::Timestamp(now), Value::Bool(id % 2 == 0)]).collect();
        tx.insert("x", &cols, &rows).await.unwrap();
        tx.commit().await.unwrap();
        let ins = start.elapsed();
        let start = std::time::Instant::now();
        let mut s = db.snapshot().await.unwrap();
        let mut after: Option<Vec<Value>> = None; let mut total = 0;
        loop {
            let page = s.select(&Select{table:"x", columns:&cols, filter: Filter::All, type_eq: None, order: &[], after: after.as_deref(), limit: Some(1000)}).await.unwrap();
            total += page.len();
            if page.len() < 1000 { break; }
            after = Some(vec![page.last().unwrap()[0].clone()]);
        }
        assert_eq!(total, n);
        eprintln!("{kind:?}: insert {n} rows {ins:?}, keyset read {:?}", start.elapsed());
        db.close().await; t.drop_db().await;
    }
}
