"""``python -m edgewatch.demo``."""

from __future__ import annotations

import sys

from edgewatch.demo._cli import main

sys.exit(main())
