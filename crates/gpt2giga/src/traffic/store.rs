//! Where traffic records live: SQLite (embedded) or PostgreSQL, through `sqlx`'s `Any`
//! driver so that every query is written once. Migrations are in the repository
//! (`migrations/traffic/{sqlite,postgres}/`) and embedded in the binary; they run at
//! start-up. Queries are plain strings (parameters `?` for SQLite, `$n` for PostgreSQL),
//! nothing is checked against a database at compile time.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Row};

/// The columns every query reads, in order.
const COLUMNS: &str = "id, ts_ms, request_id, method, path, route, dialect, client_model, \
    gigachat_model, identity, status, error, stream, queue_us, upload_us, first_byte_us, \
    total_us, input_tokens, output_tokens, cached_tokens, truncated, size_bytes";
const BODIES: &str = "client_request, gigachat_request, gigachat_response, client_response";

/// Columns an insert writes.
const INSERT_COLUMNS: usize = 25;
/// Rows per INSERT statement, largest first (25 parameters each; SQLite allows 32,766
/// per statement, PostgreSQL 65,535).
const ROW_COUNTS: &[usize] = &[128, 32, 8, 1];

/// Ids a listing walks at the newest end before it asks the indexes (see
/// [`Store::list`]).
const RECENT_ROWS: i64 = 10_000;

/// The ids one query of a listing reads.
#[derive(Debug, Clone, Copy)]
enum Window {
    /// Newer than this id.
    After(i64),
    /// This id and older.
    UpTo(i64),
}

/// Bits of the `truncated` column.
pub(crate) const CUT_CLIENT_REQUEST: i64 = 1;
pub(crate) const CUT_GIGACHAT_REQUEST: i64 = 2;
pub(crate) const CUT_GIGACHAT_RESPONSE: i64 = 4;
pub(crate) const CUT_CLIENT_RESPONSE: i64 = 8;

/// Which database engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One stored record (as the admin API shows it).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Entry {
    pub id: i64,
    /// Arrival, Unix milliseconds.
    pub ts_ms: i64,
    pub request_id: String,
    /// Borrowed from the request's capture (a fixed set of names), owned when read back.
    pub method: Cow<'static, str>,
    pub path: String,
    pub route: Cow<'static, str>,
    pub dialect: Cow<'static, str>,
    pub client_model: Option<String>,
    pub gigachat_model: Option<String>,
    pub identity: Option<String>,
    pub status: i64,
    pub error: Option<String>,
    pub stream: bool,
    pub queue_us: i64,
    pub upload_us: i64,
    pub first_byte_us: Option<i64>,
    pub total_us: i64,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cached_tokens: Option<i64>,
    /// Bit set of cut bodies: 1 client request, 2 GigaChat request, 4 GigaChat answer,
    /// 8 client answer.
    pub truncated: i64,
    pub size_bytes: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bodies: Option<Bodies>,
}

impl Entry {
    /// One of the record's bodies, when kept.
    fn body(&self, pick: fn(&Bodies) -> &Option<String>) -> Option<&str> {
        self.bodies.as_ref().and_then(|b| pick(b).as_deref())
    }
}

/// The four bodies of a record (`None` when not kept).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Bodies {
    pub client_request: Option<String>,
    pub gigachat_request: Option<String>,
    pub gigachat_response: Option<String>,
    pub client_response: Option<String>,
}

/// Filters of a listing; every one optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The client's or the GigaChat model.
    pub model: Option<String>,
    /// An exact status, or a class (`4xx`) as a range.
    pub status: Option<(i64, i64)>,
    pub dialect: Option<String>,
    /// Unix milliseconds, inclusive.
    pub since_ms: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until_ms: Option<i64>,
    /// Only records with a smaller id (the previous page's `next_cursor`).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// The traffic log's database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// A SQLite file's writer: its own connection, driven directly (one prepared
    /// statement, one transaction per batch), so that a record costs SQLite's work and
    /// little else. `None` for PostgreSQL and in-memory SQLite, which insert through
    /// the pool.
    writer: Option<Arc<Mutex<rusqlite::Connection>>>,
    /// [`RECENT_ROWS`] (smaller in tests).
    recent_rows: i64,
}

/// Why records could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Pool(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("the SQLite writer stopped: {0}")]
    Stopped(String),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// The traffic log's migrations, embedded in the binary (sqlx's public
/// [`MigrationSource`]: no files needed at run time, no hidden `Migrator` fields).
#[derive(Debug)]
struct Embedded(Backend);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> futures::future::BoxFuture<'static, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        let sql: [(i64, &'static str, &'static str); 3] = match self.0 {
            Backend::Sqlite => [
                (
                    1,
                    "traffic",
                    include_str!("../../migrations/traffic/sqlite/0001_traffic.sql"),
                ),
                (
                    2,
                    "fewer indexes",
                    include_str!("../../migrations/traffic/sqlite/0002_fewer_indexes.sql"),
                ),
                (
                    3,
                    "partial status index",
                    include_str!("../../migrations/traffic/sqlite/0003_partial_status_index.sql"),
                ),
            ],
            Backend::Postgres => [
                (
                    1,
                    "traffic",
                    include_str!("../../migrations/traffic/postgres/0001_traffic.sql"),
                ),
                (
                    2,
                    "fewer indexes",
                    include_str!("../../migrations/traffic/postgres/0002_fewer_indexes.sql"),
                ),
                (
                    3,
                    "partial status index",
                    include_str!("../../migrations/traffic/postgres/0003_partial_status_index.sql"),
                ),
            ],
        };
        let migrations = sql
            .into_iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(name),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

impl Store {
    /// Connects to `url` (`sqlite://…` creates the file; `postgres://…`) and brings
    /// its schema up to date. The error names the problem, never the URL.
    pub async fn open(url: &str) -> Result<Self, String> {
        sqlx::any::install_default_drivers();
        let mut in_memory = false;
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            in_memory = path.starts_with(":memory:") || path.contains("mode=memory");
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = if path.starts_with(":memory:") {
                // One database all the pool's connections share (`sqlite::memory:`
                // would give each connection its own).
                static DATABASES: AtomicU64 = AtomicU64::new(0);
                let n = DATABASES.fetch_add(1, Ordering::Relaxed);
                format!(
                    "sqlite:file:gpt2giga-traffic-{}-{n}?mode=memory&cache=shared",
                    std::process::id()
                )
            } else if path.contains("mode=") {
                format!("sqlite://{path}")
            } else {
                format!("sqlite://{path}{sep}mode=rwc")
            };
            (Backend::Sqlite, url)
        } else {
            (Backend::Postgres, url.to_string())
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| format!("the traffic-log URL is not usable: {}", redacted(&e)))?;
        let mut pool = AnyPoolOptions::new();
        if in_memory {
            // An in-memory database lives as long as one of its connections: one stays
            // open for good (the pool would close idle and old ones, then open new ones).
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool
            .acquire_timeout(std::time::Duration::from_secs(5))
            .max_connections(match backend {
                // One writer at a time is all SQLite allows; readers share the rest.
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Readers do not block the writer; a busy writer is waited for.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| format!("cannot open the traffic log: {}", redacted(&e)))?;
        Migrator::new(Embedded(backend))
            .await
            .map_err(|e| format!("cannot read the traffic log's migrations: {e}"))?
            .run(&pool)
            .await
            .map_err(|e| format!("cannot prepare the traffic log's tables: {e}"))?;
        let writer = match backend {
            Backend::Sqlite if !in_memory => {
                let file = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                    .map_err(|e| format!("the traffic-log URL is not usable: {}", redacted(&e)))?;
                let conn = sqlite_writer(file.get_filename())
                    .map_err(|e| format!("cannot open the traffic log for writing: {e}"))?;
                Some(Arc::new(Mutex::new(conn)))
            }
            _ => None,
        };
        Ok(Self {
            pool,
            backend,
            writer,
            recent_rows: RECENT_ROWS,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The `n`th (1-based) query parameter. SQLite gets anonymous `?`s, bound in order:
    /// with numbered ones, binding looks each parameter's name up in a list, so a
    /// statement of thousands of parameters costs millions of steps.
    fn placeholder(&self, n: usize) -> String {
        match self.backend {
            Backend::Sqlite => "?".to_string(),
            Backend::Postgres => format!("${n}"),
        }
    }

    /// Writes `entries` (ids ignored) in one transaction; returns them with their ids.
    pub async fn insert(&self, entries: Vec<Entry>) -> Result<Vec<Entry>, WriteError> {
        match &self.writer {
            Some(conn) => {
                let conn = conn.clone();
                tokio::task::spawn_blocking(move || insert_sqlite(&conn, entries))
                    .await
                    .map_err(|e| WriteError::Stopped(e.to_string()))?
            }
            None => Ok(self.insert_pooled(entries).await?),
        }
    }

    /// [`Self::insert`] through the pool: up to 128 rows per statement (one round trip
    /// to the database per statement, not per row).
    async fn insert_pooled(&self, mut entries: Vec<Entry>) -> Result<Vec<Entry>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let mut rest: &mut [Entry] = &mut entries;
        while !rest.is_empty() {
            // Statements of a few fixed sizes only, so each stays prepared in the
            // connection's statement cache.
            let chunk = take_chunk(&mut rest, ROW_COUNTS);
            let mut sql = insert_sql("INSERT", chunk.len(), |n| self.placeholder(n));
            sql.push_str(" RETURNING id");
            let mut q = sqlx::query(&sql);
            // Borrowed values: nothing of a record (its bodies least of all) is copied.
            for e in chunk.iter() {
                q = q
                    .bind(e.ts_ms)
                    .bind(e.request_id.as_str())
                    .bind(e.method.as_ref())
                    .bind(e.path.as_str())
                    .bind(e.route.as_ref())
                    .bind(e.dialect.as_ref())
                    .bind(e.client_model.as_deref())
                    .bind(e.gigachat_model.as_deref())
                    .bind(e.identity.as_deref())
                    .bind(e.status)
                    .bind(e.error.as_deref())
                    .bind(i64::from(e.stream))
                    .bind(e.queue_us)
                    .bind(e.upload_us)
                    .bind(e.first_byte_us)
                    .bind(e.total_us)
                    .bind(e.input_tokens)
                    .bind(e.output_tokens)
                    .bind(e.cached_tokens)
                    .bind(e.truncated)
                    .bind(e.size_bytes)
                    .bind(e.body(|b| &b.client_request))
                    .bind(e.body(|b| &b.gigachat_request))
                    .bind(e.body(|b| &b.gigachat_response))
                    .bind(e.body(|b| &b.client_response));
            }
            let rows = q.fetch_all(&mut *tx).await?;
            // Both engines number the rows of one VALUES list in its order (RETURNING
            // may list them in any order), so the sorted ids are the rows' ids in turn.
            let mut ids = rows
                .iter()
                .map(|r| r.try_get::<i64, _>("id"))
                .collect::<Result<Vec<i64>, _>>()?;
            ids.sort_unstable();
            for (e, id) in chunk.iter_mut().zip(ids) {
                e.id = id;
            }
        }
        tx.commit().await?;
        Ok(entries)
    }

    /// Newest first, metadata only.
    ///
    /// "The newest N that match" is answered two ways. A value common in recent traffic
    /// (the usual model, status 200) is found at once by walking the newest ids
    /// backwards, while its index would hand over every one of its (maybe millions of)
    /// rows to be sorted. A rare value is the other way round: its index holds few rows,
    /// which sort at once, while a walk would read the whole table. So the newest
    /// [`RECENT_ROWS`] ids are walked first, and only when they hold too few matches do
    /// the indexes find the rest among the older ones.
    pub async fn list(&self, f: &Filter) -> Result<Vec<Entry>, sqlx::Error> {
        let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM traffic")
            .fetch_one(&self.pool)
            .await?;
        let Some(newest) = newest else {
            return Ok(Vec::new());
        };
        let start = f
            .before_id
            .map_or(newest, |b| b.saturating_sub(1).min(newest));
        let split = start.saturating_sub(self.recent_rows);
        let mut out = self.select(f, Window::After(split), f.limit).await?;
        let missing = f.limit - i64::try_from(out.len()).unwrap_or(i64::MAX);
        if missing > 0 && split > 0 {
            out.extend(self.select(f, Window::UpTo(split), missing).await?);
        }
        Ok(out)
    }

    /// One query of [`Self::list`]: the filters' newest `limit` matches in `window`.
    async fn select(
        &self,
        f: &Filter,
        window: Window,
        limit: i64,
    ) -> Result<Vec<Entry>, sqlx::Error> {
        let sql = self.select_sql(f, window);
        let mut q = sqlx::query(&sql);
        if let Some(m) = &f.model {
            q = q.bind(m.as_str()).bind(m.as_str());
        }
        if let Some((lo, hi)) = f.status {
            q = q.bind(lo).bind(hi);
        }
        if let Some(d) = &f.dialect {
            q = q.bind(d.as_str());
        }
        if let Some(v) = f.since_ms {
            q = q.bind(v);
        }
        if let Some(v) = f.until_ms {
            q = q.bind(v);
        }
        if let Some(v) = f.before_id {
            q = q.bind(v);
        }
        let (Window::After(id) | Window::UpTo(id)) = window;
        q = q.bind(id).bind(limit);
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(|r| entry(r, false)).collect()
    }

    /// The text of [`Self::select`]'s query (parameters in the order it binds them).
    fn select_sql(&self, f: &Filter, window: Window) -> String {
        // SQLite keeps no statistics, so it is told which way to go; PostgreSQL's
        // planner has them and needs no hint. The newest ids: the id range alone
        // (`NOT INDEXED`). The older ones: a model's index (it bounds the id itself),
        // else the status index (any status but 200), else the time index (`+id`
        // takes the id range away, which SQLite would otherwise walk), else the id
        // range.
        let sqlite = self.backend == Backend::Sqlite;
        let timed = f.since_ms.is_some() || f.until_ms.is_some();
        // The status index holds every status but 200 (the common one, found by id).
        let indexed_status = f.status.is_some_and(|(lo, hi)| !(lo..=hi).contains(&200));
        let (table, id) = match window {
            Window::After(_) if sqlite => ("traffic NOT INDEXED", "id"),
            Window::UpTo(_) if sqlite && f.model.is_none() && indexed_status => {
                ("traffic INDEXED BY traffic_status", "+id")
            }
            Window::UpTo(_) if sqlite && f.model.is_none() && timed => {
                ("traffic INDEXED BY traffic_ts", "+id")
            }
            _ => ("traffic", "id"),
        };
        let mut sql = format!("SELECT {COLUMNS} FROM {table} WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            self.placeholder(n)
        };
        if f.model.is_some() {
            let (a, b) = (next(), next());
            sql.push_str(&format!(
                " AND (client_model = {a} OR gigachat_model = {b})"
            ));
        }
        if f.status.is_some() {
            let (a, b) = (next(), next());
            sql.push_str(&format!(" AND status >= {a} AND status <= {b}"));
            if indexed_status {
                // Implied by the range, and what lets a planner use the partial index.
                sql.push_str(" AND status <> 200");
            }
        }
        if f.dialect.is_some() {
            sql.push_str(&format!(" AND dialect = {}", next()));
        }
        if f.since_ms.is_some() {
            sql.push_str(&format!(" AND ts_ms >= {}", next()));
        }
        if f.until_ms.is_some() {
            sql.push_str(&format!(" AND ts_ms < {}", next()));
        }
        if f.before_id.is_some() {
            sql.push_str(&format!(" AND id < {}", next()));
        }
        let op = match window {
            Window::After(_) => ">",
            Window::UpTo(_) => "<=",
        };
        sql.push_str(&format!(" AND {id} {op} {}", next()));
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", next()));
        sql
    }

    /// One record with its bodies.
    pub async fn get(&self, id: i64) -> Result<Option<Entry>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS}, {BODIES} FROM traffic WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| entry(&r, true)).transpose()
    }

    /// Deletes the records that arrived before `before_ms` (all when `None`).
    pub async fn purge(&self, before_ms: Option<i64>) -> Result<u64, sqlx::Error> {
        let done = match before_ms {
            Some(t) => {
                sqlx::query("DELETE FROM traffic WHERE ts_ms < $1")
                    .bind(t)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM traffic")
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected())
    }

    /// Retention: deletes records older than `max_age_ms` (0 = no limit), then the
    /// oldest ones past `max_bytes` in total (0 = no limit). Returns how many went.
    pub async fn prune(
        &self,
        now_ms: i64,
        max_age_ms: i64,
        max_bytes: i64,
    ) -> Result<u64, sqlx::Error> {
        let mut gone = 0;
        if max_age_ms > 0 {
            gone += self.purge(Some(now_ms.saturating_sub(max_age_ms))).await?;
        }
        if max_bytes > 0 {
            // Newest first, a running total; everything from the first row that passes
            // the budget onwards (older) goes.
            let done = sqlx::query(
                "DELETE FROM traffic WHERE id <= (SELECT id FROM (SELECT id, SUM(size_bytes) \
                 OVER (ORDER BY id DESC) AS running FROM traffic) sized WHERE running > $1 \
                 ORDER BY id DESC LIMIT 1)",
            )
            .bind(max_bytes)
            .execute(&self.pool)
            .await?;
            gone += done.rows_affected();
        }
        Ok(gone)
    }

    /// Records stored.
    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM traffic")
            .fetch_one(&self.pool)
            .await?;
        row.try_get("n")
    }
}

/// The writer's connection to a SQLite file the pool has already set up (WAL mode is
/// a property of the file; `synchronous` is per connection).
fn sqlite_writer(path: &Path) -> Result<rusqlite::Connection, rusqlite::Error> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Rows per statement of the SQLite writer, largest first: every execution of a
/// statement costs a fixed part (resetting it, the `AUTOINCREMENT` counter's update)
/// that many rows share. Measured per row, 16 rows beat both 8 and 64 (by 4–8 %).
const SQLITE_ROWS: &[usize] = &[16, 4, 1];

/// How the SQLite writer inserts. A failing row rolls back the whole batch's
/// transaction, which is what the writer does with a failed batch anyway; a plain
/// `INSERT` of many rows would instead keep a statement journal (a copy of every page
/// it changes, to undo just that statement), which cost about a sixth of its time.
const SQLITE_INSERT: &str = "INSERT OR ROLLBACK";

/// The SQLite writer's statements, by their number of rows (built once; only the
/// sizes of [`SQLITE_ROWS`] are used).
static INSERT_SQL: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    (0..=SQLITE_ROWS.iter().copied().max().unwrap_or(1))
        .map(|rows| insert_sql(SQLITE_INSERT, rows, |_| "?".to_string()))
        .collect()
});

/// The INSERT of `rows` records, its parameters written by `param` (numbered from 1).
fn insert_sql(verb: &str, rows: usize, mut param: impl FnMut(usize) -> String) -> String {
    let mut sql = String::with_capacity(512 + rows * 8 * INSERT_COLUMNS);
    sql.push_str(verb);
    sql.push_str(
        " INTO traffic (ts_ms, request_id, method, path, route, dialect, \
         client_model, gigachat_model, identity, status, error, stream, queue_us, \
         upload_us, first_byte_us, total_us, input_tokens, output_tokens, cached_tokens, \
         truncated, size_bytes, client_request, gigachat_request, gigachat_response, \
         client_response) VALUES ",
    );
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..INSERT_COLUMNS {
            n += 1;
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&param(n));
        }
        sql.push(')');
    }
    sql
}

/// The next records of `rest` to insert in one statement: as many as the largest of
/// `sizes` (largest first) that `rest` still fills, at least one.
fn take_chunk<'a>(rest: &mut &'a mut [Entry], sizes: &[usize]) -> &'a mut [Entry] {
    let size = sizes
        .iter()
        .copied()
        .find(|n| *n <= rest.len())
        .unwrap_or(1)
        .min(rest.len());
    let (chunk, tail) = std::mem::take(rest).split_at_mut(size);
    *rest = tail;
    chunk
}

/// Binds `e` as the row whose first parameter is `first` (1-based).
fn bind_row(
    insert: &mut rusqlite::CachedStatement<'_>,
    first: usize,
    e: &Entry,
) -> rusqlite::Result<()> {
    let values: [&dyn rusqlite::ToSql; INSERT_COLUMNS] = [
        &e.ts_ms,
        &e.request_id,
        &e.method,
        &e.path,
        &e.route,
        &e.dialect,
        &e.client_model,
        &e.gigachat_model,
        &e.identity,
        &e.status,
        &e.error,
        &e.stream,
        &e.queue_us,
        &e.upload_us,
        &e.first_byte_us,
        &e.total_us,
        &e.input_tokens,
        &e.output_tokens,
        &e.cached_tokens,
        &e.truncated,
        &e.size_bytes,
        &e.body(|b| &b.client_request),
        &e.body(|b| &b.gigachat_request),
        &e.body(|b| &b.gigachat_response),
        &e.body(|b| &b.client_response),
    ];
    for (i, v) in values.into_iter().enumerate() {
        insert.raw_bind_parameter(first + i, v)?;
    }
    Ok(())
}

/// Writes `entries` in one transaction on the SQLite writer's connection (blocking).
fn insert_sqlite(
    conn: &Mutex<rusqlite::Connection>,
    mut entries: Vec<Entry>,
) -> Result<Vec<Entry>, WriteError> {
    let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
    let tx = conn.transaction()?;
    let mut rest: &mut [Entry] = &mut entries;
    while !rest.is_empty() {
        let chunk = take_chunk(&mut rest, SQLITE_ROWS);
        let size = chunk.len();
        let built;
        let sql = match INSERT_SQL.get(size) {
            Some(sql) => sql.as_str(),
            None => {
                built = insert_sql(SQLITE_INSERT, size, |_| "?".to_string());
                &built
            }
        };
        let mut insert = tx.prepare_cached(sql)?;
        for (row, e) in chunk.iter().enumerate() {
            bind_row(&mut insert, row * INSERT_COLUMNS + 1, e)?;
        }
        insert.raw_execute()?;
        // One writer, one statement: its rows got consecutive ids, the last one's last.
        let last = tx.last_insert_rowid();
        for (e, id) in chunk.iter_mut().rev().zip((0..=last).rev()) {
            e.id = id;
        }
    }
    tx.commit()?;
    Ok(entries)
}

fn entry(r: &AnyRow, with_bodies: bool) -> Result<Entry, sqlx::Error> {
    Ok(Entry {
        id: r.try_get("id")?,
        ts_ms: r.try_get("ts_ms")?,
        request_id: r.try_get("request_id")?,
        method: Cow::Owned(r.try_get("method")?),
        path: r.try_get("path")?,
        route: Cow::Owned(r.try_get("route")?),
        dialect: Cow::Owned(r.try_get("dialect")?),
        client_model: r.try_get("client_model")?,
        gigachat_model: r.try_get("gigachat_model")?,
        identity: r.try_get("identity")?,
        status: r.try_get("status")?,
        error: r.try_get("error")?,
        stream: r.try_get::<i64, _>("stream")? != 0,
        queue_us: r.try_get("queue_us")?,
        upload_us: r.try_get("upload_us")?,
        first_byte_us: r.try_get("first_byte_us")?,
        total_us: r.try_get("total_us")?,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cached_tokens: r.try_get("cached_tokens")?,
        truncated: r.try_get("truncated")?,
        size_bytes: r.try_get("size_bytes")?,
        bodies: if with_bodies {
            Some(Bodies {
                client_request: r.try_get("client_request")?,
                gigachat_request: r.try_get("gigachat_request")?,
                gigachat_response: r.try_get("gigachat_response")?,
                client_response: r.try_get("client_response")?,
            })
        } else {
            None
        },
    })
}

/// An `sqlx` error's text with anything URL-like masked (connection errors may quote
/// the server they tried; the URL may carry a password).
fn redacted(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let re = regex::Regex::new(r"(?i)\b(postgres(?:ql)?|sqlite)://\S+");
    match re {
        Ok(re) => re.replace_all(&text, "$1://***").into_owned(),
        Err(_) => "(details withheld)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ts_ms: i64, model: &str, status: i64, size: i64) -> Entry {
        Entry {
            ts_ms,
            request_id: format!("r{ts_ms}"),
            method: "POST".into(),
            path: "/v1/chat/completions".into(),
            route: "/chat/completions".into(),
            dialect: "openai".into(),
            client_model: Some(model.into()),
            status,
            size_bytes: size,
            bodies: Some(Bodies {
                client_request: Some("{}".into()),
                ..Bodies::default()
            }),
            ..Entry::default()
        }
    }

    #[tokio::test]
    async fn sqlite_round_trip_filters_and_retention() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::open(&url).await.unwrap();
        let stored = store
            .insert(vec![
                sample(1000, "a", 200, 100),
                sample(2000, "b", 429, 100),
                sample(3000, "a", 500, 100),
            ])
            .await
            .unwrap();
        assert!(stored[0].id < stored[2].id);
        let all = store
            .list(&Filter {
                limit: 10,
                ..Filter::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].ts_ms, 3000, "newest first");
        assert!(all[0].bodies.is_none());
        let a = store
            .list(&Filter {
                model: Some("a".into()),
                status: Some((500, 599)),
                limit: 10,
                ..Filter::default()
            })
            .await
            .unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].status, 500);
        let one = store.get(stored[1].id).await.unwrap().unwrap();
        assert_eq!(one.bodies.unwrap().client_request.as_deref(), Some("{}"));
        // Size budget 250: the oldest goes.
        assert_eq!(store.prune(3000, 0, 250).await.unwrap(), 1);
        assert_eq!(store.count().await.unwrap(), 2);
        // Age 1.5 s at t=3.6 s: the one of t=2 s goes.
        assert_eq!(store.prune(3600, 1500, 0).await.unwrap(), 1);
        assert_eq!(store.count().await.unwrap(), 1);
        // Reopening runs no migration twice.
        drop(store);
        let again = Store::open(&url).await.unwrap();
        assert_eq!(again.count().await.unwrap(), 1);
    }

    /// Rows of many models, statuses, dialects and times, in insertion order.
    fn mixed(n: i64) -> Vec<Entry> {
        (0..n)
            .map(|i| {
                let model = if i % 17 == 0 {
                    "rare"
                } else if i % 3 == 1 {
                    "b"
                } else {
                    "a"
                };
                let status = [200, 200, 200, 429, 500][(i % 5) as usize];
                let mut e = sample(1000 + i * 10, model, status, 10);
                e.gigachat_model = Some(if i % 4 == 0 { "g1" } else { "g2" }.into());
                e.dialect = if i % 6 == 0 { "gemini" } else { "openai" }.into();
                e
            })
            .collect()
    }

    #[tokio::test]
    async fn a_failing_row_rolls_back_its_whole_batch_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::open(&url).await.unwrap();
        // A constraint the schema does not have, so that one row of a batch fails.
        sqlx::query("CREATE UNIQUE INDEX test_unique_request ON traffic (request_id)")
            .execute(&store.pool)
            .await
            .unwrap();
        // Several statements' worth of rows (16 each), the failing one in the third:
        // the two statements before it are undone too.
        let mut batch: Vec<Entry> = (0..70).map(|i| sample(1000 + i, "a", 200, 1)).collect();
        batch[40].request_id = batch[3].request_id.clone();
        assert!(store.insert(batch).await.is_err());
        assert_eq!(
            store.count().await.unwrap(),
            0,
            "nothing of a failed batch stays"
        );
        let stored = store.insert(vec![sample(5000, "b", 200, 1)]).await.unwrap();
        assert_eq!(store.count().await.unwrap(), 1);
        assert_eq!(store.get(stored[0].id).await.unwrap().unwrap().ts_ms, 5000);
    }

    #[tokio::test]
    async fn listings_find_the_newest_matches_whichever_way_they_look() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let mut store = Store::open(&url).await.unwrap();
        let rows = store.insert(mixed(200)).await.unwrap();
        let filters = [
            Filter::default(),
            Filter {
                model: Some("a".into()),
                ..Filter::default()
            },
            Filter {
                model: Some("rare".into()),
                ..Filter::default()
            },
            Filter {
                model: Some("g1".into()),
                status: Some((500, 599)),
                ..Filter::default()
            },
            Filter {
                status: Some((400, 499)),
                ..Filter::default()
            },
            Filter {
                status: Some((200, 200)),
                dialect: Some("gemini".into()),
                ..Filter::default()
            },
            Filter {
                status: Some((200, 299)),
                since_ms: Some(1200),
                ..Filter::default()
            },
            Filter {
                status: Some((300, 599)),
                until_ms: Some(2000),
                ..Filter::default()
            },
            Filter {
                since_ms: Some(1500),
                until_ms: Some(2500),
                ..Filter::default()
            },
            Filter {
                until_ms: Some(1300),
                ..Filter::default()
            },
            Filter {
                model: Some("b".into()),
                before_id: Some(rows[150].id),
                ..Filter::default()
            },
        ];
        // The walk of the newest ids alone, the indexes alone, and both.
        for recent in [1_000_000, 0, 7, 40] {
            store.recent_rows = recent;
            for f in &filters {
                for limit in [1, 5, 30, 500] {
                    let f = Filter { limit, ..f.clone() };
                    let want: Vec<i64> = rows
                        .iter()
                        .rev()
                        .filter(|e| {
                            f.model.as_ref().is_none_or(|m| {
                                e.client_model.as_ref() == Some(m)
                                    || e.gigachat_model.as_ref() == Some(m)
                            }) && f
                                .status
                                .is_none_or(|(lo, hi)| (lo..=hi).contains(&e.status))
                                && f.dialect.as_ref().is_none_or(|d| &e.dialect == d)
                                && f.since_ms.is_none_or(|t| e.ts_ms >= t)
                                && f.until_ms.is_none_or(|t| e.ts_ms < t)
                                && f.before_id.is_none_or(|b| e.id < b)
                        })
                        .take(limit as usize)
                        .map(|e| e.id)
                        .collect();
                    let got: Vec<i64> =
                        store.list(&f).await.unwrap().iter().map(|e| e.id).collect();
                    assert_eq!(got, want, "recent {recent}, {f:?}");
                }
            }
        }
    }

    /// SQLite's plans: the newest ids walked by id, the older ones looked up in the
    /// filter's index; no index the writer pays for and no query uses.
    #[tokio::test]
    async fn sqlite_queries_use_the_indexes_and_only_those_exist() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::open(&url).await.unwrap();
        let plan = |f: Filter, w: Window| {
            let sql = format!("EXPLAIN QUERY PLAN {}", store.select_sql(&f, w));
            let pool = store.pool.clone();
            async move {
                sqlx::query(&sql)
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get::<String, _>("detail").unwrap())
                    .collect::<Vec<_>>()
                    .join(" | ")
            }
        };
        let model = || Filter {
            model: Some("m".into()),
            ..Filter::default()
        };
        let status = || Filter {
            status: Some((500, 599)),
            ..Filter::default()
        };
        let timed = || Filter {
            since_ms: Some(1),
            ..Filter::default()
        };
        for f in [model(), status(), timed(), Filter::default()] {
            let p = plan(f, Window::After(10)).await;
            assert!(
                p.contains("INTEGER PRIMARY KEY") && !p.contains("TEMP B-TREE"),
                "{p}"
            );
        }
        let p = plan(model(), Window::UpTo(10)).await;
        assert!(
            p.contains("traffic_client_model") && p.contains("traffic_gigachat_model"),
            "{p}"
        );
        assert!(
            plan(status(), Window::UpTo(10))
                .await
                .contains("traffic_status")
        );
        // 200 is not in the status index: the common status is found by walking ids.
        let ok = Filter {
            status: Some((200, 299)),
            ..Filter::default()
        };
        let p = plan(ok, Window::UpTo(10)).await;
        assert!(
            p.contains("INTEGER PRIMARY KEY") && !p.contains("TEMP B-TREE"),
            "{p}"
        );
        assert!(plan(timed(), Window::UpTo(10)).await.contains("traffic_ts"));
        let p = plan(Filter::default(), Window::UpTo(10)).await;
        assert!(
            p.contains("INTEGER PRIMARY KEY") && !p.contains("TEMP B-TREE"),
            "{p}"
        );
        let mut indexes: Vec<String> = sqlx::query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traffic' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("name").unwrap())
        .collect();
        indexes.sort();
        assert_eq!(
            indexes,
            [
                "traffic_client_model",
                "traffic_gigachat_model",
                "traffic_status",
                "traffic_ts"
            ]
        );
        let status_index: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'traffic_status'")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert!(
            status_index.ends_with("WHERE status <> 200"),
            "{status_index}"
        );
    }

    #[tokio::test]
    async fn an_in_memory_database_is_written_through_the_pool() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        assert!(store.writer.is_none());
        let rows = store.insert(mixed(3)).await.unwrap();
        assert!(rows[0].id < rows[1].id && rows[1].id < rows[2].id);
        let listed = store
            .list(&Filter {
                limit: 10,
                ..Filter::default()
            })
            .await
            .unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].id, rows[2].id);
    }

    #[test]
    fn errors_do_not_quote_urls() {
        let e = "error connecting to postgres://user:pw@db:5432/x: refused";
        assert_eq!(redacted(&e), "error connecting to postgres://*** refused");
    }
}
