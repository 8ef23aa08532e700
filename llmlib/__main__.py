"""``python -m llmlib``: see llmlib/cli.py."""

import sys

from llmlib.cli import main

sys.exit(main())
