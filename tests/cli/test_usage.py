"""`studio usage list` against the real studio's usage ledger: Serverless beside the named clusters."""

import json
import re
from datetime import datetime, timezone

import pytest

from studio.cli.commands.usage import since
from studio.cli.main import main
from tests.cli.helpers import D2S_V3, cells

HEADER = ["COMPUTE", "KIND", "NODES IN USE", "VCPUS IN USE", "RUNNING JOBS", "VCPU-HOURS", "COST (USD)"]


@pytest.fixture
def in_use(studio):
    """Two serverless jobs (a D2s_v3 and a two-node D2as_v4 job) and one on cluster cpu-cluster, all admitted."""
    from quotas.services import cluster_create

    cluster_create(user=studio.user, workspace=studio.workspace, name="cpu-cluster", size="Standard_DS3_v2",
                   max_instances=4)
    studio.submit(D2S_V3)
    studio.submit("command: echo hi\nresources:\n  instance_count: 2\n")
    assert studio.submit("command: echo hi\ncompute: azureml:cpu-cluster\n").status == "Provisioning"


def test_it_lists_usage_per_compute_serverless_first(studio, in_use, run):
    code, out, err = run("usage", "list", "-w", "ws-1")
    assert code == 0, err
    header, *rows = out.splitlines()
    assert cells(header) == HEADER
    rows = [cells(row) for row in rows]
    assert [row[:5] for row in rows] == [
        ["Serverless", "serverless", "3", "standardDASv4Family: 4, standardDSv3Family: 2", "2"],
        ["cpu-cluster", "cluster", "1", "standardDSv2Family: 4", "1"],
    ]
    assert all(re.fullmatch(r"\d+\.\d\d", cell) for row in rows for cell in row[5:])


def test_it_counts_hours_and_cost_only_since_a_moment(studio, in_use, run):
    code, out, _ = run("usage", "list", "--since", "2999-01-01")
    assert code == 0
    assert [cells(row)[2:] for row in out.splitlines()[1:]] == [
        ["3", "standardDASv4Family: 4, standardDSv3Family: 2", "2", "0.00", "0.00"],
        ["1", "standardDSv2Family: 4", "1", "0.00", "0.00"]]


def test_it_sends_an_age_the_studio_understands(studio, in_use, run):
    code, out, err = run("usage", "list", "--since", "24h", "-o", "json")
    assert code == 0, err
    assert [row["compute"] for row in json.loads(out)] == ["Serverless", "cpu-cluster"]


def test_it_always_lists_serverless(studio, run):
    code, out, _ = run("usage", "list")
    assert code == 0
    assert [cells(row) for row in out.splitlines()[1:]] == [["Serverless", "serverless", "0", "0", "0", "0.00", "0.00"]]


def test_it_lists_usage_as_the_servers_list(studio, in_use, run):
    code, out, _ = run("usage", "list", "-o", "json")
    serverless, cluster = json.loads(out)
    assert code == 0
    assert (serverless["compute"], serverless["nodes_in_use"], serverless["running_jobs"]) == ("Serverless", 3, 2)
    assert (cluster["compute"], cluster["vm_size"], cluster["vcpus_in_use"]) == (
        "cpu-cluster", "Standard_DS3_v2", {"standardDSv2Family": 4})


def test_it_reads_since_as_an_age_a_local_date_or_a_timestamp():
    now = datetime(2026, 11, 8, 12, 0, tzinfo=timezone.utc)
    assert since("7d", now) == "2026-11-01T12:00:00Z"
    assert since("30m", now) == "2026-11-08T11:30:00Z"
    assert since("2w", now) == "2026-10-25T12:00:00Z"
    local_midnight = datetime(2026, 11, 1).astimezone().astimezone(timezone.utc)
    assert since("2026-11-01") == local_midnight.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert since("2026-11-01T08:00:00+02:00") == "2026-11-01T06:00:00Z"


@pytest.mark.parametrize("bad", ["yesterday", "7y", "0d", "2026-13-01"])
def test_it_refuses_a_since_it_cannot_read(capsys, bad):
    with pytest.raises(SystemExit):
        main(["usage", "list", "--since", bad])
    assert "argument --since:" in capsys.readouterr().err
