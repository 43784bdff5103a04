import json
from datetime import datetime, timedelta, timezone

import pytest

from studio.cli.commands.usage import since as _since


def connect(studio):
    return ("--url", studio.url, "--token", "t")


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def usage_row(compute="Serverless", kind="serverless", **fields):
    return {"compute": compute, "kind": kind, "vm_size": None, "allocated_nodes": 0, "max_nodes": None,
            "nodes_in_use": 0, "vcpus_in_use": {}, "running_jobs": 0, "vcpu_hours": 0.0, "cost_usd": 0.0, **fields}


USAGE = [
    usage_row(nodes_in_use=3, vcpus_in_use={"standardDSv3Family": 4, "standardNCASv3_T4Family": 4},
              running_jobs=2, vcpu_hours=12.345, cost_usd=1.5),
    usage_row("cpu-cluster", "cluster", vm_size="Standard_DS3_v2", allocated_nodes=2, max_nodes=4, nodes_in_use=1,
              vcpus_in_use={"standardDSv2Family": 4}, running_jobs=1, vcpu_hours=8, cost_usd=0.293),
]


def test_it_lists_usage_per_compute(studio, run):
    studio.answer("GET", "/usage", USAGE)
    code, out, err = run("usage", "list", "-w", "ws-1", "--since", "2026-11-01T08:00:00Z", *connect(studio))
    assert code == 0, err
    header, *rows = out.splitlines()
    assert cells(header) == ["COMPUTE", "KIND", "NODES IN USE", "VCPUS IN USE", "RUNNING JOBS", "VCPU-HOURS", "COST (USD)"]
    assert [cells(r) for r in rows] == [
        ["Serverless", "serverless", "3", "standardDSv3Family: 4, standardNCASv3_T4Family: 4", "2", "12.35", "1.50"],
        ["cpu-cluster", "cluster", "1", "standardDSv2Family: 4", "1", "8.00", "0.29"],
    ]
    assert studio.made("GET", "/usage")[0].query == {"workspace": ["ws-1"], "since": ["2026-11-01T08:00:00Z"]}


def test_it_always_lists_serverless_first(studio, run):
    studio.answer("GET", "/usage", [USAGE[1]])
    code, out, _ = run("usage", "list", *connect(studio))
    assert code == 0
    assert [cells(r)[:4] for r in out.splitlines()[1:]] == [["Serverless", "serverless", "0", "0"],
                                                             ["cpu-cluster", "cluster", "1", "standardDSv2Family: 4"]]
    assert studio.made("GET", "/usage")[0].query == {}


def test_it_lists_usage_as_the_servers_list(studio, run):
    studio.answer("GET", "/usage", USAGE)
    code, out, _ = run("usage", "list", "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out) == USAGE


def test_it_sends_an_age_as_a_utc_timestamp(studio, run):
    studio.answer("GET", "/usage", USAGE)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert run("usage", "list", "--since", "24h", *connect(studio))[0] == 0
    sent = datetime.fromisoformat(studio.made("GET", "/usage")[0].query["since"][0].replace("Z", "+00:00"))
    assert before - timedelta(hours=24, seconds=5) <= sent <= before - timedelta(hours=24) + timedelta(seconds=5)


def test_it_reads_since_as_an_age_a_local_date_or_a_timestamp():
    now = datetime(2026, 11, 8, 12, 0, tzinfo=timezone.utc)
    assert _since("7d", now) == "2026-11-01T12:00:00Z"
    assert _since("30m", now) == "2026-11-08T11:30:00Z"
    assert _since("2w", now) == "2026-10-25T12:00:00Z"
    local_midnight = datetime(2026, 11, 1).astimezone().astimezone(timezone.utc)
    assert _since("2026-11-01") == local_midnight.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _since("2026-11-01T08:00:00+02:00") == "2026-11-01T06:00:00Z"


@pytest.mark.parametrize("bad", ["yesterday", "7y", "0d", "2026-13-01"])
def test_it_refuses_a_since_it_cannot_read(studio, capsys, bad):
    from studio.cli.main import main

    with pytest.raises(SystemExit):
        main(["usage", "list", "--since", bad, *connect(studio)])
    assert "argument --since:" in capsys.readouterr().err
    assert studio.requests == []


SIZES = [
    {"name": "Standard_DS3_v2", "family": "standardDSv2Family", "vcpus": 4, "memory_gib": 14.0, "gpus": 0,
     "gpu_model": None, "temp_disk_gib": 28, "price_dedicated": 0.293, "price_spot": 0.03223,
     "category": "cpu-general", "serverless": True, "quota_available": 8},
    {"name": "Standard_NC4as_T4_v3", "family": "standardNCASv3_T4Family", "vcpus": 4, "memory_gib": 28, "gpus": 1,
     "gpu_model": "T4", "temp_disk_gib": 180, "price_dedicated": 0.526, "price_spot": None,
     "category": "gpu", "serverless": True, "quota_available": 0},
]


def test_it_lists_vm_sizes(studio, run):
    studio.answer("GET", "/vm-sizes", SIZES)
    code, out, _ = run("vm-size", "list", *connect(studio))
    assert code == 0
    header, *rows = out.splitlines()
    assert cells(header) == ["NAME", "FAMILY", "VCPUS", "MEMORY", "GPUS", "PRICE $/H", "SPOT $/H", "QUOTA FREE"]
    assert [cells(r) for r in rows] == [
        ["Standard_DS3_v2", "standardDSv2Family", "4", "14 GiB", "0", "0.2930", "0.0322", "8"],
        ["Standard_NC4as_T4_v3", "standardNCASv3_T4Family", "4", "28 GiB", "1 x T4", "0.5260", "-", "0"],
    ]


@pytest.mark.parametrize("argv, names", [
    (["--gpu"], ["Standard_NC4as_T4_v3"]),
    (["--max-price", "0.3"], ["Standard_DS3_v2"]),
    (["--gpu", "--max-price", "0.3"], []),
])
def test_it_filters_vm_sizes(studio, run, argv, names):
    studio.answer("GET", "/vm-sizes", SIZES)
    code, out, _ = run("vm-size", "list", *argv, "-o", "json", *connect(studio))
    assert code == 0 and [v["name"] for v in json.loads(out)] == names


def test_it_lists_vm_sizes_like_az_ml_compute_list_sizes(studio, run):
    studio.answer("GET", "/vm-sizes", SIZES)
    code, out, _ = run("compute", "list-sizes", "--gpu", *connect(studio))
    assert code == 0 and "Standard_NC4as_T4_v3" in out and "Standard_DS3_v2" not in out


def test_it_says_when_no_vm_size_matches(studio, run):
    studio.answer("GET", "/vm-sizes", SIZES)
    assert run("vm-size", "list", "--max-price", "0", *connect(studio))[1] == "No VM sizes match.\n"
