"""A small catalogue and quota set for the core's tests (real Azure sizes and families)."""

from datetime import datetime, timezone

from quotas.core import Quotas, SubscriptionQuota, VmSize, WorkspaceQuota

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)

SIZES = [
    VmSize("Standard_DS1_v2", "standardDSv2Family", 1, 3.5, 0, 7, 0.073, 0.00803),
    VmSize("Standard_D2s_v3", "standardDSv3Family", 2, 8, 0, 16, 0.096, 0.01056),
    VmSize("Standard_D4s_v3", "standardDSv3Family", 4, 16, 0, 32, 0.192, 0.02112),
    VmSize("Standard_D2as_v4", "standardDASv4Family", 2, 8, 0, 16, 0.096, 0.01056),
    VmSize("Standard_E4s_v3", "standardESv3Family", 4, 32, 0, 64, 0.252, 0.02772, category="cpu-memory"),
    VmSize("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", 4, 28, 1, 176, 0.526, 0.0627,
           category="gpu-inference", gpu_model="NVIDIA T4 16GB"),
    VmSize("Standard_NC6", "standardNCFamily", 6, 56, 1, 340, 0.9, 0.099, category="gpu-training", serverless="no"),
    VmSize("Standard_ND96isr_H100_v5", "standardNDSH100v5Family", 96, 1900, 8, 1024, 98.32, None,
           category="gpu-training"),
]
CATALOGUE = {s.name: s for s in SIZES}


def quotas(dsv3=8, dasv4=4, esv3=8, t4=0, cores=20, spot=4, caps=None) -> Quotas:
    limits = {"standardDSv3Family": dsv3, "standardDASv4Family": dasv4, "standardESv3Family": esv3,
              "standardNCASv3_T4Family": t4, "standardDSv2Family": 10, "cores": cores}
    return Quotas(
        subscriptions={"s1": SubscriptionQuota(limits, spot)},
        workspaces={"w1": WorkspaceQuota("s1"), "w2": WorkspaceQuota("s1", caps or {})},
    )
