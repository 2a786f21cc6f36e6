"""``python -m softmax_core``: see cli.py."""

import sys

from softmax_core.cli import main

sys.exit(main())
