import io
import json
import sys

import pytest

from studio.cli.output import format_time
from tests.cli.fakes import compute


def connect(studio):
    return ("--url", studio.url, "--token", "t")


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_it_creates_a_compute_with_az_ml_defaults(studio, run):
    studio.answer("POST", "/computes", compute("cpu-cluster", max_instances=1), status=201)
    code, out, err = run("compute", "create", "--name", "cpu-cluster", "--size", "Standard_DS3_v2", *connect(studio))
    assert code == 0, err
    assert json.loads(studio.made("POST", "/computes")[0].body) == {
        "name": "cpu-cluster", "size": "Standard_DS3_v2", "min_instances": 0, "max_instances": 1,
        "idle_time_before_scale_down": 120}
    assert out.startswith("Compute cpu-cluster created\nName:")
    assert "Idle time before scale down:  120 s" in out and "Max instances:" in out


def test_it_creates_a_compute_in_a_workspace(studio, run):
    studio.answer("POST", "/computes", compute("gpu", min_instances=1, max_instances=2), status=201)
    code, out, _ = run("compute", "create", "-n", "gpu", "--size", "Standard_NC4as_T4_v3", "--min-instances", "1",
                       "--max-instances", "2", "--idle-time-before-scale-down", "600", "-w", "ws-2",
                       "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out)["name"] == "gpu"
    assert json.loads(studio.made("POST", "/computes")[0].body) == {
        "name": "gpu", "size": "Standard_NC4as_T4_v3", "min_instances": 1, "max_instances": 2,
        "idle_time_before_scale_down": 600, "workspace": "ws-2"}


def test_it_refuses_more_minimum_than_maximum_nodes_locally(studio, run):
    code, _, err = run("compute", "create", "-n", "c", "--size", "S", "--min-instances", "3", "--max-instances", "2",
                       *connect(studio))
    assert (code, err) == (1, "error: --min-instances (3) cannot be more than --max-instances (2)\n")
    assert studio.requests == []


@pytest.mark.parametrize("argv", [["--max-instances", "0"], ["--min-instances", "-1"],
                                  ["--idle-time-before-scale-down", "-5"]])
def test_it_refuses_impossible_node_counts(studio, capsys, argv):
    from studio.cli.main import main

    with pytest.raises(SystemExit):
        main(["compute", "create", "-n", "c", "--size", "S", *argv, *connect(studio)])
    assert "or more" in capsys.readouterr().err and studio.requests == []


def test_it_shows_the_servers_refusal_of_a_compute(studio, run):
    studio.answer("POST", "/computes", {"message": "Unknown VM size 'Standard_X'.", "extra": {
        "recommendations": ["see studio vm-size list"]}}, status=400)
    code, out, err = run("compute", "create", "-n", "c", "--size", "Standard_X", *connect(studio))
    assert (code, out, err) == (1, "", "error: Unknown VM size 'Standard_X'.\n  - see studio vm-size list\n")


def test_it_lists_computes(studio, run):
    studio.answer("GET", "/computes", [
        compute("cpu-cluster", allocated_nodes=2, busy_nodes=1),
        compute("gpu", size="Standard_NC4as_T4_v3", max_instances=2, allocated_nodes=1, state="scaling down",
                scaling_down_until="2025-01-01T10:02:00Z")])
    code, out, _ = run("compute", "list", "-w", "ws-1", *connect(studio))
    assert code == 0
    header, first, second = out.splitlines()
    assert cells(header) == ["NAME", "TYPE", "SIZE", "MIN", "MAX", "IDLE SCALE-DOWN", "ALLOCATED", "BUSY", "STATE"]
    assert cells(first) == ["cpu-cluster", "amlcompute", "Standard_DS3_v2", "0", "4", "120 s", "2", "1", "steady"]
    assert cells(second)[-1] == f"scaling down until {format_time('2025-01-01T10:02:00Z')}"
    assert studio.made("GET", "/computes")[0].query == {"workspace": ["ws-1"]}


def test_it_says_when_there_are_no_computes(studio, run):
    studio.answer("GET", "/computes", [])
    code, out, _ = run("compute", "list", *connect(studio))
    assert code == 0 and out.startswith("No computes found")


def test_it_shows_a_compute(studio, run):
    studio.answer("GET", "/computes/cpu-cluster", compute(busy_nodes=1, allocated_nodes=1))
    code, out, _ = run("compute", "show", "--name", "cpu-cluster", *connect(studio))
    assert code == 0 and "Busy nodes:" in out and "State:" in out and "steady" in out
    code, out, _ = run("compute", "show", "-n", "cpu-cluster", "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out)["busy_nodes"] == 1


def test_it_names_a_missing_compute(studio, run):
    studio.answer("GET", "/computes/nope", {"message": "Compute 'nope' not found.", "extra": {}}, status=404)
    assert run("compute", "show", "-n", "nope", *connect(studio))[1:] == ("", "error: Compute 'nope' not found.\n")


def test_it_deletes_a_compute_with_yes(studio, run):
    studio.answer("DELETE", "/computes/cpu-cluster", raw=b"", status=204)
    code, out, _ = run("compute", "delete", "-n", "cpu-cluster", "--yes", *connect(studio))
    assert (code, out) == (0, "Compute cpu-cluster deleted\n")
    assert len(studio.made("DELETE", "/computes/cpu-cluster")) == 1


def test_it_deletes_a_compute_as_json(studio, run):
    studio.answer("DELETE", "/computes/c", raw=b"", status=204)
    code, out, _ = run("compute", "delete", "-n", "c", "-y", "-o", "json", *connect(studio))
    assert code == 0 and json.loads(out) == {"name": "c", "deleted": True}


def test_it_refuses_to_delete_without_yes_when_it_cannot_ask(studio, run, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped input is not a confirmation
    code, out, err = run("compute", "delete", "-n", "cpu-cluster", *connect(studio))
    assert (code, out) == (1, "")
    assert err == ("error: refusing to delete compute cpu-cluster without confirmation: the input is not a terminal; "
                   "pass --yes to go ahead\n")
    assert studio.requests == []


def test_it_deletes_after_a_yes_on_the_terminal(studio, run, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    studio.answer("DELETE", "/computes/cpu-cluster", raw=b"", status=204)
    code, out, err = run("compute", "delete", "-n", "cpu-cluster", *connect(studio))
    assert (code, out) == (0, "Compute cpu-cluster deleted\n")
    assert err.startswith("Delete compute cpu-cluster? ") and "[y/N]" in err


@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_it_keeps_the_compute_unless_told_yes(studio, run, monkeypatch, answer):
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    code, out, err = run("compute", "delete", "-n", "cpu-cluster", *connect(studio))
    assert (code, out) == (1, "")
    assert err.endswith("error: compute cpu-cluster was not deleted\n")
    assert studio.requests == []


def test_it_shows_why_a_compute_cannot_be_deleted(studio, run):
    studio.answer("DELETE", "/computes/c", {"message": "Compute 'c' has 2 running jobs.", "extra": {
        "recommendations": ["cancel them first: studio job list --compute c --status Running"]}}, status=409)
    code, _, err = run("compute", "delete", "-n", "c", "--yes", *connect(studio))
    assert code == 1 and err == ("error: Compute 'c' has 2 running jobs.\n"
                                 "  - cancel them first: studio job list --compute c --status Running\n")
