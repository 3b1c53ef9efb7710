"""``python -m evallib``: the same as the ``evallib`` command."""

import sys

from evallib.cli import main

if __name__ == "__main__":
    sys.exit(main())
