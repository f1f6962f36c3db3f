"""The server-rendered bar chart: proportional bars, escaped text, an accessible name."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from lrs.console.chart import Bar, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - markup this test rendered, not untrusted input


def test_bars_are_proportional_to_their_values():
    svg = parse(bar_chart([Bar("a", 1), Bar("b", 4), Bar("c", 0)], "Per day"))
    heights = [float(rect.get("height", "")) for rect in svg.iter(f"{SVG}rect")]
    assert heights[1] == 4 * heights[0]
    assert heights[2] == 0


def test_the_chart_has_an_accessible_name_and_each_bar_its_exact_figure():
    markup = bar_chart([Bar("12-01", 7)], "Statements per day")
    svg = parse(markup)
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Statements per day"
    assert [t.text for t in svg.iter(f"{SVG}title")] == ["Statements per day", "12-01: 7"]


def test_labels_and_title_are_escaped():
    markup = bar_chart([Bar("<script>", 1)], 'a "quoted" <b>title</b>')
    assert "<script>" not in markup
    assert "<b>" not in markup
    parse(markup)  # still well-formed


def test_an_empty_series_draws_its_axis_and_says_so():
    markup = bar_chart([], "Nothing")
    assert re.search(r"<line class=\"axis\"", markup)
    assert "no data" in markup


def test_no_inline_style_so_the_csp_needs_no_unsafe_inline():
    assert "style" not in bar_chart([Bar("a", 3)], "t")
