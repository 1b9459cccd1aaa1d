"""The publication rules, attacked: k at the boundary, differencing along and across dimensions, linear algebra."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from company_profiles.recommendations import geohash
from company_profiles.recommendations.disclosure import (
    ALL,
    CRITERIA,
    SUMMARY_DIMENSIONS,
    ZONE_DIMENSIONS,
    Contribution,
    Dimension,
    GroupKey,
    Publication,
    publish,
    sector_chain,
)

K = 5
NO_OPINION = (None,) * len(CRITERIA)


def contribution(
    citizen: int, cell: str, sector: str | None = "47.11", month: str = "2025-03"
) -> Contribution:
    return Contribution(
        citizen=citizen, coordinates=(cell, sector, month), recommend=True, criteria=NO_OPINION
    )


def groups_of(c: Contribution, dimensions: tuple[Dimension, ...]) -> list[GroupKey]:
    chains = [d.chain(v) for d, v in zip(dimensions, c.coordinates, strict=True)]
    return [tuple(chain) for chain in itertools.product(*chains)]


def residual_citizens(
    publication: Publication,
    contributions: list[Contribution],
    dimensions: tuple[Dimension, ...],
    parent: GroupKey,
    d: int,
) -> set[int]:
    """Whose contributions ``parent`` minus its published children along dimension ``d`` isolates."""
    people = set()
    for c in contributions:
        chain = dimensions[d].chain(c.coordinates[d])
        if parent not in groups_of(c, dimensions):
            continue
        level = chain.index(parent[d])
        child = (*parent[:d], chain[level + 1], *parent[d + 1 :]) if level + 1 < len(chain) else None
        if child is None or child not in publication.groups:
            people.add(c.citizen)
    return people


def assert_parent_minus_children_safe(
    publication: Publication, contributions: list[Contribution], dimensions: tuple[Dimension, ...], k: int
) -> None:
    for parent in publication.groups:
        for d in range(len(dimensions)):
            people = residual_citizens(publication, contributions, dimensions, parent, d)
            assert len(people) == 0 or len(people) >= k, (parent, d, sorted(people))


def assert_regions_safe(
    publication: Publication, contributions: list[Contribution], dimensions: tuple[Dimension, ...], k: int
) -> None:
    regions: dict[frozenset[GroupKey], set[int]] = defaultdict(set)
    for c in contributions:
        signature = frozenset(g for g in groups_of(c, dimensions) if g in publication.groups)
        if signature:
            regions[signature].add(c.citizen)
    for signature, people in regions.items():
        assert len(people) >= k, (sorted(signature), sorted(people))


def derivable_small_sets(
    publication: Publication, contributions: list[Contribution], dimensions: tuple[Dimension, ...], k: int
) -> list[tuple[GroupKey, ...]]:
    """Sets of one or two finest cells with 1 to k−1 citizens whose totals a linear attacker can compute."""
    finest = {
        c: tuple(d.chain(v)[-1] for d, v in zip(dimensions, c.coordinates, strict=True))
        for c in contributions
    }
    atoms = sorted(set(finest.values()))
    if not publication.groups or not atoms:
        return []
    example = {atom: c for c, atom in finest.items()}
    matrix = np.array(
        [[1.0 if g in groups_of(example[a], dimensions) else 0.0 for a in atoms] for g in publication.groups]
    )
    rank = np.linalg.matrix_rank(matrix)
    people: dict[GroupKey, set[int]] = defaultdict(set)
    for c, atom in finest.items():
        people[atom].add(c.citizen)
    found = []
    for size in (1, 2):
        for combo in itertools.combinations(range(len(atoms)), size):
            who = set().union(*(people[atoms[i]] for i in combo))
            if 0 < len(who) < k:
                probe = np.zeros(len(atoms))
                probe[list(combo)] = 1.0
                if np.linalg.matrix_rank(np.vstack([matrix, probe])) == rank:
                    found.append(tuple(atoms[i] for i in combo))
    return found


# -- geohash and sectors --------------------------------------------------------------------------------------
def test_zone_is_exactly_precision_five_in_the_geohash_alphabet() -> None:
    assert geohash.normalise_cell(" U09TV ") == "u09tv"
    for finer_or_coarser in ("u09t", "u09tvw", "", "u09tvwxyz"):
        with pytest.raises(ValueError, match="exactly 5"):
            geohash.normalise_cell(finer_or_coarser)
    for outside in ("u09ta", "u09ti", "u09tl", "u09to", "u09t!", "u09t é"[:5]):
        with pytest.raises(ValueError):
            geohash.normalise_cell(outside)
    assert geohash.normalise_prefix("U0") == "u0"
    with pytest.raises(ValueError):
        geohash.normalise_prefix("u09tvw")


def test_sector_chain_follows_nace_levels() -> None:
    assert sector_chain("47.11") == (ALL, "47", "47.1", "47.11")
    assert sector_chain("47.1") == (ALL, "47", "47.1")
    assert sector_chain("47") == (ALL, "47")
    assert sector_chain(None) == (ALL,)
    assert sector_chain("4711") == (ALL,)


# -- rule 1: k distinct citizens at the boundary --------------------------------------------------------------
def test_k_minus_one_citizens_hidden_k_shown() -> None:
    below = [contribution(i, "u09tv") for i in range(K - 1)]
    assert publish(below, ZONE_DIMENSIONS, K).groups == {}
    at = [*below, contribution(K - 1, "u09tv")]
    publication = publish(at, ZONE_DIMENSIONS, K)
    for key in (
        ("u09t", ALL, ALL),
        ("u09tv", ALL, ALL),
        ("u09tv", "47.11", ALL),
        ("u09tv", "47.11", "2025-03"),
    ):
        tally = publication.get(key)
        assert tally is not None and tally.citizens == K, key


def test_one_citizen_with_many_recommendations_does_not_open_a_cell() -> None:
    crowd = [contribution(i, "u09tv") for i in range(K - 2)]
    prolific = [contribution(99, "u09tv", sector=f"47.{n}1") for n in range(1, 9)]
    assert len(crowd + prolific) >= K
    assert publish(crowd + prolific, ZONE_DIMENSIONS, K).groups == {}


def test_company_summary_boundary_and_months() -> None:
    def month(i: int, m: str) -> Contribution:
        return Contribution(citizen=i, coordinates=(m,), recommend=i % 2 == 0, criteria=NO_OPINION)

    assert publish([month(i, "2025-01") for i in range(K - 1)], SUMMARY_DIMENSIONS, K).groups == {}
    data = [month(i, "2025-01") for i in range(K)] + [month(100 + i, "2025-02") for i in range(K)]
    data.append(month(200, "2025-03"))
    publication = publish(data, SUMMARY_DIMENSIONS, K)
    total = publication.get((ALL,))
    assert total is not None and total.citizens == 2 * K + 1
    # March has one citizen: hidden. Publishing both January and February would leave all-time minus them =
    # that one citizen, so one of them is withheld too (complementary suppression).
    assert publication.get(("2025-03",)) is None
    assert sum(1 for m in ("2025-01", "2025-02") if publication.get((m,)) is not None) == 1
    assert_parent_minus_children_safe(publication, data, SUMMARY_DIMENSIONS, K)


# -- rule 2: differencing -------------------------------------------------------------------------------------
def test_parent_minus_published_children_never_isolates_a_small_cell() -> None:
    """u09tv and u09tw have k citizens each, u09ty has one: publishing u09t and both big cells would give
    u09ty's single citizen away as u09t − u09tv − u09tw."""
    data = [contribution(i, "u09tv") for i in range(K)]
    data += [contribution(100 + i, "u09tw") for i in range(K)]
    data.append(contribution(999, "u09ty"))
    publication = publish(data, ZONE_DIMENSIONS, K)
    parent = publication.get(("u09t", ALL, ALL))
    assert parent is not None and parent.citizens == 2 * K + 1
    shown = publication.published_children(("u09t", ALL, ALL), "zone")
    assert ("u09ty", ALL, ALL) not in shown
    assert len(shown) == 1, "one of the big cells is withheld so the remainder has k + 1 citizens"
    # The attack, done with the published numbers only:
    remainder = parent.recommendations - sum(publication.groups[c].recommendations for c in shown)
    assert remainder == 0 or remainder >= K
    assert_parent_minus_children_safe(publication, data, ZONE_DIMENSIONS, K)


def test_sector_breakdown_never_differs_from_a_published_total_by_fewer_than_k() -> None:
    data = [contribution(i, "u09tv", sector="47.11") for i in range(K)]
    data += [contribution(100 + i, "u09tv", sector="47.19") for i in range(2)]
    publication = publish(data, ZONE_DIMENSIONS, K)
    total = publication.get(("u09tv", ALL, ALL))
    assert total is not None
    for level in ("47", "47.1", "47.11"):
        breakdown = publication.get(("u09tv", level, ALL))
        if breakdown is not None:
            assert total.citizens - breakdown.citizens in (0,) or total.citizens - breakdown.citizens >= K
    assert publication.get(("u09tv", "47.11", ALL)) is None
    assert_parent_minus_children_safe(publication, data, ZONE_DIMENSIONS, K)


def test_differencing_across_dimensions_is_closed() -> None:
    """The attack rule-by-rule checks miss: March in u09t, minus restaurants of u09t in March, minus everything
    of u09ty in March, leaves the one bakery-goer of u09tz. Regions make it impossible."""
    data = [contribution(i, "u09tv", sector="56.10") for i in range(K)]
    data += [contribution(100 + i, "u09ty", sector="47.21") for i in range(K)]
    data.append(contribution(999, "u09tz", sector="47.19"))
    data += [contribution(200 + i, "u09tv", sector="56.10", month="2025-01") for i in range(K)]
    publication = publish(data, ZONE_DIMENSIONS, K)
    assert_regions_safe(publication, data, ZONE_DIMENSIONS, K)
    assert derivable_small_sets(publication, data, ZONE_DIMENSIONS, K) == []


def test_same_data_any_order_same_publication() -> None:
    rng = random.Random(7)
    data = [contribution(rng.randrange(40), rng.choice(["u09tv", "u09tw", "u09ty"])) for _ in range(60)]
    first = publish(data, ZONE_DIMENSIONS, K).groups
    rng.shuffle(data)
    assert publish(data, ZONE_DIMENSIONS, K).groups == first


# -- property: random data, every attack ----------------------------------------------------------------------
CELLS = ("u09tv", "u09tw", "u09ty", "u09tz", "u09sv", "gcpvj")
SECTORS = ("47.11", "47.19", "47.21", "56.10", "10.71", "47", None)
MONTHS = ("2025-01", "2025-02", "2025-03")

contributions_strategy = st.lists(
    st.builds(
        Contribution,
        citizen=st.integers(0, 40),
        coordinates=st.tuples(st.sampled_from(CELLS), st.sampled_from(SECTORS), st.sampled_from(MONTHS)),
        recommend=st.booleans(),
        criteria=st.tuples(*[st.sampled_from([True, False, None])] * len(CRITERIA)),
    ),
    max_size=90,
)


@settings(max_examples=120, deadline=None)
@given(data=contributions_strategy, k=st.integers(2, 6))
def test_random_publications_resist_differencing(data: list[Contribution], k: int) -> None:
    publication = publish(data, ZONE_DIMENSIONS, k)
    for key, tally in publication.groups.items():
        assert tally.citizens >= k, key
    assert_regions_safe(publication, data, ZONE_DIMENSIONS, k)
    assert_parent_minus_children_safe(publication, data, ZONE_DIMENSIONS, k)


@settings(max_examples=40, deadline=None)
@given(data=contributions_strategy, k=st.integers(2, 5))
def test_no_small_group_is_linearly_derivable(data: list[Contribution], k: int) -> None:
    """The strongest attacker: any linear combination of every published total (numpy rank test)."""
    publication = publish(data, ZONE_DIMENSIONS, k)
    assert derivable_small_sets(publication, data, ZONE_DIMENSIONS, k) == []


def test_k_below_two_is_refused() -> None:
    with pytest.raises(ValueError):
        publish([], ZONE_DIMENSIONS, 1)
