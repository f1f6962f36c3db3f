"""`python -m lrs.cli` runs the `lrs` command."""

import sys

from lrs.cli.main import main

sys.exit(main())
