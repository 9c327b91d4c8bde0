"""Screenshots sent as files: real image bytes made with Pillow, checked by content."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from PIL import Image, TiffImagePlugin

from desk.errors import ValidationFailed
from desk.images import (
    MAX_BYTES,
    MAX_PIXELS,
    ImageRejected,
    Rejection,
    inspect_and_clean,
    keeps_unreadable,
    should_inspect,
)
from locales import LOCALES, Texts

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(size: tuple[int, int] = (64, 48), orientation: int = 1) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera 1.0"  # Software
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update(
        {
            1: "N",
            2: (TiffImagePlugin.IFDRational(55), TiffImagePlugin.IFDRational(45), 0),
            3: "E",
            4: (TiffImagePlugin.IFDRational(37), TiffImagePlugin.IFDRational(37), 0),
        }
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()


def png(size: tuple[int, int], mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG", **save)
    return out.getvalue()


def test_jpeg_loses_exif_and_gps_and_stays_jpeg() -> None:
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as probe:  # the fixture really has GPS
        assert probe.getexif().get_ifd(GPS_IFD)

    clean = inspect_and_clean(original)

    assert clean.format == "JPEG" and clean.extension == "jpg"
    assert (clean.width, clean.height) == (64, 48)
    assert clean.size == len(clean.data)
    assert clean.sha256 == hashlib.sha256(clean.data).hexdigest()
    with Image.open(io.BytesIO(clean.data)) as result:
        assert result.format == "JPEG"
        assert not result.getexif()
        assert "exif" not in result.info and "comment" not in result.info
    assert b"PhoneMaker" not in clean.data and b"secret comment" not in clean.data


def test_exif_orientation_is_applied_before_it_is_dropped() -> None:
    clean = inspect_and_clean(jpeg_with_gps((64, 48), orientation=6))  # rotated 90°
    assert (clean.width, clean.height) == (48, 64)


def test_png_stays_png_without_text_chunks() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "Ivan Petrov")
    clean = inspect_and_clean(png((30, 20), "RGBA", pnginfo=info))
    assert clean.format == "PNG" and clean.mime_type == "image/png"
    with Image.open(io.BytesIO(clean.data)) as result:
        assert result.mode == "RGBA" and result.size == (30, 20)
        assert "Author" not in result.info
    assert b"Ivan Petrov" not in clean.data


def test_lossless_formats_become_png() -> None:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, format="GIF")
    assert inspect_and_clean(out.getvalue()).format == "PNG"


@pytest.mark.parametrize(
    "data",
    [
        b"Just a text file renamed to screenshot.jpg\n" * 10,
        b"",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
    ],
    ids=["text", "empty", "pdf", "eps"],
)
def test_not_an_image(data: bytes) -> None:
    with pytest.raises(ImageRejected) as info:
        inspect_and_clean(data)
    assert isinstance(info.value, ValidationFailed)
    assert (info.value.field, info.value.problem) == ("screenshot", "not_image")


def test_truncated_image_is_not_an_image() -> None:
    with pytest.raises(ImageRejected) as info:
        inspect_and_clean(jpeg_with_gps((300, 300))[:400])
    assert info.value.problem == "not_image"


def test_over_ten_megabytes_is_too_large() -> None:
    data = png((4, 4)) + os.urandom(MAX_BYTES)  # a real image with junk after it
    with pytest.raises(ImageRejected) as info:
        inspect_and_clean(data)
    assert info.value.problem == "too_large"
    assert info.value.details["maximum"] == MAX_BYTES


def test_over_forty_megapixels_is_refused_before_decoding() -> None:
    data = png((8000, 5001), "1")  # 40.008 MP, a few kilobytes
    with pytest.raises(ImageRejected) as info:
        inspect_and_clean(data)
    assert info.value.problem == "too_many_pixels"
    assert info.value.details["maximum"] == MAX_PIXELS


def test_decompression_bomb() -> None:
    data = png((10000, 9000), "1")  # 90 MP in a few kilobytes
    assert len(data) < 100_000
    with pytest.raises(ImageRejected) as info:
        inspect_and_clean(data)
    assert info.value.problem == "bomb"


def test_just_under_the_pixel_limit_is_fine() -> None:
    clean = inspect_and_clean(png((8000, 5000), "1"))
    assert (clean.width, clean.height) == (8000, 5000)


# -- one rule for the intake's screenshots and the customer's follow-ups ----


@pytest.mark.parametrize("mime", [None, "image/png", "application/pdf"])
def test_a_screenshot_over_the_limit_is_refused_unread(mime: str | None) -> None:
    with pytest.raises(ImageRejected) as info:
        should_inspect(MAX_BYTES + 1, mime, screenshot=True)
    assert info.value.reason is Rejection.TOO_LARGE


def test_a_large_follow_up_is_refused_only_when_it_says_it_is_an_image() -> None:
    with pytest.raises(ImageRejected):
        should_inspect(MAX_BYTES + 1, "image/jpeg", screenshot=False)
    assert should_inspect(MAX_BYTES + 1, "application/pdf", screenshot=False) is False
    assert should_inspect(MAX_BYTES + 1, None, screenshot=False) is False


@pytest.mark.parametrize("screenshot", [True, False])
@pytest.mark.parametrize("size", [None, 0, MAX_BYTES])
def test_files_within_the_limit_are_inspected(screenshot: bool, size: int | None) -> None:
    assert should_inspect(size, "application/octet-stream", screenshot=screenshot) is True


def test_an_unreadable_file_is_kept_only_as_a_follow_up() -> None:
    with pytest.raises(ImageRejected) as info:
        inspect_and_clean(b"%PDF-1.4 not an image")
    assert keeps_unreadable(info.value, screenshot=False)
    assert not keeps_unreadable(info.value, screenshot=True)
    for reason in (Rejection.TOO_LARGE, Rejection.BOMB, Rejection.TOO_MANY_PIXELS):
        assert not keeps_unreadable(ImageRejected(reason), screenshot=False)


def test_every_reason_has_its_text_and_limits() -> None:
    assert ImageRejected(Rejection.TOO_LARGE).text_args() == {"maximum": 10}
    assert ImageRejected(Rejection.TOO_MANY_PIXELS).text_args() == {"maximum": 40}
    for locale in LOCALES:
        texts = Texts(locale)
        for reason in Rejection:
            error = ImageRejected(reason)
            assert texts(f"intake.bad.{reason.value}", **error.text_args())
