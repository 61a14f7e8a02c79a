"""The shared diffusers engine: settings, memory arithmetic, the run loop's contract."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from generation import memory
from generation.cache import PipelineCache
from generation.engines.diffusers_base import DiffusersEngine, frames_to_uint8
from generation.spec import (
    Cancelled,
    Capabilities,
    GenerationError,
    GenerationRequest,
    NullProgress,
    OutOfMemory,
)

REQUEST = GenerationRequest(prompt="a dog", width=64, height=48, num_frames=9, steps=3, seed=7)


class FakePipe:
    """Stands in for a diffusers pipeline: runs the step callback, returns float frames."""

    def __init__(self, error: Exception | None = None):
        self.error = error
        self.calls: list[dict] = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        self._num_timesteps = kwargs["num_inference_steps"]
        for i in range(kwargs["num_inference_steps"]):
            kwargs["callback_on_step_end"](self, i, 0, {"latents": None})
        seed = kwargs["generator"].initial_seed()
        frames = np.random.default_rng(seed).random((1, 9, 48, 64, 3), dtype=np.float32)
        return SimpleNamespace(frames=frames)


def engine(**config) -> DiffusersEngine:
    return DiffusersEngine(engine_id="test", **config)


def test_defaults_resolve_to_cpu_float32_and_offline_for_directories(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    local = engine(model=str(tmp_path))
    assert (local.device, local.dtype_name) == ("cpu", "float32")
    assert local.local_files_only is True
    assert engine(model="org/some-model").local_files_only is False
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert engine(model="org/some-model").local_files_only is True
    assert engine(model="org/x", local_files_only=False).local_files_only is False


@pytest.mark.parametrize("bad", [{"offload": "disk"}, {"dtype": "int3"}])
def test_bad_settings_name_the_field(bad):
    with pytest.raises(GenerationError) as err:
        engine(**bad)
    assert err.value.field == next(iter(bad))


def test_run_seeds_reports_every_step_and_returns_uint8():
    eng, pipe, progress = engine(), FakePipe(), NullProgress()
    frames = eng.run(pipe, REQUEST, progress, prompt="a dog")
    again = eng.run(FakePipe(), REQUEST, NullProgress(), prompt="a dog")
    other = eng.run(FakePipe(), REQUEST.replace(seed=8), NullProgress(), prompt="a dog")

    assert frames.shape == (9, 48, 64, 3) and frames.dtype == np.uint8
    assert progress.steps == [(1, 3), (2, 3), (3, 3)]
    assert pipe.calls[0]["output_type"] == "np"
    assert pipe.calls[0]["prompt"] == "a dog"
    assert np.array_equal(frames, again)
    assert not np.array_equal(frames, other)


def test_run_uses_default_steps_when_the_request_has_none():
    eng = engine()
    eng.capabilities = Capabilities(modes=frozenset({"text_to_video"}), default_steps=4)
    pipe = FakePipe()
    eng.run(pipe, REQUEST.replace(steps=None), NullProgress())
    assert pipe.calls[0]["num_inference_steps"] == 4


def test_cancel_raises_from_the_step_callback():
    class CancelAtOnce(NullProgress):
        def cancelled(self) -> bool:
            return bool(self.steps)

    progress = CancelAtOnce()
    with pytest.raises(Cancelled):
        engine().run(FakePipe(), REQUEST, progress)
    assert progress.steps == [(1, 3)]


def test_out_of_memory_becomes_an_actionable_error():
    import torch

    for error in (
        torch.OutOfMemoryError("CUDA out of memory"),
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 GB"),
    ):
        with pytest.raises(OutOfMemory, match=r"smaller size \(e.g. 32×16\)|fewer frames"):
            engine().run(FakePipe(error), REQUEST, NullProgress())
    with pytest.raises(RuntimeError, match="shape mismatch"):
        engine().run(FakePipe(RuntimeError("shape mismatch")), REQUEST, NullProgress())


def test_frames_to_uint8_clips_and_rounds():
    out = frames_to_uint8(np.array([-0.5, 0.0, 0.5, 1.0, 2.0], dtype=np.float32))
    assert out.tolist() == [0, 0, 128, 255, 255]


def test_param_counts_come_from_safetensors_headers(tmp_path):
    from safetensors.numpy import save_file

    (tmp_path / "transformer").mkdir()
    (tmp_path / "vae").mkdir()
    save_file(
        {"w": np.zeros((3, 5), np.float32), "b": np.zeros(5, np.float32)},
        str(tmp_path / "transformer" / "a.safetensors"),
    )
    save_file({"w": np.zeros((2, 2, 2), np.float16)}, str(tmp_path / "vae" / "m.safetensors"))
    (tmp_path / "tokenizer").mkdir()

    assert memory.component_param_counts(tmp_path) == {"transformer": 20, "vae": 8}
    eng = engine(model=str(tmp_path))
    assert eng.weight_bytes("text_to_video") == 28 * 4  # float32 on CPU
    assert engine(model=str(tmp_path), dtype="bfloat16").weight_bytes("text_to_video") == 56


@pytest.mark.parametrize("content", [b"", b"\x05\x00", b"\x10" + b"\x00" * 7 + b"{not json}"])
def test_a_truncated_weights_file_is_a_clear_error(tmp_path, content):
    (tmp_path / "transformer").mkdir()
    (tmp_path / "transformer" / "a.safetensors").write_bytes(content)
    with pytest.raises(GenerationError, match="unreadable or truncated"):
        memory.component_param_counts(tmp_path)


def test_unreadable_checkpoints_fall_back_to_family_constants():
    eng = engine(model="org/not-cached-anywhere", local_files_only=True)
    assert eng.param_counts() == {k: int(v) for k, v in DiffusersEngine.fallback_params.items()}


def test_estimate_grows_with_size_and_frames():
    eng = engine()
    small = eng.estimate_memory(REQUEST)
    assert eng.estimate_memory(REQUEST.replace(width=128, height=96)) > small
    assert eng.estimate_memory(REQUEST.replace(num_frames=33)) > small
    assert memory.available_ram() > 0
    assert memory.fmt_gb(3 * memory.GIB) == "3.0 GB"


def test_step_cache_and_attention_backend_apply_to_the_transformer(tiny_wan_dir, monkeypatch):
    from generation.engines.wan import WanEngine

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    eng = WanEngine(
        engine_id="wan", model=str(tiny_wan_dir), step_cache=0.05, attention_backend="native"
    )
    request = GenerationRequest(prompt="a cat", width=16, height=16, num_frames=5, steps=2)
    assert eng.generate(request, NullProgress()).frames.shape == (5, 16, 16, 3)
    assert eng.pipeline("text_to_video").transformer.is_cache_enabled

    bad = WanEngine(engine_id="wan", model=str(tiny_wan_dir), attention_backend="no-such")
    with pytest.raises(GenerationError) as err:
        bad.generate(request, NullProgress())
    assert err.value.field == "attention_backend"


def test_a_failed_run_leaves_no_step_cache_state_for_the_next_job(tiny_wan_dir, monkeypatch):
    from generation.engines.wan import WanEngine

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    class SinkDown(NullProgress):
        def step(self, done, total, preview=None):
            if done == 2:
                raise ConnectionError("the progress channel is down")

    eng = WanEngine(engine_id="wan", model=str(tiny_wan_dir), step_cache=1.0)
    request = GenerationRequest(
        prompt="a red car", width=16, height=16, num_frames=9, steps=4, seed=1
    )
    with pytest.raises(ConnectionError):
        eng.generate(request.replace(prompt="a blue sea", seed=5), SinkDown())
    after_failure = eng.generate(request, NullProgress()).frames
    clean = eng.generate(request, NullProgress()).frames
    assert np.array_equal(after_failure, clean)


def test_attention_backend_stays_with_its_engine(tiny_wan_dir, monkeypatch):
    from diffusers.models.attention_dispatch import AttentionBackendName, _AttentionBackendRegistry

    from generation.engines.wan import WanEngine

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    class Recorder(NullProgress):
        active: list = []

        def step(self, done, total, preview=None):
            super().step(done, total, preview)
            self.active.append(_AttentionBackendRegistry.get_active_backend()[0])

    before = _AttentionBackendRegistry.get_active_backend()[0]
    assert before != AttentionBackendName._NATIVE_MATH
    eng = WanEngine(engine_id="wan", model=str(tiny_wan_dir), attention_backend="_native_math")
    request = GenerationRequest(prompt="a cat", width=16, height=16, num_frames=5, steps=2)
    progress = Recorder()
    eng.generate(request, progress)
    # This engine's steps ran on the configured backend...
    assert progress.active == [AttentionBackendName._NATIVE_MATH] * 2
    # ...and other engines in the worker keep the process default.
    assert _AttentionBackendRegistry.get_active_backend()[0] == before


def test_group_offload_onloads_every_vae_weight_the_decode_uses(tiny_ltx_dir, monkeypatch):
    """On a GPU host the group-offload hooks must put the VAE's weights on the device.

    No GPU here: the engine believes it is on "cuda" while the hooks onload to the CPU
    (without CUDA streams), and every onload is recorded.
    """
    import diffusers.hooks
    import torch
    from diffusers.hooks import group_offloading

    from generation.engines.ltx import LTXEngine

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    real_apply = diffusers.hooks.apply_group_offloading

    def apply_on_cpu(module, **kwargs):
        kwargs.update(onload_device=torch.device("cpu"), use_stream=False)
        real_apply(module, **kwargs)

    onloaded: set[int] = set()
    real_onload = group_offloading.ModuleGroup.onload_

    def record(group):
        for module in group.modules:
            onloaded.update(id(p) for p in module.parameters())
        onloaded.update(id(p) for p in group.parameters or ())
        return real_onload(group)

    monkeypatch.setattr(diffusers.hooks, "apply_group_offloading", apply_on_cpu)
    monkeypatch.setattr(group_offloading.ModuleGroup, "onload_", record)
    monkeypatch.setattr(LTXEngine, "device", property(lambda self: "cuda"))
    eng = LTXEngine(
        engine_id="ltx",
        model=str(tiny_ltx_dir),
        offload="group",
        dtype="float32",
        cache=PipelineCache(64 * memory.GIB),
    )
    request = GenerationRequest(prompt="a cat", width=32, height=32, num_frames=9, fps=24, steps=1)
    assert eng.generate(request, NullProgress()).frames.shape == (9, 32, 32, 3)
    decoder = eng.pipeline("text_to_video").vae.decoder
    assert all(id(p) in onloaded for p in decoder.parameters())
