"""The pure scheduling core: named cases, no database, an explicit clock.

Each case is a snapshot and the WHOLE list of decisions it must give (code, sentence, position,
estimate, basis, size and what a wait waits for), compared with ``==``, as Kueue's table tests
diff whole results."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.scheduling.core import (
    Admit,
    Cluster,
    Estimate,
    PendingJob,
    Preempt,
    Reason,
    Reject,
    RunningJob,
    ScaleCluster,
    Snapshot,
    Typical,
    Wait,
    decide,
    explain,
)
from tests.scheduling.catalogue import CATALOGUE, NOW, quotas

DSV3, DASV4, ESV3 = "standardDSv3Family", "standardDASv4Family", "standardESv3Family"
TUNING = Typical(low_seconds=60, high_seconds=60, runs=5, of="experiment 'tuning'")
ETL = Typical(low_seconds=300, high_seconds=600, runs=3, of="experiment 'etl'")


def at(seconds: float):
    return NOW + timedelta(seconds=seconds)


def pending(job_id, count=1, size=None, tier="Standard", priority=0, age=0, ws="w1", compute="serverless",
            timeout=None, typical=None):
    return PendingJob(id=job_id, name=f"job{job_id}", submitted_at=NOW - timedelta(seconds=age), workspace=ws,
                      instance_count=count, instance_type=size, tier=tier, priority=priority, compute=compute,
                      timeout_seconds=timeout, typical=typical)


def running(job_id, size, nodes=1, tier="Standard", priority=0, started_ago=60, timeout=None, ws="w1",
            compute="serverless", typical=None):
    return RunningJob(id=job_id, workspace=ws, instance_type=size, nodes=nodes, tier=tier, priority=priority,
                      started_at=NOW - timedelta(seconds=started_ago), timeout_seconds=timeout, compute=compute,
                      typical=typical)


def cluster(allocated=0, max_instances=2, idle_since=None, scaling_down_until=None, idle_seconds=120):
    return Cluster("w1", "cpu-cluster", "Standard_D2s_v3", 0, max_instances, idle_seconds, allocated,
                   idle_since, scaling_down_until)


def snap(pending_jobs=(), running_jobs=(), clusters=(), **quota):
    return Snapshot(now=NOW, catalogue=CATALOGUE, quotas=quotas(**quota), running=tuple(running_jobs),
                    pending=tuple(pending_jobs), clusters=tuple(clusters))


def dedicated(family, vcpus, ws=None):
    """What a dedicated placement waits for: its family, the regional total, a workspace cap."""
    keys = {("family", "s1", family): vcpus, ("cores", "s1"): vcpus}
    if ws:
        keys[("ws", ws, family)] = vcpus
    return keys


def nodes(n):
    return {("cluster", "w1", "cpu-cluster"): n}


SPOT_POOL = ("spot", "s1")
D2AS = "Standard_D2as_v4 (2 vCPUs, 8 GiB, 16 GiB temp disk, $0.096/h)"
D2S = "Standard_D2s_v3 (2 vCPUs, 8 GiB, 16 GiB temp disk, $0.096/h)"
DS1 = "Standard_DS1_v2 (1 vCPU, 3.5 GiB, 7 GiB temp disk, $0.073/h)"
D4S = "Standard_D4s_v3 (4 vCPUs, 16 GiB, 32 GiB temp disk, $0.192/h)"
E4S = "Standard_E4s_v3 (4 vCPUs, 32 GiB, 64 GiB temp disk, $0.252/h)"
T4 = "Standard_NC4as_T4_v3 (4 vCPUs, 28 GiB, 1 GPU (NVIDIA T4 16GB), 176 GiB temp disk, $0.526/h)"
NO_BASIS_1 = "no estimate: the running job it waits for has no time limit and no history"
SERVERLESS_WOULD_NOT = "; serverless compute would not wait for the cluster"

ADMITS = {
    "an automatic job gets the cheapest general-purpose size with quota": (
        snap([pending(1)]),
        [Admit(1, 1, "Standard_D2as_v4", "Standard", "vm-standard_d2as_v4",
               "1 node of Standard_D2as_v4 (2 vCPUs, 8 GiB, 16 GiB temp disk, $0.096/h each): the cheapest "
               "general-purpose CPU size with at least 2 vCPUs and 16 GiB of temp disk that fits your quota; "
               "2 vCPUs of standardDASv4Family quota left")]),
    "an automatic job moves to the next size when the cheapest is busy": (
        snap([pending(1)], [running(9, "Standard_D2as_v4", nodes=2)]),
        [Admit(1, 1, "Standard_D2s_v3", "Standard", "vm-standard_d2s_v3",
               "1 node of Standard_D2s_v3 (2 vCPUs, 8 GiB, 16 GiB temp disk, $0.096/h each): Standard_D2as_v4 is "
               "cheaper but its quota is in use, so the next cheapest general-purpose CPU size that fits your "
               "quota; 6 vCPUs of standardDSv3Family quota left")]),
    "a named size within quota is admitted": (
        snap([pending(1, 2, "Standard_D4s_v3")]),
        [Admit(1, 2, "Standard_D4s_v3", "Standard", "vm-standard_d4s_v3",
               "2 nodes of Standard_D4s_v3 (4 vCPUs, 16 GiB, 32 GiB temp disk, $0.192/h each), as asked; "
               "0 vCPUs of standardDSv3Family quota left")]),
    "Spot jobs use the Spot pool, not the family quota": (
        snap([pending(1, 2, "Standard_D2s_v3", tier="Spot")], [running(9, "Standard_D4s_v3", nodes=2)]),
        [Admit(1, 2, "Standard_D2s_v3", "Spot", "vm-standard_d2s_v3",
               "2 nodes of Standard_D2s_v3 (2 vCPUs, 8 GiB, 16 GiB temp disk, $0.01056/h each), as asked; "
               "0 vCPUs of the subscription's Spot (low-priority) vCPU quota left")]),
    "a gang that fits is admitted whole": (
        snap([pending(1, 3, "Standard_D2s_v3")], [running(9, "Standard_E4s_v3")]),
        [Admit(1, 3, "Standard_D2s_v3", "Standard", "vm-standard_d2s_v3",
               "3 nodes of Standard_D2s_v3 (2 vCPUs, 8 GiB, 16 GiB temp disk, $0.096/h each), as asked; "
               "2 vCPUs of standardDSv3Family quota left")]),
}

REJECTS = {
    "more instances than the family quota allows is refused, naming how many fit": (
        snap([pending(1, 3, "Standard_D4s_v3")]),
        [Reject(1, Reason.EXCEEDS_QUOTA,
                "at most 2 instances of Standard_D4s_v3 (4 vCPUs each) fit in your standardDSv3Family quota of "
                "8 vCPUs; you asked for 3 (12 vCPUs)",
                ("reduce `resources.instance_count` to 2", "or request a quota increase for standardDSv3Family"))]),
    "a workspace cap below the subscription's refuses, and names the cap": (
        snap([pending(1, 2, "Standard_D4s_v3", ws="w2")], caps={DSV3: 4}),
        [Reject(1, Reason.EXCEEDS_QUOTA,
                "at most 1 instance of Standard_D4s_v3 (4 vCPUs each) fit in workspace 'w2''s standardDSv3Family "
                "quota of 4 vCPUs; you asked for 2 (8 vCPUs)",
                ("reduce `resources.instance_count` to 1",
                 "or request a quota increase for standardDSv3Family in workspace 'w2'"))]),
    "a job bigger than the regional total is refused, and the increase asked is for the total": (
        snap([pending(1, 2, "Standard_D4s_v3")], cores=6),
        [Reject(1, Reason.EXCEEDS_QUOTA,
                "at most 1 instance of Standard_D4s_v3 (4 vCPUs each) fit in the subscription's total regional "
                "vCPU quota of 6 vCPUs; you asked for 2 (8 vCPUs)",
                ("reduce `resources.instance_count` to 1",
                 "or request a quota increase for the subscription's total regional vCPUs (`cores`)"))]),
    "a GPU size with no quota, when no GPU size has any, offers CPU sizes as such": (
        snap([pending(1, 1, "Standard_NC4as_T4_v3")]),
        [Reject(1, Reason.NO_QUOTA_FOR_SIZE, "no quota for Standard_NC4as_T4_v3 in your standardNCASv3_T4Family quota",
                (f"choose a VM size that has quota: no GPU size has any; if the job can run without a GPU: {DS1}, "
                 f"{D2AS}, {D2S}, {D4S}, {E4S}",
                 "or request a quota increase for standardNCASv3_T4Family"))]),
    "a GPU size with no quota suggests GPU sizes that have quota first": (
        snap([pending(1, 1, "Standard_ND96isr_H100_v5")], t4=4),
        [Reject(1, Reason.NO_QUOTA_FOR_SIZE,
                "no quota for Standard_ND96isr_H100_v5 in your standardNDSH100v5Family quota",
                (f"choose a VM size that has quota: {T4}; or, if the job can run without a GPU: {DS1}, {D2AS}",
                 "or request a quota increase for standardNDSH100v5Family"))]),
    "a CPU size with no quota suggests CPU sizes only": (
        snap([pending(1, 1, "Standard_D4s_v3")], dsv3=0, t4=4),
        [Reject(1, Reason.NO_QUOTA_FOR_SIZE, "no quota for Standard_D4s_v3 in your standardDSv3Family quota",
                (f"choose a VM size that has quota: {DS1}, {D2AS}, {E4S}",
                 "or request a quota increase for standardDSv3Family"))]),
    "an unknown size is refused with the sizes it is close to": (
        snap([pending(1, 1, "Standard_D4s_v9")]),
        [Reject(1, Reason.UNKNOWN_VM_SIZE,
                "resources.instance_type: unknown VM size 'Standard_D4s_v9'; did you mean Standard_D4s_v3, "
                "Standard_E4s_v3, Standard_D2s_v3?",
                ("`studio quota list` shows the VM sizes and the quota you have for each",))]),
    "a retired size is refused": (
        snap([pending(1, 1, "Standard_NC6")], t4=4),
        [Reject(1, Reason.SIZE_NOT_ON_SERVERLESS,
                "resources.instance_type: Standard_NC6 is not offered on serverless compute (retired or unsupported)",
                (f"choose a VM size that has quota: {T4}; or, if the job can run without a GPU: {DS1}, {D2AS}",))]),
    "a size with no Spot price cannot run as Spot": (
        snap([pending(1, 1, "Standard_ND96isr_H100_v5", tier="Spot")]),
        [Reject(1, Reason.SPOT_UNAVAILABLE,
                "resources.instance_type: Standard_ND96isr_H100_v5 is not available as Spot (low priority)",
                ("use `queue_settings.job_tier: Standard`",
                 "choose a VM size that has quota: Standard_NC4as_T4_v3 (4 vCPUs, 28 GiB, 1 GPU (NVIDIA T4 16GB), "
                 "176 GiB temp disk, $0.0627/h); or, if the job can run without a GPU: Standard_DS1_v2 (1 vCPU, "
                 "3.5 GiB, 7 GiB temp disk, $0.00803/h), Standard_D2as_v4 (2 vCPUs, 8 GiB, 16 GiB temp disk, "
                 "$0.01056/h)"))]),
    "an automatic job never picks a size too small for the temp disk floor": (
        snap([pending(1)], dsv3=0, dasv4=0),
        [Reject(1, Reason.NO_AUTO_SIZE, "no CPU VM size has enough dedicated quota for 1 node",
                ("request a quota increase for a general-purpose CPU family, e.g. standardDASv4Family",))]),
    "an automatic gang too big for any size says how many nodes fit": (
        snap([pending(1, 5)]),
        [Reject(1, Reason.NO_AUTO_SIZE, "no CPU VM size has enough dedicated quota for 5 nodes",
                ("reduce `resources.instance_count` to 4 (fits Standard_D2s_v3)",
                 "or request a quota increase for a general-purpose CPU family, e.g. standardDASv4Family"))]),
    "a refused job does not block the queue": (
        snap([pending(1, 9, "Standard_D4s_v3", age=5), pending(2, 1, "Standard_D4s_v3")]),
        [Reject(1, Reason.EXCEEDS_QUOTA,
                "at most 2 instances of Standard_D4s_v3 (4 vCPUs each) fit in your standardDSv3Family quota of "
                "8 vCPUs; you asked for 9 (36 vCPUs)",
                ("reduce `resources.instance_count` to 2", "or request a quota increase for standardDSv3Family")),
         Admit(2, 1, "Standard_D4s_v3", "Standard", "vm-standard_d4s_v3",
               "1 node of Standard_D4s_v3 (4 vCPUs, 16 GiB, 32 GiB temp disk, $0.192/h each), as asked; "
               "4 vCPUs of standardDSv3Family quota left")]),
    "an unknown cluster is refused, suggesting serverless and the workspace's clusters": (
        snap([pending(1, compute="gpu-cluster")], clusters=[cluster()]),
        [Reject(1, Reason.UNKNOWN_COMPUTE, "compute 'gpu-cluster' does not exist in this workspace",
                ("leave `compute` out (or write `compute: azureml:serverless`) to run on serverless compute",
                 "or use one of this workspace's clusters: cpu-cluster"))]),
    "more nodes than a cluster's maximum is refused": (
        snap([pending(1, 3, compute="cpu-cluster")], clusters=[cluster()]),
        [Reject(1, Reason.EXCEEDS_CLUSTER_SIZE, "cluster 'cpu-cluster' has at most 2 nodes; you asked for 3",
                ("reduce `resources.instance_count` to 2", "or leave `compute` out to run on serverless compute"))]),
}

WAITS = {
    "a size whose family quota is in use waits": (
        snap([pending(1, 2, "Standard_D4s_v3")], [running(9, "Standard_D2s_v3")]),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 2 needs 8 vCPUs of standardDSv3Family quota, which has 6 free "
              "of 8 (2 in use by running jobs)",
              1, None, NO_BASIS_1, "Standard_D4s_v3", dedicated(DSV3, 8))]),
    "a full gang waits whole rather than starting with some nodes": (
        snap([pending(1, 3, "Standard_D2s_v3")], [running(9, "Standard_D4s_v3")]),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D2s_v3 × 3 needs 6 vCPUs of standardDSv3Family quota, which has 4 free "
              "of 8 (4 in use by running jobs)",
              1, None, NO_BASIS_1, "Standard_D2s_v3", dedicated(DSV3, 6))]),
    "the Spot pool limits Spot jobs": (
        snap([pending(1, 1, "Standard_D4s_v3", tier="Spot")],
             [running(9, "Standard_D2s_v3", tier="Spot", timeout=600)]),
        [Wait(1, Reason.SPOT_POOL_BUSY,
              "waiting for quota: Standard_D4s_v3 × 1 needs 4 vCPUs of the subscription's Spot (low-priority) vCPU "
              "quota, which has 2 free of 4 (2 in use by running jobs)",
              1, Estimate(NOW, at(540)), "based on the time limit of 1 running job", "Standard_D4s_v3",
              {SPOT_POOL: 4})]),
    "a workspace cap in use is named before the family": (
        snap([pending(1, 1, "Standard_D2s_v3", ws="w2")],
             [running(9, "Standard_D4s_v3", ws="w2", typical=ETL)], caps={DSV3: 4}),
        [Wait(1, Reason.WORKSPACE_CAP_BUSY,
              "waiting for quota: Standard_D2s_v3 × 1 needs 2 vCPUs of workspace 'w2''s standardDSv3Family quota, "
              "which has 0 free of 4 (4 in use by running jobs)",
              1, Estimate(at(240), at(540)), "based on 3 recent runs of experiment 'etl'", "Standard_D2s_v3",
              dedicated(DSV3, 2, ws="w2"))]),
    "when the workspace cap and the family are both full, the cap is named": (
        snap([pending(1, 1, "Standard_D2s_v3", ws="w2")],
             [running(8, "Standard_D4s_v3", ws="w1"), running(9, "Standard_D4s_v3", ws="w2")], caps={DSV3: 4}),
        [Wait(1, Reason.WORKSPACE_CAP_BUSY,
              "waiting for quota: Standard_D2s_v3 × 1 needs 2 vCPUs of workspace 'w2''s standardDSv3Family quota, "
              "which has 0 free of 4 (4 in use by running jobs)",
              1, None, "no estimate: the 2 running jobs it waits for have no time limit and no history",
              "Standard_D2s_v3", dedicated(DSV3, 2, ws="w2"))]),
    "the regional total limits dedicated vCPUs across families": (
        snap([pending(1, 1, "Standard_D4s_v3")], [running(9, "Standard_E4s_v3")], cores=6),
        [Wait(1, Reason.REGIONAL_QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 1 needs 4 vCPUs of the subscription's total regional vCPU "
              "quota, which has 2 free of 6 (4 in use by running jobs)",
              1, None, NO_BASIS_1, "Standard_D4s_v3", dedicated(DSV3, 4))]),
    "higher priority goes first": (
        snap([pending(1, 2, "Standard_D4s_v3", age=10), pending(2, 2, "Standard_D4s_v3", priority=1)]),
        [Admit(2, 2, "Standard_D4s_v3", "Standard", "vm-standard_d4s_v3",
               "2 nodes of Standard_D4s_v3 (4 vCPUs, 16 GiB, 32 GiB temp disk, $0.192/h each), as asked; "
               "0 vCPUs of standardDSv3Family quota left"),
         Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 2 needs 8 vCPUs of standardDSv3Family quota, which has 0 free "
              "of 8 (8 in use by running jobs)",
              1, None, NO_BASIS_1, "Standard_D4s_v3", dedicated(DSV3, 8))]),
    "a big job at the head is not starved: what is free is held for it": (
        snap([pending(1, 2, "Standard_D4s_v3", age=5), pending(2, 1, "Standard_D2s_v3", age=1)],
             [running(9, "Standard_D2s_v3", timeout=600)]),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 2 needs 8 vCPUs of standardDSv3Family quota, which has 6 free "
              "of 8 (2 in use by running jobs)",
              1, Estimate(NOW, at(540)), "based on the time limit of 1 running job", "Standard_D4s_v3",
              dedicated(DSV3, 8)),
         Wait(2, Reason.HELD_FOR_JOBS_AHEAD,
              "waiting for jobs ahead: Standard_D2s_v3 × 1 needs 2 vCPUs of standardDSv3Family quota, which has 6 "
              "free of 8, but 8 are held for 1 job ahead of it in the queue",
              2, None, "no estimate: the job ahead of it in the queue has no time limit and no history",
              "Standard_D2s_v3", dedicated(DSV3, 2))]),
    "jobs on other quotas go past a waiting job": (
        snap([pending(1, 2, "Standard_D4s_v3", age=5), pending(2, 1, "Standard_D2as_v4", age=1)],
             [running(9, "Standard_D2s_v3")]),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 2 needs 8 vCPUs of standardDSv3Family quota, which has 6 free "
              "of 8 (2 in use by running jobs)",
              1, None, NO_BASIS_1, "Standard_D4s_v3", dedicated(DSV3, 8)),
         Admit(2, 1, "Standard_D2as_v4", "Standard", "vm-standard_d2as_v4",
               "1 node of Standard_D2as_v4 (2 vCPUs, 8 GiB, 16 GiB temp disk, $0.096/h each), as asked; "
               "2 vCPUs of standardDASv4Family quota left")]),
    "an automatic job waits for the size that frees first": (
        snap([pending(1)], [running(8, "Standard_D2as_v4", nodes=2, timeout=600),
                            running(9, "Standard_D4s_v3", nodes=2, timeout=120)]),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D2s_v3 × 1 needs 2 vCPUs of standardDSv3Family quota, which has 0 free "
              "of 8 (8 in use by running jobs)",
              1, Estimate(NOW, at(60)), "based on the time limit of 1 running job", "Standard_D2s_v3",
              dedicated(DSV3, 2))]),
    "a higher-priority Spot job evicts lower-priority Spot jobs, latest started first": (
        snap([pending(1, 1, "Standard_D4s_v3", tier="Spot", priority=1)],
             [running(8, "Standard_D2s_v3", tier="Spot", started_ago=10),
              running(9, "Standard_D2s_v3", tier="Spot", started_ago=100)]),
        [Preempt(8, Reason.PREEMPTED, "evicted to make room for higher-priority Spot job 'job1'; it goes back to "
                                      "the queue"),
         Preempt(9, Reason.PREEMPTED, "evicted to make room for higher-priority Spot job 'job1'; it goes back to "
                                      "the queue"),
         Wait(1, Reason.SPOT_POOL_BUSY,
              "waiting for quota: Standard_D4s_v3 × 1 needs 4 vCPUs of the subscription's Spot (low-priority) vCPU "
              "quota, which has 0 free of 4 (4 in use by running jobs); evicting 2 lower-priority Spot jobs to make "
              "room",
              1, None, "no estimate: the 2 running jobs it waits for have no time limit and no history",
              "Standard_D4s_v3", {SPOT_POOL: 4})]),
    "a Spot job does not evict jobs of equal priority": (
        snap([pending(1, 1, "Standard_D4s_v3", tier="Spot")], [running(9, "Standard_D4s_v3", tier="Spot")]),
        [Wait(1, Reason.SPOT_POOL_BUSY,
              "waiting for quota: Standard_D4s_v3 × 1 needs 4 vCPUs of the subscription's Spot (low-priority) vCPU "
              "quota, which has 0 free of 4 (4 in use by running jobs)",
              1, None, NO_BASIS_1, "Standard_D4s_v3", {SPOT_POOL: 4})]),
}

# The scenario: a job queued behind two running 60-second jobs (dsv3=4 holds exactly two D2s_v3).
BEHIND_TWO = [pending(1, 1, "Standard_D2s_v3")]
WAITS_FOR_TWO = ("waiting for quota: Standard_D2s_v3 × 1 needs 2 vCPUs of standardDSv3Family quota, which has 0 free "
                 "of 4 (4 in use by running jobs)")


def two_running(**kw):
    return [running(8, "Standard_D2s_v3", started_ago=10, **kw), running(9, "Standard_D2s_v3", started_ago=10, **kw)]


def behind_two(estimate, basis):
    return [Wait(1, Reason.QUOTA_BUSY, WAITS_FOR_TWO, 1, estimate, basis, "Standard_D2s_v3", dedicated(DSV3, 2))]


ESTIMATES = {
    "blockers with a time limit: it starts by their time limit at the latest": (
        snap(BEHIND_TWO, two_running(timeout=60), dsv3=4),
        behind_two(Estimate(NOW, at(50)), "based on the time limit of 2 running jobs")),
    "blockers with history: it starts at their typical end": (
        snap(BEHIND_TWO, two_running(typical=TUNING), dsv3=4),
        behind_two(Estimate(at(50), at(50)), "based on 5 recent runs of experiment 'tuning'")),
    "blockers with neither: no estimate, and why": (
        snap(BEHIND_TWO, two_running(), dsv3=4),
        behind_two(None, "no estimate: the 2 running jobs it waits for have no time limit and no history")),
    "a blocker with a time limit and one with history: it may start any moment, at the latest at the sooner end": (
        snap(BEHIND_TWO, [running(8, "Standard_D2s_v3", started_ago=10, timeout=120),
                          running(9, "Standard_D2s_v3", started_ago=10, typical=TUNING)], dsv3=4),
        behind_two(Estimate(NOW, at(50)), "based on 5 recent runs of experiment 'tuning'")),
    "a blocker with a time limit and one with history, needing both: the later end bounds it": (
        snap([pending(1, 2, "Standard_D2s_v3")], [running(8, "Standard_D2s_v3", started_ago=10, timeout=120),
                                                  running(9, "Standard_D2s_v3", started_ago=10, typical=TUNING)],
             dsv3=4),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D2s_v3 × 2 needs 4 vCPUs of standardDSv3Family quota, which has 0 free "
              "of 4 (4 in use by running jobs)",
              1, Estimate(at(50), at(110)),
              "based on the time limit of 1 running job and 5 recent runs of experiment 'tuning'",
              "Standard_D2s_v3", dedicated(DSV3, 4))]),
    "a blocker with history and one with nothing: an earliest start but no latest": (
        snap([pending(1, 2, "Standard_D2s_v3")], [running(8, "Standard_D2s_v3", started_ago=10, typical=TUNING),
                                                  running(9, "Standard_D2s_v3", started_ago=10)], dsv3=4),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D2s_v3 × 2 needs 4 vCPUs of standardDSv3Family quota, which has 0 free "
              "of 4 (4 in use by running jobs)",
              1, Estimate(at(50), None),
              "based on 5 recent runs of experiment 'tuning'; no latest start known: the running job it waits for "
              "has no time limit and no history",
              "Standard_D2s_v3", dedicated(DSV3, 4))]),
    "a time limit shorter than the history bounds it": (
        snap(BEHIND_TWO, two_running(typical=ETL, timeout=120), dsv3=4),
        behind_two(Estimate(at(110), at(110)), "based on 3 recent runs of experiment 'etl'")),
    "a blocker past its typical end is still running: no estimate without a time limit": (
        snap(BEHIND_TWO, two_running(typical=Typical(5, 8, 2, "jobs named 'quick'")), dsv3=4),
        behind_two(None, "no estimate: the 2 running jobs it waits for have run longer than their recent runs "
                         "(jobs named 'quick') and have no time limit")),
    "a blocker past its typical end is bounded by its time limit still": (
        snap(BEHIND_TWO, two_running(typical=Typical(5, 8, 2, "jobs named 'quick'"), timeout=300), dsv3=4),
        behind_two(Estimate(NOW, at(290)), "based on the time limit of 2 running jobs")),
    "a blocker past its time limit is being stopped: the estimate is now, never in the past": (
        snap([pending(1, 2, "Standard_D4s_v3")], [running(9, "Standard_D4s_v3", started_ago=3600, timeout=60)]),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 2 needs 8 vCPUs of standardDSv3Family quota, which has 4 free "
              "of 8 (4 in use by running jobs)",
              1, Estimate(NOW, NOW), "based on the time limit of 1 running job", "Standard_D4s_v3",
              dedicated(DSV3, 8))]),
    "a job ahead in the queue holds the quota for its own time limit once it starts": (
        snap([pending(1, 2, "Standard_D4s_v3", age=3, timeout=300), pending(2, 2, "Standard_D4s_v3", age=2)],
             [running(9, "Standard_D4s_v3", nodes=2, timeout=600)]),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 2 needs 8 vCPUs of standardDSv3Family quota, which has 0 free "
              "of 8 (8 in use by running jobs)",
              1, Estimate(NOW, at(540)), "based on the time limit of 1 running job", "Standard_D4s_v3",
              dedicated(DSV3, 8)),
         Wait(2, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 2 needs 8 vCPUs of standardDSv3Family quota, which has 0 free "
              "of 8 (8 in use by running jobs, 8 held for jobs ahead)",
              2, Estimate(NOW, at(840)),
              "based on the time limit of 1 running job and the time limit of 1 job ahead in the queue",
              "Standard_D4s_v3", dedicated(DSV3, 8))]),
    "a job ahead with history holds the quota for its typical run": (
        snap([pending(1, 2, "Standard_D4s_v3", age=3, typical=ETL), pending(2, 2, "Standard_D4s_v3", age=2)],
             [running(9, "Standard_D4s_v3", nodes=2, typical=ETL)]),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 2 needs 8 vCPUs of standardDSv3Family quota, which has 0 free "
              "of 8 (8 in use by running jobs)",
              1, Estimate(at(240), at(540)), "based on 3 recent runs of experiment 'etl'", "Standard_D4s_v3",
              dedicated(DSV3, 8)),
         Wait(2, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 2 needs 8 vCPUs of standardDSv3Family quota, which has 0 free "
              "of 8 (8 in use by running jobs, 8 held for jobs ahead)",
              2, Estimate(at(540), at(1140)), "based on 3 recent runs of experiment 'etl'", "Standard_D4s_v3",
              dedicated(DSV3, 8))]),
    "quota held by a cluster's nodes has no end that is known": (
        snap([pending(1, 1, "Standard_D4s_v3")], clusters=[cluster(allocated=4, max_instances=4)], dsv3=10),
        [Wait(1, Reason.QUOTA_BUSY,
              "waiting for quota: Standard_D4s_v3 × 1 needs 4 vCPUs of standardDSv3Family quota, which has 2 free "
              "of 10 (8 in use by running jobs)",
              1, None, "no estimate: compute cluster 'cpu-cluster' holds part of the quota until it scales down",
              "Standard_D4s_v3", dedicated(DSV3, 4))]),
}

CLUSTERS = {
    "a cluster scales up within quota": (
        snap([pending(1, compute="cpu-cluster")], clusters=[cluster()]),
        [Admit(1, 1, "Standard_D2s_v3", "Standard", "vm-standard_d2s_v3",
               "running on cluster 'cpu-cluster' (Standard_D2s_v3): scaling up by 1 node", scale_cluster_to=1)]),
    "a cluster reuses idle nodes": (
        snap([pending(1, compute="cpu-cluster")], clusters=[cluster(allocated=1, idle_since=NOW)]),
        [Admit(1, 1, "Standard_D2s_v3", "Standard", "vm-standard_d2s_v3",
               "running on cluster 'cpu-cluster' (Standard_D2s_v3): 1 idle node")]),
    "a busy cluster queues while serverless starts at once": (
        snap([pending(1, compute="cpu-cluster"), pending(2, 1, "Standard_D2s_v3")],
             [running(9, "Standard_D2s_v3", nodes=2, compute="cpu-cluster", timeout=600)],
             clusters=[cluster(allocated=2)]),
        [Wait(1, Reason.CLUSTER_BUSY,
              "cluster 'cpu-cluster' is busy: 2 of its 2 nodes are running other jobs" + SERVERLESS_WOULD_NOT,
              1, Estimate(NOW, at(540)), "based on the time limit of 1 running job", "Standard_D2s_v3", nodes(1)),
         Admit(2, 1, "Standard_D2s_v3", "Standard", "vm-standard_d2s_v3",
               "1 node of Standard_D2s_v3 (2 vCPUs, 8 GiB, 16 GiB temp disk, $0.096/h each), as asked; "
               "2 vCPUs of standardDSv3Family quota left")]),
    "a cluster scaling down must finish before it scales up: the estimate is its known end": (
        snap([pending(1, compute="cpu-cluster")], clusters=[cluster(allocated=2, scaling_down_until=at(45))]),
        [Wait(1, Reason.CLUSTER_SCALING_DOWN,
              "cluster 'cpu-cluster' is scaling down and must finish before it scales up again" + SERVERLESS_WOULD_NOT,
              1, Estimate(at(45), at(45)), "when cluster 'cpu-cluster' finishes scaling down", "Standard_D2s_v3",
              nodes(1))]),
    "a cluster that cannot scale up for quota waits for the quota, and the next cluster job behind it": (
        snap([pending(1, compute="cpu-cluster", age=2), pending(2, compute="cpu-cluster", age=1)],
             [running(9, "Standard_D4s_v3", nodes=2, timeout=300)], clusters=[cluster()]),
        [Wait(1, Reason.CLUSTER_QUOTA_BUSY,
              "cluster 'cpu-cluster' cannot scale up: its standardDSv3Family quota is in use" + SERVERLESS_WOULD_NOT,
              1, Estimate(NOW, at(240)), "based on the time limit of 1 running job", "Standard_D2s_v3",
              {**nodes(1), **dedicated(DSV3, 2)}),
         Wait(2, Reason.HELD_FOR_JOBS_AHEAD,
              "cluster 'cpu-cluster' has room, but its nodes are held for 1 job ahead of it in the cluster's queue"
              + SERVERLESS_WOULD_NOT,
              2, Estimate(NOW, at(240)), "based on when the jobs ahead of it in the cluster's queue start",
              "Standard_D2s_v3", nodes(1))]),
    "an idle cluster scales down after its idle time": (
        snap(clusters=[cluster(allocated=2, idle_since=NOW - timedelta(seconds=121))]),
        [ScaleCluster("w1", "cpu-cluster", 0, at(60),
                      "cluster 'cpu-cluster' was idle for 2 min: scaling down from 2 to 0 nodes")]),
    "a cluster idle for less than its idle time stays": (
        snap(clusters=[cluster(allocated=2, idle_since=NOW - timedelta(seconds=30))]), []),
    "a finished scale-down is settled": (
        snap(clusters=[cluster(allocated=0, scaling_down_until=NOW - timedelta(seconds=1))]),
        [ScaleCluster("w1", "cpu-cluster", 0, None, "cluster 'cpu-cluster' finished scaling down")]),
}

CASES = {**ADMITS, **REJECTS, **WAITS, **ESTIMATES, **CLUSTERS}


@pytest.mark.parametrize("snapshot,expected", CASES.values(), ids=CASES.keys())
def test_it_decides(snapshot, expected):
    assert decide(snapshot) == expected


def test_it_explains_a_job_behind_the_queue():
    snapshot = snap([pending(1, 2, "Standard_D4s_v3", age=5)], [running(9, "Standard_D4s_v3")])
    assert explain(pending(0, 1, "Standard_D4s_v3"), snapshot) == Wait(
        0, Reason.HELD_FOR_JOBS_AHEAD,
        "waiting for jobs ahead: Standard_D4s_v3 × 1 needs 4 vCPUs of standardDSv3Family quota, which has 4 free of "
        "8, but 8 are held for 1 job ahead of it in the queue",
        2, None, "no estimate: the running job it waits for has no time limit and no history; the job ahead of it "
                 "in the queue has no estimate itself", "Standard_D4s_v3", dedicated(DSV3, 4))


def test_it_is_deterministic():
    snapshot = snap([pending(i, 1 + i % 2, age=i, timeout=60 * i or None) for i in range(10)],
                    [running(90 + i, "Standard_D2s_v3", timeout=120) for i in range(3)])
    assert decide(snapshot) == decide(snapshot)
