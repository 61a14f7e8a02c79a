import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Keep every test's uploads and clips in its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
