"""`studio compute create/list/show/delete` against the real studio's clusters."""

import io
import json
import sys
from datetime import timedelta

import pytest

from studio.cli.main import main
from studio.cli.output import format_time
from tests.cli.helpers import cells, fields_of


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def cluster(studio):
    from quotas.services import cluster_create

    return cluster_create(user=studio.user, workspace=studio.workspace, name="cpu-cluster", size="Standard_DS3_v2",
                          max_instances=4)


def clusters() -> dict[str, tuple]:
    from quotas.models import Cluster

    return {c.name: (c.workspace.name, c.size_id, c.min_instances, c.max_instances, c.idle_seconds)
            for c in Cluster.objects.select_related("workspace")}


def test_it_creates_a_compute_with_az_ml_defaults(studio, run):
    code, out, err = run("compute", "create", "--name", "cpu-cluster", "--size", "Standard_DS3_v2")
    assert code == 0, err
    assert clusters() == {"cpu-cluster": ("ws-1", "Standard_DS3_v2", 0, 1, 120)}
    assert out.startswith("Compute cpu-cluster created\nName:")
    fields = fields_of(out)
    assert (fields["Idle time before scale down"], fields["Max instances"], fields["State"]) == ("120 s", "1", "steady")


def test_it_creates_a_compute_as_az_ml_does_without_a_size(studio, run):
    code, _, err = run("compute", "create", "--name", "cpu-cluster", "--type", "AmlCompute", "--min-instances", "0",
                       "--max-instances", "8")
    assert code == 0, err
    assert clusters() == {"cpu-cluster": ("ws-1", "Standard_DS3_v2", 0, 8, 120)}


def test_it_refuses_a_compute_type_it_does_not_have(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compute", "create", "--name", "ci", "--type", "computeinstance"])
    assert exit_info.value.code == 2 and "invalid choice: 'computeinstance'" in capsys.readouterr().err


def test_it_creates_a_compute_in_a_workspace(studio, run):
    studio.workspace_named("ws-2")
    code, out, _ = run("compute", "create", "-n", "gpu", "--size", "Standard_NC4as_T4_v3", "--min-instances", "1",
                       "--max-instances", "2", "--idle-time-before-scale-down", "600", "-w", "ws-2", "-o", "json")
    assert code == 0
    created = json.loads(out)
    assert (created["name"], created["min_instances"], created["allocated_nodes"]) == ("gpu", 1, 1)
    assert clusters() == {"gpu": ("ws-2", "Standard_NC4as_T4_v3", 1, 2, 600)}


def test_it_refuses_more_minimum_than_maximum_nodes_locally(nowhere, run):
    code, _, err = run("compute", "create", "-n", "c", "--size", "S", "--min-instances", "3", "--max-instances", "2")
    assert (code, err) == (1, "error: --min-instances (3) cannot be more than --max-instances (2)\n")


@pytest.mark.parametrize("argv", [["--max-instances", "0"], ["--min-instances", "-1"],
                                  ["--idle-time-before-scale-down", "-5"]])
def test_it_refuses_impossible_node_counts(capsys, argv):
    with pytest.raises(SystemExit):
        main(["compute", "create", "-n", "c", "--size", "S", *argv])
    assert "or more" in capsys.readouterr().err


def test_it_shows_the_studios_refusal_of_a_compute(studio, run):
    code, out, err = run("compute", "create", "-n", "cpu-cluster", "--size", "Standard_DS3")
    assert (code, out) == (1, "")
    assert err.startswith("error: size: unknown VM size 'Standard_DS3'; did you mean ")
    assert clusters() == {}


def test_it_refuses_a_name_that_is_taken(studio, cluster, run):
    code, _, err = run("compute", "create", "-n", "cpu-cluster", "--size", "Standard_DS3_v2")
    assert (code, err) == (1, "error: name: a compute named 'cpu-cluster' already exists in workspace 'ws-1'\n")


def test_it_lists_computes_busy_and_scaling_down(studio, cluster, run):
    from quotas.services import cluster_create, cluster_scale

    until = cluster.created_at + timedelta(days=1)
    gpu = cluster_create(user=studio.user, workspace=studio.workspace, name="gpu", size="Standard_NC4as_T4_v3",
                         max_instances=2)
    cluster_scale(cluster_id=gpu.id, allocated=1, scaling_down_until=until)
    studio.submit("command: echo hi\ncompute: azureml:cpu-cluster\n")
    code, out, _ = run("compute", "list", "-w", "ws-1")
    assert code == 0
    header, first, second = out.splitlines()
    assert cells(header) == ["NAME", "TYPE", "SIZE", "MIN", "MAX", "IDLE SCALE-DOWN", "ALLOCATED", "BUSY", "STATE"]
    assert cells(first) == ["cpu-cluster", "amlcompute", "Standard_DS3_v2", "0", "4", "120 s", "1", "1", "busy"]
    assert cells(second)[0] == "gpu"
    assert cells(second)[-1] == f"scaling down until {format_time(until.isoformat())}"


def test_it_says_when_there_are_no_computes(studio, run):
    code, out, _ = run("compute", "list")
    assert code == 0 and out.startswith("No computes found")


def test_it_shows_a_compute(studio, cluster, run):
    code, out, _ = run("compute", "show", "--name", "cpu-cluster")
    fields = fields_of(out)
    assert code == 0 and (fields["Size"], fields["Busy nodes"], fields["State"]) == ("Standard_DS3_v2", "0", "steady")
    code, out, _ = run("compute", "show", "-n", "cpu-cluster", "-o", "json")
    assert code == 0 and json.loads(out)["max_instances"] == 4


def test_it_names_a_missing_compute(studio, run):
    assert run("compute", "show", "-n", "nope")[1:] == (
        "", "error: compute 'nope' was not found in workspace 'ws-1'; `studio compute list` shows the clusters\n")


def test_it_deletes_a_compute_with_yes(studio, cluster, run):
    code, out, _ = run("compute", "delete", "-n", "cpu-cluster", "--yes")
    assert (code, out) == (0, "Compute cpu-cluster deleted\n")
    assert clusters() == {}


def test_it_deletes_a_compute_as_json(studio, cluster, run):
    code, out, _ = run("compute", "delete", "-n", "cpu-cluster", "-y", "-o", "json")
    assert code == 0 and json.loads(out) == {"name": "cpu-cluster", "deleted": True}


def test_it_refuses_to_delete_without_yes_when_it_cannot_ask(studio, cluster, run, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped input is not a confirmation
    code, out, err = run("compute", "delete", "-n", "cpu-cluster")
    assert (code, out) == (1, "")
    assert err == ("error: refusing to delete compute cpu-cluster without confirmation: the input is not a terminal; "
                   "pass --yes to go ahead\n")
    assert list(clusters()) == ["cpu-cluster"]


def test_it_deletes_after_a_yes_on_the_terminal(studio, cluster, run, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    code, out, err = run("compute", "delete", "-n", "cpu-cluster")
    assert (code, out) == (0, "Compute cpu-cluster deleted\n")
    assert err.startswith("Delete compute cpu-cluster? ") and "[y/N]" in err
    assert clusters() == {}


@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_it_keeps_the_compute_unless_told_yes(studio, cluster, run, monkeypatch, answer):
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    code, out, err = run("compute", "delete", "-n", "cpu-cluster")
    assert (code, out) == (1, "")
    assert err.endswith("error: compute cpu-cluster was not deleted\n")
    assert list(clusters()) == ["cpu-cluster"]


def test_it_shows_why_a_compute_cannot_be_deleted(studio, cluster, run):
    studio.submit("command: echo hi\ncompute: azureml:cpu-cluster\n")
    code, _, err = run("compute", "delete", "-n", "cpu-cluster", "--yes")
    assert (code, err) == (1, "error: compute 'cpu-cluster' has 1 job waiting or running; cancel them or wait for "
                              "them to end first\n")
    assert list(clusters()) == ["cpu-cluster"]
