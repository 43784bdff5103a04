"""`studio vm-size list` (and `compute list-sizes`): the real catalogue, and what fits the real quota."""

import json

import pytest

from tests.cli.helpers import cells

HEADER = ["NAME", "FAMILY", "VCPUS", "MEMORY", "GPUS", "PRICE $/H", "SPOT $/H", "INSTANCES FIT", "QUOTA FREE (VCPUS)"]


def rows_by_name(out: str) -> dict[str, list[str]]:
    header, *rows = out.splitlines()
    assert cells(header) == HEADER
    return {cells(row)[0]: cells(row)[1:] for row in rows}


def catalogue(**filters) -> set[str]:
    from quotas.models import VmSize

    return set(VmSize.objects.filter(**filters).values_list("name", flat=True))


def test_it_lists_the_catalogue_with_prices(studio, set_quota, run):
    set_quota("standardDSv2Family", 8)
    code, out, _ = run("vm-size", "list")
    assert code == 0
    rows = rows_by_name(out)
    assert set(rows) == catalogue()
    assert rows["Standard_DS3_v2"][:6] == ["standardDSv2Family", "4", "14 GiB", "0", "0.2930", "0.0322"]
    assert rows["Standard_DS3_v2"][-1] == "8"
    assert rows["Standard_NC4as_T4_v3"][:4] == ["standardNCASv3_T4Family", "4", "28 GiB", "1 x NVIDIA T4 16GB"]


def test_it_says_how_many_instances_fit_not_only_the_free_vcpus(studio, set_quota, run):
    set_quota("standardDSv3Family", 20)
    rows = rows_by_name(run("vm-size", "list")[1])
    assert rows["Standard_D8s_v3"][-2:] == ["2", "20"]
    assert rows["Standard_D32s_v3"][-2:] == ["0", "20"]  # 20 vCPUs free, but one node needs 32


@pytest.mark.parametrize("argv, filters", [
    (["--gpu"], {"gpus__gt": 0}),
    (["--max-price", "0.1"], {"price_dedicated__lte": 0.1}),
    (["--gpu", "--max-price", "0.6"], {"gpus__gt": 0, "price_dedicated__lte": 0.6}),
])
def test_it_filters_vm_sizes(studio, run, argv, filters):
    code, out, _ = run("vm-size", "list", *argv, "-o", "json")
    assert code == 0
    names = {v["name"] for v in json.loads(out)}
    assert names and names == catalogue(**filters)


def test_it_lists_vm_sizes_like_az_ml_compute_list_sizes(studio, run):
    code, out, _ = run("compute", "list-sizes", "--gpu")
    assert code == 0 and set(rows_by_name(out)) == catalogue(gpus__gt=0)


def test_it_says_when_no_vm_size_matches(studio, run):
    assert run("vm-size", "list", "--max-price", "0")[1] == "No VM sizes match.\n"
