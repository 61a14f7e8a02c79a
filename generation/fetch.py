"""Fetch a catalogue checkpoint into `models_dir / name`: check the disk, download, verify.

The files come from the local hub cache when the checkpoint is already there (copied or
hard-linked, without the network), otherwise from the hub with huggingface_hub, one file
at a time so progress is counted in bytes and a cancel lands between chunks. Only
`entry.allow_patterns` are fetched. A fetch that stops part-way (cancelled, worker killed,
network gone) leaves the finished files in place with huggingface_hub's local-dir metadata,
so the next fetch skips them and continues. The manifest is written last, after every
file is verified: until then the directory is not a model.

Failures a user can act on (no network, gated checkpoint, not enough disk, a broken file)
raise GenerationError with one paragraph saying what failed and what to do instead.

No Django: callers pass `progress(done_bytes, total_bytes, current_file)` and
`should_cancel()`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generation.catalogue import CatalogueEntry
from generation.memory import safetensors_param_count
from generation.modelstore import MANIFEST, model_path, read_manifest, write_manifest
from generation.spec import Cancelled, GenerationError

Progress = Callable[[int, int, str], None]
ShouldCancel = Callable[[], bool]

MARGIN_BYTES = 500 * 1000**2
"""Free space kept on top of what is left to download (logs, the database, temp files)."""
MARGIN_FRACTION = 0.02
COPY_CHUNK = 8 * 2**20
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
LOCAL_META = Path(".cache") / "huggingface"
"""Where huggingface_hub keeps a local_dir download's per-file metadata (and temp files)."""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    """Relative to the repository root, with forward slashes."""
    size: int


@dataclass(frozen=True)
class Listing:
    """What a fetch installs: the files, the commit they come from, and where they are."""

    commit: str
    files: tuple[RemoteFile, ...]
    snapshot: Path | None = None
    """A local hub-cache snapshot holding every file, or None to download them."""

    @property
    def total(self) -> int:
        return sum(f.size for f in self.files)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - the loop always returns


def fetch(
    entry: CatalogueEntry,
    models_dir: str | Path,
    *,
    progress: Progress,
    should_cancel: ShouldCancel,
    endpoint: str | None = None,
    token: str | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Install `entry` into `models_dir / entry.name`; return that directory.

    An installed model (manifest present) returns at once. Raises Cancelled when
    `should_cancel()` turns true, GenerationError for anything else that stops it.
    """
    target = model_path(models_dir, entry.name)
    manifest = read_manifest(target)
    if manifest and manifest.get("name") == entry.name:
        size = int(manifest.get("bytes", 0))
        progress(size, size, "")
        return target

    snapshot = cached_snapshot(entry, cache_dir)
    if snapshot is not None and not _complete_copy(snapshot):
        snapshot = None  # Cached with other patterns, or blobs removed: download instead.
    if snapshot is not None:
        listing = _snapshot_listing(entry, snapshot)
    else:
        try:
            listing = _hub_listing(entry, endpoint=endpoint, token=token)
        except _Unreachable as exc:
            # A directory copied into place by hand installs without the network.
            if _complete_copy(target):
                return _install_local_copy(entry, target, progress)
            raise GenerationError(_unreachable_message(entry, target, exc.reason)) from None
    check_disk_space(entry, target, listing)
    if should_cancel():
        raise Cancelled()
    target.mkdir(parents=True, exist_ok=True)
    _clear_stale_temp_files(target)
    if listing.snapshot is not None:
        _copy_snapshot(listing, target, progress=progress, should_cancel=should_cancel)
    else:
        try:
            _download(
                entry,
                listing,
                target,
                progress=progress,
                should_cancel=should_cancel,
                endpoint=endpoint,
                token=token,
            )
        except _Unreachable as exc:
            raise GenerationError(
                f"The download of {entry.name} stopped: the model hub became unreachable "
                f"({exc.reason}). Fetch it again to continue: the files already downloaded "
                "are kept."
            ) from None
    verify(target, listing.files)
    write_manifest(
        target,
        {
            "name": entry.name,
            "hub_id": entry.hub_id,
            "revision": entry.revision,
            "commit": listing.commit,
            "source": "hub cache" if listing.snapshot is not None else "hub",
            "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "bytes": listing.total,
            "files": len(listing.files),
        },
    )
    return target


# --- Where the files come from ---------------------------------------------------------


def _hub_cache_root(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    from huggingface_hub import constants

    return Path(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)


def cached_snapshot(entry: CatalogueEntry, cache_dir: str | Path | None = None) -> Path | None:
    """The hub-cache snapshot of `entry` at its revision, if it holds the pipeline's index."""
    repo = _hub_cache_root(cache_dir) / ("models--" + entry.hub_id.replace("/", "--"))
    commit = entry.revision
    if not COMMIT_RE.match(commit):
        try:
            commit = (repo / "refs" / entry.revision).read_text().strip()
        except OSError:
            return None
    snapshot = repo / "snapshots" / commit
    return snapshot if (snapshot / "model_index.json").is_file() else None


def _matches(paths: Iterable[str], patterns: Iterable[str]) -> list[str]:
    from huggingface_hub.utils import filter_repo_objects

    return sorted(filter_repo_objects(list(paths), allow_patterns=list(patterns)))


def _snapshot_listing(entry: CatalogueEntry, snapshot: Path) -> Listing:
    found = [p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file()]
    files = []
    for rel in _matches(found, entry.allow_patterns):
        try:
            files.append(RemoteFile(rel, (snapshot / rel).stat().st_size))
        except OSError:  # A symlink whose blob is gone: the snapshot is incomplete.
            raise GenerationError(
                f"The hub cache copy of {entry.hub_id} in {snapshot} is missing {rel}; "
                "delete that snapshot folder or fetch with the network."
            ) from None
    return Listing(commit=snapshot.name, files=tuple(files), snapshot=snapshot)


class _Unreachable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.is_offline_mode() or flag.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_listing(entry: CatalogueEntry, *, endpoint: str | None, token: str | None) -> Listing:
    if _offline():
        raise _Unreachable("HF_HUB_OFFLINE is set, so the studio may not use the network")
    from huggingface_hub import HfApi

    with _hub_errors(entry):
        info = HfApi(endpoint=endpoint, token=token).model_info(
            entry.hub_id, revision=entry.revision, files_metadata=True
        )
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    files = tuple(
        RemoteFile(rel, int(sizes[rel] or 0)) for rel in _matches(sizes, entry.allow_patterns)
    )
    if "model_index.json" not in sizes:
        raise GenerationError(
            f"{entry.hub_id} at {entry.revision} has no model_index.json: it is not a diffusers "
            "pipeline, so the studio cannot install it."
        )
    return Listing(commit=info.sha or entry.revision, files=files)


class _hub_errors:
    """Turn what huggingface_hub and its HTTP client raise into a paragraph a user can act on."""

    def __init__(self, entry: CatalogueEntry):
        self.entry = entry

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, Cancelled | GenerationError):
            return False
        import httpx2
        from huggingface_hub import errors

        entry = self.entry
        if isinstance(exc, errors.GatedRepoError):
            raise GenerationError(
                f"{entry.hub_id} is gated: its licence must be accepted on the hub page with "
                "your account, and the studio needs that account's access token in HF_TOKEN "
                "(or a hand-copied directory, see the README's Models section)."
            ) from None
        if isinstance(exc, errors.RevisionNotFoundError):
            raise GenerationError(
                f"The hub has no revision {entry.revision!r} of {entry.hub_id}; the catalogue "
                "entry is out of date."
            ) from None
        if isinstance(exc, errors.RepositoryNotFoundError):
            raise GenerationError(
                f"The hub has no repository {entry.hub_id} (or it is private and HF_TOKEN does "
                "not grant access to it). Check the endpoint (STUDIO_HF_ENDPOINT) and HF_TOKEN."
            ) from None
        if isinstance(exc, errors.LocalEntryNotFoundError):
            # The per-file request failed and there is no local copy: the network is gone.
            raise _Unreachable(_short_reason(exc.__cause__ or exc)) from None
        if isinstance(exc, errors.EntryNotFoundError):
            raise GenerationError(
                f"A file of {entry.hub_id} listed by the hub is missing from it ({exc}); try again "
                "later."
            ) from None
        if isinstance(exc, errors.HfHubHTTPError):
            status = exc.response.status_code if exc.response is not None else None
            if status in (401, 403):
                raise GenerationError(
                    f"The hub refused access to {entry.hub_id} (HTTP {status}): set HF_TOKEN to an "
                    "access token of an account that may download it."
                ) from None
            if status == 404:
                raise GenerationError(
                    f"The hub at this endpoint has no {entry.hub_id} at revision "
                    f"{entry.revision!r} (HTTP 404). Check STUDIO_HF_ENDPOINT (a mirror may not "
                    "hold it) and HF_TOKEN."
                ) from None
            raise _Unreachable(f"the hub answered HTTP {status}") from None
        if isinstance(exc, errors.OfflineModeIsEnabled):
            raise _Unreachable(
                "HF_HUB_OFFLINE is set, so the studio may not use the network"
            ) from None
        if isinstance(exc, httpx2.TimeoutException):
            raise _Unreachable("the connection timed out") from None
        if isinstance(exc, httpx2.HTTPError | OSError):
            raise _Unreachable(_short_reason(exc)) from None
        return False


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text[:1].lower() + text[1:200]


def _unreachable_message(entry: CatalogueEntry, target: Path, reason: str) -> str:
    family = entry.family.upper().replace("-", "_")
    return (
        f"Could not download {entry.name} ({entry.hub_id}): the model hub is unreachable "
        f"from this machine ({reason}). To install it without the network, copy a "
        f"diffusers-layout directory of that checkpoint (model_index.json and one folder "
        f"per component, as on the hub) to {target} and fetch it again (`manage.py "
        f"fetch_model {entry.name}` or the staff Models page): the copy is checked and "
        f"installed without downloading. Or set STUDIO_{family}_MODEL to a "
        f"local directory holding it. A machine that can reach a hub mirror can set "
        f"STUDIO_HF_ENDPOINT instead."
        + (" The checkpoint is gated: downloading it needs HF_TOKEN." if entry.gated else "")
    )


# --- Disk space ------------------------------------------------------------------------


def _existing_dir(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _already_there(target: Path, listing: Listing) -> int:
    done = 0
    for f in listing.files:
        try:
            if (target / f.path).stat().st_size == f.size:
                done += f.size
        except OSError:
            continue
    return done


def _same_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == _existing_dir(b).stat().st_dev
    except OSError:
        return False


def check_disk_space(entry: CatalogueEntry, target: Path, listing: Listing) -> None:
    """Refuse before writing anything when the disk cannot hold what is left to fetch."""
    remaining = listing.total - _already_there(target, listing)
    if listing.snapshot is not None and _same_device(listing.snapshot, target):
        remaining = 0  # Hard links take no room.
    where = _existing_dir(target)
    free = shutil.disk_usage(where).free
    margin = max(MARGIN_BYTES, int(remaining * MARGIN_FRACTION))
    if remaining and free < remaining + margin:
        raise GenerationError(
            f"Not enough disk space for {entry.name}: it needs {human_bytes(remaining + margin)} "
            f"({human_bytes(remaining)} still to fetch plus a {human_bytes(margin)} margin) and "
            f"{where} has {human_bytes(free)} free. Free some space there or set "
            f"STUDIO_MODELS_DIR to a larger disk."
        )


# --- Copy and download -----------------------------------------------------------------


def _clear_stale_temp_files(target: Path) -> None:
    """Drop partial files a killed fetch left: huggingface_hub never reuses them."""
    meta = target / LOCAL_META
    if meta.is_dir():
        for path in meta.rglob("*.incomplete"):
            path.unlink(missing_ok=True)
    for path in target.rglob(".fetch-*.part"):
        path.unlink(missing_ok=True)


class _Counter:
    """Bytes done over the whole fetch; reports each change and polls for cancel."""

    def __init__(self, total: int, progress: Progress, should_cancel: ShouldCancel):
        self.total, self.done = total, 0
        self.progress, self.should_cancel = progress, should_cancel
        self.current = ""

    def advance(self, n: int) -> None:
        self.done = max(0, min(self.total, self.done + n))
        self.progress(self.done, self.total, self.current)
        if self.should_cancel():
            raise Cancelled()


def _copy_snapshot(
    listing: Listing, target: Path, *, progress: Progress, should_cancel: ShouldCancel
) -> None:
    assert listing.snapshot is not None
    counter = _Counter(listing.total, progress, should_cancel)
    link = _same_device(listing.snapshot, target)
    for f in listing.files:
        if should_cancel():
            raise Cancelled()
        counter.current = f.path
        source = (listing.snapshot / f.path).resolve()
        dest = target / f.path
        if dest.is_file() and dest.stat().st_size == f.size:
            counter.advance(f.size)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".fetch-{dest.name}.part")
        part.unlink(missing_ok=True)
        if link:
            try:
                os.link(source, part)
                os.replace(part, dest)
                counter.advance(f.size)
                continue
            except OSError:
                part.unlink(missing_ok=True)
        try:
            with open(source, "rb") as src, open(part, "wb") as out:
                while chunk := src.read(COPY_CHUNK):
                    out.write(chunk)
                    counter.advance(len(chunk))
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)


def _download(
    entry: CatalogueEntry,
    listing: Listing,
    target: Path,
    *,
    progress: Progress,
    should_cancel: ShouldCancel,
    endpoint: str | None,
    token: str | None,
) -> None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import tqdm

    counter = _Counter(listing.total, progress, should_cancel)

    class Bar(tqdm):
        """huggingface_hub's per-file bar, silenced, feeding the whole fetch's counter."""

        def __init__(self, *args: Any, **kwargs: Any):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            counter.advance(int(n or 0))
            return None

    for f in listing.files:
        if should_cancel():
            raise Cancelled()
        counter.current = f.path
        dest = target / f.path
        if dest.is_file() and dest.stat().st_size == f.size:
            # huggingface_hub returns a finished file of this commit without the network.
            counter.advance(f.size)
            continue
        start = counter.done
        with _hub_errors(entry):
            hf_hub_download(
                entry.hub_id,
                f.path,
                revision=listing.commit,
                local_dir=target,
                endpoint=endpoint,
                token=token,
                tqdm_class=Bar,
            )
        counter.advance(start + f.size - counter.done)  # Settle files served without a bar.


# --- Verification ----------------------------------------------------------------------


def _safetensors_length(path: Path) -> int:
    """The length a .safetensors file must have, from its header (8 + header + data)."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    end = max((e["data_offsets"][1] for k, e in header.items() if k != "__metadata__"), default=0)
    return 8 + size + int(end)


def _components(index: dict[str, Any]) -> list[str]:
    return sorted(
        name
        for name, value in index.items()
        if not name.startswith("_")
        and isinstance(value, list)
        and len(value) == 2
        and value[0] is not None
        and value[1] is not None
    )


def _broken(target: Path, rel: str, why: str, *, remove: bool) -> GenerationError:
    """Say which file failed; remove a fetched one so the next fetch downloads it again."""
    if not remove:
        return GenerationError(f"Verification failed: {rel} in {target} {why}.")
    (target / rel).unlink(missing_ok=True)
    (target / LOCAL_META / "download" / (rel + ".metadata")).unlink(missing_ok=True)
    return GenerationError(
        f"Verification failed: {rel} in {target} {why}. It was removed; fetch the model "
        "again to download it anew."
    )


def verify(
    target: Path, files: Iterable[RemoteFile] | None = None, *, remove_broken: bool = True
) -> None:
    """Check the pipeline is whole: its index, its component folders, every weights file.

    With `files` (the hub's listing), each must exist with the listed size. A broken file
    is removed (`remove_broken`) so the next fetch downloads it again.
    """
    try:
        index = json.loads((target / "model_index.json").read_text(encoding="utf-8"))
        if not isinstance(index, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise GenerationError(
            f"Verification failed: {target / 'model_index.json'} is missing or unreadable "
            f"({_short_reason(exc)}); fetch the model again."
        ) from None
    for component in _components(index):
        if not (target / component).is_dir():
            raise GenerationError(
                f"Verification failed: model_index.json names the component {component!r} but "
                f"{target / component} does not exist; fetch the model again."
            )
    for f in files or ():
        try:
            size = (target / f.path).stat().st_size
        except OSError:
            raise GenerationError(
                f"Verification failed: {f.path} is missing from {target}; fetch the model again."
            ) from None
        if size != f.size:
            raise _broken(
                target,
                f.path,
                f"has {size} bytes where the hub lists {f.size}",
                remove=remove_broken,
            )
    for path in sorted(target.rglob("*.safetensors")):
        rel = path.relative_to(target).as_posix()
        if rel.startswith(".cache/"):
            continue
        try:
            safetensors_param_count(path)
            expected = _safetensors_length(path)
        except (GenerationError, OSError, ValueError, KeyError, TypeError, struct.error):
            raise _broken(target, rel, "has an unreadable header", remove=remove_broken) from None
        actual = path.stat().st_size
        if actual != expected:
            raise _broken(
                target, rel, f"is truncated ({actual} bytes of {expected})", remove=remove_broken
            )
    for index_file in sorted(target.rglob("*.safetensors.index.json")):
        try:
            shards = set(json.loads(index_file.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError):
            rel = index_file.relative_to(target).as_posix()
            raise _broken(target, rel, "is unreadable", remove=remove_broken) from None
        for shard in sorted(shards):
            if not (index_file.parent / shard).is_file():
                rel = (index_file.parent / shard).relative_to(target).as_posix()
                raise GenerationError(
                    f"Verification failed: {rel} (a weights shard) is missing from {target}; "
                    "fetch the model again."
                )


def _complete_copy(target: Path) -> bool:
    """A directory that verifies as a whole pipeline (copied by hand), not a partial fetch."""
    if not (target / "model_index.json").is_file():
        return False
    try:
        verify(target, remove_broken=False)
    except GenerationError:
        return False
    return True


def _install_local_copy(entry: CatalogueEntry, target: Path, progress: Progress) -> Path:
    files = [p for p in target.rglob("*") if p.is_file() and LOCAL_META.parts[0] not in p.parts]
    total = sum(p.stat().st_size for p in files if p.name != MANIFEST)
    progress(total, total, "")
    write_manifest(
        target,
        {
            "name": entry.name,
            "hub_id": entry.hub_id,
            "revision": entry.revision,
            "commit": "",
            "source": "local copy",
            "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "bytes": total,
            "files": len(files),
        },
    )
    return target
