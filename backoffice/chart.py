"""The digest's picture: requests opened and closed per day (bars) and the backlog (a line).

Drawn with matplotlib's Agg backend rather than Pillow (which the desk already
has): matplotlib lays out axes, ticks and a legend itself and ships the DejaVu
fonts, which cover Cyrillic, so the picture needs no font file of ours and
looks the same on every machine; with Pillow we would draw axes by hand and
carry a TTF. Only the object API is used (``Figure`` + ``FigureCanvasAgg``,
never ``pyplot``'s global state), so a picture may be drawn in a worker thread
(``asyncio.to_thread``) while the event loop goes on.

Sized for a phone: 1280×800 pixels (Telegram's photo size), large type, two
colours that stay apart for colour-blind readers.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from desk.digest import ChartDay

WIDTH, HEIGHT, DPI = 1280, 800, 100
FONT = "DejaVu Sans"  # bundled with matplotlib; has Cyrillic
OPENED, CLOSED, BACKLOG = "#1f77b4", "#ff7f0e", "#2b2b2b"


@dataclass(frozen=True)
class ChartLabels:
    title: str
    opened: str
    closed: str
    backlog: str


def render_chart(days: Sequence[ChartDay], labels: ChartLabels) -> bytes:
    """A PNG of ``WIDTH``×``HEIGHT`` pixels."""
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(days)))
    width = 0.4
    axes.bar(
        [p - width / 2 for p in positions],
        [d.opened for d in days],
        width,
        label=labels.opened,
        color=OPENED,
    )
    axes.bar(
        [p + width / 2 for p in positions],
        [d.closed for d in days],
        width,
        label=labels.closed,
        color=CLOSED,
    )
    line_axes = axes.twinx()
    line_axes.plot(
        positions,
        [d.backlog for d in days],
        color=BACKLOG,
        linewidth=3,
        marker="o",
        label=labels.backlog,
    )
    for each in (axes, line_axes):
        each.yaxis.set_major_locator(MaxNLocator(integer=True))
        each.set_ylim(bottom=0)
        each.tick_params(labelsize=15)
        for label in each.get_yticklabels():
            label.set_fontfamily(FONT)
    axes.set_xticks(positions)
    axes.set_xticklabels(
        [date.fromisoformat(d.day).strftime("%d.%m") for d in days],
        rotation=45,
        fontsize=14,
        fontfamily=FONT,
    )
    # The legend sits in one row between the title and the plot, never over a bar.
    axes.set_title(labels.title, fontsize=22, fontfamily=FONT, pad=52)
    axes.grid(axis="y", alpha=0.3)
    handles = axes.get_legend_handles_labels()
    more = line_axes.get_legend_handles_labels()
    axes.legend(
        handles[0] + more[0],
        handles[1] + more[1],
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=3,
        prop={"family": FONT, "size": 15},
        frameon=False,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
