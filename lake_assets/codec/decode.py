"""Vectorised sensor-pack v1 decoder: a batch of `encoded` strings in, readings and quarantine out.

Every step works on whole NumPy arrays over the batch's Arrow buffers (zero-copy): base64 is
decoded with a lookup table over all rows at once, header fields are gathered by offset, and the
readings are built with `np.repeat` over segments. The only per-row Python step is one
`zlib.crc32` call per message, which costs a few milliseconds for a production day (see
`bench/decoder.py`). Every input row ends up either in the readings or in the quarantine.

"Strict base64" is RFC 4648's: only the alphabet, a length that is a multiple of 4, and at
most two '=' at the very end. Excess padding after a complete quad (`AAAA==`), which Python's
`b64decode` tolerates, is quarantined as `base64`; non-zero unused bits before the padding
(`AR==`) are accepted, as RFC 4648 allows and common decoders do.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lake_assets.codec.format import (
    CHANNELS,
    CRC_BYTES,
    FLAG_WIDE,
    HEADER_BYTES,
    MIN_MESSAGE_BYTES,
    QUARANTINE_SCHEMA,
    READINGS_SCHEMA,
    REASONS,
    TS_TYPE,
    VERSION,
    channel_name,
)
from lake_assets.codec.ids import ids_to_arrow, ids_to_numpy

OK = -1
EMPTY, BASE64, TRUNCATED, CRC, BAD_VERSION, FLAGS, LENGTH, HEADER = range(len(REASONS))

_PAD = 64
_INVALID = 255
_B64 = np.full(256, _INVALID, dtype=np.uint8)
for _i, _c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"):
    _B64[_c] = _i
_B64[ord("=")] = _PAD

_SCALE = np.ones(256, dtype=np.float64)
_KNOWN = np.zeros(256, dtype=bool)
for _code, _ch in CHANNELS.items():
    _SCALE[_code] = _ch.scale
    _KNOWN[_code] = True
_CHANNEL_DICT = pa.array([channel_name(c) for c in range(256)], pa.string())
# Units: a dictionary of distinct values (a dictionary with repeated entries costs Parquet's
# writer twice as much), indexed through the channel code.
_UNITS = sorted({ch.unit for ch in CHANNELS.values()})
_UNIT_DICT = pa.array(_UNITS, pa.string())
_UNIT_OF_CODE = np.zeros(256, dtype=np.int16)
for _code, _ch in CHANNELS.items():
    _UNIT_OF_CODE[_code] = _UNITS.index(_ch.unit)
_REASON_NAMES = np.array(REASONS, dtype=object)


@dataclass(frozen=True)
class Decoded:
    """The outcome for one batch: one row per reading, and one row per malformed report."""

    readings: pa.Table
    quarantine: pa.Table
    # per input report, the readings its header says it yields (n_samples × n_channels), or
    # -1 when it is malformed (it is then in `quarantine`)
    expected: np.ndarray

    def reason_counts(self) -> dict[str, int]:
        counts = self.quarantine.column("reason").value_counts().to_pylist()
        return {c["values"]: c["counts"] for c in counts}


def decode_reports(report_id: pa.Array, device_id: pa.Array, encoded: pa.Array) -> Decoded:
    """Decode one batch of reports; arrays are aligned, `encoded` is (large_)string."""
    report_id = ids_to_numpy(report_id)
    device_id = _to_numpy_int64(device_id)
    encoded = _combine(encoded)
    if not (len(report_id) == len(device_id) == len(encoded)):
        raise ValueError("report_id, device_id and encoded must have the same length")

    reason = np.full(len(encoded), OK, dtype=np.int8)
    dec, dstart, dlen = _base64_decode(encoded, reason)
    good, layout = _validate_messages(dec, dstart, dlen, reason)
    readings = _readings(dec, layout, report_id[good], device_id[good])
    expected = np.full(len(encoded), -1, dtype=np.int64)
    expected[good] = layout.n_samples * layout.n_channels
    return Decoded(readings, _quarantine(report_id, device_id, encoded, reason), expected)


def _combine(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    return arr


def _to_numpy_int64(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    arr = _combine_any(arr)
    if arr.null_count:
        raise ValueError("device_id must not be null")
    return arr.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _combine_any(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        return arr.combine_chunks()
    return arr


def _segment_arange(lengths: np.ndarray) -> np.ndarray:
    """[0..l0), [0..l1), … concatenated: the position of every element inside its segment."""
    total = int(lengths.sum())
    firsts = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) - np.repeat(firsts, lengths)


def _reject(reason: np.ndarray, rows: np.ndarray, code: int) -> None:
    """Give `code` to the rows in `rows` (bool mask) that have no reason yet."""
    reason[rows & (reason == OK)] = code


def _base64_decode(
    encoded: pa.Array, reason: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strict base64 over every row at once: returns the decoded bytes of all valid rows,
    concatenated, and each row's start and length in them (0 for rejected rows)."""
    n = len(encoded)
    offset_type = np.int64 if pa.types.is_large_string(encoded.type) else np.int32
    offsets = np.frombuffer(encoded.buffers()[1], dtype=offset_type)
    offsets = offsets[encoded.offset : encoded.offset + n + 1].astype(np.int64)
    data_buf = encoded.buffers()[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    )
    data = data[offsets[0] : offsets[-1]]
    starts = offsets[:-1] - offsets[0]
    lens = np.diff(offsets)
    ends = starts + lens

    present = (
        np.ones(n, dtype=bool)
        if encoded.null_count == 0
        else encoded.is_valid().to_numpy(zero_copy_only=False)
    )
    _reject(reason, ~present | (lens == 0), EMPTY)

    sym = _B64[data]
    # Bad characters and '=' are rare: locate them and count them per row.
    bad_rows = np.bincount(
        np.searchsorted(ends, np.flatnonzero(sym == _INVALID), "right"), minlength=n
    )[:n]
    eq_rows = np.bincount(np.searchsorted(ends, np.flatnonzero(sym == _PAD), "right"), minlength=n)[
        :n
    ]
    nonempty = lens > 0
    last = np.where(nonempty, ends - 1, 0)
    second = np.where(lens > 1, ends - 2, 0)
    pad1 = nonempty & (sym[last] == _PAD) if len(sym) else np.zeros(n, bool)
    pad2 = pad1 & (lens > 1) & (sym[second] == _PAD) if len(sym) else np.zeros(n, bool)
    trailing = pad1.astype(np.int64) + pad2
    strict = (lens % 4 == 0) & (bad_rows == 0) & (eq_rows == trailing)
    _reject(reason, ~strict, BASE64)

    ok = reason == OK
    ok_lens = np.where(ok, lens, 0)
    if ok_lens.sum() != len(sym):  # some non-empty rows were rejected: keep only the valid ones
        sym = sym[np.repeat(ok, lens)]
    quads = (sym & 63).reshape(-1, 4)  # '=' decodes as 0; its bytes are cut off below
    dec = np.empty((len(quads), 3), dtype=np.uint8)
    np.bitwise_or(quads[:, 0] << 2, quads[:, 1] >> 4, out=dec[:, 0])
    np.bitwise_or(quads[:, 1] << 4, quads[:, 2] >> 2, out=dec[:, 1])
    np.bitwise_or(quads[:, 2] << 6, quads[:, 3], out=dec[:, 2])
    full = ok_lens // 4 * 3
    dstart = np.cumsum(full) - full
    dlen = np.where(ok, full - trailing, 0)
    # Padding with zeros lets header gathers of short rows stay in bounds (they are masked).
    dec = np.concatenate([dec.reshape(-1), np.zeros(16, np.uint8)])
    return dec, dstart, dlen


@dataclass(frozen=True)
class _Layout:
    """Header fields of the well-formed messages, one entry per such message."""

    start: np.ndarray  # offset of the message in the decoded buffer
    base_ts: np.ndarray
    interval: np.ndarray
    n_channels: np.ndarray
    n_samples: np.ndarray
    wide: np.ndarray


def _u16(dec: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return dec[pos].astype(np.int64) | (dec[pos + 1].astype(np.int64) << 8)


def _u32(dec: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return _u16(dec, pos) | (_u16(dec, pos + 2) << 16)


def _validate_messages(
    dec: np.ndarray, dstart: np.ndarray, dlen: np.ndarray, reason: np.ndarray
) -> tuple[np.ndarray, _Layout]:
    """Apply the spec's checks 3–9 in order; return the good rows' mask and their layout."""
    _reject(reason, dlen < MIN_MESSAGE_BYTES, TRUNCATED)

    idx = np.flatnonzero(reason == OK)
    s, body = dstart[idx], dlen[idx] - CRC_BYTES
    mv = memoryview(dec)
    computed = np.fromiter(
        (zlib.crc32(mv[a:b]) for a, b in zip(s.tolist(), (s + body).tolist(), strict=True)),
        dtype=np.int64,
        count=len(idx),
    )
    _reject_idx(reason, idx, computed != _u32(dec, s + body), CRC)

    idx = np.flatnonzero(reason == OK)
    s = dstart[idx]
    _reject_idx(reason, idx, dec[s] != VERSION, BAD_VERSION)
    _reject_idx(reason, idx, (dec[s + 1] & ~np.uint8(FLAG_WIDE)) != 0, FLAGS)

    nch_all = np.zeros(len(reason), dtype=np.int64)
    nch_all[idx] = dec[s + 8]
    body_all = dlen - CRC_BYTES
    _reject_idx(reason, idx, body_all[idx] < HEADER_BYTES + nch_all[idx], LENGTH)

    idx = np.flatnonzero(reason == OK)
    s, nch = dstart[idx], nch_all[idx]
    interval = _u16(dec, s + 6)
    codes = dec[np.repeat(s + 9, nch) + _segment_arange(nch)].astype(np.int64)
    keys = np.repeat(np.arange(len(idx), dtype=np.int64), nch) * 256 + codes
    keys.sort()
    dup = np.zeros(len(idx), dtype=bool)
    dup[keys[1:][keys[1:] == keys[:-1]] // 256] = True
    _reject_idx(reason, idx, (nch == 0) | (interval == 0) | dup, HEADER)

    idx = np.flatnonzero(reason == OK)
    s, nch = dstart[idx], nch_all[idx]
    wide = (dec[s + 1] & FLAG_WIDE) != 0
    n_samples = _u16(dec, s + 9 + nch)
    expected = HEADER_BYTES + nch + n_samples * nch * np.where(wide, 4, 2)
    _reject_idx(reason, idx, body_all[idx] != expected, LENGTH)

    good = reason == OK
    keep = good[idx]
    s = s[keep]
    layout = _Layout(
        start=s,
        base_ts=_u32(dec, s + 2),
        interval=_u16(dec, s + 6),
        n_channels=nch[keep],
        n_samples=n_samples[keep],
        wide=wide[keep],
    )
    return good, layout


def _reject_idx(reason: np.ndarray, idx: np.ndarray, bad: np.ndarray, code: int) -> None:
    rows = idx[bad]
    reason[rows[reason[rows] == OK]] = code


def _readings(
    dec: np.ndarray, m: _Layout, report_id: np.ndarray, device_id: np.ndarray
) -> pa.Table:
    uniform = _uniform_readings(dec, m, report_id, device_id)
    return uniform if uniform is not None else _any_readings(dec, m, report_id, device_id)


def _any_readings(
    dec: np.ndarray, m: _Layout, report_id: np.ndarray, device_id: np.ndarray
) -> pa.Table:
    """The readings of messages of any shapes, each gathered by its own offsets."""
    per_row = m.n_samples * m.n_channels
    total = int(per_row.sum())

    # One entry per sample, then spread to its channels.
    sample_ts = np.repeat(m.base_ts, m.n_samples) + _segment_arange(m.n_samples) * np.repeat(
        m.interval, m.n_samples
    )
    nch_per_sample = np.repeat(m.n_channels, m.n_samples)
    ts_ms = np.repeat(sample_ts * 1000, nch_per_sample)
    code_pos = np.repeat(np.repeat(m.start + 9, m.n_samples), nch_per_sample)
    code_pos += _segment_arange(nch_per_sample)
    codes = dec[code_pos].astype(np.int16)

    raw, missing = _values(dec, m, per_row, total)
    value = raw / _SCALE[codes]
    return _table(report_id, device_id, per_row, ts_ms, codes, value, missing)


def _uniform_readings(
    dec: np.ndarray, m: _Layout, report_id: np.ndarray, device_id: np.ndarray
) -> pa.Table | None:
    """The readings of a batch whose messages all have one shape, as a production day's do
    (the same channels in the same order, sample count and width, and nothing malformed
    between them): every message is then a row of one 2-D view of the decoded buffer, and
    its values a column slice of it. None when the batch is not like that."""
    rows = len(m.start)
    if rows == 0:
        return None
    nch, n_samples, wide = int(m.n_channels[0]), int(m.n_samples[0]), bool(m.wide[0])
    width = 4 if wide else 2
    length = HEADER_BYTES + nch + n_samples * nch * width + CRC_BYTES
    step = (length + 2) // 3 * 3  # each message's room in `dec`: whole base64 quads
    first = int(m.start[0])
    if (
        (m.n_channels != nch).any()
        or (m.n_samples != n_samples).any()
        or (m.wide != wide).any()
        or (m.start != first + step * np.arange(rows)).any()
    ):
        return None
    messages = dec[first : first + rows * step].reshape(rows, step)
    codes_of = messages[:, 9 : 9 + nch]
    codes = codes_of[0].astype(np.int16)
    if (codes_of != codes_of[0]).any():
        return None

    per_row = np.full(rows, n_samples * nch, dtype=np.int64)
    sample_ts = m.base_ts[:, None] + np.arange(n_samples) * m.interval[:, None]
    ts_ms = np.repeat(sample_ts.reshape(-1) * 1000, nch)
    value_start = HEADER_BYTES + nch
    values = messages[:, value_start : value_start + n_samples * nch * width]
    raw = np.ascontiguousarray(values).view("<i4" if wide else "<i2").reshape(-1, nch)
    missing = raw == (np.iinfo(np.int32).min if wide else np.iinfo(np.int16).min)
    value = raw / _SCALE[codes]
    return _table(
        report_id,
        device_id,
        per_row,
        ts_ms,
        codes,
        value.reshape(-1),
        missing.reshape(-1),
        repeats=rows * n_samples,
    )


def _table(
    report_id: np.ndarray,
    device_id: np.ndarray,
    per_row: np.ndarray,
    ts_ms: np.ndarray,
    codes: np.ndarray,
    value: np.ndarray,
    missing: np.ndarray,
    repeats: int = 1,
) -> pa.Table:
    """The readings table; `codes` are the readings' channel codes, or with `repeats` a
    pattern that many times over (one sample's channels, when every sample has the same):
    their units are then looked up once for the pattern."""
    unknown = ~_KNOWN[codes]
    units = _UNIT_OF_CODE[codes]
    no_unit = unknown if unknown.any() else None
    if repeats != 1:
        codes, units = np.tile(codes, repeats), np.tile(units, repeats)
        no_unit = None if no_unit is None else np.tile(no_unit, repeats)
    total = len(codes)
    columns = [
        ids_to_arrow(report_id, repeats=per_row),
        pa.array(np.repeat(device_id, per_row), pa.int64()),
        pa.Array.from_buffers(TS_TYPE, total, [None, pa.py_buffer(ts_ms)]),
        pa.DictionaryArray.from_arrays(pa.array(codes), _CHANNEL_DICT),
        pa.DictionaryArray.from_arrays(pa.array(units, mask=no_unit), _UNIT_DICT),
        pa.array(value, pa.float64(), mask=missing if missing.any() else None),
    ]
    return pa.Table.from_arrays(columns, schema=READINGS_SCHEMA)


def _values(
    dec: np.ndarray, m: _Layout, per_row: np.ndarray, total: int
) -> tuple[np.ndarray, np.ndarray]:
    """Raw fixed-point values of every reading (int16 or int32 by message) and the missing mask."""
    value_start = m.start + HEADER_BYTES + m.n_channels
    width = np.where(m.wide, 4, 2)
    narrow = _gather_runs(dec, value_start[~m.wide], (per_row * width)[~m.wide]).view("<i2")
    if not m.wide.any():
        return narrow.astype(np.float64), narrow == np.iinfo(np.int16).min
    wide = _gather_runs(dec, value_start[m.wide], (per_row * width)[m.wide]).view("<i4")
    raw = np.empty(total, dtype=np.float64)
    missing = np.empty(total, dtype=bool)
    is_wide = np.repeat(m.wide, per_row)
    raw[~is_wide], missing[~is_wide] = narrow, narrow == np.iinfo(np.int16).min
    raw[is_wide], missing[is_wide] = wide, wide == np.iinfo(np.int32).min
    return raw, missing


def _gather_runs(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The bytes buf[starts[i] : starts[i] + lengths[i]] for every i, concatenated."""
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    if len(starts) == 0:
        return np.empty(0, dtype=np.uint8)
    edges = np.zeros(len(buf) + 1, dtype=np.int8)
    edges[starts] = 1
    edges[starts + lengths] -= 1  # a run may end where the next begins only if it is empty
    return buf[np.cumsum(edges[:-1], dtype=np.int8).view(bool)]


def _quarantine(
    report_id: np.ndarray, device_id: np.ndarray, encoded: pa.Array, reason: np.ndarray
) -> pa.Table:
    bad = np.flatnonzero(reason != OK)
    return pa.Table.from_arrays(
        [
            ids_to_arrow(report_id[bad]),
            pa.array(device_id[bad], pa.int64()),
            pa.array(_REASON_NAMES[reason[bad]], pa.string()),
            encoded.take(pa.array(bad)).cast(pa.string()),
        ],
        schema=QUARANTINE_SCHEMA,
    )


def readings_per_report(encoded: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """For each message, the readings it must yield (n_samples × n_channels), or -1 when it is
    malformed: what the reconciliation check expects of the decoded and quarantine zones."""
    encoded = _combine(encoded)
    reason = np.full(len(encoded), OK, dtype=np.int8)
    dec, dstart, dlen = _base64_decode(encoded, reason)
    good, layout = _validate_messages(dec, dstart, dlen, reason)
    out = np.full(len(encoded), -1, dtype=np.int64)
    out[good] = layout.n_samples * layout.n_channels
    return out
