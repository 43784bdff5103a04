"""What the CLI tests share besides fixtures."""

from __future__ import annotations


ENVIRONMENT = "environment:\n  image: python:3.11-slim\n"
D2S_V3 = "command: echo hello\nresources:\n  instance_type: Standard_D2s_v3\n"
"""A job on one Standard_D2s_v3: 2 vCPUs of standardDSv3Family (the ``busy`` fixture fills that quota)."""


def cells(line: str) -> list[str]:
    """A table row's cells (columns are two or more spaces apart)."""
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def fields_of(out: str) -> dict[str, str]:
    """``Label:  value`` lines as a dict."""
    return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in out.splitlines() if ":" in line}
