"""Tests for the Django peer: model mapping, URL parsing, dump/load round trip.

Run from bench/peers/django/::

    python3 -m unittest discover -s tests -v

Needs Django + psycopg (requirements.txt) and PostgreSQL at
$HOIST_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
Each test class creates its own scratch databases (hoist_t_<pid>_<counter>_<rand>),
applies forge's PostgreSQL migrations and drops them at the end. Where the server or
Django is missing the tests are skipped loudly, except when $CI is set: then they fail.
"""

import glob
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest
from urllib.parse import urlsplit, urlunsplit

PEER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(PEER_DIR, "peer.py")
SEED = os.path.join(PEER_DIR, "tests", "seed.sql")
MIGRATIONS = os.path.join(
    PEER_DIR, os.pardir, os.pardir, os.pardir, "forge", "migrations", "postgres"
)
ADMIN_URL = os.environ.get(
    "HOIST_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
# Tables forge's migrations may create that are not app tables.
NON_APP_TABLES = {"_sqlx_migrations"}
_counter = itertools.count()

if PEER_DIR not in sys.path:
    sys.path.insert(0, PEER_DIR)


def unavailable(reason):
    """Skip loudly, or fail when $CI is set."""
    message = f"Django peer tests: {reason}"
    if os.environ.get("CI"):
        raise AssertionError(message + " ($CI is set, so this is a failure)")
    print(f"\n!!! SKIPPING {message} !!!", file=sys.stderr)
    raise unittest.SkipTest(message)


try:
    import django
    import psycopg
except ImportError as exc:  # checked per test class, so CI fails loudly
    django = None
    psycopg = None
    IMPORT_ERROR = str(exc)
else:
    IMPORT_ERROR = None
    # Models load without a connection; the tests talk to PostgreSQL through psycopg.
    os.environ.setdefault("PEER_DATABASE_URL", "postgres://unused@127.0.0.1/unused")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forgepeer.settings")
    django.setup()


def require_django():
    if IMPORT_ERROR is not None:
        unavailable(
            f"Django/psycopg not importable ({IMPORT_ERROR}); "
            f"pip install -r {os.path.join(PEER_DIR, 'requirements.txt')}"
        )


def database_url(name):
    """ADMIN_URL with its database name replaced."""
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def connect(url):
    return psycopg.connect(url, autocommit=True)


def create_database(prefix):
    """Create an empty database with a unique name; return its name."""
    name = f"hoist_t_{os.getpid()}_{next(_counter)}_{random.randrange(1 << 30):x}_{prefix}"
    with connect(ADMIN_URL) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name):
    with connect(ADMIN_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_sql_file(url, path):
    with open(path, encoding="utf-8") as f:
        script = f.read()
    with connect(url) as conn:
        conn.execute(script)


def migrate(url):
    files = sorted(glob.glob(os.path.join(MIGRATIONS, "*.sql")))
    if not files:
        raise AssertionError(f"no PostgreSQL migrations found in {MIGRATIONS}")
    for path in files:
        run_sql_file(url, path)


def app_tables(url):
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        ).fetchall()
    return sorted({r[0] for r in rows} - NON_APP_TABLES)


def table_rows(url, table):
    """All rows of table ordered by id; timestamps truncated to milliseconds.

    Django's JSON serializer writes datetimes with millisecond precision (it cuts
    the microseconds), so that is the precision a dumpdata/loaddata round trip keeps.
    """
    with connect(url) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        select = ", ".join(
            f"date_trunc('milliseconds', \"{name}\")"
            if data_type.startswith("timestamp")
            else f'"{name}"'
            for name, data_type in columns
        )
        return conn.execute(f'SELECT {select} FROM "{table}" ORDER BY id').fetchall()


def run_peer(*args, python_flags=()):
    """Run peer.py; return (exit status, parsed stdout JSON line or None, stderr)."""
    proc = subprocess.run(
        [sys.executable, *python_flags, PEER, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else None
    return proc.returncode, result, proc.stderr


class DatabaseUrlTest(unittest.TestCase):
    """forgepeer.settings.database_from_url."""

    def setUp(self):
        require_django()
        from forgepeer.settings import database_from_url

        self.parse = database_from_url

    def test_full_url(self):
        db = self.parse("postgres://al%40ice:p%2Fw@db.example:6543/forge_x?sslmode=require")
        self.assertEqual(db["ENGINE"], "django.db.backends.postgresql")
        self.assertEqual(db["NAME"], "forge_x")
        self.assertEqual(db["USER"], "al@ice")
        self.assertEqual(db["PASSWORD"], "p/w")
        self.assertEqual(db["HOST"], "db.example")
        self.assertEqual(db["PORT"], "6543")
        self.assertEqual(db["OPTIONS"], {"sslmode": "require"})

    def test_minimal_url(self):
        db = self.parse("postgresql://postgres@127.0.0.1/forge")
        self.assertEqual((db["USER"], db["PASSWORD"], db["PORT"]), ("postgres", "", ""))
        self.assertEqual(db["NAME"], "forge")

    def test_rejects_bad_urls(self):
        from django.core.exceptions import ImproperlyConfigured

        for url in (
            "mysql://root@127.0.0.1/test",
            "postgres://postgres@127.0.0.1:5432/",
            "postgres://postgres@127.0.0.1:notaport/forge",
        ):
            with self.subTest(url=url), self.assertRaises(ImproperlyConfigured):
                self.parse(url)


class UnavailableTest(unittest.TestCase):
    """Without Django the peer says "unavailable" (exit 3), never a time."""

    def test_without_site_packages(self):
        # -S drops site-packages, where pip installed Django.
        status, result, stderr = run_peer("check", python_flags=("-S",))
        if status == 0:
            self.skipTest("Django is importable without site-packages here")
        self.assertEqual(status, 3, stderr)
        self.assertIn("unavailable", result)
        self.assertNotIn("seconds", result)

    def test_check_reports_versions(self):
        require_django()
        status, result, stderr = run_peer("check")
        self.assertEqual(status, 0, stderr)
        self.assertTrue(result["available"])
        self.assertEqual(result["django"], django.get_version())


class PeerDatabaseTest(unittest.TestCase):
    """Against PostgreSQL: mapping of models to forge's tables, dump -> load."""

    @classmethod
    def setUpClass(cls):
        require_django()
        try:
            with connect(ADMIN_URL) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as exc:
            unavailable(f"no PostgreSQL at {ADMIN_URL}: {exc}")
        cls.databases = []
        cls.source = cls.new_database("src")
        run_sql_file(cls.source, SEED)

    @classmethod
    def new_database(cls, prefix):
        name = create_database(prefix)
        cls.databases.append(name)
        url = database_url(name)
        migrate(url)
        return url

    @classmethod
    def tearDownClass(cls):
        for name in getattr(cls, "databases", []):
            drop_database(name)

    def models(self):
        from django.apps import apps

        return list(apps.get_app_config("forge").get_models())

    def test_every_table_has_a_model(self):
        mapped = sorted(model._meta.db_table for model in self.models())
        self.assertEqual(mapped, app_tables(self.source))

    def test_columns_and_nullability_match(self):
        with connect(self.source) as conn:
            for model in self.models():
                table = model._meta.db_table
                with self.subTest(table=table):
                    rows = conn.execute(
                        "SELECT column_name, is_nullable = 'YES' FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name = %s",
                        (table,),
                    ).fetchall()
                    expected = {(f.column, f.null) for f in model._meta.concrete_fields}
                    self.assertEqual(set(rows), expected)

    def test_foreign_keys_match(self):
        with connect(self.source) as conn:
            rows = conn.execute(
                "SELECT src.relname, a.attname, dst.relname "
                "FROM pg_constraint c "
                "JOIN pg_class src ON src.oid = c.conrelid "
                "JOIN pg_class dst ON dst.oid = c.confrelid "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "JOIN pg_namespace n ON n.oid = src.relnamespace "
                "WHERE c.contype = 'f' AND n.nspname = 'public'"
            ).fetchall()
        in_db = set(rows)
        in_models = {
            (model._meta.db_table, f.column, f.related_model._meta.db_table)
            for model in self.models()
            for f in model._meta.concrete_fields
            if f.is_relation
        }
        self.assertEqual(in_models, in_db)

    def test_models_are_declared_parents_first(self):
        # dumpdata (no natural keys) writes models in declaration order and
        # forge's FKs are not deferrable, so loaddata needs parents first.
        seen = set()
        for model in self.models():
            for f in model._meta.concrete_fields:
                if f.is_relation and f.related_model is not model:
                    self.assertIn(
                        f.related_model,
                        seen,
                        f"{model.__name__}.{f.name} refers to a model declared later",
                    )
            seen.add(model)

    def test_dump_then_load_round_trips(self):
        target = self.new_database("dst")
        with tempfile.TemporaryDirectory() as tmp:
            # A path with dots in a directory and none in the file name: loaddata
            # alone would reject it; the peer must not.
            workdir = os.path.join(tmp, "a.b")
            os.mkdir(workdir)
            fixture = os.path.join(workdir, "dump")

            status, dumped, stderr = run_peer(
                "dump", "--database-url", self.source, "--output", fixture
            )
            self.assertEqual(status, 0, stderr)
            tables = app_tables(self.source)
            total = sum(len(table_rows(self.source, t)) for t in tables)
            self.assertEqual(dumped["objects"], total)
            self.assertGreater(dumped["seconds"], 0)
            self.assertEqual(dumped["bytes"], os.path.getsize(fixture))

            status, loaded, stderr = run_peer(
                "load", "--database-url", target, "--input", fixture
            )
            self.assertEqual(status, 0, stderr)
            self.assertEqual(loaded["objects"], total)
            self.assertGreater(loaded["seconds"], 0)

            for table in tables:
                with self.subTest(table=table):
                    self.assertEqual(table_rows(target, table), table_rows(self.source, table))

            # Identity sequences were reset: a new row gets the next free id.
            with connect(target) as conn:
                (max_id,) = conn.execute("SELECT max(id) FROM users").fetchone()
                (new_id,) = conn.execute(
                    "INSERT INTO users (email, username, name, encrypted_password, "
                    "created_at, updated_at) VALUES ('new@x', 'new', 'n', 'p', now(), now()) "
                    "RETURNING id"
                ).fetchone()
            self.assertEqual(new_id, max_id + 1)

            # A second load into the now non-empty target is refused.
            status, _, stderr = run_peer("load", "--database-url", target, "--input", fixture)
            self.assertEqual(status, 1)
            self.assertIn("not empty", stderr)

    def test_exclude_leaves_models_out(self):
        with tempfile.TemporaryDirectory() as tmp:
            fixture = os.path.join(tmp, "dump.json")
            status, dumped, stderr = run_peer(
                "dump", "--database-url", self.source, "--output", fixture,
                "--exclude", "forge.AuditLog", "--exclude", "forge.PersonalAccessToken",
            )
            self.assertEqual(status, 0, stderr)
            with open(fixture, encoding="utf-8") as f:
                objects = json.load(f)
            labels = {obj["model"] for obj in objects}
            self.assertNotIn("forge.auditlog", labels)
            self.assertNotIn("forge.personalaccesstoken", labels)
            self.assertIn("forge.issue", labels)
            self.assertEqual(dumped["objects"], len(objects))

    def test_bad_input_fails_with_message(self):
        status, _, stderr = run_peer(
            "load", "--database-url", self.source, "--input", "/nonexistent/dump.json"
        )
        self.assertEqual(status, 1)
        self.assertIn("no such file", stderr)
        status, _, stderr = run_peer(
            "dump", "--database-url", self.source, "--output", os.devnull,
            "--exclude", "forge.Nope",
        )
        self.assertEqual(status, 1)
        self.assertIn("forge.Nope", stderr)


if __name__ == "__main__":
    unittest.main()
