"""`python -m ann.cli`: the same command as the `ann` script."""

import sys

from ann.cli import main

sys.exit(main())
