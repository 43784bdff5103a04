import pytest

from jobs.specs import SpecError, load_command_job, references, resolve_command

from .helpers import problem_at, problems

ENV = "environment: {image: python:3.11}\n"


def job(command: str, extra: str = "") -> str:
    return f"command: {command}\n{ENV}{extra}"


IO = "inputs:\n  data: {path: ./d}\n  lr: 0.1\n  epochs: {type: integer, optional: true}\noutputs:\n  model:\n"


def test_it_finds_references():
    assert references("a ${{inputs.x}} b ${{ outputs.y }} ${{search_space.z}}") == ["inputs.x", "outputs.y", "search_space.z"]


def test_it_accepts_references_to_declared_inputs_and_outputs():
    assert load_command_job(job("python t.py ${{inputs.data}} ${{inputs.lr}} ${{outputs.model}}", IO))


def test_it_rejects_undeclared_inputs_and_suggests_a_name():
    issue = problem_at(job("python t.py ${{inputs.dta}}", IO), "command")
    assert issue.message == "${{inputs.dta}} refers to an input that is not declared under inputs:; did you mean ${{inputs.data}}?"
    assert (issue.line, issue.column) == (1, 10)


def test_it_lists_the_declared_names_when_nothing_is_close():
    issue = problem_at(job("echo ${{inputs.zzz}}", IO), "command")
    assert issue.message.endswith("declared inputs: data, epochs or lr")


def test_it_rejects_undeclared_outputs():
    issue = problem_at(job("echo ${{outputs.result}}"), "command")
    assert "${{outputs.result}} refers to an output that is not declared" in issue.message


def test_it_rejects_search_space_references():
    issue = problem_at(job("echo ${{search_space.lr}}"), "command")
    assert issue.message.startswith("${{search_space.lr}} only works in a sweep job's trial")
    assert "${{inputs.lr}}" in issue.message


@pytest.mark.parametrize("expression", ["input.x", "parent.inputs.x", "inputs", "inputs.a.b", "name"])
def test_it_rejects_unknown_references(expression):
    issue = problem_at(job(f"echo ${{{{{expression}}}}}", IO), "command")
    assert issue.message.startswith(f"unknown reference ${{{{{expression}}}}}")


def test_it_rejects_unclosed_references():
    assert "not closed" in problem_at(job("'echo ${{inputs.data'", IO), "command").message


def test_it_checks_references_inside_optional_blocks():
    assert load_command_job(job("python t.py $[[--epochs ${{inputs.epochs}}]]", IO))
    assert problem_at(job("python t.py $[[--x ${{inputs.x}}]]", IO), "command")


def test_it_reports_each_bad_reference_once():
    assert len(problems(job("echo ${{inputs.x}} ${{inputs.x}}"))) == 1


@pytest.fixture
def spec():
    command = "python t.py --data ${{inputs.data}} --lr ${{ inputs.lr }} $[[--epochs ${{inputs.epochs}}]] --out ${{outputs.model}}"
    return load_command_job(job(f"'{command}'", IO))


def test_it_substitutes_inputs_and_outputs(spec):
    command = resolve_command(spec, inputs={"data": "/w/in/data", "lr": "0.1", "epochs": "3"}, outputs={"model": "/w/out/model"})
    assert command == "python t.py --data /w/in/data --lr 0.1 --epochs 3 --out /w/out/model"


def test_it_drops_optional_blocks_without_a_value(spec):
    command = resolve_command(spec, inputs={"data": "/d", "lr": "0.1"}, outputs={"model": "/m"})
    assert command == "python t.py --data /d --lr 0.1  --out /m"


def test_it_refuses_to_resolve_a_required_reference_without_a_value(spec):
    with pytest.raises(SpecError, match=r"no value was given for \$\{\{inputs.data\}\}"):
        resolve_command(spec, inputs={"lr": "0.1"}, outputs={"model": "/m"})
