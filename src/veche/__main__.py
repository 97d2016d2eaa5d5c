"""`python -m veche` is the `veche` command (used to re-execute a server on a remote restart)."""

import sys

from veche.cli import main

sys.exit(main())
