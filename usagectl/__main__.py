"""The ``usagectl`` console script (``[project.scripts]``) and ``python -m usagectl``.

Standard library only, on purpose: importing ``usagectl.cli`` (typer, click, rich, the commands)
takes about 60 ms, and a Ctrl-C in that time used to end in a Python traceback and a death by
signal, since nothing was there yet to catch it. Here SIGTERM is taken like Ctrl-C first, and
the import runs inside the ``try`` that turns either into one "interrupted" line."""

from __future__ import annotations

import sys

from usagectl import termination
from usagectl.store import early


def main() -> None:
    termination.install()
    try:
        early.start(sys.argv[1:])  # a reading command's database opens while the rest imports
        from usagectl.cli import main as run

        try:
            run()
        finally:
            early.discard()
    except KeyboardInterrupt:  # before (or after) the command line's own handlers
        print(f"usagectl: {termination.describe('interrupted')}", file=sys.stderr)
        sys.exit(termination.exit_code())


if __name__ == "__main__":
    main()
