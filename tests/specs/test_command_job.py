import pytest

from jobs.specs import (
    CommandJobSpec,
    DistributionSpec,
    EnvironmentSpec,
    InputSpec,
    OutputSpec,
    SpecError,
    load_command_job,
)

from .helpers import MINIMAL, problem_at, problems

ENV = "environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"


def job(extra: str, command: str = "echo hello") -> str:
    return f"command: {command}\n{ENV}{extra}"


def test_it_loads_a_minimal_job():
    spec = load_command_job(MINIMAL)
    assert spec.command == "echo hello"
    assert spec.environment == EnvironmentSpec(reference="azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest")
    assert spec.inputs == {} and spec.resources is None


def test_it_requires_command():
    issue = problem_at(ENV, "command")
    assert issue.message.startswith("required")
    assert (issue.line, issue.column) == (1, 1)


def test_it_requires_environment():
    assert problem_at("command: echo\n", "environment").message.startswith("required")


def test_it_reports_all_problems_at_once():
    text = job("resources: {instance_count: 0}\nlimits: {timeout: -1}\nidentity: {type: robot}\n", command="")
    paths = [issue.path for issue in problems(text)]
    assert paths == ["command", "resources.instance_count", "limits.timeout", "identity.type"]


def test_it_formats_all_problems_in_the_message():
    with pytest.raises(SpecError) as caught:
        load_command_job(job("resources: {instance_count: 0}\nlimits: {timeout: 0}\n"), source="job.yml")
    assert str(caught.value).splitlines() == [
        "2 problems:",
        "  job.yml:3:29: resources.instance_count: expected an integer ≥ 1, got 0",
        "  job.yml:4:19: limits.timeout: expected an integer ≥ 1 (seconds), got 0",
    ]


# Unknown fields --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, path, guess",
    [
        ("comand: echo\n" + ENV, "comand", "command"),
        (job("resources: {instance_cont: 2}\n"), "resources.instance_cont", "instance_count"),
        (job("limits: {timout: 60}\n"), "limits.timout", "timeout"),
        (job("queue_settings: {job_teir: Spot}\n"), "queue_settings.job_teir", "job_tier"),
        (job("identity: {type: managed, clientid: x}\n"), "identity.clientid", "client_id"),
        (job("distribution: {type: mpi, process_count: 2}\n"), "distribution.process_count", "process_count_per_instance"),
        (job("inputs:\n  x: {type: uri_file, pth: a.csv}\n"), "inputs.x.pth", "path"),
        (job("outputs:\n  y: {mod: upload}\n"), "outputs.y.mod", "mode"),
        ("command: echo\nenvironment: {imag: python}\n", "environment.imag", "image"),
        (job("services:\n  s: {type: ssh, prot: 22}\n"), "services.s.prot", "port"),
    ],
)
def test_it_names_unknown_fields_and_suggests_the_closest(text, path, guess):
    issue = problem_at(text, path)
    assert issue.message == f"unknown field '{path.rsplit('.', 1)[-1]}'; did you mean '{guess}'?"


def test_it_points_unknown_fields_at_the_key():
    issue = problem_at(job("resources:\n  instance_count: 1\n  colour: red\n"), "resources.colour")
    assert (issue.line, issue.column) == (5, 3)
    assert "valid fields here are instance_type" in issue.message


# Resources ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("1", 1), ("4", 4), ("'2'", 2)])
def test_it_accepts_whole_instance_counts(value, expected):
    spec = load_command_job(job(f"resources:\n  instance_count: {value}\n  instance_type: Standard_NC6\n"))
    assert spec.resources.instance_count == expected
    assert spec.resources.instance_type == "Standard_NC6"


@pytest.mark.parametrize("value, shown", [("2x", "'2x'"), ("0", "0"), ("-1", "-1"), ("1.5", "1.5"), ("true", "true")])
def test_it_rejects_bad_instance_counts(value, shown):
    issue = problem_at(job(f"resources:\n  instance_count: {value}\n"), "resources.instance_count")
    assert issue.message == f"expected an integer ≥ 1, got {shown}"
    assert (issue.line, issue.column) == (4, 19)


def test_it_checks_shm_size():
    assert load_command_job(job("resources: {shm_size: 2g}\n")).resources.shm_size == "2g"
    assert "such as 2g" in problem_at(job("resources: {shm_size: lots}\n"), "resources.shm_size").message


def test_it_rejects_resources_that_are_not_a_mapping():
    issue = problem_at(job("resources: Standard_NC6\n"), "resources")
    assert "expected a mapping, got 'Standard_NC6'" in issue.message


# Limits, distribution, queue settings, identity --------------------------------------------------


def test_it_accepts_a_positive_timeout():
    assert load_command_job(job("limits: {timeout: 900}\n")).limits.timeout == 900


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "soon"])
def test_it_rejects_other_timeouts(value):
    assert "expected an integer ≥ 1 (seconds)" in problem_at(job(f"limits: {{timeout: {value}}}\n"), "limits.timeout").message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{type: Pytorch, process_count_per_instance: 4}", DistributionSpec(type="pytorch", process_count_per_instance=4)),
        ("{type: mpi}", DistributionSpec(type="mpi")),
        ("{type: TensorFlow, worker_count: 3, parameter_server_count: 0}",
         DistributionSpec(type="tensorflow", worker_count=3, parameter_server_count=0)),
    ],
)
def test_it_normalises_distribution_types(text, expected):
    assert load_command_job(job(f"distribution: {text}\n")).distribution == expected


def test_it_rejects_unknown_distribution_types():
    issue = problem_at(job("distribution: {type: horovod}\n"), "distribution.type")
    assert issue.message == "unknown distribution type 'horovod'; use pytorch, mpi or tensorflow"


def test_it_rejects_fields_of_another_distribution_type():
    issue = problem_at(job("distribution: {type: pytorch, worker_count: 2}\n"), "distribution.worker_count")
    assert issue.message == "distribution type pytorch does not take worker_count; it takes process_count_per_instance"


def test_it_requires_a_distribution_type():
    assert problem_at(job("distribution: {process_count_per_instance: 2}\n"), "distribution.type")


@pytest.mark.parametrize("value, expected", [("Spot", "Spot"), ("standard", "Standard"), ("PREMIUM", "Premium"), ("basic", "Basic")])
def test_it_normalises_job_tiers(value, expected):
    assert load_command_job(job(f"queue_settings: {{job_tier: {value}}}\n")).queue_settings.job_tier == expected


def test_it_rejects_unknown_job_tiers():
    issue = problem_at(job("queue_settings: {job_tier: spott}\n"), "queue_settings.job_tier")
    assert issue.message == "unknown job tier 'spott'; did you mean 'Spot'? Allowed: Spot, Basic, Standard or Premium"


def test_it_checks_priority():
    assert load_command_job(job("queue_settings: {priority: High}\n")).queue_settings.priority == "high"
    assert problem_at(job("queue_settings: {priority: urgent}\n"), "queue_settings.priority")


@pytest.mark.parametrize(
    "value, expected",
    [("user_identity", "user_identity"), ("UserIdentity", "user_identity"), ("AMLToken", "aml_token"),
     ("managed", "managed"), ("Managed", "managed"), ("managed_identity", "managed")],
)
def test_it_normalises_identity_types(value, expected):
    assert load_command_job(job(f"identity: {{type: {value}}}\n")).identity.type == expected


def test_it_rejects_unknown_identity_types():
    issue = problem_at(job("identity: {type: robot}\n"), "identity.type")
    assert issue.message == "unknown identity type 'robot'; use user_identity, managed or aml_token"


def test_it_allows_client_id_only_for_managed_identities():
    assert load_command_job(job("identity: {type: managed, client_id: abc}\n")).identity.client_id == "abc"
    issue = problem_at(job("identity: {type: user_identity, client_id: abc}\n"), "identity.client_id")
    assert "only managed identities take client_id" in issue.message


# Inputs and outputs ------------------------------------------------------------------------------


def test_it_reads_literal_inputs():
    spec = load_command_job(job("inputs:\n  a: hello\n  b: 42\n  c: 0.5\n  d: true\n  e: {value: 7}\n  f: {type: number, value: 1}\n"))
    assert spec.inputs == {
        "a": InputSpec(type="string", value="hello"),
        "b": InputSpec(type="integer", value=42),
        "c": InputSpec(type="number", value=0.5),
        "d": InputSpec(type="boolean", value=True),
        "e": InputSpec(type="integer", value=7),
        "f": InputSpec(type="number", value=1),
    }
    assert all(spec.inputs[name].is_literal for name in "abcdef")


def test_it_reads_data_inputs_with_uri_folder_as_the_default_type():
    spec = load_command_job(job("inputs:\n  d: {path: azureml:iris@latest, mode: download}\n"))
    assert spec.inputs["d"] == InputSpec(type="uri_folder", path="azureml:iris@latest", mode="download")
    assert not spec.inputs["d"].is_literal


@pytest.mark.parametrize("mode", ["ro_mount", "rw_mount", "download", "direct"])
def test_it_accepts_input_modes(mode):
    assert load_command_job(job(f"inputs:\n  d: {{path: ./d, mode: {mode}}}\n")).inputs["d"].mode == mode


def test_it_rejects_output_modes_on_inputs():
    issue = problem_at(job("inputs:\n  d: {path: ./d, mode: upload}\n"), "inputs.d.mode")
    assert issue.message.startswith("'upload' is an output mode; use ro_mount")


def test_it_allows_eval_modes_only_for_mltable():
    assert load_command_job(job("inputs:\n  t: {type: mltable, path: ./t, mode: eval_mount}\n"))
    assert "only works with mltable" in problem_at(job("inputs:\n  d: {path: ./d, mode: eval_mount}\n"), "inputs.d.mode").message


@pytest.mark.parametrize("mode", ["rw_mount", "upload", "direct"])
def test_it_accepts_output_modes(mode):
    assert load_command_job(job(f"outputs:\n  o: {{mode: {mode}}}\n")).outputs["o"].mode == mode


@pytest.mark.parametrize("mode", ["ro_mount", "download"])
def test_it_rejects_input_modes_on_outputs(mode):
    issue = problem_at(job(f"outputs:\n  o: {{mode: {mode}}}\n"), "outputs.o.mode")
    assert issue.message == f"'{mode}' is an input mode; use rw_mount, upload or direct"


def test_it_reads_an_empty_output_as_a_folder():
    assert load_command_job(job("outputs:\n  o:\n")).outputs["o"] == OutputSpec(type="uri_folder")


def test_it_rejects_unknown_input_types():
    issue = problem_at(job("inputs:\n  d: {type: uri_files, path: a}\n"), "inputs.d.type")
    assert "did you mean 'uri_file'?" in issue.message


def test_it_checks_literal_values_against_their_type():
    issue = problem_at(job("inputs:\n  n: {type: integer, value: many}\n"), "inputs.n.value")
    assert issue.message == "an input of type integer needs a value such as `value: 5`, got 'many'"


def test_it_requires_a_path_for_data_inputs_unless_optional():
    assert problem_at(job("inputs:\n  d: {type: uri_folder}\n"), "inputs.d.path").message.startswith("required")
    assert load_command_job(job("inputs:\n  d: {type: uri_folder, optional: true}\n")).inputs["d"].optional


def test_it_rejects_data_fields_on_literals_and_values_on_data():
    assert "integer inputs take value:" in problem_at(job("inputs:\n  n: {type: integer, value: 1, mode: download}\n"), "inputs.n.mode").message
    assert "use path:" in problem_at(job("inputs:\n  d: {type: uri_file, path: a, value: 1}\n"), "inputs.d.value").message


def test_it_rejects_invalid_input_names():
    issue = problem_at(job("inputs:\n  my-data: 1\n"), "inputs.my-data")
    assert "not a valid name" in issue.message and (issue.line, issue.column) == (4, 3)


def test_it_rejects_empty_inputs():
    assert "no value" in problem_at(job("inputs:\n  x:\n"), "inputs.x").message


# Environment ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest",
        "azureml:AzureML-sklearn-0.24-ubuntu18.04-py37-cpu:1",
        "azureml:my-env",
        "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
        "azureml://registries/azureml/environments/sklearn-1.5/versions/3",
        "my-env:2",
        "my-env@latest",
        "azureml:/subscriptions/x/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/environments/e/versions/1",
        "file:./environments/env.yml",
    ],
)
def test_it_accepts_environment_references(reference):
    assert load_command_job(f"command: echo\nenvironment: {reference}\n").environment.reference == reference


@pytest.mark.parametrize("reference", ["python 3", "my-env", "azureml://registries/azureml/sklearn", "http://x/env"])
def test_it_rejects_other_environment_strings(reference):
    issue = problem_at(f"command: echo\nenvironment: {reference}\n", "environment")
    assert "is not an environment reference; write azureml:<name>:<version>" in issue.message


def test_it_reads_inline_environments():
    spec = load_command_job("command: echo\nenvironment:\n  image: python:3.11\n  conda_file: conda.yml\n  os_type: Linux\n")
    assert spec.environment == EnvironmentSpec(image="python:3.11", conda_file="conda.yml", os_type="linux")
    assert load_command_job("command: echo\nenvironment: {build: {path: ctx}}\n").environment.build.path == "ctx"


@pytest.mark.parametrize(
    "environment, message",
    [
        ("{image: a, build: {path: b}}", "give either image: or build:, not both"),
        ("{name: mine}", "an inline environment needs image:"),
    ],
)
def test_it_needs_exactly_one_of_image_and_build(environment, message):
    assert message in problem_at(f"command: echo\nenvironment: {environment}\n", "environment").message


def test_it_allows_conda_file_only_with_image():
    issue = problem_at("command: echo\nenvironment: {build: {path: b}, conda_file: c.yml}\n", "environment.conda_file")
    assert "only works with image" in issue.message


# Other fields ----------------------------------------------------------------------------------------


def test_it_reads_the_descriptive_fields():
    spec = load_command_job(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ntype: Command\n"
        "name: run_1\ndisplay_name: Run one\nexperiment_name: exp\ndescription: hi\ntags: {a: b, n: 1}\n"
        "environment_variables: {FOO: bar, ON: true}\nproperties: {p: q}\n" + MINIMAL
    )
    assert spec.schema.endswith("commandJob.schema.json")
    assert (spec.name, spec.display_name, spec.experiment_name, spec.description) == ("run_1", "Run one", "exp", "hi")
    assert spec.tags == {"a": "b", "n": "1"}
    assert spec.environment_variables == {"FOO": "bar", "ON": "true"}


def test_it_rejects_another_job_type():
    message = problem_at("type: sweep\n" + MINIMAL, "type").message
    assert message.startswith("this is a sweep file (a job); `studio validate` checks it, but this studio runs "
                              "command jobs only so far")


def test_it_says_a_component_is_not_a_job():
    message = problem_at("$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
                         "type: command\nname: train\nversion: 1\n" + MINIMAL, "type").message
    assert message.startswith("this is a component file (not a job)")


def test_it_rejects_job_names_with_spaces():
    assert "job names use letters" in problem_at("name: my job\n" + MINIMAL, "name").message


def test_it_reads_services():
    spec = load_command_job(job("services:\n  tb: {type: tensor_board, log_dir: outputs/tb}\n  code: {type: vs_code, nodes: all}\n"))
    assert spec.services["tb"].log_dir == "outputs/tb"
    assert spec.services["code"].nodes == "all"


def test_it_checks_services():
    assert problem_at(job("services:\n  s: {type: teams}\n"), "services.s.type")
    assert "only tensor_board services take log_dir" in problem_at(job("services:\n  s: {type: ssh, log_dir: x}\n"), "services.s.log_dir").message


# Objects ---------------------------------------------------------------------------------------------


def test_it_makes_frozen_hashable_specs():
    spec = load_command_job(job("tags: {a: b}\ninputs:\n  x: 1\nresources: {locations: [westeurope]}\n"))
    assert hash(spec) == hash(load_command_job(job("tags: {a: b}\ninputs:\n  x: 1\nresources: {locations: [westeurope]}\n")))
    with pytest.raises(AttributeError):
        spec.command = "rm -rf /"
    with pytest.raises(TypeError):
        spec.tags["a"] = "c"
    assert spec.resources.locations == ("westeurope",)


def test_it_freezes_plain_containers_given_to_constructors():
    spec = CommandJobSpec(command="echo", environment=EnvironmentSpec(image="py"), tags={"a": "b"})
    assert hash(spec) and spec.tags == {"a": "b"}


def test_it_validates_dicts_like_yaml():
    spec = CommandJobSpec.from_dict({"command": "echo", "environment": {"image": "py"}, "resources": {"instance_count": 2}})
    assert spec.resources.instance_count == 2
    with pytest.raises(SpecError) as caught:
        CommandJobSpec.from_dict({"command": "echo", "environment": {"image": "py"}, "resources": {"instance_count": 0}})
    [issue] = caught.value.issues
    assert (issue.path, issue.line, issue.column) == ("resources.instance_count", None, None)


def test_it_writes_itself_back_in_azure_shape():
    text = job("inputs:\n  n: 3\n  d: {type: uri_file, path: https://x/iris.csv}\noutputs:\n  o:\ncompute: azureml:cpu\n")
    data = load_command_job(text).to_dict()
    assert data == {
        "type": "command",
        "command": "echo hello",
        "environment": "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest",
        "inputs": {"n": 3, "d": {"type": "uri_file", "path": "https://x/iris.csv"}},
        "outputs": {"o": {"type": "uri_folder"}},
        "compute": "azureml:cpu",
    }


def test_it_writes_yaml_that_loads_back():
    spec = load_command_job(job("description: |\n  line one\n  line two\n"))
    assert "description: |" in spec.to_yaml()
    assert load_command_job(spec.to_yaml()) == spec
