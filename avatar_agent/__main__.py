"""``python -m avatar_agent`` runs the CLI."""

import sys

from avatar_agent.cli import main

sys.exit(main())
