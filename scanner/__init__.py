"""The product scanner: catalogue, GS1 Digital Link parsing, QR codes, the resolver and the shopper's card.

Modules: ``gs1`` (parse and normalise anything a scanner reads, with biip), ``qr`` (segno out, zxing-cpp in),
``services`` (catalogue, versioned cards, the card's two halves), ``cards`` (per-worker cache of encoded cards),
``resolver`` (content negotiation, RFC 9264 linkset, product page), ``labels`` (printable label sheets),
``api`` (routes), ``checkout`` (the payment confirmation gate).

Example::

    from scanner import gs1, services

    link = gs1.parse_scanned("https://id.gs1.org/01/09520123456788/10/ABC1")   # any domain, any form
    card = await services.card_for_gtin(session, link.gtin, public_url=settings.public_url)
"""
