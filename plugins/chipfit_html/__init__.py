"""chipfit's HTML report (``--format html``, or ``-o report.html``): one self-contained page.

The comparison tables, a roofline chart, bar charts of each group's metrics and predicted against
measured, drawn with matplotlib (``pip install 'chipfit[report]'``) and kept inline as SVG; every
device's figures with their sources. Importing this plugin is light: the page and its charts are
built by :mod:`chipfit_html.page` and :mod:`chipfit.charts`, imported when a report is rendered.
"""

from __future__ import annotations

from typing import Any

import chipfit
from chipfit.records import Report
from chipfit.render import Renderer


def render_html(report: Report, catalogue: Any = None) -> str:
    """The report as one HTML page: tables, charts inline as SVG, devices' sources."""
    from chipfit_html.page import render

    return render(report, catalogue)


@chipfit.hookimpl
def chipfit_register_renderers(register) -> None:
    """The ``html`` format."""
    register(Renderer("html", render_html, "html",
                      "one self-contained page: tables, roofline and bar charts (matplotlib), sources"))
