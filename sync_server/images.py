"""Check an uploaded campaign image before it is stored: its type by its own header, its
size in pixels before a single pixel is decoded, then a full decode. A small file can claim
a huge picture (a 420 KB PNG of 12000 x 12000 pixels decodes to 432 MB), so the header's
size is checked first; the caller also bounds how many uploads are checked at once."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from site_builder.i18n import _

from .errors import TooLarge, Unsupported

MAX_ASSET_BYTES = 5 * 1024 * 1024
#: 4096 x 4096: a poster, or a 12-megapixel phone photo, fits; decoding one takes at most
#: 64 MiB (four bytes a pixel).
MAX_PIXELS = 4096 * 4096
#: Uploads read and checked at the same time; the others wait their turn.
PARALLEL_CHECKS = 2
IMAGE_TYPES = {
    "image/png": ("PNG", ".png"),
    "image/jpeg": ("JPEG", ".jpg"),
    "image/webp": ("WEBP", ".webp"),
}
FORMAT_NAMES = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}

# Pillow's own guard, for every image this process opens: beyond twice this many pixels it
# refuses to open one. Its warning beyond this many is left unsaid: the size is checked here.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Asset:
    """A checked image, named by its content."""

    name: str
    digest: str
    media_type: str
    size: int


def image_type(media_type: str) -> tuple[str, str]:
    """Pillow's name of the format a Content-Type announces, and the file extension."""
    if media_type not in IMAGE_TYPES:
        raise Unsupported(_("images must be sent as image/png, image/jpeg or image/webp"))
    return IMAGE_TYPES[media_type]


def check_image(data: bytes, media_type: str) -> Asset:
    """The asset for an upload, or Unsupported (not a PNG, JPEG or WebP image that decodes,
    or not of the type its Content-Type says) or TooLarge (too many pixels)."""
    expected, ext = image_type(media_type)
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMAT_NAMES)) as image:
            found, (width, height) = image.format, image.size
            _check_size(width, height)
            if found != expected:
                raise Unsupported(
                    _(
                        "the file is a {found} image, not {expected} as its Content-Type says"
                    ).format(
                        found=FORMAT_NAMES.get(found or "", found), expected=FORMAT_NAMES[expected]
                    )
                )
            image.verify()
        with Image.open(io.BytesIO(data), formats=[expected]) as image:
            image.load()
    except Image.DecompressionBombError:
        raise TooLarge(_too_many_pixels()) from None
    except UnidentifiedImageError:
        raise Unsupported(
            _(
                "the file is not a PNG, JPEG or WebP image (its first bytes are not an "
                "image header of one of these types)"
            )
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise Unsupported(
            _(
                "the file starts as a {kind} image but its data is damaged or cut short; "
                "save it again and upload the new file"
            ).format(kind=FORMAT_NAMES[expected])
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    return Asset(f"{digest[:32]}{ext}", digest, media_type, len(data))


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise TooLarge(
            _("the image is {width} x {height} pixels; {limit}").format(
                width=width, height=height, limit=_too_many_pixels()
            )
        )


def _too_many_pixels() -> str:
    return _(
        "an image may have at most {most:,} pixels (4096 x 4096); make it smaller and upload "
        "it again"
    ).format(most=MAX_PIXELS)
