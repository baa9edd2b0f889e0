"""``python -m recommender`` runs the command line."""

import sys

from recommender.cli.commands import main

sys.exit(main())
