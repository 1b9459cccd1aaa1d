"""``POST /api/v1/scan`` and ``/scan/image``: anything a scanner reads → the card; bad input → 4xx, never 5xx."""

from __future__ import annotations

import io

import numpy as np
import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from scanner import gs1, qr
from tests.scanner.conftest import Actor, Shop, field_errors, make_gtin
from tests.scanner.test_gs1 import lots


@pytest.fixture
async def catalogue(shop: Shop) -> tuple[Actor, str]:
    owner = await shop.company(name="Huilerie du Scan SAS")
    await shop.file(owner, {"employee_satisfaction": {"value": 64, "unit": "%"}})
    gtin = make_gtin(9001)
    await shop.product(owner, gtin)
    return owner, gtin


def satisfaction(card: dict[str, object]) -> object:
    highlights = card["highlights"]
    assert isinstance(highlights, list)
    return next(h["value"] for h in highlights if h["key"] == "employee_satisfaction")


@pytest.mark.parametrize(
    "code",
    [
        "{ean}",  # typed by hand: the 13 digits under the barcode
        "{ean_spaced}",
        "{gtin}",
        "https://id.gs1.org/01/{gtin}",  # GS1's own resolver
        "https://other-resolver.example/shop/01/{ean}?17=270531",  # another domain, stem, zero-suppressed
        "HTTPS://ID.GS1.ORG/01/{gtin}",
        "https://id.gs1.org/gtin/{gtin}",  # DL 1.0 short name
        "(01){gtin}(17)270531",
        "01{gtin}17270531",
        "]C101{gtin}",
        "]E0{ean}",
    ],
)
async def test_anything_a_scanner_reads(shop: Shop, catalogue: tuple[Actor, str], code: str) -> None:
    _, gtin = catalogue
    ean = gtin[1:]
    text = code.format(gtin=gtin, ean=ean, ean_spaced=f"{ean[0]} {ean[1:7]} {ean[7:]}")
    response = await shop.client.post("/api/v1/scan", json={"code": text})
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["gtin"] == gtin and satisfaction(card) == 64


async def test_a_scanned_lot_brings_the_lots_record(shop: Shop, catalogue: tuple[Actor, str]) -> None:
    _, gtin = catalogue
    for code in (
        f"(01){gtin}(10)L2025-12B(17)270630",
        f"]d201{gtin}10L2025-12B\x1d17270630",
        f"https://id.gs1.org/01/{gtin}/10/L2025-12B?17=270630",
    ):
        card = (await shop.client.post("/api/v1/scan", json={"code": code})).json()
        assert card["lot"]["batch"] == "L2025-12B" and card["lot"]["produced_on"] == "2025-12-05"
        assert card["scan"]["lot"] == "L2025-12B"
        assert card["scan"]["attributes"] == [
            {"ai": "17", "title": "USE BY or EXPIRY", "value": "270630", "date": "2027-06-30"}
        ]
        assert card["scan"]["digital_link"] == f"http://sesame.test/01/{gtin}/10/L2025-12B?17=270630"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("3760000090012", "check digit"),  # one digit off
        ("https://id.gs1.org/01/03760000090012", "check digit"),
        ("(01)03760000090012", "check digit"),
        ("12345", "8, 12, 13 or 14 digits"),
        ("bonjour", "not a GS1 code"),
        ("", "empty"),
        ("https://id.gs1.org/01/09520123456788/21/S/10/L", "order 22, 10, 21"),
        ("(01)09520123456788(89)X", "unknown GS1 Application Identifier (89)"),
        ("9" * 3000, "at most 2048"),
    ],
)
async def test_unreadable_codes_are_422_with_the_reason(shop: Shop, code: str, reason: str) -> None:
    response = await shop.client.post("/api/v1/scan", json={"code": code})
    assert response.status_code == 422, response.text
    assert reason in field_errors(response)["body.code"]


async def test_malformed_requests_and_unknown_codes(shop: Shop) -> None:
    too_long = await shop.client.post("/api/v1/scan", json={"code": "1" * 5000})
    assert too_long.status_code == 422 and "body.code" in field_errors(too_long)
    assert (await shop.client.post("/api/v1/scan", json={"nothing": 1})).status_code in (400, 422)
    assert (
        await shop.client.post(
            "/api/v1/scan", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    ).status_code == 400
    sscc = await shop.client.post("/api/v1/scan", json={"code": "(00)106141412345678908"})
    assert sscc.status_code == 404 and sscc.json()["type"].endswith("/unknown")
    unknown = await shop.client.post("/api/v1/scan", json={"code": make_gtin(9999)[1:]})
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/unknown")


def _png(image: Image.Image, kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


async def test_photographed_qr_code_gives_the_card_with_64_percent(
    shop: Shop, catalogue: tuple[Actor, str]
) -> None:
    """Print the product's QR from the API, photograph it (decode the PNG): the card with the company's 64%."""
    _, gtin = catalogue
    label = await shop.client.get(f"/api/v1/products/{gtin}/qr.png?lot=L2025-11A")
    assert label.status_code == 200 and label.headers["content-type"] == "image/png"
    (decoded,) = qr.decode_image(label.content)
    assert decoded == f"http://sesame.test/01/{gtin}/10/L2025-11A"
    card = (await shop.client.post("/api/v1/scan", json={"code": decoded})).json()
    assert satisfaction(card) == 64 and card["lot"]["batch"] == "L2025-11A"

    photo = Image.open(io.BytesIO(label.content)).convert("RGB").rotate(8, expand=True, fillcolor="white")
    uploaded = await shop.client.post(
        "/api/v1/scan/image", files={"file": ("photo.jpg", _png(photo, "JPEG"), "image/jpeg")}
    )
    assert uploaded.status_code == 200, uploaded.text
    card = uploaded.json()
    assert card["gtin"] == gtin and satisfaction(card) == 64 and card["lot"]["batch"] == "L2025-11A"
    assert card["scan"]["decoded"] == decoded

    svg = await shop.client.get(f"/api/v1/products/{gtin}/qr.svg?serial=ABC%2F1")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert f"http://sesame.test/01/{gtin}/21/ABC%2F1" in svg.text


async def test_ean13_and_datamatrix_photos(shop: Shop, catalogue: tuple[Actor, str]) -> None:
    _, gtin = catalogue
    for barcode in (
        zxingcpp.create_barcode(gtin[1:], zxingcpp.BarcodeFormat.EAN13),
        zxingcpp.create_barcode(f"(01){gtin}(10)L2025-11A", zxingcpp.BarcodeFormat.DataMatrix, gs1=True),
    ):
        image = Image.fromarray(np.asarray(barcode.to_image(scale=4))).convert("RGB")
        response = await shop.client.post(
            "/api/v1/scan/image", files={"file": ("code.png", _png(image), "image/png")}
        )
        assert response.status_code == 200, response.text
        assert response.json()["gtin"] == gtin


async def test_bad_uploads_are_4xx(shop: Shop, catalogue: tuple[Actor, str]) -> None:
    not_image = await shop.client.post(
        "/api/v1/scan/image", files={"file": ("x.png", b"this is not an image", "image/png")}
    )
    assert not_image.status_code == 422 and not_image.json()["type"].endswith("/image-unreadable")
    blank = await shop.client.post(
        "/api/v1/scan/image",
        files={"file": ("blank.png", _png(Image.new("RGB", (200, 200), "white")), "image/png")},
    )
    assert blank.status_code == 422 and blank.json()["type"].endswith("/no-code-found")
    wrong_code = qr.qr_png("https://id.gs1.org/01/03760000090012")  # wrong check digit inside the QR code
    bad = await shop.client.post("/api/v1/scan/image", files={"file": ("q.png", wrong_code, "image/png")})
    assert bad.status_code == 422 and "check digit" in field_errors(bad)["body.file"]
    not_gs1 = qr.qr_png("https://example.org/hello")
    response = await shop.client.post("/api/v1/scan/image", files={"file": ("q.png", not_gs1, "image/png")})
    assert response.status_code == 422
    assert (
        await shop.client.post("/api/v1/scan/image", files={"other": ("q.png", not_gs1, "image/png")})
    ).status_code in (400, 422)
    huge = b"\x00" * (shop.app.state.settings.max_upload_bytes + 1)
    too_big = await shop.client.post("/api/v1/scan/image", files={"file": ("big.png", huge, "image/png")})
    assert too_big.status_code == 413


async def test_qr_parameters_are_checked(shop: Shop, catalogue: tuple[Actor, str]) -> None:
    _, gtin = catalogue
    bad_lot = await shop.client.get(f"/api/v1/products/{gtin}/qr.svg?lot=a%20b")
    assert bad_lot.status_code == 422 and "query.lot" in field_errors(bad_lot)
    assert (await shop.client.get(f"/api/v1/products/{gtin}/qr.png?scale=0")).status_code in (400, 422)
    assert (await shop.client.get(f"/api/v1/products/{make_gtin(9998)}/qr.png")).status_code == 404


@st.composite
def gtin_bodies(draw: st.DrawFn) -> int:
    return draw(st.integers(min_value=0, max_value=999_999_999))


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=gtin_bodies(), lot=lots, image=st.booleans())
async def test_round_trip_gtin_lot_qr_decode_scan(
    shop: Shop, catalogue: tuple[Actor, str], body: int, lot: str, image: bool
) -> None:
    """Random valid GTIN and lot → Digital Link → segno PNG → zxing-cpp decode → scan → the same product."""
    owner, _ = catalogue
    gtin = make_gtin(body, prefix="350")
    if (await shop.client.get(f"/api/v1/products/{gtin}")).status_code == 404:
        await shop.product(owner, gtin)
    png = await shop.client.get(f"/api/v1/products/{gtin}/qr.png", params={"lot": lot, "scale": 3})
    assert png.status_code == 200, png.text
    if image:
        response = await shop.client.post(
            "/api/v1/scan/image", files={"file": ("qr.png", png.content, "image/png")}
        )
    else:
        (decoded,) = qr.decode_image(png.content)
        assert gs1.parse_scanned(decoded).lot == lot
        response = await shop.client.post("/api/v1/scan", json={"code": decoded})
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["gtin"] == gtin and card["scan"]["lot"] == lot


async def test_the_benchmarks_constant_endpoint_is_hidden(shop: Shop) -> None:
    got = await shop.client.get("/api/v1/bench/constant?size=1000")
    assert got.status_code == 200 and len(got.content) == 1000 and got.json()["constant"].startswith("x")
    posted = await shop.client.post("/api/v1/bench/constant?size=500", json={"code": "4006381333931"})
    assert posted.status_code == 200 and len(posted.content) == 500
    assert (await shop.client.get("/api/v1/bench/constant?size=10")).status_code in (400, 422)
    schema = (await shop.client.get("/schema/openapi.json")).json()
    assert "/api/v1/bench/constant" not in schema["paths"]
    assert {"/01/{rest}", "/api/v1/scan", "/api/v1/scan/image", "/.well-known/gs1resolver"} <= set(
        schema["paths"]
    )
