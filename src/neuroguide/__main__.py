"""``python -m neuroguide``."""

import sys

from .cli import main

sys.exit(main())
