"""The edit: assemble takes into one film with moviepy, and export it for where it goes.

A film is a list of shots (local MP4 takes, each trimmed in/out), joined by cuts or
crossfades, optionally framed by a title card and an end card, with on-screen text drawn
with Pillow (never ImageMagick) and an optional soundtrack trimmed and faded to length.
The export preset fixes the frame size, frame rate and how a shot of another shape fits
(pad with black bars, or crop to fill).

Every length is counted in frames of the export rate, so the film's duration is exact:
the sum of the trimmed shots and cards, minus one crossfade per crossfaded join.
moviepy writes through the FFmpeg binary that ships in the imageio-ffmpeg wheel, so an
export needs no network and no system FFmpeg. The takes are decoded in this process
(`video.FrameReader`, PyAV), front to back, rather than by moviepy's FFmpeg reader
processes: on two cores, every CPU second spent decoding is one the encoder waits for
(bench/edit.py).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from generation.spec import Cancelled, GenerationError, NullProgress, Progress
from generation.video import FrameReader

TRANSITIONS = ("cut", "crossfade")
FITS = ("pad", "crop")
EXPORT_FPS = (24, 25, 30)
SCALERS = ("lanczos", "upscaler", "auto")
MAX_SHOTS = 60
MAX_FILM_SECONDS = 15 * 60

AUDIO_EXTENSIONS = (".mp3", ".m4a", ".aac", ".wav", ".ogg", ".oga", ".flac", ".opus")
"""Soundtrack formats the edit accepts; anything else is refused before FFmpeg sees it."""


@dataclass(frozen=True)
class ExportFormat:
    """A frame size named for where the film goes; the rate and fit are chosen per export."""

    key: str
    label: str
    width: int
    height: int

    @property
    def aspect_ratio(self) -> str:
        g = math.gcd(self.width, self.height)
        return f"{self.width // g}:{self.height // g}"


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("vertical", "9:16 · 1080×1920 (TikTok, Reels, Shorts)", 1080, 1920),
        ExportFormat("landscape", "16:9 · 1920×1080 (X, YouTube)", 1920, 1080),
        ExportFormat("square", "1:1 · 1080×1080 (feeds)", 1080, 1080),
    )
}
"""Export sizes keyed by name; `aspect_ratio` ("9:16", "16:9", "1:1") joins them to the
platform presets the prompt side uses."""


@dataclass(frozen=True)
class ExportPreset:
    """Frame size, frame rate and fit of the exported film."""

    width: int = 1080
    height: int = 1920
    fps: int = 30
    fit: str = "pad"
    key: str = "custom"

    @classmethod
    def named(cls, key: str, *, fps: int = 30, fit: str = "pad") -> ExportPreset:
        """Build the preset for an `EXPORT_FORMATS` key, checking the rate and the fit."""
        fmt = EXPORT_FORMATS.get(key)
        if fmt is None:
            raise GenerationError(
                f"Unknown export format {key!r}; choose one of {', '.join(EXPORT_FORMATS)}.",
                field="export_format",
            )
        preset = cls(fmt.width, fmt.height, fps, fit, key)
        preset.check()
        return preset

    def check(self) -> None:
        if self.fps not in EXPORT_FPS:
            raise GenerationError(
                f"Export at {'/'.join(map(str, EXPORT_FPS))} fps, not {self.fps}.", field="fps"
            )
        if self.fit not in FITS:
            raise GenerationError(
                f"Fit must be {' or '.join(FITS)}, not {self.fit!r}.", field="fit"
            )
        if not (16 <= self.width <= 3840 and 16 <= self.height <= 3840):
            raise GenerationError(
                f"An export of {self.width}×{self.height} is outside 16–3840 px.", field="size"
            )
        if self.width % 2 or self.height % 2:
            raise GenerationError(
                f"Export sizes must be even for H.264 4:2:0, got {self.width}×{self.height}.",
                field="size",
            )


@dataclass(frozen=True)
class Shot:
    """One take in the film: `trim_in`/`trim_out` are seconds into the take (None = its end).

    `transition` joins this shot to the one before it; a crossfade lasts `transition_s`.
    `text` is drawn over the shot's lower third (a caption, a product name).
    """

    path: str
    trim_in: float = 0.0
    trim_out: float | None = None
    transition: str = "cut"
    transition_s: float = 0.5
    text: str = ""


@dataclass(frozen=True)
class Card:
    """A title or end card: a heading and an optional line below it, for `seconds`."""

    text: str
    seconds: float = 2.0
    subtitle: str = ""


@dataclass(frozen=True)
class Soundtrack:
    """An audio file laid under the whole film, looped if short, faded in and out."""

    path: str
    fade_s: float = 1.0
    volume: float = 1.0


@dataclass(frozen=True)
class EditPlan:
    shots: tuple[Shot, ...]
    preset: ExportPreset = field(default_factory=ExportPreset)
    title: Card | None = None
    end: Card | None = None
    soundtrack: Soundtrack | None = None
    scaler: str = "lanczos"
    """`lanczos`; `upscaler` (generation.upscale for every enlarged shot); `auto` (the
    upscaler where a shot grows 2× or more, Lanczos otherwise)."""
    crf: int = 18
    x264_preset: str = "veryfast"
    seed: int = 0


@dataclass(frozen=True)
class EditResult:
    path: str
    width: int
    height: int
    fps: int
    num_frames: int
    has_audio: bool
    segments: list[dict[str, Any]]
    notes: list[str]

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps


@dataclass(frozen=True)
class _Segment:
    kind: str  # "shot" or "card"
    frames: int  # length in export frames
    fade: int  # crossfade frames into this segment (0 = cut)
    shot: Shot | None = None
    card: Card | None = None
    source_size: tuple[int, int] = (0, 0)


def ffmpeg_binary() -> str:
    """The FFmpeg executable moviepy uses: the one inside the imageio-ffmpeg wheel."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


# The demuxer for each soundtrack's first bytes: one self-contained audio file, its format
# forced on FFmpeg, as for videos (`generation.video`). Text formats FFmpeg would detect by
# content (concat lists, playlists, SDP) name other files or sockets and never match.
_ID3_FORMATS = {".flac": "flac", ".aac": "aac"}  # ID3 tags may precede these, or MP3.


def _sniff_audio(head: bytes, suffix: str) -> str | None:
    if head.startswith(b"ID3"):
        return _ID3_FORMATS.get(suffix, "mp3")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide"):
        return "mov"  # M4A
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"  # An ADTS frame header.
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "mp3"  # An MPEG audio frame header.
    return None


def check_audio_file(path: str | os.PathLike[str]) -> float:
    """Return the audio's duration in seconds, or say clearly why it cannot be a soundtrack.

    Only a file whose first bytes say it is one of the accepted formats is handed to
    FFmpeg, with that format forced and only the `file` protocol, for this one file; no
    error names the server's paths.
    """
    import av

    from generation.video import path_free_reason

    local = os.path.abspath(os.fspath(path))
    name = Path(local).name
    suffix = Path(local).suffix.lower()
    words = ", ".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
    if suffix not in AUDIO_EXTENSIONS:
        raise GenerationError(
            f"{name} is not a supported soundtrack; use one of {words}.", field="soundtrack"
        )
    try:
        with open(local, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise GenerationError(
            f"{name} is not a readable audio file ({path_free_reason(exc, local)}).",
            field="soundtrack",
        ) from None
    fmt = _sniff_audio(head, suffix)
    if fmt is None:
        raise GenerationError(
            f"{name} is not an audio file we can read: send {words} "
            "(playlists and lists are refused).",
            field="soundtrack",
        )
    try:
        options = {"protocol_whitelist": "file", "enable_drefs": "0"}
        with av.open(f"file:{local}", format=fmt, options=options) as container:
            if not container.streams.audio:
                raise GenerationError(f"{name} has no audio stream.", field="soundtrack")
            stream = container.streams.audio[0]
            if container.duration:
                seconds = container.duration / 1_000_000
            elif stream.duration and stream.time_base:
                seconds = float(stream.duration * stream.time_base)
            else:
                seconds = 0.0
    except GenerationError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise GenerationError(
            f"{name} is not a readable audio file ({path_free_reason(exc, local)}).",
            field="soundtrack",
        ) from None
    if seconds <= 0:
        raise GenerationError(f"{name} has no audio to play (zero length).", field="soundtrack")
    return seconds


def plan_segments(plan: EditPlan) -> list[_Segment]:
    """Resolve the plan into segments of whole export frames, checking every input.

    Boundaries are placed by rounding the exact running time, not each length on its own,
    so the film stays within half a frame of its exact duration however many shots it has.
    """
    from generation.video import probe

    preset = plan.preset
    preset.check()
    fps = preset.fps
    if not plan.shots:
        raise GenerationError("The edit has no shots; add at least one take.", field="shots")
    if len(plan.shots) > MAX_SHOTS:
        raise GenerationError(f"An edit holds at most {MAX_SHOTS} shots.", field="shots")
    if plan.scaler not in SCALERS:
        raise GenerationError(f"Unknown scaler {plan.scaler!r}.", field="scaler")
    exact: list[tuple[float, float, Shot | None, Card | None, tuple[int, int]]] = []
    if plan.title is not None:
        exact.append((_card_seconds(plan.title, fps), 0.0, None, plan.title, (0, 0)))
    for i, shot in enumerate(plan.shots, start=1):
        info = probe(shot.path)
        length = info.num_frames / info.fps if info.fps else info.duration
        end = length if shot.trim_out is None else min(shot.trim_out, length)
        if shot.trim_in < 0 or end - shot.trim_in < 1 / fps:
            raise GenerationError(
                f"Shot {i}: trim in at {shot.trim_in:.2f} s leaves nothing of a "
                f"{length:.2f} s take (trim out at {end:.2f} s).",
                field="trim",
            )
        seconds = end - shot.trim_in
        if shot.transition not in TRANSITIONS:
            raise GenerationError(
                f"Shot {i}: transition must be {' or '.join(TRANSITIONS)}, "
                f"not {shot.transition!r}.",
                field="transition",
            )
        fade = 0.0
        if shot.transition == "crossfade" and exact:
            fade = shot.transition_s
            previous, previous_fade = exact[-1][0], exact[-1][1]
            if round(fade * fps) < 1 or fade > min(seconds, previous - previous_fade) - 1 / fps:
                raise GenerationError(
                    f"Shot {i}: a {fade:.2f} s crossfade does not fit between shots of "
                    f"{previous:.2f} s and {seconds:.2f} s.",
                    field="transition",
                )
        exact.append((seconds, fade, shot, None, (info.width, info.height)))
    if plan.end is not None:
        exact.append((_card_seconds(plan.end, fps), 0.0, None, plan.end, (0, 0)))
    segments: list[_Segment] = []
    running, end_frame = 0.0, 0
    for seconds, fade, take, card, size in exact:
        running += seconds - fade
        fade_frames = round(fade * fps)
        start = end_frame - fade_frames
        end_frame = round(running * fps)
        kind = "card" if card is not None else "shot"
        segments.append(_Segment(kind, end_frame - start, fade_frames, take, card, size))
    if running > MAX_FILM_SECONDS:
        raise GenerationError(
            f"The film would run {running:.0f} s; the limit is {MAX_FILM_SECONDS} s.",
            field="shots",
        )
    return segments


def _card_seconds(card: Card, fps: int) -> float:
    if not 1 / fps <= card.seconds <= 30:
        raise GenerationError(
            f"A card lasts between one frame and 30 s, not {card.seconds} s.", field="cards"
        )
    return card.seconds


def planned_frames(plan: EditPlan) -> int:
    """The film's length in frames: every segment minus every crossfade."""
    return sum(s.frames - s.fade for s in plan_segments(plan))


def fit_frame(frame: np.ndarray, width: int, height: int, fit: str) -> np.ndarray:
    """Scale `frame` with Lanczos to cover (crop) or fit inside (pad) `width`×`height`."""
    import cv2

    h, w = frame.shape[:2]
    scale = max(width / w, height / h) if fit == "crop" else min(width / w, height / h)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    if (sw, sh) != (w, h):
        frame = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_LANCZOS4)
    if (sw, sh) == (width, height):
        return np.ascontiguousarray(frame)
    if fit == "crop":
        x, y = (sw - width) // 2, (sh - height) // 2
        return np.ascontiguousarray(frame[y : y + height, x : x + width])
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - sw) // 2, (height - sh) // 2
    out[y : y + sh, x : x + sw] = frame
    return out


def _upscale_factor(source: tuple[int, int], preset: ExportPreset) -> float:
    w, h = source
    if preset.fit == "crop":
        return max(preset.width / w, preset.height / h)
    return min(preset.width / w, preset.height / h)


def _frame_transform(segment: _Segment, plan: EditPlan) -> Callable[[np.ndarray], np.ndarray]:
    preset = plan.preset
    factor = _upscale_factor(segment.source_size, preset)
    use_upscaler = factor > 1 and (
        plan.scaler == "upscaler" or (plan.scaler == "auto" and factor >= 2)
    )
    scale = min(4, max(2, math.ceil(factor)))
    text = segment.shot.text.strip() if segment.shot else ""
    band: tuple[slice, np.ndarray, np.ndarray] | None = None
    if text:
        rgb, alpha = text_overlay(text, preset.width, preset.height)
        rows = np.flatnonzero(alpha.max(axis=1) > 0)
        cut = slice(int(rows[0]), int(rows[-1]) + 1)
        band = (cut, rgb[cut].astype(np.float32), alpha[cut, :, None].astype(np.float32))

    def transform(frame: np.ndarray) -> np.ndarray:
        if use_upscaler:
            from generation.upscale import upscale

            frame = upscale(frame[None], scale)[0]
        frame = fit_frame(frame, preset.width, preset.height, preset.fit)
        if band is not None:
            cut, rgb, alpha = band
            if not frame.flags.writeable:
                frame = frame.copy()
            region = frame[cut].astype(np.float32)
            frame[cut] = np.rint(region * (1 - alpha) + rgb * alpha).astype(np.uint8)
        return frame

    return transform


def card_image(card: Card, width: int, height: int, *, seed: int = 0) -> np.ndarray:
    """Draw a title/end card with the animatic's card art (Pillow text, no ImageMagick)."""
    from generation.engines.animatic import title_card

    text = card.text.strip()
    if card.subtitle.strip():
        text = f"{text}\n{card.subtitle.strip()}"
    return title_card(text, width, height, seed=seed)


def text_overlay(text: str, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw `text` in the lower third on a translucent band; return (RGB, alpha 0–1)."""
    from PIL import Image, ImageDraw

    from generation.engines.animatic import _font, _wrap

    short = min(width, height)
    size = max(12, round(short * 0.055))
    font = _font(size, None)
    lines = _wrap(" ".join(text.split()), font, width * 0.84)[:3]
    leading = round(size * 1.3)
    band_h = leading * len(lines) + size
    top = round(height * 0.78) - band_h // 2
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, top, width, top + band_h], fill=(10, 10, 14, 150))
    for i, line in enumerate(lines):
        x = (width - font.getlength(line)) / 2
        draw.text((x, top + size // 2 + i * leading), line, font=font, fill=(250, 246, 238, 255))
    rgba = np.asarray(image)
    return np.ascontiguousarray(rgba[..., :3]), rgba[..., 3].astype(np.float64) / 255


class _Logger:
    """A proglog logger that turns moviepy's frame bar into progress steps and cancels."""

    def __new__(cls, progress: Progress, total: int) -> Any:
        import proglog

        class Logger(proglog.ProgressBarLogger):  # type: ignore[misc]
            def bars_callback(self, bar: str, attr: str, value: Any, old_value: Any = None):
                if bar != "frame_index" or attr != "index":
                    return
                done = min(total, int(value) + 1)
                if done == 1 or done == total or done % 5 == 0:
                    if progress.cancelled():
                        raise Cancelled()
                    progress.step(done, total)

        return Logger()


Frames = Callable[[float], np.ndarray]
"""A segment's frame at a time in seconds from its start."""


def _crossfade(tail: Frames, head: Frames, frames: int, fps: int, size: tuple[int, int]) -> Frames:
    """Blend two segments over `frames` frames, weights strictly between 0 and 1 as in
    `video.crossfade_concat`; uint8 blending into one reused frame keeps a 1080p fade as
    cheap as a cut (the writer copies each frame out before asking for the next)."""
    import cv2

    out = np.empty((size[1], size[0], 3), np.uint8)

    def frame(t: float) -> np.ndarray:
        i = min(frames - 1, int(t * fps + 1e-6))
        w = (i + 1) / (frames + 1)
        cv2.addWeighted(tail(t), 1 - w, head(t), w, 0, dst=out)
        return out

    return frame


class _Take:
    """A shot's frames: its take's from `trim_in` on, fitted and captioned.

    Frames come from an in-process decoder read front to back (no FFmpeg reader
    process, no pipe); a take frame shown for several film frames (a 16 fps take in a
    24 fps film) is fitted once. The decoder opens on the shot's first frame and closes
    the takes before the previous one (the film has moved past them), so a 60-shot film
    holds two decoders and their frames at a time, not sixty.
    """

    def __init__(self, segment: _Segment, plan: EditPlan, takes: list[_Take]) -> None:
        assert segment.shot is not None
        self.shot = segment.shot
        self.transform = _frame_transform(segment, plan)
        self.takes = takes
        self.reader: FrameReader | None = None
        self.raw: np.ndarray | None = None
        self.fitted: np.ndarray | None = None
        takes.append(self)

    def __call__(self, t: float) -> np.ndarray:
        if self.reader is None:
            mine = self.takes.index(self)
            for earlier in self.takes[: max(0, mine - 1)]:
                earlier.close()
            self.reader = FrameReader(self.shot.path)
        raw = self.reader.frame(self.reader.index_at(self.shot.trim_in + t))
        # The reader hands out the same array while it stays on one frame.
        if raw is not self.raw:
            self.raw, self.fitted = raw, self.transform(raw)
        assert self.fitted is not None
        return self.fitted

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        self.reader = self.raw = self.fitted = None


def _later(frames: Frames, start: float) -> Frames:
    """`frames` from `start` seconds on."""
    return (lambda t: frames(t + start)) if start else frames


def _piece(frames: Frames, start: float, seconds: float, size: tuple[int, int]) -> Any:
    """A moviepy clip of `seconds` of a segment from `start` on.

    Built directly rather than with `subclipped`, which renders the new clip's first
    frame to learn its size: that sent each take's reader ahead to a crossfade's tail
    and back to the top again (a restart of the decoder per join).
    """
    from moviepy import VideoClip

    clip = VideoClip(duration=seconds)
    clip.frame_function = _later(frames, start)
    clip.size = size
    return clip


def _build(plan: EditPlan, segments: list[_Segment]) -> tuple[Any, list[_Take]]:
    """Build the moviepy composition; return it and the takes to close afterwards."""
    from moviepy import ImageClip, concatenate_videoclips

    preset = plan.preset
    fps = preset.fps
    size = (preset.width, preset.height)
    takes: list[_Take] = []
    sources: list[Frames] = []
    for index, seg in enumerate(segments):
        if seg.card is not None:
            image = card_image(seg.card, *size, seed=plan.seed + index)
            sources.append(ImageClip(image, duration=seg.frames / fps).get_frame)
        else:
            sources.append(_Take(seg, plan, takes))
    # Compose only where two shots overlap: the film is a chain of each segment's own
    # frames and short two-layer crossfades, so most frames pass through untouched.
    pieces: list[Any] = []
    for index, (seg, source) in enumerate(zip(segments, sources, strict=True)):
        fade_out = segments[index + 1].fade if index + 1 < len(segments) else 0
        fade = seg.fade / fps
        if seg.fade:
            previous = segments[index - 1].frames / fps
            tail = sources[index - 1]
            blend = _crossfade(_later(tail, previous - fade), source, seg.fade, fps, size)
            pieces.append(_piece(blend, 0.0, fade, size))
        body = (seg.frames - seg.fade - fade_out) / fps
        pieces.append(_piece(source, fade, body, size))
    total = sum(seg.frames - seg.fade for seg in segments)
    try:
        # moviepy renders the film's first frame here, opening the first take.
        film = concatenate_videoclips(pieces, method="chain")
    except BaseException:
        for take in takes:
            take.close()
        raise
    # A hair over the last frame: moviepy counts int(duration * fps) frames.
    return film.with_duration((total + 0.01) / fps).with_fps(fps), takes


def _soundtrack(track: Soundtrack, seconds: float) -> Any:
    from moviepy import AudioFileClip, afx

    check_audio_file(track.path)
    audio = AudioFileClip(track.path)
    effects: list[Any] = []
    if audio.duration < seconds:
        effects.append(afx.AudioLoop(duration=seconds))
    audio = audio.with_effects(effects) if effects else audio.subclipped(0, seconds)
    fade = min(track.fade_s, seconds / 2)
    finish: list[Any] = []
    if track.volume != 1.0:
        finish.append(afx.MultiplyVolume(track.volume))
    if fade > 0:
        finish += [afx.AudioFadeIn(fade), afx.AudioFadeOut(fade)]
    return audio.with_duration(seconds).with_effects(finish) if finish else audio


def assemble(
    plan: EditPlan,
    output: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    metadata: Mapping[str, str] | None = None,
) -> EditResult:
    """Render `plan` to an H.264 MP4 at `output` (AAC audio when there is a soundtrack).

    Progress counts exported frames; a cancel lands within a few frames and leaves no
    output behind. The file appears at `output` only once complete.
    """
    progress = progress or NullProgress()
    segments = plan_segments(plan)
    preset = plan.preset
    fps = preset.fps
    total = sum(s.frames - s.fade for s in segments)
    if progress.cancelled():
        raise Cancelled()
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    film, opened = _build(plan, segments)
    audio = None
    notes = [
        f"Edited {len(plan.shots)} shot(s) into {total / fps:.2f} s at "
        f"{preset.width}×{preset.height}, {fps} fps ({preset.fit})."
    ]
    try:
        if plan.soundtrack is not None:
            audio = _soundtrack(plan.soundtrack, total / fps)
            film = film.with_audio(audio)
            notes.append("Soundtrack trimmed and faded to the film's length (AAC).")
        params = ["-crf", str(int(plan.crf)), "-movflags", "+faststart+use_metadata_tags"]
        for key, value in (metadata or {}).items():
            params += ["-metadata", f"{key}={value}"]
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".edit-") as tmp:
            part = Path(tmp) / "film.mp4"
            try:
                film.write_videofile(
                    os.fspath(part),
                    fps=fps,
                    codec="libx264",
                    audio=audio is not None,
                    audio_codec="aac",
                    audio_fps=48000,
                    temp_audiofile_path=tmp,
                    preset=plan.x264_preset,
                    pixel_format="yuv420p",
                    ffmpeg_params=params,
                    logger=_Logger(progress, total),
                )
            except (OSError, ValueError) as exc:
                raise GenerationError(f"The export failed while encoding: {exc}") from None
            os.replace(part, target)
    finally:
        film.close()
        for take in opened:
            take.close()
        if audio is not None:
            audio.close()
    progress.step(total, total)
    return EditResult(
        path=os.fspath(target),
        width=preset.width,
        height=preset.height,
        fps=fps,
        num_frames=total,
        has_audio=audio is not None,
        segments=[
            {"kind": s.kind, "frames": s.frames, "fade": s.fade, "path": s.shot and s.shot.path}
            for s in segments
        ],
        notes=notes,
    )
