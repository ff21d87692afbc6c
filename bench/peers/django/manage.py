#!/usr/bin/env python3
"""Django's command-line utility for the hoist benchmark's Django peer.

The database comes from the environment variable ``PEER_DATABASE_URL``
(``postgres://user[:password]@host[:port]/dbname``), for example::

    PEER_DATABASE_URL=postgres://postgres@127.0.0.1:5432/forge \
        python manage.py dumpdata forge --output dump.json
"""

import os
import sys


def main():
    """Run an administrative task."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forgepeer.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Install it with "
            "`python3 -m pip install -r requirements.txt` (see README.md)."
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
