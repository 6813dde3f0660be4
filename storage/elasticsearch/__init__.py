"""Elasticsearch/OpenSearch storage in Jaeger's own schema (index names, templates, documents).

A real Jaeger and pyjaeger pointed at one cluster read each other's spans. The pure parts live
here: `dbmodel` (span ⇄ document), `indices` (index and alias names) and `templates` (the index
templates Jaeger PUTs); the client-facing reader and writer build on them.
"""
