"""The edge between the studio and `generation.provenance`: which identity signs, which
anchors are trusted, what a clip's manifest claims, and verifying a stored clip."""

import logging
from contextlib import ExitStack
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from generation import provenance
from generation.provenance import Claims, Credentials, SigningIdentity
from studio import media
from studio.jobs.models import Clip, Generation

logger = logging.getLogger(__name__)

NOT_AI_ENGINES = frozenset({"animatic"})
"""Engine kinds that render without a trained model: their clips are not labelled as AI."""

VERIFY_CACHE_SECONDS = 300
_identity: tuple[tuple, SigningIdentity] | None = None


def _configured() -> tuple[str, str, str, str]:
    return (
        settings.STUDIO_C2PA_CERT,
        settings.STUDIO_C2PA_KEY,
        settings.STUDIO_C2PA_TRUST_ANCHORS,
        str(settings.STUDIO_C2PA_DEV_DIR),
    )


def signing_identity() -> SigningIdentity:
    """The configured certificate and key; without them, the development CA and leaf
    (made on first use), whose CA is then a trust anchor too."""
    global _identity
    key = _configured()
    if _identity is not None and _identity[0] == key:
        return _identity[1]
    cert, private_key, anchors, dev_dir = key
    try:
        if cert and private_key:
            identity = SigningIdentity(
                cert_chain_pem=Path(cert).read_text(),
                key_pem=Path(private_key).read_text(),
                trust_anchors_pem=Path(anchors).read_text() if anchors else "",
            )
        else:
            identity = provenance.dev_identity(dev_dir)
            if anchors:
                extra = Path(anchors).read_text()
                identity = SigningIdentity(
                    identity.cert_chain_pem, identity.key_pem, identity.trust_anchors_pem + extra
                )
    except OSError as e:  # A setting naming a missing file: say which, not a traceback.
        raise provenance.ProvenanceError(
            f"The Content Credentials certificate files cannot be read ({e}); check "
            "STUDIO_C2PA_CERT, STUDIO_C2PA_KEY and STUDIO_C2PA_TRUST_ANCHORS."
        ) from e
    _identity = (key, identity)
    return identity


def trust_anchors() -> str | None:
    return signing_identity().trust_anchors_pem or None


def engine_model(engine_id: str, mode: str) -> str:
    """The model id an engine ran: a hub id, or a local checkpoint directory's name."""
    from studio.jobs.engines import engine_configs

    config = engine_configs().get(engine_id) or {}
    model = (config.get("i2v_model") if mode == "image_to_video" else None) or config.get("model")
    if not model:
        return ""
    return Path(model).name if Path(str(model)).is_absolute() else str(model)


def source_type(engine_id: str) -> str:
    from studio.jobs.engines import engine_configs

    kind = (engine_configs().get(engine_id) or {}).get("kind", engine_id)
    if kind in NOT_AI_ENGINES:
        return provenance.ALGORITHMIC_MEDIA
    if kind == "edit":  # A storyboard's export: shots joined, cards and text drawn.
        return provenance.COMPOSITE_TRAINED_ALGORITHMIC_MEDIA
    return provenance.TRAINED_ALGORITHMIC_MEDIA


def _parent_name(generation: Generation) -> tuple[str, str] | None:
    """The stored file this run was made from (a clip, or an uploaded video), with a title."""
    if generation.source_clip_id:
        clip = Clip.objects.filter(pk=generation.source_clip_id).only("file").first()
        if clip is not None and clip.file:
            return clip.file.name, f"clip-{clip.pk}.mp4"
    video_path = (generation.recipe or {}).get("video_path")
    if isinstance(video_path, str) and video_path:
        return video_path, Path(video_path).name
    return None


def clip_sign(*, generation: Generation, mp4: Path) -> Credentials:
    """Sign the local MP4 of a run's clip and return its manifest as read back."""
    identity = signing_identity()
    parent = _parent_name(generation)
    relationship = (
        "inputTo" if generation.mode in ("text_to_video", "image_to_video") else "parentOf"
    )
    with ExitStack() as stack:
        parent_local = None
        if parent is not None:
            try:
                parent_local = stack.enter_context(media.local_copy(parent[0]))
            except FileNotFoundError:  # Deleted meanwhile: the clip is still signed.
                logger.warning("Parent %s of %s is gone; signing without it", *parent)
        claims = Claims(
            engine=generation.engine,
            model=engine_model(generation.engine, generation.mode),
            source_type=source_type(generation.engine),
            recipe_sha256=provenance.recipe_digest(generation.recipe),
            mode=generation.mode,
            title=f"{generation.pk}.mp4",
            parent=parent_local,
            parent_title=parent[1] if parent else "parent.mp4",
            parent_relationship=relationship,
        )
        provenance.sign(
            mp4,
            claims,
            identity.cert_chain_pem,
            identity.key_pem,
            trust_anchors_pem=identity.trust_anchors_pem or None,
        )
    credentials = provenance.read(mp4, trust_anchors_pem=trust_anchors())
    if credentials is None:
        raise provenance.ProvenanceError("The signed clip carries no Content Credentials.")
    return credentials


def _verify(name: str) -> Credentials | None:
    with media.local_copy(name) as local:
        return provenance.read(local, trust_anchors_pem=trust_anchors())


def file_credentials(name: str) -> Credentials | None:
    """Verify the manifest of a stored MP4 (a clip, an upload); cached for a few minutes.

    None when the file carries no manifest or is gone.
    """
    key = f"c2pa:{name}"
    cached = cache.get(key)
    if cached is not None:
        return Credentials.from_dict(cached) if cached else None
    try:
        credentials = _verify(name)
    except FileNotFoundError:
        return None
    except provenance.ProvenanceError as e:  # Misconfigured anchors: shown, not a 500.
        return Credentials(state=provenance.INVALID, failures=(f"not verified: {e}",))
    cache.set(key, credentials.to_dict() if credentials else {}, VERIFY_CACHE_SECONDS)
    return credentials


def clip_credentials(clip: Clip) -> Credentials | None:
    """The clip's manifest verified against its stored file (a changed file is Invalid)."""
    return file_credentials(clip.file.name)


def input_video_credentials(generation: Generation) -> Credentials | None:
    """The manifest an uploaded input video carried, if any (API edits and extensions)."""
    video_path = (generation.recipe or {}).get("video_path")
    if generation.source_clip_id or not isinstance(video_path, str) or not video_path:
        return None
    return file_credentials(video_path)


def credentials_headline(credentials: Credentials) -> str:
    """What the manifest says made the clip, in a few words for its page."""
    from studio.jobs.engines import engine_info

    if credentials.generator != provenance.GENERATOR:  # Made elsewhere (an upload).
        kind = credentials.source_type.rsplit("/", 1)[-1] or "unstated source"
        what = "AI-generated" if credentials.ai_generated else f"Source: {kind}"
        return f"{what}, by {credentials.generator or 'an unnamed tool'}"
    if credentials.engine == "animatic" and not credentials.ai_generated:
        return "Rendered by the animatic (not AI)"
    info = engine_info(credentials.engine) if credentials.engine else None
    name = info.label if info else credentials.engine or "an unknown engine"
    if credentials.ai_generated:
        return f"AI-generated by {name}"
    return f"Rendered by {name} (not AI)"


def credentials_verdict(credentials: Credentials) -> str:
    """The verification result: Trusted, Valid but untrusted, or Invalid with the reason."""
    if credentials.trusted:
        return "Trusted"
    if credentials.state == provenance.VALID:
        return "Valid but untrusted"
    return f"Invalid: {credentials.reason or 'the manifest does not verify'}"
