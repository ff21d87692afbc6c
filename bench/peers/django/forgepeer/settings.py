"""Settings for the hoist benchmark's Django peer.

Only what ``dumpdata`` / ``loaddata`` need: one app (``forge``) whose models map
the tables created by forge's migrations, and one database read from the
environment variable ``PEER_DATABASE_URL``
(``postgres://user[:password]@host[:port]/dbname[?option=value...]``). Query
options (for example ``sslmode``) are passed to psycopg as connection options.
"""

import os
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

DATABASE_URL_ENV = "PEER_DATABASE_URL"


def database_from_url(url):
    """Translate a ``postgres://`` URL into a Django ``DATABASES`` entry."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(
            f"{DATABASE_URL_ENV}: unsupported scheme {parts.scheme!r} in {url!r}; "
            "expected postgres://user@host:port/dbname"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name or "/" in name:
        raise ImproperlyConfigured(
            f"{DATABASE_URL_ENV}: missing or invalid database name in {url!r}; "
            "expected postgres://user@host:port/dbname"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{DATABASE_URL_ENV}: invalid port in {url!r}: {exc}"
        ) from exc
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port) if port is not None else "",
        "OPTIONS": dict(parse_qsl(parts.query)),
        "CONN_MAX_AGE": 0,
    }


_database_url = os.environ.get(DATABASE_URL_ENV)
if not _database_url:
    raise ImproperlyConfigured(
        f"set {DATABASE_URL_ENV} to postgres://user@host:port/dbname "
        "(the database holding forge's tables)"
    )

DATABASES = {"default": database_from_url(_database_url)}

# Never used for anything (no sessions, no signing); Django insists on one.
SECRET_KEY = "hoist-bench-django-peer-not-a-secret"

# DEBUG=False so Django does not keep every executed query in memory.
DEBUG = False
ALLOWED_HOSTS = []

INSTALLED_APPS = ["forge.apps.ForgeConfig"]
MIDDLEWARE = []
TEMPLATES = []

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
