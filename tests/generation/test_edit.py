"""The edit: takes assembled with moviepy, decoded back with PyAV to check what was written."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from generation import edit, video
from generation.spec import Cancelled, GenerationError, NullProgress


def flat_clip(path, *, frames: int, width: int, height: int, fps: int, rgb) -> str:
    data = np.empty((frames, height, width, 3), np.uint8)
    data[...] = rgb
    video.encode_mp4(data, fps, path)
    return str(path)


def tone(path, seconds: float, rate: int = 44100) -> str:
    t = np.arange(int(rate * seconds)) / rate
    samples = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return str(path)


def decoded(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        audio = [
            (a.codec_context.name, float(a.duration * a.time_base)) for a in container.streams.audio
        ]
        return stream.width, stream.height, Fraction(stream.average_rate), np.stack(frames), audio


@pytest.fixture
def takes(tmp_path):
    red = flat_clip(
        tmp_path / "red.mp4", frames=24, width=64, height=112, fps=24, rgb=(200, 30, 30)
    )
    blue = flat_clip(
        tmp_path / "blue.mp4", frames=17, width=96, height=64, fps=16, rgb=(30, 30, 200)
    )
    return red, blue


@pytest.mark.slow
def test_vertical_export_decodes_to_the_planned_film(tmp_path, takes):
    red, blue = takes
    plan = edit.EditPlan(
        shots=(
            edit.Shot(red, trim_in=0.25, trim_out=0.95),
            edit.Shot(blue, transition="crossfade", transition_s=0.2, text="Acme Rocket"),
        ),
        preset=edit.ExportPreset.named("vertical", fps=25, fit="crop"),
        title=edit.Card("Hello", seconds=0.4),
        end=edit.Card("The end", seconds=0.4, subtitle="acme.example"),
        soundtrack=edit.Soundtrack(tone(tmp_path / "tone.wav", 0.8), fade_s=0.3),
    )
    progress = NullProgress()
    result = edit.assemble(plan, tmp_path / "film.mp4", progress=progress)

    width, height, fps, frames, audio = decoded(tmp_path / "film.mp4")
    assert (width, height, fps) == (1080, 1920, 25)
    # Title 0.4 + red 0.7 + blue 1.0625 + end 0.4, minus one 0.2 s crossfade.
    expected = 0.4 + (0.95 - 0.25) + 17 / 16 + 0.4 - 0.2
    assert abs(len(frames) / 25 - expected) <= 1 / 25
    assert len(frames) == result.num_frames
    # The soundtrack is looped to the film's length and encoded as AAC.
    assert audio and audio[0][0] == "aac"
    assert abs(audio[0][1] - len(frames) / 25) < 0.1
    assert progress.steps[-1] == (result.num_frames, result.num_frames)
    # Crop fills the frame: the red shot covers the corners, no black bars.
    first_red = frames[10]
    assert first_red[5, 5, 0] > 150 and first_red[-5, -5, 0] > 150
    # The caption band darkens the blue shot's lower third but not its top.
    blue_frame = frames[10 + 17 + 12]
    assert blue_frame[100, 540, 2] > 150
    band = blue_frame[int(1920 * 0.78), 20]
    assert band[2] < 150


def test_cuts_without_soundtrack_pad_and_have_no_audio(tmp_path, takes):
    red, blue = takes
    plan = edit.EditPlan(
        shots=(edit.Shot(red), edit.Shot(blue, trim_out=0.5)),
        preset=edit.ExportPreset(320, 180, 24, "pad"),
    )
    result = edit.assemble(plan, tmp_path / "film.mp4")
    width, height, fps, frames, audio = decoded(tmp_path / "film.mp4")
    assert (width, height, fps) == (320, 180, 24)
    assert audio == [] and not result.has_audio
    assert len(frames) == 24 + 12
    # Pad keeps the portrait shot whole: black bars left and right, red in the middle.
    assert frames[0, 90, 5].max() < 20 and frames[0, 90, 160, 0] > 150
    # A cut: the last red frame and the first blue frame are pure.
    assert frames[23, 90, 160, 0] > 150 and frames[24, 90, 160, 2] > 150


def test_crossfade_blends_the_shared_frames(tmp_path, takes):
    red, blue = takes
    plan = edit.EditPlan(
        shots=(edit.Shot(red), edit.Shot(blue, transition="crossfade", transition_s=0.5)),
        preset=edit.ExportPreset(160, 160, 24, "crop"),
    )
    edit.assemble(plan, tmp_path / "film.mp4")
    *_, frames, _ = decoded(tmp_path / "film.mp4")
    assert abs(len(frames) / 24 - (1 + 17 / 16 - 0.5)) <= 1 / 24
    middle = frames[24 - 6, 80, 80].astype(int)
    assert 60 < middle[0] < 170 and 60 < middle[2] < 170
    assert frames[5, 80, 80, 0] > 150 and frames[-1, 80, 80, 2] > 150


def test_cancel_leaves_no_output(tmp_path, takes):
    class CancelLater(NullProgress):
        def cancelled(self) -> bool:
            return len(self.steps) >= 1

    red, blue = takes
    plan = edit.EditPlan(
        shots=(edit.Shot(red), edit.Shot(blue)), preset=edit.ExportPreset(64, 64, 24)
    )
    with pytest.raises(Cancelled):
        edit.assemble(plan, tmp_path / "film.mp4", progress=CancelLater())
    assert list(tmp_path.glob("film*")) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".edit-")] == []


@pytest.mark.parametrize(
    ("shot", "message"),
    [
        (dict(trim_in=2.0), "leaves nothing"),
        (dict(trim_in=0.5, trim_out=0.4), "leaves nothing"),
        (dict(transition="wipe"), "transition must be cut or crossfade"),
        (dict(transition="crossfade", transition_s=5.0), "does not fit"),
    ],
)
def test_bad_shots_are_refused_with_the_reason(takes, shot, message):
    red, blue = takes
    plan = edit.EditPlan(shots=(edit.Shot(red), edit.Shot(blue, **shot)))
    with pytest.raises(GenerationError, match=message):
        edit.plan_segments(plan)


def test_presets_are_the_platform_sizes():
    assert edit.EXPORT_FORMATS["vertical"].aspect_ratio == "9:16"
    assert edit.EXPORT_FORMATS["landscape"].aspect_ratio == "16:9"
    assert edit.EXPORT_FORMATS["square"].aspect_ratio == "1:1"
    preset = edit.ExportPreset.named("landscape", fps=24, fit="crop")
    assert (preset.width, preset.height, preset.fps, preset.fit) == (1920, 1080, 24, "crop")
    with pytest.raises(GenerationError, match="24/25/30 fps"):
        edit.ExportPreset.named("square", fps=60)
    with pytest.raises(GenerationError, match="Unknown export format"):
        edit.ExportPreset.named("cinema")
    with pytest.raises(GenerationError, match="pad or crop"):
        edit.ExportPreset.named("square", fit="stretch")


def test_soundtrack_checks(tmp_path):
    assert abs(edit.check_audio_file(tone(tmp_path / "ok.wav", 0.5)) - 0.5) < 0.05
    (tmp_path / "song.exe").write_bytes(b"MZ")
    with pytest.raises(GenerationError, match="not a supported soundtrack"):
        edit.check_audio_file(tmp_path / "song.exe")
    (tmp_path / "song.mp3").write_bytes(b"not audio at all" * 10)
    with pytest.raises(GenerationError, match="not an audio file we can read"):
        edit.check_audio_file(tmp_path / "song.mp3")
    silent = flat_clip(tmp_path / "v.mp4", frames=4, width=32, height=32, fps=8, rgb=(0, 0, 0))
    renamed = tmp_path / "v.m4a"
    renamed.write_bytes(Path(silent).read_bytes())
    with pytest.raises(GenerationError, match="no audio stream"):
        edit.check_audio_file(renamed)


def test_fit_frame_pads_and_crops():
    frame = np.full((100, 50, 3), 255, np.uint8)
    padded = edit.fit_frame(frame, 200, 100, "pad")
    assert padded.shape == (100, 200, 3)
    assert padded[50, 10].max() == 0 and padded[50, 100].min() > 240
    cropped = edit.fit_frame(frame, 200, 100, "crop")
    assert cropped.shape == (100, 200, 3) and cropped.min() > 240


def test_ffmpeg_ships_with_the_wheel():
    from pathlib import Path

    assert Path(edit.ffmpeg_binary()).is_file()


def test_the_upscaler_enlarges_small_takes_to_the_preset(tmp_path, takes):
    red, _ = takes
    plan = edit.EditPlan(
        shots=(edit.Shot(red, trim_out=0.25),),
        preset=edit.ExportPreset(128, 224, 24, "crop"),
        scaler="auto",
    )
    result = edit.assemble(plan, tmp_path / "film.mp4")
    width, height, fps, frames, _ = decoded(tmp_path / "film.mp4")
    assert (width, height, len(frames)) == (128, 224, 6) == (result.width, result.height, 6)
    assert frames[:, 100, 64, 0].min() > 150


def stepped_clip(path, *, frames: int, fps: int, width: int = 64, height: int = 48) -> str:
    """A take whose frame i is flat grey at level 10 * i: a decoded level names the frame."""
    data = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        data[i] = 10 * i
    video.encode_mp4(data, fps, path, crf=0)
    return str(path)


def shown(frames: np.ndarray) -> list[int]:
    """Which take frame each film frame shows, read from the centre pixel's level."""
    return [round(float(f[24, 32].mean()) / 10) for f in frames]


def test_takes_at_other_rates_and_trims_show_the_right_frames(tmp_path):
    """Film frame k shows take frame int(take_fps * (trim_in + k / fps)), as moviepy
    counts: a 16 fps take repeats frames in a 24 fps film, a 48 fps take skips them."""
    slow = stepped_clip(tmp_path / "slow.mp4", frames=20, fps=16)
    fast = stepped_clip(tmp_path / "fast.mp4", frames=24, fps=48)
    plan = edit.EditPlan(
        shots=(edit.Shot(slow, trim_in=0.25, trim_out=0.75), edit.Shot(fast, trim_in=0.125)),
        preset=edit.ExportPreset(64, 48, 24, "crop"),
    )
    result = edit.assemble(plan, tmp_path / "film.mp4")
    *_, frames, _ = decoded(tmp_path / "film.mp4")
    expected = [int(16 * (0.25 + k / 24) + 1e-5) for k in range(12)]
    expected += [int(48 * (0.125 + k / 24) + 1e-5) for k in range(9)]
    assert len(frames) == result.num_frames == 21
    assert shown(frames) == expected
    assert expected[:4] == [4, 4, 5, 6] and expected[12:15] == [6, 8, 10]


def test_a_caption_over_a_repeated_take_frame_is_drawn_once(tmp_path):
    """A take at the export size is captioned in place; a frame shown twice (12 fps in a
    24 fps film) must not get its band darkened twice."""
    path = flat_clip(tmp_path / "grey.mp4", frames=6, width=160, height=96, fps=12, rgb=200)
    plan = edit.EditPlan(
        shots=(edit.Shot(path, text="Acme"),), preset=edit.ExportPreset(160, 96, 24, "pad")
    )
    edit.assemble(plan, tmp_path / "film.mp4")
    *_, frames, _ = decoded(tmp_path / "film.mp4")
    band = frames[:, int(96 * 0.85), 5].astype(int).mean(axis=1)
    assert len(frames) == 12 and band.max() < 180
    assert np.abs(band - band[0]).max() <= 3, band


def test_a_long_edit_keeps_two_takes_open_at_most(tmp_path, takes):
    """Each take's decoder opens on its shot's first frame and closes once the film has
    moved past it, so memory stays flat however many shots the film has."""
    red, blue = takes
    shots = [
        edit.Shot(path, transition="crossfade" if i % 2 else "cut", transition_s=0.25)
        for i, path in enumerate([red, blue] * 3)
    ]
    plan = edit.EditPlan(shots=tuple(shots), preset=edit.ExportPreset(64, 64, 24, "crop"))
    film, opened = edit._build(plan, edit.plan_segments(plan))
    most, readers = 0, []
    try:
        for _ in film.iter_frames(fps=24):
            live = [take.reader for take in opened if take.reader is not None]
            most = max(most, len(live))
            # Keep the readers themselves: a closed one's id() may be reused by the next.
            readers += [r for r in live if not any(r is seen for seen in readers)]
    finally:
        for take in opened:
            take.close()
    assert len(opened) == 6 and len(readers) == 6
    assert most == 2


def test_a_shot_trimmed_in_deep_into_a_long_take_starts_on_its_frame(tmp_path):
    from tests.generation.test_video import number, numbered_clip

    long_take = numbered_clip(tmp_path / "long.mp4", 230, 25, gop=25)
    plan = edit.EditPlan(
        shots=(edit.Shot(long_take, trim_in=7.0, trim_out=7.4),),
        preset=edit.ExportPreset(32, 32, 25, "crop"),
    )
    edit.assemble(plan, tmp_path / "film.mp4")
    *_, frames, _ = decoded(tmp_path / "film.mp4")
    assert [number(f) for f in frames] == list(range(175, 185))


def encode_audio(path, codec: str, fmt: str, seconds: float = 0.5, rate: int = 48000) -> Path:
    """A real encoded tone (PyAV), as a user's soundtrack file would be."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        t = np.arange(int(rate * seconds)) / rate
        pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return Path(path)


@pytest.mark.parametrize(
    "name, codec, fmt",
    [
        ("a.mp3", "libmp3lame", "mp3"),
        ("a.m4a", "aac", "ipod"),
        ("a.aac", "aac", "adts"),
        ("a.ogg", "libopus", "ogg"),
        ("a.opus", "libopus", "opus"),
        ("a.flac", "flac", "flac"),
        ("a.wav", "pcm_s16le", "wav"),
    ],
)
def test_every_accepted_soundtrack_format_is_read(tmp_path, name, codec, fmt):
    path = encode_audio(tmp_path / name, codec, fmt)
    assert 0.3 < edit.check_audio_file(path) < 0.7


def test_a_list_or_playlist_named_like_a_song_is_refused_without_opening_it(tmp_path, monkeypatch):
    """FFmpeg picks concat, HLS and SDP by content: each would open other files or sockets."""
    secret = encode_audio(tmp_path / "another-teams.wav", "pcm_s16le", "wav")
    hostile = {
        "concat.mp3": f"ffconcat version 1.0\nfile '{secret}'\n",
        "list.m4a": f"ffconcat version 1.0\nfile {secret.name}\n",
        "hls.aac": f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{secret}\n#EXT-X-ENDLIST\n",
        "stream.ogg": "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
        "m=audio 5004 RTP/AVP 0\n",
    }
    opened = []
    monkeypatch.setattr(av, "open", lambda *args, **kwargs: opened.append(args))
    for name, text in hostile.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(GenerationError, match="playlists and lists are refused") as caught:
            edit.check_audio_file(tmp_path / name)
        assert str(tmp_path) not in str(caught.value)
    assert opened == []  # FFmpeg never saw them.


def test_a_broken_soundtrack_is_refused_without_the_servers_paths(tmp_path):
    whole = encode_audio(tmp_path / "whole.flac", "flac", "flac").read_bytes()
    broken = tmp_path / "broken.flac"
    broken.write_bytes(whole[:6])  # The magic, then nothing.
    with pytest.raises(GenerationError) as caught:
        edit.check_audio_file(broken)
    assert "broken.flac" in str(caught.value) and str(tmp_path) not in str(caught.value)
