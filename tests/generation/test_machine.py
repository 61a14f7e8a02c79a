"""Engine status from synthetic machine facts: a 24 GB GPU, an 8 GB GPU, a CPU."""

import pytest

from generation import catalogue, machine
from generation.memory import GIB

GPU24 = machine.Facts(device="cuda", gpu_name="RTX 4090", gpu_total=24 * GIB)
GPU8 = machine.Facts(device="cuda", gpu_name="RTX 3070", gpu_total=8 * GIB)
CPU = machine.Facts(device="cpu", ram_available=16 * GIB)
WAN13 = catalogue.get("wan-t2v-1.3b")
WAN14 = catalogue.get("wan-t2v-14b")
TINY = {"transformer": 50_000, "text_encoder": 40_000, "vae": 10_000}


def test_budget_keeps_headroom():
    assert GPU24.gpu_budget == 24 * GIB - int(24 * GIB * 0.05)
    assert GPU8.gpu_budget == 7 * GIB
    assert machine.Facts(device="cuda", gpu_total=24 * GIB, budget=10 * GIB).gpu_budget == 10 * GIB


def test_24gb_gpu_runs_wan_13b_without_offload_once_installed():
    missing = machine.status(WAN13, GPU24, installed=False)
    assert missing.state == machine.NOT_DOWNLOADED
    assert "fetch_model wan-t2v-1.3b" in missing.reason
    ready = machine.status(WAN13, GPU24, installed=True)
    assert ready.ready and ready.offload == "none"
    assert ready.need["none"] <= GPU24.gpu_budget
    assert ready.reason == "ready"


def test_24gb_gpu_runs_wan_14b_only_with_group_offload():
    s = machine.status(WAN14, GPU24, installed=True)
    assert s.ready and s.offload == "group"
    assert s.need["model"] > GPU24.gpu_budget >= s.need["group"]
    assert "group offload" in s.reason


def test_fixed_offload_that_does_not_fit_names_the_one_that_would():
    s = machine.status(WAN14, GPU24, installed=True, offload="model")
    assert s.state == machine.TOO_BIG
    assert s.offload == "group"
    assert "set the engine's offload to group" in s.reason


def test_8gb_gpu_fits_wan_13b_with_group_offload_but_not_wan_14b():
    assert machine.status(WAN13, GPU8, installed=True).offload == "group"
    big = machine.status(WAN14, GPU8, installed=True)
    assert big.state == machine.TOO_BIG and big.offload is None
    assert "no offload mode makes it fit" in big.reason
    # Not fitting is said before not being downloaded: fetching it would not help.
    assert machine.status(WAN14, GPU8, installed=False).state == machine.TOO_BIG


def test_cpu_needs_a_gpu_for_real_checkpoints():
    for entry in catalogue.CATALOGUE.values():
        s = machine.status(entry, CPU, installed=True)
        assert s.state == machine.NEEDS_GPU, entry.name
        assert "needs a GPU" in s.reason


def test_cpu_runs_a_tiny_pipeline_installed_under_a_catalogue_name():
    assert machine.status(WAN13, CPU, installed=True, params=TINY).ready
    assert machine.status(WAN13, CPU, installed=False, params=TINY).state == (
        machine.NOT_DOWNLOADED
    )


@pytest.mark.parametrize("facts", [GPU24, GPU8], ids=["24GB", "8GB"])
def test_measured_params_override_the_catalogue(facts):
    s = machine.status(WAN13, facts, installed=True, params=TINY)
    assert s.ready and s.offload == "none"


def test_device_facts_on_this_machine():
    facts = machine.device_facts()
    assert facts.device in ("cpu", "cuda")
    assert facts.torch_version
    assert facts.ram_available > 0


def test_disk_free_of_a_path_not_yet_made(tmp_path):
    free = machine.disk_free(tmp_path / "models" / "not-yet")
    assert free is not None and free > 0


def test_hub_cached_is_false_for_an_unknown_repo(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert not machine.hub_cached("nobody/nothing-here")
