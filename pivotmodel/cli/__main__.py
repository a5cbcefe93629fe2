"""``python -m pivotmodel.cli``: the same as the ``pivotmodel`` command."""

import sys

from . import main

sys.exit(main())
