"""The recommendations branch of Sésame's one exception tree (mapped to RFC 9457 by ``sesame.problems``)."""

from __future__ import annotations

from sesame.errors import Forbidden, NotFound

__all__ = ["NotEligible", "RecommendationNotFound"]


class NotEligible(Forbidden):
    """Only a customer may recommend: an open account on their Sésame, or a confirmed checkout."""

    type_slug = "not-eligible-to-recommend"
    title = "Only citizens with an open account or a confirmed checkout with this company may recommend it"


class RecommendationNotFound(NotFound):
    type_slug = "recommendation-not-found"
    title = "You have not recommended this company"
