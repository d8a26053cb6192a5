"""``python -m riskshare``: the same as the ``riskshare`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
