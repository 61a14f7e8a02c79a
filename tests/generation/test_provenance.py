"""Content Credentials: sign a real MP4 with c2pa-python, read it back, tamper with it."""

from pathlib import Path

import numpy as np
import pytest

from generation import provenance, video
from generation.provenance import Claims


@pytest.fixture(scope="module")
def identity(tmp_path_factory):
    return provenance.dev_identity(tmp_path_factory.mktemp("c2pa") / "dev")


def _mp4(path: Path, seed: int = 0) -> Path:
    frames = (np.random.RandomState(seed).rand(9, 32, 48, 3) * 255).astype(np.uint8)
    video.encode_mp4(frames, 8, path)
    return path


def _claims(**kw) -> Claims:
    defaults = dict(
        engine="wan",
        model="Wan2.1-T2V-1.3B",
        source_type=provenance.TRAINED_ALGORITHMIC_MEDIA,
        recipe_sha256=provenance.recipe_digest({"prompt": "a lighthouse", "seed": 7}),
    )
    return Claims(**{**defaults, **kw})


def test_sign_and_read_back_the_claims(tmp_path, identity):
    clip = _mp4(tmp_path / "clip.mp4")
    provenance.sign(clip, _claims(), identity.cert_chain_pem, identity.key_pem)

    read = provenance.read(clip, trust_anchors_pem=identity.trust_anchors_pem)

    assert read is not None
    assert (read.state, read.trusted, read.failures) == ("Trusted", True, ())
    assert read.action == "c2pa.created"
    assert read.source_type == provenance.TRAINED_ALGORITHMIC_MEDIA and read.ai_generated
    assert (read.engine, read.model, read.generator) == (
        "wan",
        "Wan2.1-T2V-1.3B",
        provenance.GENERATOR,
    )
    assert read.recipe_sha256 == provenance.recipe_digest({"seed": 7, "prompt": "a lighthouse"})
    assert read.ingredients == ()
    assert "Studio clip signer" in read.signer
    # Signing kept the video intact.
    assert video.probe(clip).num_frames == 9


def test_without_the_ca_as_anchor_it_is_valid_but_untrusted(tmp_path, identity):
    clip = _mp4(tmp_path / "clip.mp4")
    provenance.sign(clip, _claims(), identity.cert_chain_pem, identity.key_pem)

    read = provenance.read(clip)

    assert read is not None and (read.state, read.trusted) == ("Valid", False)
    assert read.failure_codes == ("signingCredential.untrusted",)


def test_a_byte_flipped_video_is_invalid_with_a_bmff_hash_mismatch(tmp_path, identity):
    clip = _mp4(tmp_path / "clip.mp4")
    provenance.sign(clip, _claims(), identity.cert_chain_pem, identity.key_pem)
    data = bytearray(clip.read_bytes())
    mdat = data.index(b"mdat")
    data[mdat + 64] ^= 0xFF  # one byte of the coded video
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))

    read = provenance.read(tampered, trust_anchors_pem=identity.trust_anchors_pem)

    assert read is not None and read.state == "Invalid" and not read.trusted
    assert "assertion.bmffHash.mismatch" in read.failure_codes
    assert read.reason.startswith("assertion.bmffHash.mismatch")


def test_the_animatic_is_algorithmic_media_not_ai(tmp_path, identity):
    clip = _mp4(tmp_path / "clip.mp4")
    claims = _claims(engine="animatic", model="", source_type=provenance.ALGORITHMIC_MEDIA)
    provenance.sign(clip, claims, identity.cert_chain_pem, identity.key_pem)

    read = provenance.read(clip, trust_anchors_pem=identity.trust_anchors_pem)

    assert read is not None and read.trusted
    assert read.source_type.endswith("/algorithmicMedia") and not read.ai_generated
    assert read.engine == "animatic"


def test_a_derived_clip_records_its_parent_as_an_ingredient(tmp_path, identity):
    parent = _mp4(tmp_path / "parent.mp4")
    provenance.sign(parent, _claims(), identity.cert_chain_pem, identity.key_pem)
    child = _mp4(tmp_path / "child.mp4", seed=1)
    claims = _claims(engine="enhance", model="rife", mode="interpolate", parent=parent)
    provenance.sign(
        child,
        claims,
        identity.cert_chain_pem,
        identity.key_pem,
        trust_anchors_pem=identity.trust_anchors_pem,
    )

    read = provenance.read(child, trust_anchors_pem=identity.trust_anchors_pem)

    assert read is not None and read.trusted
    assert read.action == "c2pa.edited" and read.ai_generated
    assert read.mode == "interpolate"
    [ingredient] = read.ingredients
    assert (ingredient.title, ingredient.relationship, ingredient.state) == (
        "parent.mp4",
        "parentOf",
        "Trusted",
    )


def test_a_file_without_a_manifest_reads_as_none(tmp_path):
    assert provenance.read(_mp4(tmp_path / "plain.mp4")) is None


def test_credentials_survive_a_round_trip_through_a_dict(tmp_path, identity):
    parent = _mp4(tmp_path / "parent.mp4")
    child = _mp4(tmp_path / "child.mp4", seed=1)
    claims = _claims(parent=parent, parent_relationship="inputTo")
    provenance.sign(child, claims, identity.cert_chain_pem, identity.key_pem)
    read = provenance.read(child, trust_anchors_pem=identity.trust_anchors_pem)

    assert read is not None
    assert provenance.Credentials.from_dict(read.to_dict()) == read
    assert read.action == "c2pa.created"
    assert [(i.relationship, i.state) for i in read.ingredients] == [("inputTo", "")]


def test_dev_identity_is_made_once_and_reused(tmp_path):
    first = provenance.dev_identity(tmp_path / "c2pa")
    again = provenance.dev_identity(tmp_path / "c2pa")

    assert first == again
    assert first.cert_chain_pem.count("BEGIN CERTIFICATE") == 2
    assert first.trust_anchors_pem in first.cert_chain_pem
    assert (tmp_path / "c2pa" / "key.pem").stat().st_mode & 0o077 == 0


def test_mark_changes_only_the_bottom_right_corner():
    frames = np.full((3, 180, 320, 3), 90, np.uint8)

    marked = provenance.mark_frames(frames)

    changed = np.any(marked != frames, axis=(0, 3))
    ys, xs = np.nonzero(changed)
    assert changed.any()
    assert ys.min() > 180 // 2 and xs.min() > 320 // 2  # within the bottom-right quarter
    assert marked.shape == frames.shape and marked.dtype == frames.dtype
    assert (marked[:, :90] == frames[:, :90]).all()
