"""Content Credentials (C2PA): sign a clip with what made it, read that back and verify it.

A signed manifest travels inside the MP4 and says, verifiably, that the clip is
AI-generated (or, for the animatic, rendered by an algorithm), which engine and model made
it, a digest of the recipe, and which clip it was made from. Also: a development signing
certificate for studios that have none, and a visible "AI-generated" mark for frames.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from generation.spec import GenerationError

SOURCE_TYPE_BASE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = SOURCE_TYPE_BASE + "trainedAlgorithmicMedia"
"""Made by a trained model (generative AI)."""
ALGORITHMIC_MEDIA = SOURCE_TYPE_BASE + "algorithmicMedia"
"""Made by an algorithm without training data (the animatic): not AI."""
COMPOSITE_TRAINED_ALGORITHMIC_MEDIA = SOURCE_TYPE_BASE + "compositeWithTrainedAlgorithmicMedia"
"""An edit that joins AI-generated shots (a storyboard's export)."""

GENERATOR = "AI Video Studio"
STUDIO_ASSERTION = "org.aivideostudio.generation"
"""Our own assertion: engine, model, mode and the recipe digest, in one place."""

TRUSTED, VALID, INVALID = "Trusted", "Valid", "Invalid"


class ProvenanceError(GenerationError):
    code = "provenance_error"


def recipe_digest(recipe: Mapping[str, Any]) -> str:
    """SHA-256 of the recipe as canonical JSON, so equal recipes give equal digests."""
    text = json.dumps(dict(recipe), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Claims:
    """What a clip's manifest asserts. `parent` is a local copy of the clip it came from."""

    engine: str
    model: str
    source_type: str
    recipe_sha256: str
    mode: str = "text_to_video"
    title: str = "clip.mp4"
    parent: Path | None = None
    parent_title: str = "parent.mp4"
    parent_relationship: str = "parentOf"
    """`parentOf` when this clip transforms the parent's frames; `inputTo` for a remix."""


@dataclass(frozen=True)
class Ingredient:
    title: str
    relationship: str
    state: str
    """The ingredient's own manifest at signing time: Trusted, Valid, Invalid, or "" (none)."""


@dataclass(frozen=True)
class Credentials:
    """A clip's manifest as read back, with the verification outcome."""

    state: str
    """Trusted (valid and signed by a trust anchor), Valid (untrusted signer), or Invalid."""
    failures: tuple[str, ...] = ()
    """Failure codes with explanations, e.g. `assertion.bmffHash.mismatch: ...`."""
    generator: str = ""
    engine: str = ""
    model: str = ""
    mode: str = ""
    source_type: str = ""
    action: str = ""
    recipe_sha256: str = ""
    signer: str = ""
    ingredients: tuple[Ingredient, ...] = field(default_factory=tuple)

    @property
    def trusted(self) -> bool:
        return self.state == TRUSTED

    @property
    def ai_generated(self) -> bool:
        return self.source_type in (TRAINED_ALGORITHMIC_MEDIA, COMPOSITE_TRAINED_ALGORITHMIC_MEDIA)

    @property
    def failure_codes(self) -> tuple[str, ...]:
        return tuple(f.split(":", 1)[0] for f in self.failures)

    @property
    def reason(self) -> str:
        """One line saying why the manifest is invalid (empty when it is not)."""
        return self.failures[0] if self.failures else ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Credentials:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["failures"] = tuple(known.get("failures", ()))
        known["ingredients"] = tuple(Ingredient(**i) for i in known.get("ingredients", ()))
        return cls(**known)


def _context(trust_anchors_pem: str | None):
    import c2pa

    settings: dict[str, Any] = {
        # Never reach the network: no remote manifests, no OCSP.
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
    }
    if trust_anchors_pem:
        settings["trust"] = {"user_anchors": trust_anchors_pem}
    return c2pa.Context.from_dict(settings)


def _manifest(claims: Claims) -> dict[str, Any]:
    agent = {"name": claims.engine, "version": claims.model or "none"}
    source = {"digitalSourceType": claims.source_type, "softwareAgent": agent}
    parameters: dict[str, Any] = {
        "engine": claims.engine,
        "model": claims.model,
        "mode": claims.mode,
    }
    if claims.parent is not None and claims.parent_relationship == "parentOf":
        # Made from the parent's frames: the manifest opens the parent, then edits it.
        actions = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
            {"action": "c2pa.edited", **source, "parameters": parameters},
        ]
    else:
        created_parameters: dict[str, Any] = dict(parameters)
        if claims.parent is not None:
            created_parameters["ingredientIds"] = ["parent"]
        actions = [{"action": "c2pa.created", **source, "parameters": created_parameters}]
    return {
        "claim_generator_info": [{"name": GENERATOR, "version": "1"}],
        "title": claims.title,
        "format": "video/mp4",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {
                "label": STUDIO_ASSERTION,
                "data": {
                    "engine": claims.engine,
                    "model": claims.model,
                    "mode": claims.mode,
                    "recipe_sha256": claims.recipe_sha256,
                },
            },
        ],
    }


def sign(
    mp4_path: str | os.PathLike[str],
    claims: Claims,
    cert_chain_pem: str,
    key_pem: str,
    *,
    trust_anchors_pem: str | None = None,
) -> None:
    """Embed a signed manifest of `claims` in the MP4 at `mp4_path` (in place, ES256).

    `cert_chain_pem` is the signing certificate followed by its issuers. The parent, if
    any, is added as an ingredient with its own manifest, so lineage stays verifiable.
    """
    import c2pa

    path = Path(mp4_path)
    signed = path.with_name(f".{path.name}.{secrets.token_hex(4)}.signed")
    try:
        with _context(trust_anchors_pem) as context:
            info = c2pa.C2paSignerInfo(
                c2pa.C2paSigningAlg.ES256, cert_chain_pem.encode(), key_pem.encode(), None
            )
            with (
                c2pa.Signer.from_info(info) as signer,
                c2pa.Builder(_manifest(claims), context=context) as builder,
            ):
                if claims.parent is not None:
                    with open(claims.parent, "rb") as parent:
                        builder.add_ingredient(
                            {
                                "title": claims.parent_title,
                                "relationship": claims.parent_relationship,
                                "label": "parent",
                            },
                            "video/mp4",
                            parent,
                        )
                with open(path, "rb") as source, open(signed, "w+b") as dest:
                    builder.sign(signer, "video/mp4", source, dest)
        os.replace(signed, path)
    except c2pa.C2paError as e:
        raise ProvenanceError(f"Could not sign the clip's Content Credentials: {e}") from e
    finally:
        signed.unlink(missing_ok=True)


def _failures(results: Mapping[str, Any] | None) -> tuple[str, ...]:
    active = (results or {}).get("activeManifest") or {}
    return tuple(
        f"{item.get('code', '')}: {item.get('explanation', '')}".rstrip(": ")
        for item in active.get("failure") or ()
    )


def _state(validation_state: str | None, failures: tuple[str, ...]) -> str:
    if validation_state == TRUSTED:
        return TRUSTED
    if validation_state == VALID and not failures:
        return VALID
    if validation_state == VALID and all(
        f.startswith("signingCredential.untrusted") for f in failures
    ):
        return VALID
    return INVALID


def read(
    path: str | os.PathLike[str], *, trust_anchors_pem: str | None = None
) -> Credentials | None:
    """Read and verify the manifest embedded in `path`; None when the file carries none.

    A signer chaining to one of `trust_anchors_pem` (PEM certificates) is Trusted; a
    valid manifest from any other signer is Valid; a file changed after signing, or a
    broken signature, is Invalid with the reasons in `failures`.
    """
    import c2pa

    try:
        with (
            _context(trust_anchors_pem) as context,
            c2pa.Reader(str(path), context=context) as reader,
        ):
            manifest = reader.get_active_manifest() or {}
            failures = _failures(reader.get_validation_results())
            validation_state = reader.get_validation_state()
    except c2pa.C2paError as e:
        if type(e).__name__.endswith("ManifestNotFound") or "ManifestNotFound" in str(e):
            return None
        return Credentials(state=INVALID, failures=(f"unreadable: {e}",))
    except OSError as e:
        raise ProvenanceError(f"Could not read {Path(path).name}: {e}") from e
    if not manifest:
        return None
    assertions = {a.get("label"): a.get("data") or {} for a in manifest.get("assertions", ())}
    ours = assertions.get(STUDIO_ASSERTION, {})
    actions = (assertions.get("c2pa.actions.v2") or assertions.get("c2pa.actions") or {}).get(
        "actions", []
    )
    # The action that says where the pixels came from: created, or the edit of a parent.
    origin = next((a for a in actions if a.get("digitalSourceType")), actions[0] if actions else {})
    agent = origin.get("softwareAgent") or {}
    generators = manifest.get("claim_generator_info") or [{}]
    signature = manifest.get("signature_info") or {}
    ingredients = tuple(
        Ingredient(
            title=i.get("title", ""),
            relationship=i.get("relationship", ""),
            state=_ingredient_state(i),
        )
        for i in manifest.get("ingredients", ())
    )
    return Credentials(
        state=_state(validation_state, failures),
        failures=failures,
        generator=generators[0].get("name", ""),
        engine=ours.get("engine") or (agent.get("name", "") if isinstance(agent, dict) else ""),
        model=ours.get("model", ""),
        mode=ours.get("mode", ""),
        source_type=origin.get("digitalSourceType", ""),
        action=origin.get("action", ""),
        recipe_sha256=ours.get("recipe_sha256", ""),
        signer=", ".join(v for v in (signature.get("common_name"), signature.get("issuer")) if v),
        ingredients=ingredients,
    )


def _ingredient_state(ingredient: Mapping[str, Any]) -> str:
    results = ingredient.get("validation_results")
    if not results:
        return ""
    failures = _failures(results)
    codes = {s.get("code") for s in (results.get("activeManifest") or {}).get("success") or ()}
    if failures:
        return _state(VALID, failures)
    return TRUSTED if "signingCredential.trusted" in codes else VALID


# A development signing identity, for studios without a certificate of their own.


@dataclass(frozen=True)
class SigningIdentity:
    cert_chain_pem: str
    """The signing certificate followed by its issuers (PEM)."""
    key_pem: str
    trust_anchors_pem: str
    """The certificates a reader should trust (PEM); for the dev identity, its own CA."""


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{GENERATOR} (development)"),
        ]
    )


def _key_usage(*, signing: bool):
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def make_dev_identity() -> SigningIdentity:
    """A fresh CA and leaf (EC P-256; the leaf for digitalSignature + emailProtection)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Development CA"))
        .issuer_name(_name("Development CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("Studio clip signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def pem(cert) -> str:
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningIdentity(
        cert_chain_pem=pem(leaf) + pem(ca), key_pem=key_pem, trust_anchors_pem=pem(ca)
    )


DEV_FILES = {"cert_chain_pem": "chain.pem", "key_pem": "key.pem", "trust_anchors_pem": "ca.pem"}


def dev_identity(folder: str | os.PathLike[str]) -> SigningIdentity:
    """The development identity stored in `folder`, made on first use.

    Concurrent first uses (web server and worker starting together) agree on one identity:
    each writes a complete set to a temporary directory and renames it into place; the
    loser of that race reads the winner's.
    """
    folder = Path(folder)
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".c2pa-", dir=folder.parent))
        identity = make_dev_identity()
        for attr, filename in DEV_FILES.items():
            (staging / filename).write_text(getattr(identity, attr))
        (staging / DEV_FILES["key_pem"]).chmod(0o600)
        try:
            staging.rename(folder)
        except OSError:  # Another process got there first.
            shutil.rmtree(staging, ignore_errors=True)
    return SigningIdentity(
        **{attr: (folder / filename).read_text() for attr, filename in DEV_FILES.items()}
    )


# The visible mark.

MARK_TEXT = "AI-generated"


def mark_frames(frames: np.ndarray, text: str = MARK_TEXT) -> np.ndarray:
    """Burn a small label (light text on a dark box) into the bottom-right corner of every
    frame. Returns new frames; pixels outside the label's box are left untouched."""
    from PIL import Image, ImageDraw, ImageFont

    _, height, width, _ = frames.shape
    size = max(8, height // 18)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, size // 4)
    label_w = min(width, right - left + 2 * pad)
    label_h = min(height, bottom - top + 2 * pad)
    label = Image.new("RGBA", (label_w, label_h), (0, 0, 0, 150))
    ImageDraw.Draw(label).text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 235))
    patch = np.asarray(label, dtype=np.float32)
    alpha = patch[..., 3:] / 255.0
    margin = max(0, min(pad, width - label_w, height - label_h))
    y0, x0 = height - label_h - margin, width - label_w - margin
    out = frames.copy()
    region = out[:, y0 : y0 + label_h, x0 : x0 + label_w].astype(np.float32)
    blended = region * (1 - alpha) + patch[..., :3] * alpha
    out[:, y0 : y0 + label_h, x0 : x0 + label_w] = np.clip(blended + 0.5, 0, 255).astype(
        frames.dtype
    )
    return out
