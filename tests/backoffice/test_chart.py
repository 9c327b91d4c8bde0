"""The digest's chart: a PNG of the promised size, Cyrillic drawn, each day's bar from its data."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageChops

from backoffice.chart import HEIGHT, WIDTH, ChartLabels, render_chart
from backoffice.digest import chart_labels
from desk.digest import ChartDay
from locales import Texts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fortnight(opened_on_third: int = 2) -> list[ChartDay]:
    days = []
    for index in range(14):
        opened = opened_on_third if index == 2 else 3 + index % 4
        days.append(ChartDay(f"2026-11-{17 + index:02d}", opened, 2 + index % 3, 20 + index))
    return days


def image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def test_a_png_of_the_expected_size_with_cyrillic_labels() -> None:
    # pytest turns warnings into errors, and this catches them anyway: matplotlib
    # warns "Glyph ... missing from font(s)" for a letter it cannot draw.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_chart(fortnight(), chart_labels(Texts("ru")))
    assert png.startswith(PNG_SIGNATURE)
    picture = image(png)
    assert picture.size == (WIDTH, HEIGHT)
    colours = picture.getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 50  # bars, a line, text: not blank
    white = max(colours)[1]
    assert white == (255, 255, 255)  # the background is the commonest colour
    assert max(colours)[0] < WIDTH * HEIGHT * 0.9  # and something covers a tenth of it


def test_labels_change_the_picture_and_each_language_renders() -> None:
    english = image(render_chart(fortnight(), chart_labels(Texts("en"))))
    russian = image(render_chart(fortnight(), chart_labels(Texts("ru"))))
    assert ImageChops.difference(english, russian).getbbox() is not None
    # A title with letters DejaVu lacks would warn (an error under pytest): none here.
    labels = ChartLabels("Заявки — ёжик, Щука, ЪЫЬЭЮЯ", "Открыто", "Закрыто", "В работе")
    render_chart(fortnight(), labels)


def test_a_request_added_to_a_day_changes_that_days_bar() -> None:
    labels = chart_labels(Texts("ru"))
    before = image(render_chart(fortnight(opened_on_third=2), labels))
    after = image(render_chart(fortnight(opened_on_third=3), labels))
    box = ImageChops.difference(before, after).getbbox()
    assert box is not None
    left, _top, right, _bottom = box
    # The third of fourteen days: the change is a narrow stripe in the left part of the plot.
    assert right - left < WIDTH / 14
    assert WIDTH * 0.1 < (left + right) / 2 < WIDTH * 0.3
