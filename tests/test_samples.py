"""The shipped model reads every image in samples/ right, through the public
`Reader` API: the README's quick start. Each sample's true digit is the
first character of its name; n and digits name a number (a dash between two
numbers); an x says it is not a digit, and predict must flag it."""

from __future__ import annotations

import pytest
from conftest import ROOT, SHIPPED_MODEL

from digitcli import Reader, Status

SAMPLES = sorted((ROOT / "samples").iterdir())


def test_there_are_enough_samples():
    assert len(SAMPLES) >= 12


@pytest.fixture(scope="module")
def rows():
    return {row.path: row for row in Reader(SHIPPED_MODEL).read_many(SAMPLES)}


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_is_read_right(rows, sample):
    row = rows[str(sample)]
    if sample.name.startswith("x"):
        assert row.flagged, f"{sample.name}: read {row.number} ({row.confidence:.2f})"
        return
    assert row.status is Status.OK, row
    if sample.name.startswith("n"):
        expected = sample.name[1:sample.name.index("_")].replace("-", " ")
        assert row.number == expected and row.digit is None, f"{sample.name}: read {row.number}"
        assert len(row.digits) == len(expected.replace(" ", ""))
        return
    assert row.digit == int(sample.name[0]), f"{sample.name}: read {row.digit} ({row.confidence:.2f})"
    assert row.number == sample.name[0]
