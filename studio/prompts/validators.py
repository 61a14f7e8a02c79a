from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000


def validate_image_upload(upload) -> None:
    """Reject non-images, corrupt files and decompression bombs before anything is stored."""
    if upload.size > settings.STUDIO_MAX_UPLOAD_BYTES:
        mb = settings.STUDIO_MAX_UPLOAD_BYTES // (1024 * 1024)
        raise ValidationError(f"The image is larger than {mb} MB.")
    try:
        upload.seek(0)
        with Image.open(upload) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ValidationError(
                    f"The image is {width}×{height} ({width * height / 1e6:.0f} megapixels); "
                    f"the limit is {MAX_PIXELS // 1_000_000} megapixels."
                )
            img.verify()
        upload.seek(0)
        with Image.open(upload) as img:
            img.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ValidationError(
            "This file is not an image we can read (PNG, JPEG or WebP)."
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationError("The image file is corrupt or truncated.") from None
    finally:
        upload.seek(0)
