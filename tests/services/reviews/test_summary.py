"""The rating summary's arithmetic: a histogram always adds up to its count."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.reviews.summary import approximate_histogram, histogram_of, summarise


@pytest.mark.parametrize("count", [0, 1, 2, 7, 10, 999, 4_780_653])
@pytest.mark.parametrize("average", ["0", "1", "1.01", "2.5", "3.73", "4.34", "4.99", "5", "7"])
def test_an_approximated_histogram_adds_up_and_keeps_the_average(count, average):
    histogram = approximate_histogram(Decimal(average), count)

    assert sorted(histogram) == ["1", "2", "3", "4", "5"]
    assert sum(histogram.values()) == count
    assert all(n >= 0 for n in histogram.values())
    if count >= 100:
        clamped = min(max(Decimal(average), 1), 5)
        assert abs(summarise(histogram)[0] - clamped) <= Decimal("0.01")


def test_a_stored_histogram_is_shown_as_stored_with_every_star():
    assert histogram_of({"5": 2, "1": 1}, Decimal("0"), 0) == {
        "1": 1,
        "2": 0,
        "3": 0,
        "4": 0,
        "5": 2,
    }
    assert summarise({"1": 1, "2": 0, "3": 0, "4": 0, "5": 2}) == (Decimal("3.67"), 3)
    assert summarise({"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}) == (Decimal("0.00"), 0)
