"""What a `compute:` value means, for specs and for code that only has the value (the wizard)."""

import pytest

from jobs.specs import compute_name, is_serverless, load_command_job

from .helpers import MINIMAL

ARM_ID = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/computes/big"


@pytest.mark.parametrize(
    "compute, serverless, name",
    [
        (None, True, None),
        ("azureml:serverless", True, None),
        ("serverless", True, None),
        (" AzureML:Serverless ", True, None),
        ("azureml:cpu-cluster", False, "cpu-cluster"),
        ("gpu-cluster", False, "gpu-cluster"),
        (f"azureml:{ARM_ID}", False, "big"),
        (ARM_ID, False, "big"),
        ("", False, ""),
    ],
)
def test_it_tells_serverless_from_named_compute(compute, serverless, name):
    assert (is_serverless(compute), compute_name(compute)) == (serverless, name)
    if compute != "":  # a job file cannot say `compute: ""`
        spec = load_command_job(MINIMAL + (f"compute: {compute.strip()}\n" if compute else ""))
        assert (spec.is_serverless, spec.compute_name) == (serverless, name)
