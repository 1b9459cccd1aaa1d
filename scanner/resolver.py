"""What the GS1 Digital Link resolver answers: content negotiation, the RFC 9264 linkset, the product page.

Link relation types are GS1 Web Vocabulary URIs (``https://gs1.org/voc/pip`` ...), the form GS1's linkset schema
(https://ref.gs1.org/standards/resolver/linkset-schema) requires for non-IANA relations; ``?linkType=gs1:pip``
and ``?linkType=https://gs1.org/voc/pip`` both select one. A request for a link type the item does not have is
sent to the default link, as the GS1-Conformant Resolver standard does.

The HTML page is deliberately plain (no inline style or script, so the site's CSP holds); the web layer may
replace it by setting ``PAGE_RENDERER``.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any, Literal
from urllib.parse import quote

from scanner import gs1
from scanner.cards import CachedCard, encode

__all__ = [
    "GS1_VOC",
    "LINK_TYPES",
    "PAGE_RENDERER",
    "Representation",
    "certification_view",
    "description_file",
    "linkset",
    "negotiate",
    "product_page",
    "scan_context",
    "select_link",
    "sustainability_view",
    "traceability_view",
]

GS1_VOC = "https://gs1.org/voc/"
_VOC_ALIASES = ("https://gs1.org/voc/", "http://gs1.org/voc/", "https://ref.gs1.org/voc/", "gs1:")
LINKSET_CONTEXT = "https://ref.gs1.org/standards/resolver/linkset-context"
#: The link types every product offers, in the linkset's order.
LINK_TYPES = (
    "pip",
    "defaultLink",
    "masterData",
    "sustainabilityInfo",
    "traceability",
    "certificationInfo",
    "registryEntry",
)
Representation = Literal["json", "html", "linkset"]

_MEDIA: dict[str, Representation] = {
    "application/json": "json",
    "application/linkset+json": "linkset",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/*": "json",
    "text/*": "html",
    "*/*": "json",
}


def negotiate(accept: str | None, link_type: str | None = None) -> Representation:
    """JSON card, HTML page or linkset, from ``?linkType=linkset|all`` or the ``Accept`` header.

    The highest ``q`` wins; at equal ``q`` a named type beats a wildcard, then the client's order. No header
    (or ``*/*``) gets the JSON card: browsers always ask for ``text/html``.
    """
    if link_type in ("linkset", "all"):
        return "linkset"
    if not accept or accept == "application/json":
        return "json"
    best: tuple[float, int, int] = (-1.0, 0, 0)
    chosen: Representation = "json"
    for position, item in enumerate(accept.split(",")[:32]):
        media, _, params = item.partition(";")
        kind = _MEDIA.get(media.strip().lower())
        if kind is None:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        rank = (q, 0 if "*" in media else 1, -position)
        if rank > best:
            best, chosen = rank, kind
    return chosen


def _link_name(link_type: str) -> str:
    for prefix in _VOC_ALIASES:
        if link_type.startswith(prefix):
            return link_type[len(prefix) :]
    return link_type


def _anchor(card: CachedCard, base: str, link: gs1.DigitalLink | None) -> str:
    if link is None or link.gtin != card.ref.gtin:
        return gs1.digital_link(base, card.ref.gtin)
    return link.uri(base, with_attributes=False)


def links(
    card: CachedCard, base: str, link: gs1.DigitalLink | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every link of an item, by GS1 link type (short name)."""
    data = card.data
    name = str(data.get("name", ""))
    company = data.get("company", {})
    anchor = _anchor(card, base, link)
    api = f"{base}/api/v1/products/{card.ref.gtin}"
    lot = link.lot if link is not None else None
    lot_query = f"?lot={quote(lot, safe='')}" if lot else ""
    both = ["fr", "en"]

    def one(href: str, title: str, media: str) -> list[dict[str, Any]]:
        return [{"href": href, "title": title, "type": media, "hreflang": both}]

    return {
        "pip": one(anchor, f"{name}: product information page", "text/html"),
        "defaultLink": one(anchor, f"{name}: product information page", "text/html"),
        "masterData": one(api, f"{name}: identity card (JSON)", "application/json"),
        "sustainabilityInfo": one(
            f"{api}/sustainability", f"{name}: carbon footprint and labour", "application/json"
        ),
        "traceability": one(
            f"{api}/traceability{lot_query}", f"{name}: traceability steps and lots", "application/json"
        ),
        "certificationInfo": one(
            f"{api}/certification", f"{name}: verified figures and ledger entries", "application/json"
        ),
        "registryEntry": one(
            str(company.get("profile_url", f"{base}/api/v1/companies")),
            f"{company.get('legal_name', 'Seller')}: civil status (état civil)",
            "application/json",
        ),
    }


def select_link(card: CachedCard, base: str, link: gs1.DigitalLink, link_type: str) -> str:
    """The target of ``?linkType=…``; the default link when the item has no link of that type."""
    found = links(card, base, link)
    chosen = found.get(_link_name(link_type)) or found["defaultLink"]
    return str(chosen[0]["href"])


def linkset(card: CachedCard, base: str, link: gs1.DigitalLink | None = None) -> bytes:
    """The RFC 9264 JSON linkset, in the shape GS1's linkset schema validates."""
    name = str(card.data.get("name", ""))
    entry: dict[str, Any] = {
        "anchor": _anchor(card, base, link),
        "description": name,
        "itemDescription": name,
    }
    for short, targets in links(card, base, link).items():
        entry[GS1_VOC + short] = targets
    return encode({"linkset": [entry]})


def link_header(card: CachedCard, base: str, link: gs1.DigitalLink | None = None) -> str:
    anchor = _anchor(card, base, link)
    return f'<{anchor}?linkType=linkset>; rel="linkset"; type="application/linkset+json"'


def scan_context(card: CachedCard, base: str, link: gs1.DigitalLink) -> dict[str, Any]:
    """What was scanned beyond the GTIN: qualifiers, data attributes, and the lot's record when we have it."""
    scanned: dict[str, Any] = {"digital_link": link.uri(base)}
    if link.gtin != card.ref.gtin:
        scanned["gtin"] = link.gtin
    for key, value in (("cpv", link.cpv), ("lot", link.lot), ("serial", link.serial)):
        if value is not None:
            scanned[key] = value
    if link.attributes:
        scanned["attributes"] = [gs1.describe_attribute(ai, value) for ai, value in link.attributes]
    context: dict[str, Any] = {"scan": scanned}
    if link.lot is not None:
        lot = card.lot(link.lot)
        scanned["lot_known"] = lot is not None
        context["lot"] = lot
    return context


def with_context(card: CachedCard, base: str, link: gs1.DigitalLink | None) -> bytes:
    """The card's JSON, with the scan context first when there is one (spliced, the card is not re-encoded)."""
    if link is None or (not link.qualifiers and not link.attributes and link.gtin == card.ref.gtin):
        return card.body
    if link.serial is None and not link.attributes:
        return card.rendering(f"json:{link.path()}", lambda: _splice(card, base, link))
    return _splice(card, base, link)


def _splice(card: CachedCard, base: str, link: gs1.DigitalLink) -> bytes:
    prefix = encode(scan_context(card, base, link))
    return prefix[:-1] + b"," + card.body[1:]


# -- views behind the link types -------------------------------------------------------------------------------


def _header(card: CachedCard) -> dict[str, Any]:
    data = card.data
    return {"gtin": card.ref.gtin, "name": data.get("name"), "version": data.get("version")}


def sustainability_view(card: CachedCard) -> dict[str, Any]:
    data = card.data
    identity = data.get("identity_card", {})
    seller = [h for h in data.get("highlights", []) if h.get("key") == "carbon_footprint_per_employee"]
    return {
        **_header(card),
        "carbon_footprint": identity.get("carbon_footprint"),
        "labour_cost_share_pct": identity.get("labour_cost_share_pct"),
        "manufacturing_time": identity.get("manufacturing_time"),
        "production_places": identity.get("production_places", []),
        "seller": {"company": data.get("company"), "highlights": seller},
    }


def traceability_view(card: CachedCard, lot: str | None = None) -> dict[str, Any]:
    identity = card.data.get("identity_card", {})
    lots = identity.get("lots", [])
    if lot is not None:
        lots = [entry for entry in lots if entry.get("batch") == lot]
    return {
        **_header(card),
        "traceability": identity.get("traceability", []),
        "production_places": identity.get("production_places", []),
        "lots": lots,
    }


def certification_view(card: CachedCard) -> dict[str, Any]:
    data = card.data
    return {
        **_header(card),
        "card_sha256": data.get("card_sha256"),
        "ledger_index": data.get("ledger_index"),
        "versions": data.get("links", {}).get("versions"),
        "company": data.get("company"),
        "transparency_score": data.get("transparency_score"),
        "highlights": data.get("highlights", []),
    }


def description_file(base: str) -> dict[str, Any]:
    """``/.well-known/gs1resolver`` (GS1-Conformant Resolver description file)."""
    return {
        "name": "Sésame GS1 Digital Link resolver",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": GS1_VOC, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": True,
        "linkTypeDefaultCanBeAll": True,
        "supportedContextValuesEnumerated": [],
        "supportedContextValuesExternal": [],
        "validatedLinkTypes": [GS1_VOC + name for name in LINK_TYPES],
        "linksetContext": LINKSET_CONTEXT,
    }


# -- the HTML page ------------------------------------------------------------------------------------------------

_TEXT = {
    "fr": {
        "seller": "Vendu par",
        "score": "Score de transparence",
        "figures": "Chiffres de l'entreprise",
        "card": "Carte d'identité du produit",
        "lot": "Lot scanné",
        "unknown_lot": "Ce lot n'est pas dans la carte du produit.",
        "trace": "Traçabilité",
        "places": "Lieux de production",
        "time": "Temps de fabrication",
        "labour": "Part du coût du travail",
        "carbon": "Empreinte carbone",
        "nutrition": "Valeurs nutritionnelles pour 100 g",
        "stock": "Stock",
        "links": "Données",
        "attested": "vérifié",
        "self_declared": "déclaré, non vérifié",
        "expired": "vérification expirée",
        "revoked": "vérification révoquée",
        "refused": "vérification refusée",
        "undisclosed": "non publié",
        "days": "jours",
        "best_before": "À consommer de préférence avant",
        "use_by": "À consommer jusqu'au",
        "produced_on": "Produit le",
    },
    "en": {
        "seller": "Sold by",
        "score": "Transparency score",
        "figures": "The company's figures",
        "card": "Product identity card",
        "lot": "Scanned lot",
        "unknown_lot": "This lot is not on the product's card.",
        "trace": "Traceability",
        "places": "Production places",
        "time": "Manufacturing time",
        "labour": "Labour-cost share",
        "carbon": "Carbon footprint",
        "nutrition": "Nutrition per 100 g",
        "stock": "Stock",
        "links": "Data",
        "attested": "verified",
        "self_declared": "self-declared, not verified",
        "expired": "verification expired",
        "revoked": "verification revoked",
        "refused": "verification refused",
        "undisclosed": "not disclosed",
        "days": "days",
        "best_before": "Best before",
        "use_by": "Use by",
        "produced_on": "Produced on",
    },
}


def page_language(accept_language: str | None) -> str:
    if accept_language:
        for item in accept_language.split(","):
            tag = item.split(";")[0].strip().lower()[:2]
            if tag in _TEXT:
                return tag
    return "fr"


def _figure(value: Any, unit: Any) -> str:
    if value is None:
        return "—"
    if unit in (None, ""):
        return escape(str(value))
    return escape(f"{value}{unit}" if unit == "%" else f"{value} {unit}")


def _place(place: dict[str, Any]) -> str:
    parts = [place.get("name"), place.get("city"), place.get("region"), place.get("country")]
    return escape(", ".join(str(p) for p in parts if p))


def product_page(card: CachedCard, base: str, link: gs1.DigitalLink | None, lang: str) -> str:
    """A self-contained, escaped HTML page of the card (the web layer may restyle it)."""
    t = _TEXT.get(lang, _TEXT["fr"])
    data = card.data
    identity: dict[str, Any] = data.get("identity_card", {})
    company: dict[str, Any] = data.get("company", {})
    label = "label_fr" if lang == "fr" else "label_en"
    out: list[str] = [
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(str(data.get('name', '')))} · Sésame</title>",
        '<link rel="stylesheet" href="/static/sesame.css">',
        f'<link rel="linkset" type="application/linkset+json" href="{escape(_anchor(card, base, link))}?linkType=linkset">',
        '</head><body><main class="product-card">',
        f"<h1>{escape(str(data.get('name', '')))}</h1>",
    ]
    if identity.get("brand"):
        out.append(f'<p class="brand">{escape(str(identity["brand"]))}</p>')
    out.append(f'<p class="gtin">GTIN <span class="digits">{escape(card.ref.gtin)}</span></p>')
    if identity.get("description"):
        out.append(f"<p>{escape(str(identity['description']))}</p>")
    if link is not None and link.lot is not None:
        lot = card.lot(link.lot)
        out.append(f'<section class="lot"><h2>{t["lot"]} {escape(link.lot)}</h2>')
        if lot is None:
            out.append(f"<p>{t['unknown_lot']}</p>")
        else:
            out.append("<dl>")
            for key in ("produced_on", "best_before", "use_by"):
                if lot.get(key):
                    out.append(f"<dt>{t[key]}</dt><dd>{escape(str(lot[key]))}</dd>")
            if lot.get("production_place"):
                out.append(f"<dt>{t['places']}</dt><dd>{_place(lot['production_place'])}</dd>")
            out.append("</dl>")
        out.append("</section>")
    out.append(
        f'<section class="seller"><h2>{t["seller"]} {escape(str(company.get("legal_name", "")))}</h2>'
        f'<p class="score">{t["score"]}: <strong>{escape(str(data.get("transparency_score", "—")))}</strong>/100</p>'
        f'<h3>{t["figures"]}</h3><ul class="highlights">'
    )
    for item in data.get("highlights", []):
        state = str(item.get("state", "undisclosed"))
        age = item.get("age_days")
        age_text = f" · {age} {t['days']}" if isinstance(age, int) else ""
        shown = _figure(item.get("value"), item.get("unit")) if item.get("disclosed") else "—"
        out.append(
            f'<li class="highlight {escape(state)}"><span class="label">{escape(str(item.get(label, "")))}</span> '
            f'<strong class="value">{shown}</strong> '
            f'<span class="state">{escape(t.get(state, state))}{escape(age_text)}</span></li>'
        )
    out.append("</ul></section>")
    out.append(f'<section class="identity"><h2>{t["card"]}</h2><dl>')
    if identity.get("manufacturing_time"):
        m = identity["manufacturing_time"]
        out.append(f"<dt>{t['time']}</dt><dd>{_figure(m.get('value'), m.get('unit'))}</dd>")
    if identity.get("labour_cost_share_pct") is not None:
        out.append(f"<dt>{t['labour']}</dt><dd>{_figure(identity['labour_cost_share_pct'], '%')}</dd>")
    if identity.get("carbon_footprint"):
        c = identity["carbon_footprint"]
        out.append(
            f"<dt>{t['carbon']}</dt><dd>{_figure(c.get('value'), c.get('unit'))} / {escape(str(c.get('per')))}</dd>"
        )
    if identity.get("stock") is not None:
        out.append(f"<dt>{t['stock']}</dt><dd>{escape(str(identity['stock']))}</dd>")
    out.append("</dl>")
    if identity.get("production_places"):
        places = "".join(f"<li>{_place(p)}</li>" for p in identity["production_places"])
        out.append(f"<h3>{t['places']}</h3><ul>{places}</ul>")
    if identity.get("traceability"):
        steps = "".join(
            f"<li><strong>{escape(str(s.get('step', '')))}</strong> · {_place(s.get('place', {}))}"
            + (f" · {escape(str(s['started_on']))}" if s.get("started_on") else "")
            + (f" → {escape(str(s['ended_on']))}" if s.get("ended_on") else "")
            + "</li>"
            for s in identity["traceability"]
        )
        out.append(f"<h3>{t['trace']}</h3><ol>{steps}</ol>")
    if identity.get("nutrition_per_100g"):
        rows = "".join(
            f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
            for k, v in identity["nutrition_per_100g"].items()
        )
        out.append(f"<h3>{t['nutrition']}</h3><table>{rows}</table>")
    out.append("</section>")
    anchors = "".join(
        f'<li><a href="{escape(str(targets[0]["href"]))}" rel="{escape(GS1_VOC + name)}">{escape(name)}</a></li>'
        for name, targets in links(card, base, link).items()
        if name not in ("pip", "defaultLink")
    )
    qr = f"{base}/api/v1/products/{card.ref.gtin}/qr.svg"
    out.append(
        f'<section class="links"><h2>{t["links"]}</h2><ul>{anchors}'
        f'<li><a href="{escape(qr)}">QR</a></li></ul></section></main></body></html>'
    )
    return "".join(out)


#: Replaceable by the web layer: ``(card, base_url, scanned_link_or_None, lang) -> html``.
PAGE_RENDERER: list[Callable[[CachedCard, str, gs1.DigitalLink | None, str], str]] = [product_page]
