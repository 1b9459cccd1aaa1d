"""Geohash cells as Sésame uses them: a citizen's place is never finer than precision 5 (about 4.9 km × 4.9 km).

A recommendation's zone and a citizen's offers zone are cells of precision exactly 5; the zone portal also
publishes their precision-4 parents (about 39 km × 19.5 km); an offer may target any prefix of precision 1 to 5.
Geohash has no ``a``, ``i``, ``l`` or ``o``; input is folded to lower case.

Example::

    normalise_cell("U09TV")      # "u09tv"
    normalise_cell("u09tvw")     # ValueError: a zone is a geohash of exactly 5 characters
    normalise_prefix("u09")      # "u09"
"""

from __future__ import annotations

__all__ = ["ALPHABET", "CELL_PRECISION", "PARENT_PRECISION", "normalise_cell", "normalise_prefix"]

ALPHABET = frozenset("0123456789bcdefghjkmnpqrstuvwxyz")
#: Precision of a stated zone: the finest location Sésame ever stores about a citizen.
CELL_PRECISION = 5
#: The coarser level the zone portal publishes.
PARENT_PRECISION = 4


def _check_alphabet(text: str) -> None:
    bad = sorted({c for c in text if c not in ALPHABET})
    if bad:
        raise ValueError(
            f"not a geohash: {''.join(bad)!r} is outside the geohash alphabet (0-9, b-z without i, l, o)"
        )


def normalise_cell(value: str) -> str:
    """A geohash of precision exactly 5, lower case; ``ValueError`` (the field-level reason) otherwise."""
    text = value.strip().lower()
    if len(text) != CELL_PRECISION:
        raise ValueError(
            f"a zone is a geohash of exactly {CELL_PRECISION} characters (about 5 km), never finer"
        )
    _check_alphabet(text)
    return text


def normalise_prefix(value: str, *, max_precision: int = CELL_PRECISION) -> str:
    """A geohash prefix of precision 1 to ``max_precision``, lower case; ``ValueError`` otherwise."""
    text = value.strip().lower()
    if not 1 <= len(text) <= max_precision:
        raise ValueError(f"a zone prefix is a geohash of 1 to {max_precision} characters")
    _check_alphabet(text)
    return text
