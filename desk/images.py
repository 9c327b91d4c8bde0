"""Screenshots sent as files: checked by their content, cleaned, re-encoded.

A file is an image only if Pillow can open and decode it (its name and MIME
type say nothing). The clean copy keeps the pixels and the colour profile and
drops everything else: EXIF (GPS position, camera, owner), XMP, comments and
text chunks. EXIF orientation is applied to the pixels first, so the copy
looks the way the customer saw the original. Lossy formats become JPEG,
lossless ones PNG.

Limits: 10 MB of input and 40 megapixels. Pillow's own guard is set to the
same 40 megapixels, so an image up to twice that size is refused as
``too_many_pixels`` and anything larger (typically a few kilobytes claiming
gigapixels) as ``bomb`` — before any pixel is decoded.
"""

from __future__ import annotations

import enum
import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from desk.errors import ValidationFailed

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000

# Process-wide on purpose: no image decoded anywhere in the desk may exceed
# what a screenshot can be (Pillow's default is ~89 megapixels).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Only formats Pillow decodes itself: EPS, for instance, would run Ghostscript.
_ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
_LOSSY = frozenset({"JPEG", "MPO"})


class Rejection(enum.StrEnum):
    """Why the desk refuses an image; the texts are ``intake.bad.<code>`` in locales/."""

    TOO_LARGE = "too_large"
    NOT_IMAGE = "not_image"
    TOO_MANY_PIXELS = "too_many_pixels"
    BOMB = "bomb"


class ImageRejected(ValidationFailed):
    """A screenshot the desk will not take; ``reason`` (and ``problem``) says why."""

    def __init__(self, problem: str, **details: object) -> None:
        super().__init__("screenshot", problem, **details)
        self.reason = Rejection(problem)

    def text_args(self) -> dict[str, int]:
        """The limit the customer is told, in the units the texts use (MB, megapixels)."""
        if self.reason is Rejection.TOO_LARGE:
            return {"maximum": MAX_BYTES // (1024 * 1024)}
        if self.reason is Rejection.TOO_MANY_PIXELS:
            return {"maximum": MAX_PIXELS // 1_000_000}
        return {}


def should_inspect(size: int | None, mime_type: str | None, *, screenshot: bool) -> bool:
    """Whether to download a file a customer sent and inspect it with :func:`inspect_and_clean`.

    ``screenshot``: the file must be an image (the intake's screenshot step);
    otherwise it is a follow-up, which may be any file. A file over
    :data:`MAX_BYTES` is never downloaded: it is refused (``too_large``) when
    it must be an image or Telegram says it is one, and taken as sent
    otherwise (a large log or PDF: support gets it unchecked).
    """
    if size is not None and size > MAX_BYTES:
        if screenshot or (mime_type or "").startswith("image/"):
            raise ImageRejected(Rejection.TOO_LARGE, size=size)
        return False
    return True


def keeps_unreadable(error: ImageRejected, *, screenshot: bool) -> bool:
    """A file Pillow cannot open: a follow-up keeps it as sent, a screenshot is refused."""
    return error.reason is Rejection.NOT_IMAGE and not screenshot


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    format: str  # "JPEG" or "PNG"
    width: int
    height: int
    size: int
    sha256: str

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "JPEG" else "png"

    @property
    def mime_type(self) -> str:
        return "image/jpeg" if self.format == "JPEG" else "image/png"


def _pixel_check(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageRejected(
            "too_many_pixels", maximum=MAX_PIXELS, pixels=width * height, width=width, height=height
        )


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Between 1x and 2x the limit Pillow only warns; a warning would
            # let the decoder run, so it is an error here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_ACCEPTED_FORMATS)
    except Image.DecompressionBombError as error:
        raise ImageRejected("bomb", maximum=MAX_PIXELS) from error
    except Image.DecompressionBombWarning as error:
        raise ImageRejected("too_many_pixels", maximum=MAX_PIXELS) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageRejected("not_image") from error
    return image


def _decode(data: bytes) -> tuple[Image.Image, str]:
    """Open twice: ``verify`` checks the file's structure but spends the image."""
    with _open(data) as probe:
        _pixel_check(*probe.size)
        image_format = probe.format or ""
        try:
            probe.verify()
        except Exception as error:  # Pillow raises many types for broken files
            raise ImageRejected("not_image") from error
    image = _open(data)
    try:
        image.load()
    except Exception as error:
        image.close()
        raise ImageRejected("not_image") from error
    return image, image_format


def inspect_and_clean(data: bytes) -> CleanImage:
    """Check that ``data`` is a screenshot the desk takes and return its clean copy.

    Raises :class:`ImageRejected` with ``problem`` one of ``too_large``,
    ``not_image``, ``too_many_pixels`` or ``bomb``.
    """
    if len(data) > MAX_BYTES:
        raise ImageRejected("too_large", maximum=MAX_BYTES, size=len(data))
    if not data:
        raise ImageRejected("not_image")
    image, source_format = _decode(data)
    with image:
        icc_profile = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image)
        lossy = source_format in _LOSSY
        if lossy:
            mode = "L" if upright.mode in ("1", "L") else "RGB"
        elif upright.mode in ("1", "L", "LA", "RGB", "RGBA"):
            mode = upright.mode
        else:
            mode = "RGBA" if upright.has_transparency_data else "RGB"
        pixels = upright.convert(mode) if upright.mode != mode else upright
        # A new image from raw pixels carries no metadata at all.
        clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    options: dict[str, object] = {}
    if isinstance(icc_profile, bytes):
        options["icc_profile"] = icc_profile
    if lossy:
        clean.save(out, format="JPEG", quality=90, **options)
    else:
        clean.save(out, format="PNG", **options)
    body = out.getvalue()
    return CleanImage(
        data=body,
        format="JPEG" if lossy else "PNG",
        width=clean.width,
        height=clean.height,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
    )
