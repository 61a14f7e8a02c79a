"""Video files in and out: MP4 encode/decode, posters, spritesheets, crossfades, images.

Frames are (T, H, W, 3) uint8 RGB numpy arrays throughout. Files are written to a
temporary name in the destination directory and moved into place, so a reader never
sees a half-written clip and a crash leaves no truncated output behind.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import stat
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from generation.spec import GenerationError, check_frames

MAX_IMAGE_PIXELS = 40_000_000
"""Refuse input images above this many pixels before decoding them (decompression bombs)."""

RECIPE_KEY = "comment"
"""MP4 tag that carries the JSON recipe; `comment` survives the muxer and common tools."""

# `use_metadata_tags` keeps custom keys (not just the iTunes-style ones) in the MP4;
# `faststart` moves the index to the front so browsers can play while downloading.
_MOVFLAGS = "+faststart+use_metadata_tags"


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` learns about a video file without decoding every frame."""

    width: int
    height: int
    fps: float
    num_frames: int
    duration: float
    codec: str
    pix_fmt: str
    metadata: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def _atomic_path(path: str | os.PathLike[str], suffix: str) -> Iterator[str]:
    """Yield a temporary path next to `path`; move it into place only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _rate(fps: float | Fraction) -> Fraction:
    """Turn 29.97002997… back into 30000/1001 so timestamps stay exact."""
    if isinstance(fps, Fraction):
        rate = fps
    elif isinstance(fps, int):
        rate = Fraction(fps)
    else:
        rate = Fraction(float(fps)).limit_denominator(1001)
    if rate <= 0:
        raise GenerationError(f"Frame rate must be positive, got {fps}.", field="fps")
    return rate


ENCODER_THREAD_TYPE = "AUTO"
"""Frame and slice threads allowed, so x264 picks frame threads, as the ffmpeg CLI does."""


def encode_mp4(
    frames: np.ndarray,
    fps: float,
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, str] | None = None,
    crf: int = 18,
    thread_type: str = ENCODER_THREAD_TYPE,
) -> None:
    """Encode frames as H.264/yuv420p MP4 that browsers play before fully downloaded.

    Odd widths or heights lose their last pixel column/row, because 4:2:0 chroma needs
    even dimensions. `metadata` becomes container tags (see `recipe_metadata`).
    `thread_type` is libavcodec's: PyAV's default, SLICE, makes x264 use sliced threads,
    which are slower than the frame threads the ffmpeg command line uses (bench/encoder.py).
    """
    import av

    frames = check_frames(frames)
    t, h, w, _ = frames.shape
    h2, w2 = h - h % 2, w - w % 2
    if h2 < 2 or w2 < 2:
        raise GenerationError(f"Frames of {w}×{h} px are too small to encode.")
    if (h2, w2) != (h, w):
        frames = frames[:, :h2, :w2]
    rate = _rate(fps)
    with _atomic_path(path, ".mp4") as tmp:
        container = av.open(tmp, mode="w", format="mp4", options={"movflags": _MOVFLAGS})
        try:
            for key, value in (metadata or {}).items():
                container.metadata[str(key)] = str(value)
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height = w2, h2
            stream.pix_fmt = "yuv420p"
            # The muxer rewrites stream.time_base when it writes the header, so frames keep
            # their own copy of the frame-rate time base.
            time_base = 1 / rate
            stream.time_base = time_base
            stream.options = {"crf": str(int(crf))}
            stream.codec_context.thread_type = thread_type
            for i in range(t):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[i]), "rgb24")
                frame.pts = i
                frame.time_base = time_base
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        finally:
            container.close()


# The demuxers a video may be read with: one self-contained file apiece. Playlists (HLS, DASH), concat lists, image sequences and
# the rest name other files or URLs for FFmpeg to open, so a file is only handed to
# FFmpeg once its first bytes say it is one of these, and with its format forced.
ALLOWED_FORMATS = frozenset({"mov", "matroska"})
FORMAT_WORDS = "MP4, MOV, WebM or MKV"
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"}
_EBML = b"\x1a\x45\xdf\xa3"
# Only the `file` protocol, for the one file named; MOV's references to other files off.
_OPEN_OPTIONS = {"protocol_whitelist": "file", "enable_drefs": "0"}


def _sniff(head: bytes) -> str | None:
    """The demuxer for a file starting with `head`, or None if it is none we allow."""
    if len(head) >= 8 and head[4:8] in _MP4_BOXES:
        return "mov"
    if head.startswith(_EBML):
        return "matroska"
    return None


def path_free_reason(exc: BaseException, name: str) -> str:
    """What went wrong, without the file's path (FFmpeg and the OS quote it)."""
    text = getattr(exc, "strerror", None) or str(exc)
    text = str(text).replace(name, Path(name).name)
    return re.sub(r"(?:file:)?/[^\s'\"]+", lambda m: Path(m.group(0)).name, text)


def _unreadable(name: str, why: str) -> GenerationError:
    return GenerationError(f"{Path(name).name} is not a readable video{why}", field="video_path")


def _open(path: str | os.PathLike[str]) -> Any:
    """Open a video for reading: a regular MP4/MOV or Matroska/WebM file, and nothing else.

    The format is read from the first bytes here and forced on FFmpeg, which may then
    open only this one file, so a playlist naming other files is refused before any
    demuxer sees it.
    """
    import av

    name = os.path.abspath(os.fspath(path))
    try:
        with open(name, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise _unreadable(name, ": it is not a regular file.")
            head = f.read(16)
    except FileNotFoundError:
        raise _unreadable(name, ": the file does not exist.") from None
    except OSError as exc:
        raise _unreadable(name, f" ({path_free_reason(exc, name)}).") from None
    if not head:
        raise _unreadable(name, ": the file is empty.")
    fmt = _sniff(head)
    if fmt is None:
        raise GenerationError(
            f"{Path(name).name} is not a readable video: send an {FORMAT_WORDS} file "
            "(playlists, lists and images are refused).",
            field="video_path",
            code="unsupported_format",
        )
    try:
        container = av.open(f"file:{name}", mode="r", format=fmt, options=dict(_OPEN_OPTIONS))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise _unreadable(name, f" ({path_free_reason(exc, name)}).") from None
    if container.format.name.split(",")[0] not in ALLOWED_FORMATS:
        container.close()
        raise _unreadable(name, f": FFmpeg read it as {container.format.name}.")
    if not container.streams.video:
        container.close()
        raise _unreadable(name, ": it has no video stream.")
    return container


def _info(container: Any, name: str) -> VideoInfo:
    import av

    try:
        return _read_info(container, name)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise _unreadable(name, f" ({path_free_reason(exc, name)}).") from None


def _read_info(container: Any, name: str) -> VideoInfo:
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if ctx is None or not ctx.width or not ctx.height:
        raise _unreadable(name, ": its video stream has no picture size.")
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    num_frames = int(stream.frames or 0)
    if num_frames == 0:
        # Some containers (WebM, raw streams) do not record a count: count packets instead.
        num_frames = sum(1 for p in container.demux(stream) if p.size)
        container.seek(0)
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / 1_000_000
    else:
        duration = num_frames / fps if fps else 0.0
    if num_frames == 0:
        raise _unreadable(name, ": it has no frames.")
    return VideoInfo(
        width=int(ctx.width),
        height=int(ctx.height),
        fps=fps,
        num_frames=num_frames,
        duration=duration,
        codec=str(ctx.name),
        pix_fmt=str(ctx.pix_fmt or ""),
        metadata={str(k): str(v) for k, v in container.metadata.items()},
    )


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read size, rate, length, codec and tags; raise GenerationError if it is no video."""
    container = _open(path)
    try:
        return _info(container, os.fspath(path))
    finally:
        container.close()


def read_video(
    path: str | os.PathLike[str], *, max_frames: int | None = None
) -> tuple[np.ndarray, VideoInfo]:
    """Decode a video to (T, H, W, 3) uint8 RGB frames, optionally only the first ones."""
    import av

    name = os.fspath(path)
    container = _open(path)
    try:
        info = _info(container, name)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
                if max_frames is not None and len(frames) >= max_frames:
                    break
        except av.FFmpegError as exc:
            if not frames:
                raise _unreadable(name, f" ({path_free_reason(exc, name)}).") from None
    finally:
        container.close()
    if not frames:
        raise GenerationError(
            f"{Path(name).name} is not a readable video: no frame could be decoded.",
            field="video_path",
        )
    return np.stack(frames), info


SEEK_AHEAD = 90
"""Frames a reader decodes through to reach a later one; further ahead, it seeks."""


class FrameReader:
    """A video's RGB frames by index, decoded front to back in this process.

    Made for a reader that walks a take in order (the edit): one PyAV decoder with
    libavcodec's threads, no FFmpeg subprocess and no pipe. Frames after the last one
    asked for are never decoded, nor, far ahead, those before the keyframe the decoder
    can seek to. The same index again returns the same array (a take slower than the
    film repeats frames); a new index returns a new array the caller may keep or change;
    an earlier index restarts from the first frame. Indexes past the end give the last
    frame, as moviepy's reader does. Frames are turned upright by the stream's display
    rotation, as the FFmpeg command line does.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._name = os.fspath(path)
        self._container = _open(path)
        try:
            self.info = _info(self._container, self._name)
        except BaseException:
            self._container.close()
            raise
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._frames: Iterator[Any] | None = None
        self._index = -1
        self._frame: np.ndarray | None = None
        self._ended = False
        self._sought = False
        self._seekable = True

    @property
    def fps(self) -> float:
        return self.info.fps

    def index_at(self, seconds: float) -> int:
        """The frame shown at `seconds`, counted as moviepy counts it (so a cut lands on
        the same frame), never past the last frame."""
        return min(self.info.num_frames - 1, int(self.info.fps * seconds + 0.00001))

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` (0-based) as (H, W, 3) uint8 RGB."""
        import av

        index = max(0, index)
        if index < self._index:
            self._restart()
        if index - self._index > SEEK_AHEAD and not self._ended:
            self._seek(index)
        latest = None
        while self._index < index and not self._ended:
            if self._frames is None:
                self._frames = self._container.decode(self._stream)
            try:
                decoded = next(self._frames, None)
            except av.FFmpegError as exc:
                if self._frame is None and latest is None:
                    raise _unreadable(
                        self._name, f" ({path_free_reason(exc, self._name)})."
                    ) from None
                decoded = None  # A damaged tail: keep the last good frame, as read_video does.
            if decoded is None and self._sought:
                # A seek that found nothing to decode: go through from the top instead.
                self._restart()
                self._seekable = False
                continue
            if decoded is None:
                self._ended = True
                break
            if self._sought:
                # The first frame after a seek says where the decoder landed.
                self._sought = False
                landed = self._index_of(decoded)
                if landed is None or landed > index:
                    self._restart()
                    self._seekable = False
                    continue
                self._index = landed
            else:
                self._index += 1
            latest = decoded
        if latest is not None:
            # Only the frame handed out is converted to RGB; skipped ones stay YUV.
            self._frame = _upright(latest)
        if self._frame is None:
            raise GenerationError(
                f"{Path(self._name).name} is not a readable video: no frame could be decoded.",
                field="video_path",
            )
        return self._frame

    def _restart(self) -> None:
        self._container.seek(0)
        self._frames = None
        self._index = -1
        self._frame = None
        self._ended = False
        self._sought = False

    def _seek(self, index: int) -> None:
        """Jump to the keyframe at or before frame `index` instead of decoding up to it
        (a shot trimmed in deep into a long take), as moviepy's reader does with `-ss`."""
        stream = self._stream
        if not self._seekable or not stream.time_base or not self.info.fps:
            return
        import av

        start = stream.start_time or 0
        target = start + int(index / self.info.fps / stream.time_base)
        try:
            self._container.seek(target, stream=stream, backward=True, any_frame=False)
        except av.FFmpegError:
            self._seekable = False
            self._restart()
            return
        self._frames = None
        self._index = -1
        self._frame = None
        self._sought = True

    def _index_of(self, frame: Any) -> int | None:
        if frame.pts is None or not self._stream.time_base:
            return None
        seconds = (frame.pts - (self._stream.start_time or 0)) * self._stream.time_base
        return round(float(seconds) * self.info.fps)

    def close(self) -> None:
        self._frames = None
        self._container.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _upright(frame: Any) -> np.ndarray:
    """The frame as RGB, turned by its display matrix (`rotation` is counterclockwise)."""
    rgb = frame.to_ndarray(format="rgb24")
    turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _save_jpeg(image: Any, path: str | os.PathLike[str], quality: int) -> None:
    with _atomic_path(path, ".jpg") as tmp:
        image.save(tmp, format="JPEG", quality=int(quality), optimize=True)


def write_poster(
    frames: np.ndarray,
    path: str | os.PathLike[str],
    *,
    index: int | None = None,
    quality: int = 90,
) -> None:
    """Save one frame (the middle one by default, which rarely is a fade) as a JPEG."""
    from PIL import Image

    frames = check_frames(frames)
    n = frames.shape[0]
    i = n // 2 if index is None else index
    if not -n <= i < n:
        raise GenerationError(f"Poster frame {i} is outside the clip's {n} frames.")
    _save_jpeg(Image.fromarray(frames[i]), path, quality)


def write_spritesheet(
    frames: np.ndarray,
    path: str | os.PathLike[str],
    *,
    columns: int = 4,
    tiles: int = 16,
    tile_width: int = 256,
) -> None:
    """Save a JPEG grid of evenly spaced frames, first and last included, for scrubbing."""
    from PIL import Image

    frames = check_frames(frames)
    n, h, w, _ = frames.shape
    tiles = max(1, min(tiles, n))
    columns = max(1, min(columns, tiles))
    rows = math.ceil(tiles / columns)
    tile_height = max(1, round(tile_width * h / w))
    sheet = Image.new("RGB", (columns * tile_width, rows * tile_height))
    picks = np.linspace(0, n - 1, tiles).round().astype(int)
    for k, i in enumerate(picks):
        tile = Image.fromarray(frames[i]).resize(
            (tile_width, tile_height), Image.Resampling.LANCZOS
        )
        sheet.paste(tile, ((k % columns) * tile_width, (k // columns) * tile_height))
    _save_jpeg(sheet, path, 85)


def crossfade_concat(a: np.ndarray, b: np.ndarray, overlap: int) -> np.ndarray:
    """Join two clips, fading linearly from `a` into `b` over `overlap` shared frames."""
    a = check_frames(a, what="frames of the first clip")
    b = check_frames(b, what="frames of the second clip")
    if a.shape[1:] != b.shape[1:]:
        raise GenerationError(
            f"Cannot join clips of different sizes: {a.shape[2]}×{a.shape[1]} and "
            f"{b.shape[2]}×{b.shape[1]}."
        )
    if not 0 <= overlap <= min(len(a), len(b)):
        raise GenerationError(
            f"A crossfade of {overlap} frames does not fit clips of {len(a)} and {len(b)} frames."
        )
    if overlap == 0:
        return np.concatenate([a, b])
    # Weights strictly between 0 and 1: the pure end frames of each clip stay outside.
    w = (np.arange(1, overlap + 1, dtype=np.float32) / (overlap + 1))[:, None, None, None]
    tail = a[len(a) - overlap :].astype(np.float32)
    head = b[:overlap].astype(np.float32)
    mixed = np.clip(np.rint(tail * (1 - w) + head * w), 0, 255).astype(np.uint8)
    return np.concatenate([a[: len(a) - overlap], mixed, b[overlap:]])


def load_image(path: str | os.PathLike[str], width: int, height: int) -> np.ndarray:
    """Open an image upright in RGB and cover-crop it to exactly (height, width, 3).

    The pixel count is checked from the header before any pixel is decoded, so a tiny
    file that expands to gigabytes is refused cheaply.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = Path(path).name
    if width < 1 or height < 1:
        raise GenerationError(f"Cannot fit an image into {width}×{height} px.")
    try:
        with warnings.catch_warnings():
            # Our own, lower limit below decides; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im: Image.Image = Image.open(path)
        with im:
            iw, ih = im.size
            if iw * ih > MAX_IMAGE_PIXELS:
                raise GenerationError(
                    f"{name} is {iw}×{ih} px ({iw * ih / 1e6:.0f} megapixels); the limit is "
                    f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels.",
                    field="image_path",
                )
            if im.format == "JPEG":
                im.draft("RGB", (width, height))
            im = ImageOps.exif_transpose(im)
            im = im.convert("RGB")
            iw, ih = im.size
            scale = max(width / iw, height / ih)
            cw, ch = width / scale, height / scale
            box = ((iw - cw) / 2, (ih - ch) / 2, (iw + cw) / 2, (ih + ch) / 2)
            out = im.resize((width, height), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
            return np.asarray(out, dtype=np.uint8).copy()
    except GenerationError:
        raise
    except FileNotFoundError:
        raise GenerationError(f"{name} does not exist.", field="image_path") from None
    except Image.DecompressionBombError:
        raise GenerationError(
            f"{name} is too large to open safely; the limit is "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels.",
            field="image_path",
        ) from None
    except UnidentifiedImageError:
        raise GenerationError(
            f"{name} is not an image we can read (PNG, JPEG or WebP).", field="image_path"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        # Pillow's messages may quote the file's path; say what went wrong, not where.
        reason = str(exc).replace(str(path), name)
        raise GenerationError(
            f"{name} is not a readable image ({reason}).", field="image_path"
        ) from None


def recipe_metadata(recipe: Mapping[str, Any]) -> dict[str, str]:
    """Tags that embed `recipe` as JSON, so a downloaded clip says how it was made."""
    text = json.dumps(dict(recipe), sort_keys=True, ensure_ascii=False, default=str)
    return {RECIPE_KEY: text}


def read_recipe(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Return the JSON recipe embedded by `recipe_metadata`, or None if there is none."""
    return recipe_from_metadata(probe(path).metadata)


def recipe_from_metadata(metadata: Mapping[str, str]) -> dict[str, Any] | None:
    """The recipe in tags `probe` already read, so a caller with a VideoInfo opens no file."""
    text = metadata.get(RECIPE_KEY)
    if not text:
        return None
    try:
        recipe = json.loads(text)
    except ValueError:
        return None
    return recipe if isinstance(recipe, dict) else None
