"""`python -m pyjaeger` runs the CLI."""

from pyjaeger.cli import main

raise SystemExit(main())
