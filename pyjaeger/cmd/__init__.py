"""The process mains and tools (Jaeger's `cmd/`): the `pyjaeger` command line, the wiring of each
sub-command's components (`app`), the flag table, the admin server, logging, the container health
probe, the Elasticsearch tools and the demo.

Nothing outside this package imports it: components and the base below them stand on their own.
"""
