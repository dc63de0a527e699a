"""The shipped model reads every image in samples/ right, through the public
`Reader` API: the README's quick start. Each sample's true digit is the
first character of its name; an x says it is not a digit, and predict must
flag it as low confidence."""

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
        assert row.status is Status.LOW_CONFIDENCE, f"{sample.name}: read {row.digit} ({row.confidence:.2f})"
        return
    assert row.status is Status.OK, row
    assert row.digit == int(sample.name[0]), f"{sample.name}: read {row.digit} ({row.confidence:.2f})"
