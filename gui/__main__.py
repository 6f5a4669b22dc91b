"""`python -m gui`: the same as the `station` command."""

import sys

from gui.launcher import main

sys.exit(main())
