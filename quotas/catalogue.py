"""The default VM catalogue and quota families shipped with the studio (quotas/data/)."""

from __future__ import annotations

from pathlib import Path

from quotas.core import QuotaFamily, VmSize, parse_quota_families, parse_vm_sizes

DATA = Path(__file__).resolve().parent / "data"
DEFAULT_SPOT_LIMIT = 20  # Azure's documented default Spot vCPUs per region (the CSV leaves it blank)


def default_sizes() -> list[VmSize]:
    return parse_vm_sizes((DATA / "vm_sizes.csv").read_text())


def default_families() -> list[QuotaFamily]:
    return parse_quota_families((DATA / "quota_families.csv").read_text())
