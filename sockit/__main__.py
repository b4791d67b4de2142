"""``python -m sockit``: the command-line interface."""

import sys

from sockit.cli import main

sys.exit(main())
