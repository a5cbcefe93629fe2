"""``python -m pivotmodel``: the same as the ``pivotmodel`` command."""

import sys

from .cli import main

sys.exit(main())
