"""``python -m byob_core``: the command line."""

from byob_core.cli import main

raise SystemExit(main())
