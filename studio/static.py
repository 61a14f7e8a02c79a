"""Static files with content-hashed names, compressed copies, and a fallback for checkouts."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's manifest storage: `collectstatic` writes hashed names (served with a
    ten-year immutable max-age) and gzip/brotli copies.

    A file that was never collected (tests, a fresh checkout, a file added since) keeps
    its plain name instead of failing the page; WhiteNoise's finders serve it.
    """

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            return name
