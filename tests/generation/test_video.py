import struct
import zlib
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from generation import video
from generation.spec import GenerationError


def gradient_frames(t: int, h: int, w: int) -> np.ndarray:
    """Smooth frames that survive H.264 nearly unchanged; each frame a little brighter."""
    y, x = np.mgrid[0:h, 0:w]
    frames = np.empty((t, h, w, 3), np.uint8)
    for i in range(t):
        frames[i, ..., 0] = (x * 200 // max(w - 1, 1)) + i * 3
        frames[i, ..., 1] = (y * 200 // max(h - 1, 1)) + i * 3
        frames[i, ..., 2] = 40 + i * 5
    return frames


def top_level_atoms(data: bytes) -> list[str]:
    atoms, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        atoms.append(kind.decode("latin-1"))
        if size == 0:
            break
        pos += size
    return atoms


@pytest.mark.parametrize("fps", [16, 24, 30000 / 1001, Fraction(30000, 1001)])
def test_encode_probe_read_round_trip(tmp_path, fps):
    frames = gradient_frames(9, 32, 48)
    path = tmp_path / "clip.mp4"
    video.encode_mp4(frames, fps, path)

    info = video.probe(path)
    assert (info.width, info.height, info.num_frames) == (48, 32, 9)
    assert info.fps == pytest.approx(float(fps), rel=1e-6)
    assert info.duration == pytest.approx(9 / float(fps), rel=1e-3)
    assert info.codec == "h264"
    assert info.pix_fmt == "yuv420p"

    decoded, info2 = video.read_video(path)
    assert info2 == info
    assert decoded.shape == (9, 32, 48, 3) and decoded.dtype == np.uint8
    error = np.abs(decoded.astype(int) - frames.astype(int)).mean()
    assert error < 3, error
    # Frame order survives: brightness rises frame by frame.
    means = decoded.mean(axis=(1, 2, 3))
    assert np.all(np.diff(means) > 0)


def test_read_video_max_frames(tmp_path):
    path = tmp_path / "clip.mp4"
    video.encode_mp4(gradient_frames(8, 16, 16), 24, path)
    frames, info = video.read_video(path, max_frames=3)
    assert frames.shape[0] == 3
    assert info.num_frames == 8


def test_odd_size_is_cropped_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    video.encode_mp4(gradient_frames(3, 33, 47), 16, path)
    info = video.probe(path)
    assert (info.width, info.height) == (46, 32)


def test_faststart_puts_moov_before_mdat(tmp_path):
    path = tmp_path / "clip.mp4"
    video.encode_mp4(gradient_frames(5, 32, 32), 16, path)
    atoms = top_level_atoms(path.read_bytes())
    assert "moov" in atoms and "mdat" in atoms
    assert atoms.index("moov") < atoms.index("mdat"), atoms


def test_encode_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "clip.mp4"
    video.encode_mp4(gradient_frames(3, 16, 16), 16, path)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
    with pytest.raises(GenerationError):
        video.encode_mp4(np.zeros((0, 16, 16, 3), np.uint8), 16, tmp_path / "empty.mp4")
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_recipe_round_trip_through_mp4_tags(tmp_path):
    recipe = {"prompt": "a café at dawn 🎬", "seed": 42, "options": {"shift": 7.0}}
    path = tmp_path / "clip.mp4"
    video.encode_mp4(gradient_frames(3, 16, 16), 16, path, metadata=video.recipe_metadata(recipe))
    assert video.read_recipe(path) == recipe


def test_custom_metadata_keys_survive(tmp_path):
    path = tmp_path / "clip.mp4"
    tags = {"title": "Dawn", "description": "A test", "studio_generation": "123"}
    video.encode_mp4(gradient_frames(3, 16, 16), 16, path, metadata=tags)
    metadata = video.probe(path).metadata
    assert {k: metadata.get(k) for k in tags} == tags


def test_read_recipe_is_none_without_a_recipe(tmp_path):
    path = tmp_path / "clip.mp4"
    video.encode_mp4(gradient_frames(3, 16, 16), 16, path, metadata={"comment": "not json"})
    assert video.read_recipe(path) is None


def test_poster_is_the_middle_frame_as_jpeg(tmp_path):
    frames = np.zeros((5, 24, 40, 3), np.uint8)
    frames[2] = 200
    path = tmp_path / "poster.jpg"
    video.write_poster(frames, path)
    with Image.open(path) as im:
        assert im.format == "JPEG" and im.size == (40, 24)
        assert np.asarray(im).mean() == pytest.approx(200, abs=3)
    video.write_poster(frames, path, index=0)
    with Image.open(path) as im:
        assert np.asarray(im).mean() < 3


def test_spritesheet_grid_size_and_order(tmp_path):
    frames = np.stack([np.full((18, 32, 3), i * 10, np.uint8) for i in range(20)])
    path = tmp_path / "sheet.jpg"
    video.write_spritesheet(frames, path, columns=4, tiles=8, tile_width=64)
    with Image.open(path) as im:
        assert im.format == "JPEG"
        assert im.size == (4 * 64, 2 * 36)
        sheet = np.asarray(im).astype(int)
    first, last = sheet[:36, :64].mean(), sheet[36:, 192:].mean()
    assert first == pytest.approx(0, abs=3) and last == pytest.approx(190, abs=3)


def test_spritesheet_with_fewer_frames_than_tiles(tmp_path):
    path = tmp_path / "sheet.jpg"
    video.write_spritesheet(gradient_frames(3, 16, 32), path, columns=4, tiles=16, tile_width=32)
    with Image.open(path) as im:
        assert im.size == (3 * 32, 16)


def test_crossfade_length_and_ends():
    a = np.full((6, 8, 8, 3), 0, np.uint8)
    b = np.full((5, 8, 8, 3), 200, np.uint8)
    out = video.crossfade_concat(a, b, 3)
    assert out.shape == (6 + 5 - 3, 8, 8, 3)
    levels = out[:, 0, 0, 0].tolist()
    assert levels == [0, 0, 0, 50, 100, 150, 200, 200]
    assert video.crossfade_concat(a, b, 0).shape[0] == 11


def test_crossfade_rejects_mismatch_and_too_long_overlap():
    a = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(GenerationError, match="different sizes"):
        video.crossfade_concat(a, np.zeros((4, 8, 10, 3), np.uint8), 2)
    with pytest.raises(GenerationError):
        video.crossfade_concat(a, a, 5)


def test_load_image_cover_crops_to_exact_size(tmp_path):
    # A wide image: left third red, middle green, right third blue.
    img = np.zeros((100, 300, 3), np.uint8)
    img[:, :100, 0] = 255
    img[:, 100:200, 1] = 255
    img[:, 200:, 2] = 255
    path = tmp_path / "wide.png"
    Image.fromarray(img).save(path)
    out = video.load_image(path, 64, 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    # Covering a square keeps only the middle: all green.
    assert out[..., 1].mean() > 250 and out[..., 0].mean() < 5 and out[..., 2].mean() < 5
    wide = video.load_image(path, 96, 32)
    assert wide.shape == (32, 96, 3)
    assert wide[:, :30, 0].mean() > 250 and wide[:, -30:, 2].mean() > 250


def test_load_image_applies_exif_orientation(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)  # landscape stored, portrait shown
    img[:, :20] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    path = tmp_path / "rotated.jpg"
    Image.fromarray(img).save(path, exif=exif)
    out = video.load_image(path, 20, 40)
    assert out.shape == (40, 20, 3)
    # After rotating clockwise the white left half lands on top.
    assert out[:15].mean() > 240 and out[-15:].mean() < 15


def test_load_image_rejects_corrupt_files(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"definitely not a png")
    with pytest.raises(GenerationError) as err:
        video.load_image(path, 32, 32)
    assert err.value.field == "image_path"
    with pytest.raises(GenerationError) as err:
        video.load_image(tmp_path / "missing.png", 32, 32)
    assert err.value.field == "image_path"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size but holds a few bytes: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_load_image_refuses_decompression_bombs_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(8000, 6000))
    with pytest.raises(GenerationError, match="megapixels") as err:
        video.load_image(path, 32, 32)
    assert err.value.field == "image_path"


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage" * 100])
def test_unreadable_videos_raise(tmp_path, content):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    for fn in (video.probe, video.read_video, video.FrameReader):
        with pytest.raises(GenerationError, match="not a readable video") as err:
            fn(path)
        assert err.value.field == "video_path"


def test_missing_video_raises(tmp_path):
    with pytest.raises(GenerationError, match="does not exist") as err:
        video.probe(tmp_path / "nope.mp4")
    assert err.value.field == "video_path"


def test_mp4_with_a_stream_but_no_frames_raises(tmp_path):
    import av

    path = tmp_path / "empty.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=16)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        container.start_encoding()
    assert path.stat().st_size > 0
    with pytest.raises(GenerationError, match="not a readable video") as err:
        video.read_video(path)
    assert err.value.field == "video_path"


def stepped_clip(path, frames: int, fps: float, *, width: int = 48, height: int = 32) -> str:
    """A take whose frame i is flat grey at level 10 * i: a decoded level names the frame."""
    data = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        data[i] = 10 * i
    video.encode_mp4(data, fps, path, crf=0)
    return str(path)


def level(frame: np.ndarray) -> int:
    return round(float(frame.mean()) / 10)


def test_frame_reader_hands_out_frames_by_index(tmp_path):
    path = stepped_clip(tmp_path / "take.mp4", 12, 16)
    with video.FrameReader(path) as reader:
        assert (reader.info.num_frames, reader.fps) == (12, 16)
        first = reader.frame(0)
        assert first.shape == (32, 48, 3) and first.dtype == np.uint8
        assert first.flags.c_contiguous and level(first) == 0
        # Forward, skipping frames; the same index again is the same array.
        assert level(reader.frame(5)) == 5
        assert reader.frame(5) is reader.frame(5)
        # Back again: the decoder restarts from the top and finds it.
        assert level(reader.frame(2)) == 2
        # Past the end: the last frame, as moviepy's reader gives.
        assert level(reader.frame(40)) == 11


def test_frame_reader_counts_time_in_the_takes_own_frames(tmp_path):
    path = stepped_clip(tmp_path / "take.mp4", 12, 16)
    with video.FrameReader(path) as reader:
        # A 16 fps take in a 24 fps film: frame k of the film shows take frame 16k/24.
        assert [reader.index_at(k / 24) for k in range(7)] == [0, 0, 1, 2, 2, 3, 4]
        # Trimmed in at 0.25 s (frame 4), three film frames later, and past the end.
        assert reader.index_at(0.25 + 3 / 24) == 6
        assert reader.index_at(10.0) == 11
        assert [level(reader.frame(reader.index_at(0.25 + k / 24))) for k in range(4)] == [
            4,
            4,
            5,
            6,
        ]


@pytest.mark.parametrize(("rotation", "corner"), [(90, (1, 0)), (-90, (0, 1)), (180, (1, 1))])
def test_frame_reader_turns_frames_upright(tmp_path, rotation, corner):
    """A phone's display rotation is applied, as the FFmpeg command line does."""
    import av

    path = tmp_path / "phone.mp4"
    image = np.zeros((32, 64, 3), np.uint8)
    image[:8, :8] = 255  # the top-left corner as recorded
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(rotation)
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(image, "rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with video.FrameReader(path) as reader:
        upright = reader.frame(1)
    assert upright.shape == ((64, 32, 3) if rotation % 180 else (32, 64, 3))
    assert upright.flags.c_contiguous
    rows, cols = np.argwhere(upright[..., 0] > 128).mean(axis=0)
    h, w = upright.shape[:2]
    assert (int(rows > h / 2), int(cols > w / 2)) == corner


def numbered_clip(path, frames: int, fps: int, gop: int) -> str:
    """A take whose frame i shows i in its red (i % 16) and green (i // 16) levels."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"crf": "0"}
        for i in range(frames):
            image = np.zeros((32, 32, 3), np.uint8)
            image[..., 0], image[..., 1] = (i % 16) * 16, (i // 16) * 16
            frame = av.VideoFrame.from_ndarray(image, "rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return str(path)


def number(frame: np.ndarray) -> int:
    red, green = (round(float(frame[..., c].mean()) / 16) for c in (0, 1))
    return green * 16 + red


@pytest.mark.parametrize("gop", [12, 250])
def test_frame_reader_seeks_far_ahead_and_lands_on_the_frame(tmp_path, gop):
    """Far ahead (a shot trimmed in deep into a long take) the reader seeks to the
    keyframe before instead of decoding every frame up to it; it must still count right,
    with keyframes every 12 frames or only the first."""
    path = numbered_clip(tmp_path / "long.mp4", 230, 25, gop)
    far = video.SEEK_AHEAD + 61
    with video.FrameReader(path) as reader:
        assert [number(reader.frame(i)) for i in (far, far + 1, far + 5)] == [
            far,
            far + 1,
            far + 5,
        ]
        assert number(reader.frame(3)) == 3
        assert number(reader.frame(3 + video.SEEK_AHEAD + 1)) == 3 + video.SEEK_AHEAD + 1
        assert number(reader.frame(500)) == 229
