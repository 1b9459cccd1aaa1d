"""Publishing aggregates of citizens' recommendations without singling anyone out.

Transparency is asked of companies, not of people. The zone portal and the company summaries publish counts and
ratios of what citizens think; this module decides which of those numbers may be published. It is pure (no
database, no clock) so the reasoning below can be tested exhaustively.

**The threat.** Someone (a merchant, a town, a company watching its own page) reads every published number, knows
how the publication is structured (which cells nest in which, which sectors in which) and may know a lot about
the people around. They want the opinion of a small group, ideally one person ("the only citizen of cell u09tv
who rated the bakery").

**Groups.** A contribution is one recommendation (one citizen, one company) placed in fixed hierarchies, coarsest
first:

* ``zone``: the precision-4 geohash cell, then the precision-5 cell (the finest place Sésame ever stores);
* ``sector``: all sectors (``*``), then the NACE division (``47``), group (``47.1``) and class (``47.11``);
* ``month``: all time (``*``), then the month of the recommendation's last update (the trend).

A *group* picks one level in every dimension, e.g. ``("u09t", "47", "*")``, and aggregates every contribution
under it: distinct citizens, recommendations, how many recommend, yes/no per criterion. Only this fixed lattice
is ever published: no free polygon, radius or date range that could be slid over one person.

**Rule 1: k distinct citizens.** A group is published only if at least ``k`` *distinct citizens* contributed
(``k`` = ``settings.k_anonymity``, 5 by default, never below 2). Counting citizens, not recommendations, means one
person with five recommendations cannot open a cell alone.

**Rule 1 is not enough: differencing.** If the parent cell ``u09t`` (12 citizens) is published and so are all its
children but ``u09tv``, which has 12 − 11 = 1 citizen, then *parent minus the published children* is that
citizen's opinion. The same attack works along every dimension (a sector total minus the published sectors,
all-time minus the published months) and across dimensions at once: "all of ``u09t`` in March, minus
restaurants of ``u09t`` in March, minus everything in ``u09ty`` in March" can leave one bakery-goer of ``u09tz``.
Checking parent-minus-children one dimension at a time misses that last kind; the tests found such cases on
random data, which is why the rule below is stated over *regions*, not over parents.

**Rule 2: every region has 0 or at least k citizens.** Take the published groups; two contributions are in the
same *region* when they belong to exactly the same published groups (the cells of the Venn diagram of the
published groups). Any number an attacker computes from published aggregates — sums, differences, any linear
combination — gives the same weight to every contribution of a region, so the finest thing they can ever
isolate is a whole region (or a union of regions). Hence the rule: **every region covered by at least one
published group has at least k distinct citizens.** Contributions in no published group form no region: nothing
published touches them. Parent-minus-published-children is a union of regions, so it always has 0 or ≥ k
citizens; so has any subtraction chain, across any dimensions.

**How groups are chosen (complementary suppression).** Groups are admitted one by one, coarsest and largest first
(``u09t`` all sectors all time, then its precision-5 cells, then sector divisions, finer sectors, and last the
months of the trend); a group is admitted only if splitting the current regions by it leaves every covered
region with 0 or ≥ k citizens. So a cell with k citizens of its own is still withheld when publishing it would
leave its parent's remainder with 1 to k−1 citizens: that is complementary suppression, decided the same way for
every request (the result depends only on the data, never on what was asked). Blocks under different
precision-4 cells share no contribution and are decided separately.

**What this does not promise.** (1) Homogeneity: if all k citizens of a region say the same thing, the published
ratio says what each of them thinks (k-anonymity is not l-diversity). (2) Distinct-citizen counts are not sums:
two nested published groups can tell how many people appear only in the outer one, though never what they said.
(3) Differencing over *time*: a number read before and after one known person updates their recommendation moves
by that person's contribution. Month buckets obey rule 2, which hides *when*, but totals are live. Noise
(differential privacy) or batched releases would close this; they are left out on purpose and named here so that
nobody believes otherwise. (4) Different publications of the same data (a company's summary and the zone portal)
are each safe alone; their combination is not audited.

Example::

    contributions = [Contribution(citizen=7, coordinates=("u09tv", "47.11", "2025-03"), recommend=True,
                                  criteria=(True, None, True, None, False)), ...]
    publication = publish(contributions, ZONE_DIMENSIONS, k=5)
    publication.get(("u09t", "47", "*"))      # a Tally, or None when not published
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

__all__ = [
    "ALL",
    "CRITERIA",
    "MONTH",
    "SECTOR",
    "SUMMARY_DIMENSIONS",
    "ZONE",
    "ZONE_DIMENSIONS",
    "Contribution",
    "Dimension",
    "GroupKey",
    "Publication",
    "Tally",
    "publish",
    "sector_chain",
]

ALL = "*"
#: The criteria a citizen recommends a company on (or not), in the order tallies keep them.
CRITERIA: tuple[str, ...] = ("financial", "ethical", "quality", "commercial", "service")
_NACE = re.compile(r"\d{2}(?:\.\d{1,2})?")

GroupKey = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Dimension:
    """A fixed hierarchy: ``chain(finest value)`` gives the keys from coarsest to finest."""

    name: str
    chain: Callable[[str | None], tuple[str, ...]]
    #: How much one level down this dimension costs when groups are admitted (cheapest first).
    weight: int = 1


def _zone_chain(cell: str | None) -> tuple[str, ...]:
    if not cell:
        raise ValueError("a zone contribution needs a cell")
    return (cell[:4], cell[:5])


def sector_chain(code: str | None) -> tuple[str, ...]:
    """``"47.11"`` → ``("*", "47", "47.1", "47.11")``; an unknown or malformed code counts only under ``*``."""
    if not code or not _NACE.fullmatch(code):
        return (ALL,)
    chain = [ALL, code[:2]]
    if len(code) >= 4:
        chain.append(code[:4])
    if len(code) == 5:
        chain.append(code)
    return tuple(chain)


def _month_chain(month: str | None) -> tuple[str, ...]:
    return (ALL, month) if month else (ALL,)


ZONE = Dimension("zone", _zone_chain)
SECTOR = Dimension("sector", sector_chain, weight=2)
MONTH = Dimension("month", _month_chain, weight=10)
#: The zone portal's lattice: (zone, sector, month).
ZONE_DIMENSIONS: tuple[Dimension, ...] = (ZONE, SECTOR, MONTH)
#: A company's own summary: all time and months.
SUMMARY_DIMENSIONS: tuple[Dimension, ...] = (MONTH,)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One recommendation: ``citizen`` is only used to count distinct people; ``coordinates`` holds the finest
    value in each dimension, in the order of the dimensions given to ``publish``."""

    citizen: int
    coordinates: tuple[str | None, ...]
    recommend: bool
    criteria: tuple[bool | None, ...]


@dataclass(frozen=True, slots=True)
class Tally:
    """What is published of one group."""

    citizens: int
    recommendations: int
    recommending: int
    #: ``(yes, no)`` per criterion, in ``CRITERIA`` order; a criterion left unanswered counts in neither.
    criteria: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, contributions: Iterable[Contribution]) -> Tally:
        people: set[int] = set()
        count = recommending = 0
        yes = [0] * len(CRITERIA)
        no = [0] * len(CRITERIA)
        for c in contributions:
            people.add(c.citizen)
            count += 1
            recommending += c.recommend
            for i, answer in enumerate(c.criteria):
                if answer is True:
                    yes[i] += 1
                elif answer is False:
                    no[i] += 1
        return cls(
            citizens=len(people),
            recommendations=count,
            recommending=recommending,
            criteria=tuple(zip(yes, no, strict=True)),
        )


@dataclass(frozen=True)
class Publication:
    """The published groups of a lattice and their tallies; anything absent is not published."""

    k: int
    dimensions: tuple[str, ...]
    groups: Mapping[GroupKey, Tally]
    #: Published children of a published group along each dimension: ``{(group, dimension index): [child]}``.
    children: Mapping[tuple[GroupKey, int], tuple[GroupKey, ...]] = field(default_factory=dict)

    def get(self, key: GroupKey) -> Tally | None:
        return self.groups.get(key)

    def published_children(self, key: GroupKey, dimension: str) -> tuple[GroupKey, ...]:
        return self.children.get((key, self.dimensions.index(dimension)), ())


class _Block:
    """The lattice under one root of the first dimension; blocks never overlap, so each is decided alone.

    Work is done on *atoms*, the finest cells (one level per dimension, the deepest): every group is a union of
    atoms, so every region is too, and contributions of one atom never need to be told apart.
    """

    def __init__(
        self, contributions: Sequence[Contribution], dimensions: Sequence[Dimension], k: int
    ) -> None:
        self.k = k
        by_atom: dict[tuple[tuple[str, ...], ...], list[Contribution]] = defaultdict(list)
        for contribution in contributions:
            chains = tuple(
                dim.chain(value) for dim, value in zip(dimensions, contribution.coordinates, strict=True)
            )
            by_atom[chains].append(contribution)
        atoms = sorted(by_atom)
        self.atom_contributions = [by_atom[a] for a in atoms]
        self.atom_citizens = [frozenset(c.citizen for c in by_atom[a]) for a in atoms]
        #: Per dimension, each key's parent key (to list published children).
        self.up: list[dict[str, str]] = [{} for _ in dimensions]
        members: dict[GroupKey, list[int]] = defaultdict(list)
        levels_of: dict[GroupKey, tuple[int, ...]] = {}
        for index, chains in enumerate(atoms):
            for d, chain in enumerate(chains):
                for level in range(1, len(chain)):
                    self.up[d][chain[level]] = chain[level - 1]
            for key in product(*chains):
                if key not in levels_of:
                    levels_of[key] = tuple(chain.index(v) for chain, v in zip(chains, key, strict=True))
                members[key].append(index)
        self.members = dict(members)
        weights = [dim.weight for dim in dimensions]
        self.size = {key: self._citizens(atom_ids) for key, atom_ids in members.items()}
        self.priority = {
            key: (sum(w * level for w, level in zip(weights, levels, strict=True)), -self.size[key], key)
            for key, levels in levels_of.items()
        }

    def _citizens(self, atom_ids: Iterable[int]) -> int:
        people: set[int] = set()
        for a in atom_ids:
            people.update(self.atom_citizens[a])
        return len(people)

    def decide(self) -> set[GroupKey]:
        """Admit groups coarsest first while every covered region keeps 0 or ≥ k distinct citizens (rule 2)."""
        k = self.k
        region_of = [0] * len(self.atom_citizens)  # region 0: atoms in no published group
        regions: dict[int, set[int]] = {0: set(range(len(self.atom_citizens)))}
        published: set[GroupKey] = set()
        candidates = sorted((key for key, n in self.size.items() if n >= k), key=self.priority.__getitem__)
        for key in candidates:
            split: dict[int, list[int]] = defaultdict(list)
            for a in self.members[key]:
                split[region_of[a]].append(a)
            if any(
                self._citizens(inside) < k
                or (region != 0 and 0 < self._citizens(regions[region].difference(inside)) < k)
                for region, inside in split.items()
            ):
                continue
            published.add(key)
            for region, inside in split.items():
                if region != 0 and len(inside) == len(regions[region]):
                    continue  # the whole region is in the group: it stays one region
                new = len(regions)
                regions[new] = set(inside)
                regions[region].difference_update(inside)
                for a in inside:
                    region_of[a] = new
        return published

    def tally(self, key: GroupKey) -> Tally:
        return Tally.of(c for a in self.members[key] for c in self.atom_contributions[a])

    def children(self, published: set[GroupKey]) -> dict[tuple[GroupKey, int], list[GroupKey]]:
        """Published children of each published group, along each dimension."""
        out: dict[tuple[GroupKey, int], list[GroupKey]] = defaultdict(list)
        for key in published:
            for d, value in enumerate(key):
                parent_value = self.up[d].get(value)
                if parent_value is not None:
                    parent = (*key[:d], parent_value, *key[d + 1 :])
                    if parent in published:
                        out[(parent, d)].append(key)
        return out


def publish(contributions: Sequence[Contribution], dimensions: Sequence[Dimension], k: int) -> Publication:
    """Decide what may be published of ``contributions`` over the lattice of ``dimensions`` (rules 1 and 2)."""
    if k < 2:
        raise ValueError("k-anonymity needs k of at least 2")
    blocks: dict[str, list[Contribution]] = defaultdict(list)
    for contribution in contributions:
        blocks[dimensions[0].chain(contribution.coordinates[0])[0]].append(contribution)
    groups: dict[GroupKey, Tally] = {}
    children: dict[tuple[GroupKey, int], tuple[GroupKey, ...]] = {}
    for root in sorted(blocks):
        block = _Block(blocks[root], dimensions, k)
        published = block.decide()
        for key in published:
            groups[key] = block.tally(key)
        for rel, kids in block.children(published).items():
            children[rel] = tuple(sorted(kids))
    return Publication(k=k, dimensions=tuple(d.name for d in dimensions), groups=groups, children=children)
