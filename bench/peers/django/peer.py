#!/usr/bin/env python3
"""Django peer for the hoist benchmark: ``dumpdata`` / ``loaddata`` over forge's tables.

Usage (see README.md)::

    python peer.py check
    python peer.py dump --database-url URL --output FILE [--exclude forge.AuditLog ...]
    python peer.py load --database-url URL --input FILE

``dump`` and ``load`` print one JSON line on stdout, for example
``{"seconds": 1.23, "objects": 4567, "startup_seconds": 0.21, ...}``, where
``seconds`` is measured inside this process around the ``call_command`` only
(interpreter start-up, Django set-up and the database connection are excluded;
``startup_seconds`` is the time from this module's first line to a ready Django).

Exit status: 0 success; 1 the operation failed (message on stderr);
2 bad command line; 3 peer unavailable (Python too old, Django or psycopg
missing): stdout then carries ``{"unavailable": "<reason>"}`` so the bench can
report the peer as unavailable rather than as a zero time.
"""

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = os.path.join(HERE, "requirements.txt")
APP_LABEL = "forge"
MIN_PYTHON = (3, 10)  # Django 5.x

EXIT_FAILED = 1
EXIT_UNAVAILABLE = 3

# Suffixes loaddata recognises as compression of a fixture file.
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".lzma", ".zip")


class PeerUnavailable(Exception):
    """Python, Django or the PostgreSQL driver is missing or too old."""


class PeerFailed(Exception):
    """The requested operation could not be done (bad input, database error)."""


def parse_args(argv):
    """Parse the command line; argparse exits with status 2 on errors."""
    env_url = os.environ.get("PEER_DATABASE_URL")
    parser = argparse.ArgumentParser(
        prog="peer.py",
        description="Django dumpdata/loaddata peer for the hoist benchmark.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "check",
        help="report whether the peer can run (Python, Django, psycopg versions)",
    )

    dump = sub.add_parser("dump", help="manage.py dumpdata forge --output FILE")
    dump.add_argument(
        "--database-url",
        default=env_url,
        required=env_url is None,
        help="postgres://user@host:port/dbname (default: $PEER_DATABASE_URL)",
    )
    dump.add_argument("--output", required=True, help="fixture file to write (JSON)")
    dump.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="APP.MODEL",
        help="model to leave out (dumpdata --exclude); repeatable",
    )

    load = sub.add_parser("load", help="manage.py loaddata FILE (+ sequence reset)")
    load.add_argument(
        "--database-url",
        default=env_url,
        required=env_url is None,
        help="postgres://user@host:port/dbname (default: $PEER_DATABASE_URL)",
    )
    load.add_argument("--input", required=True, help="fixture file written by dump")
    load.add_argument(
        "--allow-existing-rows",
        action="store_true",
        help="do not refuse a target whose forge tables already hold rows",
    )
    return parser.parse_args(argv)


def import_django():
    """Import Django and a PostgreSQL driver, or raise PeerUnavailable."""
    if sys.version_info < MIN_PYTHON:
        raise PeerUnavailable(
            f"Python {platform.python_version()} is too old; Django 5 needs "
            f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]}+"
        )
    try:
        import django
    except ImportError as exc:
        raise PeerUnavailable(
            f"Django is not installed ({exc}); run: "
            f"{sys.executable} -m pip install -r {REQUIREMENTS}"
        ) from exc
    if django.VERSION[0] < 5:
        raise PeerUnavailable(
            f"Django {django.get_version()} is installed; the peer needs 5.x: "
            f"{sys.executable} -m pip install -r {REQUIREMENTS}"
        )
    try:
        import psycopg

        driver = f"psycopg {psycopg.__version__}"
    except ImportError:
        try:
            import psycopg2

            driver = f"psycopg2 {psycopg2.__version__.split()[0]}"
        except ImportError as exc:
            raise PeerUnavailable(
                f"no PostgreSQL driver (psycopg) is installed ({exc}); run: "
                f"{sys.executable} -m pip install -r {REQUIREMENTS}"
            ) from exc
    return django, driver


def versions(django, driver):
    """Versions reported with every result."""
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "driver": driver,
    }


def setup_django(django, database_url):
    """Point the settings at database_url and initialise Django."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    os.environ["PEER_DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "forgepeer.settings"
    django.setup()


def forge_models(excluded=()):
    """The forge models in declaration (= dump) order, minus excluded labels."""
    from django.apps import apps

    excluded_lower = {label.lower() for label in excluded}
    return [
        model
        for model in apps.get_app_config(APP_LABEL).get_models()
        if model._meta.label_lower not in excluded_lower
    ]


def check_exclusions(excluded):
    """Fail on --exclude labels that name no forge model (dumpdata would too, later)."""
    known = {model._meta.label_lower for model in forge_models()}
    unknown = [label for label in excluded if label.lower() not in known]
    if unknown:
        raise PeerFailed(
            f"--exclude: unknown model(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )


def dump(args):
    """dumpdata forge --output FILE; returns the result fields."""
    from django.core.management import call_command
    from django.db import connection

    check_exclusions(args.exclude)
    models = forge_models(args.exclude)
    connection.ensure_connection()
    # Counted before the timed call (same data, no concurrent writers in the bench);
    # this also warms the connection so the timing leaves the connect out.
    objects = sum(model._default_manager.count() for model in models)

    started = time.perf_counter()
    call_command(
        "dumpdata",
        APP_LABEL,
        output=args.output,
        format="json",
        exclude=list(args.exclude),
        verbosity=0,
    )
    seconds = time.perf_counter() - started

    return {
        "seconds": seconds,
        "objects": objects,
        "bytes": os.path.getsize(args.output),
    }


def fixture_name_for(path):
    """A file name loaddata accepts for path's content: fixture.json[.gz|...]."""
    for suffix in COMPRESSION_SUFFIXES:
        if path.endswith(suffix):
            return "fixture.json" + suffix
    return "fixture.json"


def refuse_existing_rows():
    """Fail if any forge table already holds rows (loaddata would UPDATE them)."""
    from django.db import connection

    connection.ensure_connection()
    busy = []
    for model in forge_models():
        count = model._default_manager.count()
        if count:
            busy.append(f"{model._meta.db_table} ({count} rows)")
    if busy:
        raise PeerFailed(
            "target database is not empty: "
            + ", ".join(busy)
            + "; load into a freshly migrated database or pass --allow-existing-rows"
        )


def load(args):
    """loaddata FILE (one transaction; sequences reset); returns the result fields."""
    from django.core.management import call_command
    from django.core.management.commands import loaddata
    from django.db import connection

    source = os.path.abspath(args.input)
    if not os.path.isfile(source):
        raise PeerFailed(f"--input {args.input}: no such file")
    if not args.allow_existing_rows:
        refuse_existing_rows()
    connection.ensure_connection()

    # loaddata derives the format from the file name and splits the whole path
    # on dots; give it a plain name next to nothing else.
    workdir = tempfile.mkdtemp(prefix="hoist-django-peer-")
    try:
        fixture = os.path.join(workdir, fixture_name_for(source))
        os.symlink(source, fixture)
        command = loaddata.Command()

        started = time.perf_counter()
        # loaddata runs in one transaction.atomic() and, having installed at least
        # one object, resets the sequences of the loaded models itself with
        # connection.ops.sequence_reset_sql(): the SQL `manage.py sqlsequencereset`
        # prints. So the timed call includes the sequence reset.
        call_command(command, fixture, format="json", verbosity=0)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    return {
        "seconds": seconds,
        "objects": command.loaded_object_count,
        "fixture_objects": command.fixture_object_count,
    }


def emit(fields):
    """Print one JSON line on stdout."""
    sys.stdout.write(json.dumps(fields, sort_keys=True) + "\n")
    sys.stdout.flush()


def main(argv=None):
    """Entry point; returns the process exit status."""
    args = parse_args(argv)
    try:
        django, driver = import_django()
    except PeerUnavailable as exc:
        print(f"peer.py: Django peer unavailable: {exc}", file=sys.stderr)
        emit({"unavailable": str(exc)})
        return EXIT_UNAVAILABLE

    info = versions(django, driver)
    if args.command == "check":
        emit(dict(info, available=True))
        return 0

    operation = {"dump": dump, "load": load}[args.command]
    try:
        setup_django(django, args.database_url)
        startup_seconds = time.perf_counter() - _STARTED
        result = operation(args)
    except Exception as exc:  # noqa: BLE001 - report any failure as one message
        print(
            f"peer.py {args.command}: failed: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return EXIT_FAILED

    result["startup_seconds"] = startup_seconds
    result.update(info)
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
