"""``python -m k8s_mlserve``: the same as the ``k8s-mlserve`` command."""

import sys

from .cli import main

sys.exit(main())
