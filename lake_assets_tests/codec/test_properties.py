"""Property tests: random well-formed messages decode exactly; random corruptions are
quarantined with the spec's first reason. The oracle is `reference.py`, not the package."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from lake_assets.codec import decode, decode_reports
from lake_assets_tests.codec import reference

INT16 = st.integers(-(2**15), 2**15 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, list[reference.Reading]]:
    """A random well-formed message and the readings it must decode to."""
    wide = draw(st.booleans())
    channels = draw(st.lists(st.integers(0, 255), min_size=1, max_size=12, unique=True))
    n_samples = draw(st.integers(0, 12))
    values = draw(
        st.lists(
            st.lists(INT32 if wide else INT16, min_size=len(channels), max_size=len(channels)),
            min_size=n_samples,
            max_size=n_samples,
        )
    )
    data = reference.body(
        draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 2**16 - 1)), channels, values, wide
    )
    encoded = reference.frame(data)
    expected = reference.decode(encoded)
    assert isinstance(expected, list)
    return encoded, expected


def corrupt(draw: st.DrawFn, encoded: str) -> str | None:
    """One random corruption of a message: text-level, byte-level, or re-framed header edits."""
    import base64

    kind = draw(st.sampled_from(["text", "bytes", "reframe", "truncate", "empty"]))
    if kind == "empty":
        return draw(st.sampled_from([None, ""]))
    if kind == "text":
        pos = draw(st.integers(0, len(encoded)))
        junk = draw(st.sampled_from(["!", " ", "\n", "-", "_", "=", "é", "A", "AB", "===", "\t"]))
        cut = draw(st.integers(0, 3))
        return (encoded[:pos] + junk + encoded[pos:])[: len(encoded) + len(junk) - cut]
    raw = bytearray(base64.b64decode(encoded))
    if kind == "truncate":
        return base64.b64encode(raw[: draw(st.integers(1, len(raw) - 1))]).decode()
    pos = draw(st.integers(0, len(raw) - 1))
    if kind == "bytes":  # any byte changed, CRC left as it was
        raw[pos] ^= draw(st.integers(1, 255))
        return base64.b64encode(raw).decode()
    # reframe: edit the body (header fields included), or add/remove a byte, with a fresh CRC
    data = raw[:-4]
    edit = draw(st.sampled_from(["byte", "insert", "delete"]))
    at = draw(st.integers(0, max(len(data) - 1, 0)))
    if edit == "byte" and data:
        data[at] = draw(st.integers(0, 255))
    elif edit == "insert":
        data.insert(at, draw(st.integers(0, 255)))
    elif data:
        del data[at]
    return reference.frame(bytes(data))


@st.composite
def batches(draw: st.DrawFn) -> list[str | None]:
    """A batch mixing good messages, corrupted ones and arbitrary text."""
    out: list[str | None] = []
    for _ in range(draw(st.integers(1, 8))):
        encoded, _ = draw(messages())
        choice = draw(st.sampled_from(["good", "corrupt", "text"]))
        if choice == "good":
            out.append(encoded)
        elif choice == "corrupt":
            out.append(corrupt(draw, encoded))
        else:
            out.append(draw(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40)))
    return out


@st.composite
def one_shape_batches(draw: st.DrawFn) -> tuple[list[str | None], bool]:
    """Messages of one shape (channels, samples and width), as a production day's are, with
    their own timestamps and values; sometimes with a corrupted copy of one among them (which
    may still be well-formed, in another shape). Returns the batch and whether it is pure."""
    wide = draw(st.booleans())
    channels = draw(st.lists(st.integers(0, 255), min_size=1, max_size=8, unique=True))
    n_samples = draw(st.integers(0, 6))
    row = st.lists(INT32 if wide else INT16, min_size=len(channels), max_size=len(channels))
    out: list[str | None] = []
    for _ in range(draw(st.integers(1, 6))):
        values = draw(st.lists(row, min_size=n_samples, max_size=n_samples))
        ts, interval = draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 2**16 - 1))
        out.append(reference.frame(reference.body(ts, interval, channels, values, wide)))
    pure = draw(st.booleans())
    if not pure:
        bad = corrupt(draw, out[0])  # type: ignore[arg-type]
        out.insert(draw(st.integers(0, len(out))), bad)
    return out, pure


def decode_rows(encoded: list[str | None]) -> dict[int, list[reference.Reading] | str]:
    ids = list(range(1, len(encoded) + 1))
    decoded = decode_reports(
        pa.array(ids), pa.array([5] * len(ids)), pa.array(encoded, pa.string())
    )
    out: dict[int, list[reference.Reading] | str] = {i: [] for i in ids}
    for r in decoded.readings.to_pylist():
        out[r["report_id"]].append((int(r["ts"].timestamp()), r["channel"], r["unit"], r["value"]))  # type: ignore[union-attr]
    for q in decoded.quarantine.to_pylist():
        assert out[q["report_id"]] == [], "a quarantined row must yield no readings"
        out[q["report_id"]] = q["reason"]
        assert q["encoded"] == encoded[int(q["report_id"]) - 1]
    assert len(decoded.quarantine) + sum(1 for v in out.values() if isinstance(v, list)) == len(
        encoded
    ), "every row is decoded or quarantined, once"
    return out


@given(messages())
def test_well_formed_message_decodes_exactly(message: tuple[str, list]) -> None:
    encoded, expected = message
    assert decode_rows([encoded]) == {1: expected}


@given(batches())
def test_batch_agrees_with_reference_row_by_row(batch: list[str | None]) -> None:
    got = decode_rows(batch)
    assert got == {i + 1: reference.decode(e) for i, e in enumerate(batch)}


@given(one_shape_batches())
def test_batch_of_one_shape_agrees_with_reference_row_by_row(
    case: tuple[list[str | None], bool],
) -> None:
    batch, _ = case
    got = decode_rows(batch)
    assert got == {i + 1: reference.decode(e) for i, e in enumerate(batch)}


@given(one_shape_batches())
def test_one_shape_is_read_as_one_view_exactly_as_row_by_row(
    case: tuple[list[str | None], bool],
) -> None:
    """The 2-D view over a batch of one shape gives the same table as the per-message
    gathers; it declines (None) when the batch is not of one shape after all."""
    batch, pure = case
    encoded = pa.array(batch, pa.string())
    reason = np.full(len(batch), decode.OK, dtype=np.int8)
    dec, dstart, dlen = decode._base64_decode(encoded, reason)
    good, layout = decode._validate_messages(dec, dstart, dlen, reason)
    ids = np.arange(1, len(batch) + 1, dtype=np.uint64)[good]
    devices = np.full(len(ids), 5, dtype=np.int64)
    one_view = decode._uniform_readings(dec, layout, ids, devices)
    by_message = decode._any_readings(dec, layout, ids, devices)
    if pure:
        assert one_view is not None
    if one_view is not None:
        assert one_view.equals(by_message)


@given(st.data())
def test_every_corruption_is_quarantined_with_a_reason(data: st.DataObject) -> None:
    encoded, _ = data.draw(messages())
    bad = corrupt(data.draw, encoded)
    expected = reference.decode(bad)
    got = decode_rows([bad])[1]
    assert got == expected
    if bad != encoded and isinstance(expected, str):
        assert got in {
            "empty",
            "base64",
            "truncated",
            "crc",
            "version",
            "flags",
            "length",
            "header",
        }


@given(st.integers(0, 2**32 - 1), st.integers(1, 2**16 - 1), st.integers(0, 3))
def test_timestamps_reach_the_end_of_uint32(base_ts: int, interval: int, n: int) -> None:
    encoded = reference.frame(reference.body(base_ts, interval, [1], [[100]] * n, False))
    got = decode_rows([encoded])[1]
    assert [r[0] for r in got] == [base_ts + s * interval for s in range(n)]
