"""Report ids are BIGINT UNSIGNED: every one, to 2^64 - 1, comes out of decoding exactly."""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa
import pytest

from lake_assets.codec import decode_reports, encode_report
from lake_assets.codec.ids import ID_TYPE, ids_to_arrow, ids_to_numpy

HUGE = [0, 2**63 - 1, 2**63, 2**63 + 12345, 2**64 - 1]


def test_ids_round_trip_exactly_through_decimal_20_0() -> None:
    as_decimal = pa.array([decimal.Decimal(i) for i in HUGE], ID_TYPE)
    numpy_ids = ids_to_numpy(as_decimal)
    assert numpy_ids.dtype == np.uint64 and numpy_ids.tolist() == HUGE
    assert ids_to_arrow(numpy_ids).to_pylist() == [decimal.Decimal(i) for i in HUGE]
    assert ids_to_numpy(as_decimal.slice(2, 2)).tolist() == HUGE[2:4], "offsets respected"
    assert ids_to_numpy(pa.chunked_array([as_decimal[:2], as_decimal[2:]])).tolist() == HUGE
    one_chunk = pa.chunked_array([as_decimal]).slice(1, 3)  # read in place, offset and all
    assert ids_to_numpy(one_chunk).tolist() == HUGE[1:4]


def test_ids_above_2_63_flow_through_decoding() -> None:
    good = encode_report(1767225600, 60, [1], [[2000]])
    ids = pa.array([decimal.Decimal(i) for i in HUGE], ID_TYPE)
    decoded = decode_reports(ids, pa.array([1] * 5), pa.array([good, good, "bad", good, good]))
    assert decoded.readings.schema.field("report_id").type == ID_TYPE
    assert [int(i) for i in decoded.readings.column("report_id").to_pylist()] == [
        HUGE[0],
        HUGE[1],
        HUGE[3],
        HUGE[4],
    ]
    assert [int(i) for i in decoded.quarantine.column("report_id").to_pylist()] == [2**63]


def test_negative_or_null_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        ids_to_numpy(pa.array([1, -1]))
    with pytest.raises(ValueError, match="null"):
        ids_to_numpy(pa.array([1, None]))
