"""The CLI: ``python -m core <topic> <command> [--json]`` (see ``python -m core --help``)."""

import sys

from core.cli import main

sys.exit(main())
