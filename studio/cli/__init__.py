"""The ``studio`` command line: a thin client of the REST API (no Django imports here)."""
