"""Frame-count rules live on Capabilities, once, for every caller (forms, API, engines)."""

import pytest

from generation.spec import Capabilities

WAN = Capabilities(
    modes=frozenset({"text_to_video"}),
    min_frames=5,
    max_frames=81,
    frame_multiple=4,
    frame_offset=1,
)
ANY = Capabilities(modes=frozenset({"text_to_video"}), min_frames=1, max_frames=100)


@pytest.mark.parametrize(
    ("n", "nearest", "rounded"), [(1, 1, 5), (6, 5, 5), (8, 9, 9), (200, 201, 81)]
)
def test_nearest_frames_ignores_limits_round_frames_applies_them(n, nearest, rounded):
    assert WAN.nearest_frames(n) == nearest
    assert WAN.round_frames(n) == rounded


@pytest.mark.parametrize(
    ("n", "at_most", "at_least"), [(8, 5, 9), (9, 9, 9), (10, 9, 13), (2, 5, 5), (90, 81, 81)]
)
def test_frames_at_most_and_at_least_stay_on_the_grid(n, at_most, at_least):
    assert WAN.frames_at_most(n) == at_most
    assert WAN.frames_at_least(n) == at_least
    assert WAN.frames_ok(at_most) and WAN.frames_ok(at_least)


def test_any_frame_count_engine_keeps_the_count():
    assert ANY.nearest_frames(37) == ANY.round_frames(37) == ANY.frames_at_most(37) == 37
    assert ANY.frames_at_least(0) == 1
