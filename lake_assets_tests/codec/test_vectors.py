"""The public test vectors (a copy in vectors/sensor-pack-v1.jsonl) must decode exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from lake_assets.codec import decode_reports

VECTORS_FILE = Path(__file__).parent / "vectors" / "sensor-pack-v1.jsonl"


def load_vectors() -> list[dict]:
    if not VECTORS_FILE.exists():
        pytest.fail(f"test vectors not found at {VECTORS_FILE}")
    return [json.loads(line) for line in VECTORS_FILE.read_text().splitlines() if line.strip()]


VECTORS = load_vectors() if VECTORS_FILE.exists() else []


def test_vectors_are_present() -> None:
    assert len(load_vectors()) >= 20


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_alone(vector: dict) -> None:
    decoded = decode_reports(
        pa.array([11]), pa.array([22]), pa.array([vector["encoded"]], pa.string())
    )
    assert_matches(vector, decoded.readings.to_pylist(), decoded.quarantine.to_pylist(), 11)


def test_all_vectors_in_one_batch() -> None:
    """Batch decoding must give each row exactly what it gets alone (alignment, offsets)."""
    vectors = load_vectors()
    ids = list(range(100, 100 + len(vectors)))
    decoded = decode_reports(
        pa.array(ids),
        pa.array([7] * len(ids)),
        pa.array([v["encoded"] for v in vectors], pa.string()),
    )
    readings = decoded.readings.to_pylist()
    quarantine = decoded.quarantine.to_pylist()
    assert [r["report_id"] for r in readings] == sorted(r["report_id"] for r in readings)
    for rid, vector in zip(ids, vectors, strict=True):
        assert_matches(
            vector,
            [r for r in readings if r["report_id"] == rid],
            [q for q in quarantine if q["report_id"] == rid],
            rid,
        )


def assert_matches(vector: dict, readings: list[dict], quarantine: list[dict], rid: int) -> None:
    if "error" in vector:
        assert readings == []
        assert len(quarantine) == 1
        assert quarantine[0]["reason"] == vector["error"]
        assert quarantine[0]["encoded"] == vector["encoded"]
        assert quarantine[0]["report_id"] == rid
    else:
        assert quarantine == []
        got = [[int(r["ts"].timestamp()), r["channel"], r["unit"], r["value"]] for r in readings]
        assert got == vector["readings"]
        assert all(r["report_id"] == rid for r in readings)
