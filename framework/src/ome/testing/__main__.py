"""``python -m ome.testing build``: build the control-plane binaries unless cached."""

import sys

from ome.testing.binaries import main

sys.exit(main())
