"""``sesame labels``: a printable sheet of a company's product QR labels (SVG or PDF)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from sesame.cli import emit, run
from sesame.settings import get_settings

if TYPE_CHECKING:
    from scanner.labels import Label


async def _labels(company_id: int) -> list[Label]:
    from scanner import gs1, services
    from scanner.labels import Label
    from sesame import wiring
    from sesame.db import create_engine, create_sessionmaker
    from sesame.errors import NotFound

    wiring.install()
    settings = get_settings()
    engine = create_engine(settings)
    labels: list[Label] = []
    try:
        async with create_sessionmaker(engine)() as session:
            offset = 0
            while True:
                try:
                    page = await services.list_products(
                        session, company_id, public_url=settings.public_url, limit=500, offset=offset
                    )
                except NotFound as exc:
                    raise click.ClickException(f"no company {company_id}") from exc
                labels.extend(
                    Label(gtin=p.gtin, name=p.name, uri=gs1.digital_link(settings.public_url, p.gtin))
                    for p in reversed(page.items)
                )
                offset += len(page.items)
                if not page.items or offset >= page.total:
                    break
    finally:
        await engine.dispose()
    return labels


@click.command()
@click.option("--company", "company_id", required=True, type=int, help="the company whose products to print")
@click.option("--format", "fmt", type=click.Choice(["svg", "pdf"]), default="pdf", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="default: labels-<company>.<format>",
)
@click.option("--json", "as_json", is_flag=True)
def labels(company_id: int, fmt: str, out: Path | None, as_json: bool) -> None:
    """Write a printable A4 sheet (3 x 7 labels): each product's GS1 Digital Link QR code, its GTIN under it."""
    from scanner.labels import label_sheet_pdf, label_sheet_svg

    found = run(lambda: _labels(company_id))
    out = out or Path(f"labels-{company_id}.{fmt}")
    render = label_sheet_pdf if fmt == "pdf" else label_sheet_svg
    out.write_bytes(render(found))
    pages = max(1, -(-len(found) // 21))
    emit(
        {"file": str(out), "format": fmt, "labels": len(found), "pages": pages},
        as_json=as_json,
        human=f"{len(found)} labels on {pages} page(s) written to {out} ({fmt.upper()})",
    )


COMMANDS = [labels]
