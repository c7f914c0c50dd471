"""`python -m bot` runs the command line, like the `summit-bot` script."""

from bot.cli import main

raise SystemExit(main())
