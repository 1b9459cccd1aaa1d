"""The indicator catalogue: ranges, kinds, units and normal forms."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from company_profiles import catalogue
from company_profiles.catalogue import CATALOGUE, MANDATORY_KEYS, IndicatorKind, IndicatorValueError

PERCENTS = [i for i in CATALOGUE.values() if i.kind is IndicatorKind.percent]
NUMBERS = [i for i in CATALOGUE.values() if i.kind in (IndicatorKind.number, IndicatorKind.percent)]


def test_mandatory_and_required_optional_indicators() -> None:
    assert MANDATORY_KEYS == (
        "legal_name",
        "registration_id",
        "founding_date",
        "tax_residence",
        "registered_address",
        "nace_sector",
    )
    for key in (
        "headcount",
        "employee_satisfaction",
        "carbon_footprint_per_employee",
        "after_sales_staff_share",
        "gender_pay_index",
        "local_production_share",
    ):
        assert key in CATALOGUE and not CATALOGUE[key].mandatory
    assert CATALOGUE["carbon_footprint_per_employee"].unit == "tCO2e"
    assert all(i.unit == "%" and i.minimum == 0 and i.maximum == 100 for i in PERCENTS)
    assert all(i.label_fr and i.label_en for i in CATALOGUE.values())


@given(indicator=st.sampled_from(PERCENTS), value=st.floats(min_value=0, max_value=100))
def test_percent_in_range_is_accepted(indicator: catalogue.Indicator, value: float) -> None:
    normal = catalogue.normalise_value(indicator, value)
    assert normal == value
    assert isinstance(normal, int) == value.is_integer()


@given(
    indicator=st.sampled_from(PERCENTS),
    value=st.one_of(
        st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
        st.floats(min_value=100.000001, allow_nan=False, allow_infinity=False),
        st.integers(max_value=-1),
        st.integers(min_value=101),
    ),
)
def test_percent_out_of_range_is_rejected(indicator: catalogue.Indicator, value: float) -> None:
    with pytest.raises(IndicatorValueError, match="between 0 and 100"):
        catalogue.normalise_value(indicator, value)


@given(
    indicator=st.sampled_from(NUMBERS),
    value=st.one_of(st.text(max_size=5), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)),
)
def test_numbers_must_be_numbers(indicator: catalogue.Indicator, value: object) -> None:
    with pytest.raises(IndicatorValueError, match="number"):
        catalogue.normalise_value(indicator, value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**400, -(10**400)])
def test_non_finite_numbers_are_rejected(value: float) -> None:
    with pytest.raises(IndicatorValueError):
        catalogue.normalise_value(CATALOGUE["employee_satisfaction"], value)


@given(value=st.integers(min_value=0, max_value=100))
def test_gender_pay_index_is_whole_points(value: int) -> None:
    assert catalogue.normalise_value(CATALOGUE["gender_pay_index"], value) == value
    assert catalogue.normalise_value(CATALOGUE["gender_pay_index"], float(value)) == value


def test_integer_indicators_refuse_fractions() -> None:
    with pytest.raises(IndicatorValueError, match="whole"):
        catalogue.normalise_value(CATALOGUE["headcount"], 12.5)


def test_dates() -> None:
    founding = CATALOGUE["founding_date"]
    assert catalogue.normalise_value(founding, "1987-06-01", today=date(2025, 1, 1)) == "1987-06-01"
    for bad in ("1987-6-1", "2024-W01-1", "1987-02-30", "yesterday", "1399-12-31", 19870601):
        with pytest.raises(IndicatorValueError):
            catalogue.normalise_value(founding, bad, today=date(2025, 1, 1))
    with pytest.raises(IndicatorValueError, match="future"):
        catalogue.normalise_value(founding, "2030-01-01", today=date(2025, 1, 1))


def test_texts_and_codes_are_normalised() -> None:
    assert (
        catalogue.normalise_value(CATALOGUE["legal_name"], "  Boulangerie   Martin ") == "Boulangerie Martin"
    )
    assert catalogue.normalise_value(CATALOGUE["tax_residence"], "fr") == "FR"
    assert catalogue.normalise_value(CATALOGUE["nace_sector"], "1071") == "10.71"
    assert catalogue.normalise_value(CATALOGUE["registration_id"], "SIREN:552 100 554") == "siren:552100554"
    for key, bad in (
        ("legal_name", ""),
        ("legal_name", "a\x00b"),
        ("legal_name", "x" * 201),
        ("tax_residence", 33),
    ):
        with pytest.raises(IndicatorValueError):
            catalogue.normalise_value(CATALOGUE[key], bad)


def test_units_and_aliases() -> None:
    satisfaction = CATALOGUE["employee_satisfaction"]
    assert satisfaction.accepts_unit("%") and satisfaction.accepts_unit("percent")
    assert not satisfaction.accepts_unit("tCO2e")
    assert CATALOGUE["carbon_footprint_per_employee"].accepts_unit("tCO2e")
