"""The catalogue of interest segments a citizen may opt into, and companies may send offers to.

Data, not code: adding a segment means adding one line.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SEGMENTS", "Segment", "is_segment"]


@dataclass(frozen=True, slots=True)
class Segment:
    key: str
    label_fr: str
    label_en: str


SEGMENTS: dict[str, Segment] = {
    s.key: s
    for s in (
        Segment("fashion", "Mode", "Fashion"),
        Segment("sport", "Sport", "Sport"),
        Segment("fine_food", "Épicerie fine", "Fine food"),
        Segment("tableware", "Arts de la table", "Tableware"),
        Segment("home", "Maison et décoration", "Home and decoration"),
        Segment("travel", "Voyages", "Travel"),
        Segment("books", "Livres", "Books"),
        Segment("electronics", "Électronique", "Electronics"),
        Segment("beauty", "Beauté", "Beauty"),
        Segment("kids", "Enfants", "Kids"),
        Segment("garden", "Jardin", "Garden"),
        Segment("music", "Musique", "Music"),
        Segment("wine", "Vins et spiritueux", "Wine and spirits"),
        Segment("diy", "Bricolage", "DIY"),
        Segment("pets", "Animaux", "Pets"),
        Segment("culture", "Spectacles et culture", "Shows and culture"),
        Segment("organic", "Bio et vrac", "Organic and bulk"),
        Segment("mobility", "Vélo et mobilité", "Bikes and mobility"),
    )
}


def is_segment(key: str) -> bool:
    return key in SEGMENTS
