"""The Compute step: serverless (tier, size or Automatic) or a cluster, and its VM table. Size
refusals are the scheduling core's own words (jobs.wizard.rules)."""

from __future__ import annotations

import dataclasses

import pytest

from jobs.wizard import flow, rules
from jobs.wizard.steps import compute
from tests.wizard.helpers import CATALOGUE, COMPUTE_CHOICES, OFF, ON, problem_fields, walk


def test_it_leaves_instance_type_out_for_the_automatic_size():
    spec = flow.build_spec(walk(COMPUTE_CHOICES["serverless-automatic"]))
    assert spec.is_serverless
    assert spec.resources.instance_type is None and spec.resources.instance_count == 1
    assert spec.queue_settings.job_tier == "Standard"


def test_it_names_the_cluster_and_no_size_or_tier():
    spec = flow.build_spec(walk(COMPUTE_CHOICES["cluster"]))
    assert spec.compute == "azureml:cpu-cluster" and spec.compute_name == "cpu-cluster"
    assert spec.resources.instance_type is None and spec.resources.instance_count == 3
    assert spec.queue_settings is None


def test_it_drops_the_size_and_tier_when_switching_to_a_cluster():
    state = walk(COMPUTE_CHOICES["serverless-size-spot"])
    state, problems = compute.apply(state, COMPUTE_CHOICES["cluster"], ON)
    assert problems == []
    assert state["spec"]["resources"] == {"instance_count": 3}
    assert "queue_settings" not in state["spec"]


@pytest.mark.parametrize("values, field, message", [
    ({"instance_count": "0"}, "instance_count", "expected an integer ≥ 1, got 0"),
    ({"instance_count": "two"}, "instance_count", "expected an integer ≥ 1, got 'two'"),
    ({"instance_type": "Standard_D4s_v9"}, "instance_type", "did you mean Standard_D4s_v3"),
    ({"instance_type": "Standard_Q1"}, "instance_type", "choose one from the table"),
    ({"instance_type": "Standard_NC6"}, "instance_type", "not offered on serverless compute"),
    ({"instance_type": "Standard_ND96isr_H100_v5", "tier": "Spot"}, "instance_type", "choose Standard or another size"),
    ({"tier": "Premium"}, "tier", "unknown tier 'Premium'"),
    ({"compute_type": "cluster", "cluster": "gpu-cluster"}, "cluster", "compute 'gpu-cluster' does not exist"),
    ({"compute_type": "cluster", "cluster": ""}, "cluster", "choose a cluster"),
])
def test_it_names_the_field_of_each_problem(values, field, message):
    _, problems = compute.apply(flow.new_state(), {"compute_type": "serverless", **values}, ON)
    assert message in problem_fields(problems)[field]


def test_it_refuses_a_size_in_the_cores_words_with_what_to_do_here():
    _, problems = compute.apply(flow.new_state(), {"instance_type": "Standard_ND96isr_H100_v5", "tier": "Spot"}, ON)
    refusal = rules.size_refusal("Standard_ND96isr_H100_v5", "Spot", CATALOGUE)
    assert problem_fields(problems)["instance_type"] == f"{refusal}; choose Standard or another size"
    assert rules.size_refusal("Standard_ND96isr_H100_v5", "Standard", CATALOGUE) is None
    assert rules.only_at_spot("Standard_ND96isr_H100_v5", "Spot", CATALOGUE)
    assert not rules.only_at_spot("Standard_NC6", "Spot", CATALOGUE)


def test_it_needs_the_preview_for_serverless():
    _, problems = compute.apply(flow.new_state(), COMPUTE_CHOICES["serverless-automatic"], OFF)
    assert "Manage previews" in problem_fields(problems)["compute_type"]
    assert compute.initial(flow.new_state(), OFF)["compute_type"] == "cluster"
    assert compute.initial(flow.new_state(), ON)["compute_type"] == "serverless"


def test_it_says_there_is_nothing_to_choose_without_clusters_and_preview():
    ctx = compute.ComputeContext(serverless_allowed=False, catalogue=CATALOGUE)
    _, problems = compute.apply(flow.new_state(), {"compute_type": "cluster"}, ctx)
    assert "no compute cluster" in problem_fields(problems)["cluster"]


def test_it_matches_sizes_case_insensitively_and_writes_them_as_the_catalogue_spells_them():
    state, problems = compute.apply(flow.new_state(), {"instance_type": "standard_d4s_v3"}, ON)
    assert problems == []
    assert state["spec"]["resources"]["instance_type"] == "Standard_D4s_v3"


def test_the_vm_table_filters_and_shows_the_quota_of_the_tier():
    names = [row.size.name for row in compute.size_rows(ON, tier="Standard")]
    assert names == ["Standard_D2s_v3", "Standard_D4s_v3", "Standard_NC24ads_A100_v4", "Standard_ND96isr_H100_v5"]
    assert [r.size.name for r in compute.size_rows(ON, tier="Standard", kind="gpu")] == [
        "Standard_NC24ads_A100_v4", "Standard_ND96isr_H100_v5"]
    assert [r.size.name for r in compute.size_rows(ON, tier="Standard", query="d4s")] == ["Standard_D4s_v3"]
    assert [r.size.name for r in compute.size_rows(ON, tier="Standard", kind="quota")] == [
        "Standard_D2s_v3", "Standard_D4s_v3"]
    d4 = next(r for r in compute.size_rows(ON, tier="Standard") if r.size.name == "Standard_D4s_v3")
    assert (d4.quota_available, d4.fits, d4.fits_text) == (20, 5, "fits 5 nodes")
    # the chosen size stays listed whatever the filter
    assert "Standard_D4s_v3" in [r.size.name for r in compute.size_rows(ON, tier="Standard", query="A100",
                                                                         selected="Standard_D4s_v3")]
    spot = {r.size.name: r for r in compute.size_rows(ON, tier="Spot")}
    assert spot["Standard_D4s_v3"].quota_available == 12 and spot["Standard_D4s_v3"].fits == 3
    assert spot["Standard_D4s_v3"].price == 0.02112
    assert spot["Standard_ND96isr_H100_v5"].refusal.endswith("not available as Spot (low priority)")
    assert spot["Standard_NC24ads_A100_v4"].fits_text == "no node fits"
    small_pool = dataclasses.replace(ON, spot_available=4)
    assert next(r for r in compute.size_rows(small_pool, tier="Spot", query="d4s")).fits_text == "fits 1 node"
