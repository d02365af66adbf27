"""`python -m dealstream`: the command-line tool."""

from __future__ import annotations

import sys

from dealstream.cli import main

if __name__ == "__main__":
    sys.exit(main())
