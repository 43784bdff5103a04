import pytest

from jobs.specs import detect_kind

SCHEMA = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"


@pytest.mark.parametrize(
    "mapping, kind",
    [
        ({"command": "echo", "environment": "azureml:e@latest"}, "command"),
        ({"type": "command", "command": "echo"}, "command"),
        ({"type": "Command", "command": "echo"}, "command"),
        ({"$schema": SCHEMA.format("commandJob"), "command": "echo"}, "command"),
        ({"comand": "echo", "environment": "azureml:e@latest"}, "command"),
        ({"type": "sweep", "trial": {}}, "sweep"),
        ({"sampling_algorithm": "random", "search_space": {}}, "sweep"),
        ({"type": "pipeline", "jobs": {}}, "pipeline"),
        ({"jobs": {"a": {}}}, "pipeline"),
        ({"type": "automl", "task": "classification"}, "automl"),
        ({"type": "spark", "entry": {}}, "spark"),
        ({"type": "parallel", "task": {}}, "parallel"),
        ({"$schema": SCHEMA.format("commandComponent"), "type": "command", "command": "echo"}, "component"),
        ({"$schema": SCHEMA.format("pipelineComponent"), "type": "pipeline", "jobs": {}}, "component"),
        ({"type": "command", "name": "c", "version": "1", "command": "echo"}, "component"),
        ({"$schema": SCHEMA.format("environment"), "name": "e", "image": "py"}, "environment"),
        ({"name": "e", "build": {"path": "."}}, "environment"),
        ({"$schema": SCHEMA.format("data"), "type": "uri_folder", "path": "d"}, "data"),
        ({"type": "uri_file", "path": "d.csv", "name": "d"}, "data"),
        ({"$schema": SCHEMA.format("model"), "type": "mlflow_model", "path": "m"}, "model"),
        ({"type": "custom_model", "path": "m"}, "model"),
        ({"name": "env", "channels": ["conda-forge"], "dependencies": ["python"]}, "unknown"),
        ({"dependencies": ["python"], "name": "x"}, "unknown"),
        ({"hello": "world"}, "unknown"),
        (["command"], "unknown"),
        (None, "unknown"),
        ("command: echo", "unknown"),
    ],
)
def test_it_detects_the_kind(mapping, kind):
    assert detect_kind(mapping) == kind
