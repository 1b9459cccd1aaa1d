"""Pieces of the pages: the SVG charts, value formatting, the product page the resolver renders."""

from __future__ import annotations

from sesame.web import render_product_page
from sesame.web.charts import line_chart
from sesame.web.indicators import show_value
from sesame.web.rendering import static_url


def test_the_chart_is_an_accessible_svg_with_a_point_per_version() -> None:
    chart = line_chart(
        [(1, 58.0, "v1"), (2, 64.0, "v2"), (3, 61.5, "v3")],
        title="Satisfaction <des> salariés",
        unit="%",
        chart_id="c1",
    )
    svg = str(chart.svg)
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="c1-t"' in svg
    assert svg.count("<circle") == 3 and "<polyline" in svg
    assert "Satisfaction &lt;des&gt; salariés" in svg  # escaped
    assert "v3: 61.5 %" in svg


def test_a_single_point_chart_has_no_line() -> None:
    svg = str(line_chart([(1, 5.0, "v1")], title="t", unit=None, chart_id="c").svg)
    assert "<polyline" not in svg and svg.count("<circle") == 1


def test_values_read_like_sentences_in_each_language() -> None:
    assert show_value("employee_satisfaction", 64, "%", "fr") == "64\u202f%"
    assert show_value("employee_satisfaction", 64, "%", "en") == "64%"
    assert show_value("carbon_footprint_per_employee", 12.5, "tCO2e", "fr") == "12,5 tCO2e"
    assert show_value("headcount", 1200, "persons", "fr") == "1\u202f200 personnes"
    assert show_value("tax_residence", "FR", None, "en") == "France (FR)"
    assert show_value("founding_date", "2001-04-12", None, "fr") == "12 avril 2001"
    assert show_value("employee_satisfaction", None, "%", "fr") == "—"


def test_static_urls_carry_a_content_hash() -> None:
    url = static_url("sesame.css")
    assert url.startswith("/static/sesame.css?v=") and len(url.rsplit("=", 1)[1]) == 12


def test_the_product_page_renders_without_a_request() -> None:
    card = {
        "gtin": "04006381333931",
        "name": "Pain <de> campagne",
        "identity_card": {"brand": "Dupont", "lots": [{"batch": "L1", "best_before": "2026-12-01"}]},
        "company": {"id": 3, "legal_name": "Boulangerie Dupont SARL"},
        "transparency_score": 80,
        "highlights": [
            {
                "key": "employee_satisfaction",
                "label_fr": "Satisfaction des salariés",
                "label_en": "Employee satisfaction",
                "disclosed": True,
                "value": 64,
                "unit": "%",
                "state": "attested",
                "attested_by": "Registre",
            }
        ],
        "lot": {"batch": "L1"},
    }
    html = render_product_page(card, "en")
    assert '<html lang="en">' in html and "Pain &lt;de&gt; campagne" in html
    assert "Sold by Boulangerie Dupont SARL" in html and "64%" in html and "✓ Verified" in html
    assert "Best before" in html
    assert 'name="_csrf_token"' not in html  # nothing to post from a resolver page
