"""The wizard asks the scheduling core and the spec layer instead of copying their rules."""

from __future__ import annotations

import pytest

from jobs.specs import CommandJobSpec
from jobs.wizard import rules
from tests.wizard.helpers import CATALOGUE


@pytest.mark.parametrize("name, tier, words", [
    ("Standard_D4s_v9", "Standard", "unknown VM size 'Standard_D4s_v9'; did you mean Standard_D4s_v3"),
    ("Standard_NC6", "Standard", "Standard_NC6 is not offered on serverless compute"),
    ("Standard_ND96isr_H100_v5", "Spot", "Standard_ND96isr_H100_v5 is not available as Spot"),
])
def test_it_refuses_sizes_in_the_cores_words_without_the_field_path(name, tier, words):
    refusal = rules.size_refusal(name, tier, CATALOGUE)
    assert words in refusal
    assert not refusal.startswith("resources.")


def test_it_accepts_sizes_the_core_accepts():
    assert rules.size_refusal("standard_d4s_v3", "Spot", CATALOGUE) is None


@pytest.mark.parametrize("compute", [None, "serverless", "azureml:serverless", "AzureML:Serverless",
                                     "azureml:cpu-cluster", "cpu-cluster"])
def test_it_says_serverless_as_the_spec_layer_does(compute):
    spec = {"command": "echo", "environment": {"image": "python"}, **({"compute": compute} if compute else {})}
    assert rules.runs_on_serverless(spec) == CommandJobSpec.from_dict(spec).is_serverless
