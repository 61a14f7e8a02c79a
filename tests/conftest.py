"""Shared fixtures. Tiny offline pipelines live in tests/tiny/, one module per family."""

from pathlib import Path

pytest_plugins = sorted(
    f"tests.tiny.{p.stem}"
    for p in (Path(__file__).parent / "tiny").glob("*.py")
    if not p.stem.startswith("_")
)
