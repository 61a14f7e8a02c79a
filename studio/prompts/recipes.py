"""Turn a Prompt (the creative intent) into a resolved GenerationRequest for one engine."""

from generation.prompting import compose_negative, compose_prompt, size_for
from generation.spec import GenerationError, GenerationRequest
from studio.jobs.engines import EngineInfo, engine_info
from studio.prompts.models import Prompt

# Which form field a request field's error belongs to.
FIELD_FOR = {
    "prompt": "text",
    "negative_prompt": "negative_text",
    "width": "resolution",
    "height": "resolution",
    "num_frames": "duration_s",
    "fps": "fps",
    "steps": "steps",
    "image_path": "image",
    "mode": "engine",
    "engine": "engine",
    "camera_motion": "camera_motion",
    "style": "style_preset",
    "aspect_ratio": "aspect_ratio",
}


def engine_prompt(info: EngineInfo, text: str, *, camera_motion: str, style: str) -> str:
    """What the engine reads: the animatic draws the words; models get the preset phrases."""
    if info.kind == "animatic":
        return text
    return compose_prompt(text, camera_motion=camera_motion, style=style)


def build_request(prompt: Prompt, *, image_path: str | None) -> tuple[GenerationRequest, list[str]]:
    """Resolve size, frame count and prompt text; raise GenerationError naming the field."""
    info: EngineInfo | None = engine_info(prompt.engine)
    if info is None:
        raise GenerationError(f"Engine {prompt.engine!r} is not available here.", field="engine")
    caps = info.capabilities
    if prompt.width and prompt.height:
        width, height = prompt.width, prompt.height
    else:
        width, height = size_for(
            prompt.aspect_ratio, long_side=prompt.resolution, multiple=caps.size_multiple
        )
    notes: list[str] = []
    wanted = max(1, round(prompt.duration_s * prompt.fps))
    m, off = max(1, caps.frame_multiple), caps.frame_offset if caps.frame_multiple > 1 else 0
    unclamped = max(0, round((wanted - off) / m)) * m + off
    if not caps.min_frames <= unclamped <= caps.max_frames:
        raise GenerationError(
            f"{info.label} makes {caps.min_frames}–{caps.max_frames} frames: at {prompt.fps} fps "
            f"that is {caps.min_frames / prompt.fps:.2f}–{caps.max_frames / prompt.fps:.2f} s.",
            field="num_frames",
        )
    num_frames = caps.round_frames(wanted)
    if num_frames != wanted:
        notes.append(
            f"{info.label} makes {caps.frame_rule}: {num_frames} frames "
            f"({num_frames / prompt.fps:.2f} s) instead of {wanted}."
        )
    text = engine_prompt(
        info, prompt.text.strip(), camera_motion=prompt.camera_motion, style=prompt.style_preset
    )
    request = GenerationRequest(
        mode="image_to_video" if image_path else "text_to_video",
        prompt=text,
        negative_prompt=compose_negative(prompt.negative_text.strip(), style=prompt.style_preset),
        width=width,
        height=height,
        num_frames=num_frames,
        fps=prompt.fps,
        seed=prompt.seed,
        steps=prompt.steps,
        camera_motion=prompt.camera_motion,
        style=prompt.style_preset,
        image_path=image_path,
    )
    # Limits apply to what the user wrote, not to the preset phrases we add.
    caps.validate(request.replace(prompt=prompt.text.strip()), engine_label=info.label)
    return request, notes
