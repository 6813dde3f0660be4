"""`python -m pyjaeger` runs the CLI."""

from pyjaeger.cmd.cli import main

raise SystemExit(main())
