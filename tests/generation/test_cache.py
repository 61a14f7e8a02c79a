"""The worker's pipeline cache: one budget across engines, least recently used unloaded first.

The first tests drive the cache with stand-in pipelines (no torch, instant); the slow ones
run tiny real pipelines through the Registry as the worker does.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

from generation import memory
from generation.cache import PipelineCache, PipelineSpec
from generation.engines import Registry
from generation.spec import GenerationError, GenerationRequest, NullProgress, OutOfMemory


class FakePipe:
    """Stands in for a loaded pipeline and records how the cache placed it."""

    vae = None
    components: dict = {}

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def to(self, device):
        self.calls.append(("to", device))
        return self

    def enable_model_cpu_offload(self, device=None):
        self.calls.append(("model_offload", device))

    def remove_all_hooks(self):
        self.calls.append(("remove_hooks",))


class Loads:
    """Loader factory that counts loads per name."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.pipes: dict[str, list[FakePipe]] = {}

    def spec(self, name: str, size: int, device: str = "cpu", **kw) -> PipelineSpec:
        def load():
            self.count[name] = self.count.get(name, 0) + 1
            pipe = FakePipe()
            self.pipes.setdefault(name, []).append(pipe)
            return pipe

        return PipelineSpec(
            key=(name, f"/models/{name}", "FakePipeline"),
            load=load,
            weights={"transformer": size},
            device=device,
            **kw,
        )


def names(cache: PipelineCache) -> list[str]:
    """Engine ids of the resident pipelines, least recently used first."""
    return [key[0] for key in cache.resident()]


def unloaded(cache: PipelineCache) -> list[str]:
    return [key[0] for key in cache.unloaded]


def use(cache: PipelineCache, spec: PipelineSpec, **kw) -> None:
    with cache.use(spec, **kw):
        pass


def test_a_third_pipeline_unloads_the_least_recently_used():
    cache, loads = PipelineCache(100, device="cpu"), Loads()
    a, b, c = (loads.spec(n, 40) for n in "abc")
    use(cache, a)
    use(cache, b)
    use(cache, a)  # a is now the most recently used
    use(cache, c)

    assert names(cache) == ["a", "c"]
    assert unloaded(cache) == ["b"]
    assert cache.resident_bytes("cpu") == 80
    use(cache, b)  # comes back from disk; a is now the oldest
    assert loads.count == {"a": 1, "b": 2, "c": 1}
    assert names(cache) == ["c", "b"]


def test_a_job_makes_room_for_its_working_memory_too():
    cache, loads = PipelineCache(100, device="cpu"), Loads()
    use(cache, loads.spec("a", 50))
    small = loads.spec("b", 30)
    # b's weights alone would fit next to a; with its activations they do not.
    with cache.use(small, working=30):
        assert names(cache) == ["b"]
        assert cache.resident_bytes("cpu") == 60
    assert cache.resident_bytes("cpu") == 30  # the activations are gone with the job


def test_a_pipeline_in_use_by_this_job_is_not_unloaded():
    cache, loads = PipelineCache(100, device="cpu"), Loads()
    a, b = loads.spec("a", 70), loads.spec("b", 70)
    with cache.use(a) as lease:
        use(cache, b)  # over budget, but a is pinned: goes ahead rather than wait on itself
        assert names(cache) == ["a", "b"]
        assert lease.pipeline is loads.pipes["a"][0]
    use(cache, loads.spec("c", 70))
    assert names(cache) == ["c"]  # once released, both are fair game


def test_a_job_waits_for_another_jobs_pipeline_instead_of_unloading_it():
    cache, loads = PipelineCache(100, device="cpu"), Loads()
    a, b = loads.spec("a", 70), loads.spec("b", 70)
    running, finish = threading.Event(), threading.Event()

    def first_job():
        with cache.use(a):
            running.set()
            finish.wait(10)

    def second_job():
        use(cache, b)

    first, second = threading.Thread(target=first_job), threading.Thread(target=second_job)
    first.start()
    assert running.wait(10)
    second.start()
    deadline = time.monotonic() + 10
    while cache.waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert cache.waiting == 1
    assert names(cache) == ["a"] and "b" not in loads.count
    finish.set()
    first.join(10)
    second.join(10)
    assert names(cache) == ["b"]
    assert unloaded(cache) == ["a"]


def test_measured_sizes_replace_the_checkpoint_estimate():
    class Tensor:
        def __init__(self, n):
            self.n = n

        def numel(self):
            return self.n

        def element_size(self):
            return 4

    class Module:
        def __init__(self, n):
            self.weights = [Tensor(n)]

        def parameters(self):
            return iter(self.weights)

        def buffers(self):
            return iter([Tensor(1)])

    class Measured(FakePipe):
        components = {"transformer": Module(10), "tokenizer": object()}

    cache = PipelineCache(1000, device="cpu")
    spec = PipelineSpec(key=("m", "/m", "P"), load=Measured, weights={"transformer": 999})
    use(cache, spec)
    assert cache.resident_bytes("cpu") == 44  # 10 weights + 1 buffer, 4 bytes each


def test_a_borrowing_pipeline_counts_only_its_own_weights_and_goes_with_its_owner():
    cache, loads = PipelineCache(100, device="cpu"), Loads()
    main = loads.spec("main", 40)
    i2v = PipelineSpec(
        key=("main", "/models/i2v", "I2V"),
        load=FakePipe,
        weights={"transformer": 30},
        requires=main.key,
        shared=frozenset({"vae"}),
    )
    with cache.use(main), cache.use(i2v):
        pass
    assert cache.resident_bytes("cpu") == 70
    use(cache, loads.spec("other", 50))
    assert names(cache) == ["other"]  # unloading main took the borrower with it


def test_offload_is_the_weakest_that_fits_and_a_bigger_job_reloads_stronger():
    weights = {"transformer": 60, "text_encoder": 30}
    assert memory.choose_offload(weights, 5, 100) == "none"
    assert memory.choose_offload(weights, 20, 100) == "model"
    assert memory.choose_offload(weights, 50, 100) == "group"
    assert memory.choose_offload(weights, 500, 100) == "group"  # the check refuses this

    cache, loads = PipelineCache(100, device="cpu"), Loads()
    assert cache.choose_offload("cpu", weights, 50) == "none"  # nothing to offload to
    assert cache.choose_offload("cuda", weights, 5, offload="model") == "model"
    gpu = dataclasses.replace(loads.spec("g", 0, device="cuda"), weights=weights)
    with cache.use(gpu, working=5) as lease:
        assert lease.get() is loads.pipes["g"][0]
    assert cache.offload(gpu.key) == "none"
    assert loads.pipes["g"][0].calls == [("to", "cuda")]

    with cache.use(gpu, working=20) as lease:  # does not fit with everything on the GPU
        pipe = lease.get()
    assert cache.offload(gpu.key) == "model"
    assert loads.count["g"] == 2
    assert pipe.calls == [("model_offload", "cuda")]
    use(cache, gpu, working=5)  # a small job keeps the stronger placement: no reload
    assert loads.count["g"] == 2


def test_unload_and_clear():
    cache, loads = PipelineCache(1000, device="cpu"), Loads()
    use(cache, loads.spec("a", 10))
    use(cache, loads.spec("b", 10))
    cache.unload("a")
    assert names(cache) == ["b"]
    cache.clear()
    assert cache.resident() == [] and cache.resident_bytes("cpu") == 0


# -- tiny real pipelines through the Registry ---------------------------------------------

WAN_T2V = GenerationRequest(prompt="a red car", width=16, height=16, num_frames=9, steps=2, seed=3)
LTX_T2V = GenerationRequest(
    prompt="a red car", width=32, height=32, num_frames=9, fps=24, steps=2, seed=3
)


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def wan_size(tiny_wan_dir) -> tuple[int, int]:
    """Measured weight bytes of the tiny Wan pipeline, and a tiny job's working bytes."""
    registry = Registry({"wan": {"model": str(tiny_wan_dir)}})
    engine = registry.get("wan")
    engine.pipeline("text_to_video")
    return registry.cache.resident_bytes("cpu"), engine.working_bytes(WAN_T2V)


@pytest.mark.slow
@pytest.mark.usefixtures("offline")
def test_a_third_engine_unloads_the_least_recently_used_one(tiny_wan_dir):
    size, working = wan_size(tiny_wan_dir)
    model = {"kind": "wan", "model": str(tiny_wan_dir)}
    registry = Registry(
        {"a": model, "b": model, "c": model}, budget_bytes=2 * size + working + size // 2
    )
    a, b, c = (registry.get(n) for n in "abc")

    a.generate(WAN_T2V, NullProgress())
    before = b.generate(WAN_T2V, NullProgress()).frames
    a.generate(WAN_T2V, NullProgress())
    c.generate(WAN_T2V, NullProgress())

    assert names(registry.cache) == ["a", "c"]
    assert unloaded(registry.cache) == ["b"]
    assert (a.load_count, b.load_count, c.load_count) == (1, 1, 1)
    after = b.generate(WAN_T2V, NullProgress()).frames  # loaded again, a makes room
    assert b.load_count == 2
    assert names(registry.cache) == ["c", "b"]
    assert np.array_equal(before, after)


@pytest.mark.slow
@pytest.mark.usefixtures("offline")
def test_a_job_never_fails_because_another_engine_is_resident(tiny_wan_dir, tiny_ltx_dir):
    configs = {"wan": {"model": str(tiny_wan_dir)}, "ltx": {"model": str(tiny_ltx_dir)}}
    probe = Registry(configs)
    ltx = probe.get("ltx")
    ltx_need = ltx.estimate_memory(LTX_T2V)
    wan_size_bytes, _ = wan_size(tiny_wan_dir)
    # Room for the LTX job alone, not for it next to a resident Wan.
    registry = Registry(configs, budget_bytes=ltx_need + wan_size_bytes // 2)

    wan = registry.get("wan")
    wan.generate(WAN_T2V, NullProgress())
    frames = registry.get("ltx").generate(LTX_T2V, NullProgress()).frames

    assert frames.shape == (9, 32, 32, 3)
    assert unloaded(registry.cache) == ["wan"]
    assert names(registry.cache) == ["ltx"]


@pytest.mark.slow
@pytest.mark.usefixtures("offline")
def test_an_engine_running_a_job_is_not_unloaded_for_another(tiny_wan_dir):
    size, working = wan_size(tiny_wan_dir)
    model = {"kind": "wan", "model": str(tiny_wan_dir)}
    registry = Registry({"a": model, "b": model}, budget_bytes=size + working + size // 2)
    a, b = registry.get("a"), registry.get("b")
    in_step, finish = threading.Event(), threading.Event()
    results: dict[str, np.ndarray] = {}

    class Blocking(NullProgress):
        def step(self, done, total, preview=None):
            super().step(done, total, preview)
            in_step.set()
            finish.wait(30)

    def run(engine, progress, name):
        results[name] = engine.generate(WAN_T2V, progress).frames

    first = threading.Thread(target=run, args=(a, Blocking(), "a"))
    first.start()
    assert in_step.wait(60)
    second = threading.Thread(target=run, args=(b, NullProgress(), "b"))
    second.start()
    deadline = time.monotonic() + 30
    while registry.cache.waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.02)

    assert registry.cache.waiting == 1  # b waits for a's job instead of unloading it
    assert b.load_count == 0 and names(registry.cache) == ["a"]
    finish.set()
    first.join(60)
    second.join(60)
    assert set(results) == {"a", "b"}
    assert np.array_equal(results["a"], results["b"])  # same checkpoint, same seed
    assert names(registry.cache) == ["b"]


@pytest.mark.slow
@pytest.mark.usefixtures("offline")
def test_on_the_cpu_a_pipeline_over_the_whole_budget_is_refused_before_loading(tiny_wan_dir):
    size, _ = wan_size(tiny_wan_dir)
    registry = Registry({"wan": {"model": str(tiny_wan_dir)}}, budget_bytes=size // 2)
    engine = registry.get("wan")
    with pytest.raises(OutOfMemory, match="the worker's memory budget on RAM") as err:
        engine.generate(WAN_T2V, NullProgress())
    assert "No size fits" in str(err.value)
    assert engine.load_count == 0 and registry.cache.resident() == []


@pytest.mark.slow
@pytest.mark.usefixtures("offline")
def test_on_a_gpu_a_job_too_big_for_the_budget_runs_with_group_offload(tiny_wan_dir, monkeypatch):
    """No GPU here: the worker believes it has one while the offload hooks onload to the CPU."""
    import diffusers.hooks
    import torch

    real_apply = diffusers.hooks.apply_group_offloading
    offloaded: list[str] = []

    def apply_on_cpu(module, **kwargs):
        offloaded.append(type(module).__name__)
        kwargs.update(onload_device=torch.device("cpu"), use_stream=False)
        real_apply(module, **kwargs)

    monkeypatch.setattr(diffusers.hooks, "apply_group_offloading", apply_on_cpu)
    size, working = wan_size(tiny_wan_dir)
    config = {"wan": {"model": str(tiny_wan_dir), "dtype": "float32"}}
    budget = working + size // 4
    registry = Registry(config, budget_bytes=budget, device="cuda")
    engine = registry.get("wan")
    # Neither all the weights nor the largest component fit next to the activations.
    assert engine.weight_bytes("text_to_video", "model") + working > budget
    assert engine.offload_for(WAN_T2V) == "group"

    result = engine.generate(WAN_T2V, NullProgress())

    key = registry.cache.resident()[0]
    assert registry.cache.offload(key) == "group"
    assert sorted(offloaded) == ["AutoencoderKLWan", "UMT5EncoderModel", "WanTransformer3DModel"]
    assert result.frames.shape == (9, 16, 16, 3)
    assert registry.cache.resident_bytes("cuda") == 0  # between jobs the weights are in RAM


@pytest.mark.slow
@pytest.mark.usefixtures("offline")
def test_configure_keeps_warm_engines_and_unloads_only_removed_or_changed(tiny_wan_dir):
    model = {"kind": "wan", "model": str(tiny_wan_dir)}
    registry = Registry({"animatic": {}, "a": model, "b": model})
    animatic, a, b = (registry.get(n) for n in ("animatic", "a", "b"))
    a.pipeline("text_to_video")
    b.pipeline("text_to_video")

    # "a" unchanged, "b" changed, "animatic" removed, "c" new.
    registry.configure({"a": model, "b": {**model, "offload": "group"}, "c": model})

    assert registry.ids() == ["a", "b", "c"]
    assert registry.get("a") is a
    assert names(registry.cache) == ["a"]
    assert a.load_count == 1
    assert registry.get("b") is not b and registry.get("b").offload == "group"
    assert registry.get("c").capabilities.modes == a.capabilities.modes
    assert "animatic" not in registry
    with pytest.raises(GenerationError, match="not configured"):
        registry.get("animatic")
    assert animatic.id == "animatic"
