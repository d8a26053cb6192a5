"""``python -m riskshare``: the same as the ``riskshare`` command."""

import sys

from .cli import main

sys.exit(main())
