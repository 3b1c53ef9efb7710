"""Set membership and lookups on id columns, in Arrow's C++ hash tables.

Why: in pandas 3, ``Series.isin`` on Arrow-backed strings builds its lookup one Python
value at a time (seconds per million ids), and merges on string keys hash them again
on every call. These helpers hand the work to ``pyarrow.compute`` (``is_in``,
``index_in``), which hashes each side once in C++. Missing values never match.
Other dtypes (numbers, dates) go to pandas, which is already fast for them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["isin", "positions", "plain_text"]


def _arrow(values) -> pa.Array | pa.ChunkedArray | None:
    """``values`` as an Arrow string array, or ``None`` when they are not strings."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, (pd.Series, pd.Index)):
        dtype = values.dtype
        if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, pd.ArrowDtype)
                                                 and pa.types.is_string(dtype.pyarrow_dtype)):
            return pa.array(values.array if isinstance(values, pd.Series) else values.array)
        if pd.api.types.is_object_dtype(dtype):
            try:
                return pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return None
        return None
    arr = np.asarray(values, dtype=object)
    try:
        return pa.array(arr, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _value_set(universe) -> pa.Array | None:
    arr = _arrow(universe if isinstance(universe, (pd.Series, pd.Index, pa.Array, pa.ChunkedArray))
                 else pd.Index(list(universe), dtype=object))
    if arr is None:
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr.cast(pa.large_string()) if pa.types.is_string(arr.type) else arr


def isin(values, universe) -> np.ndarray:
    """Boolean array: is each of ``values`` one of ``universe``? (``NA`` never is.)"""
    arr, vs = _arrow(values), _value_set(universe)
    if arr is None or vs is None:
        s = values if isinstance(values, pd.Series) else pd.Series(values)
        u = universe if isinstance(universe, (pd.Series, pd.Index)) else list(universe)
        return (s.isin(u) & s.notna()).to_numpy(dtype=bool)
    if pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_string())
    hit = pc.is_in(arr, value_set=vs, skip_nulls=True)
    return _bool(hit)


def positions(values, universe) -> np.ndarray:
    """Position in ``universe`` of each of ``values`` (``-1`` where absent or missing).

    ``universe`` should hold each value once (e.g. a table's unique ids): a lookup
    by position then replaces a merge on a string key.
    """
    arr, vs = _arrow(values), _value_set(universe)
    if arr is None or vs is None:
        idx = pd.Index(universe if isinstance(universe, (pd.Series, pd.Index)) else list(universe))
        return idx.get_indexer(pd.Index(values)).astype(np.int64)
    if pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_string())
    found = pc.index_in(arr, value_set=vs, skip_nulls=True)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks() if found.num_chunks != 1 else found.chunk(0)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _bool(hit) -> np.ndarray:
    if isinstance(hit, pa.ChunkedArray):
        hit = hit.combine_chunks() if hit.num_chunks != 1 else hit.chunk(0)
    return hit.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)


def plain_text(values: pd.Series) -> bool:
    """True when no value of an Arrow-backed text column can be blank or change when stripped.

    Reads only the first and last byte of each value (through the Arrow offsets, no
    Python string per value): a value that starts and ends with a printable ASCII
    character other than a space is neither blank nor padded. Anything else (empty,
    control characters, spaces, any non-ASCII byte) answers ``False``, and the caller
    does the full check. ``False`` also for columns that are not Arrow text.
    """
    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return False
    arr = pa.array(values.array)
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        validity, offsets_buf, data_buf = chunk.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=width)[chunk.offset: chunk.offset + len(chunk) + 1]
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
        valid = ~chunk.is_null().to_numpy(zero_copy_only=False)
        start, end = offsets[:-1][valid], offsets[1:][valid]
        if (end <= start).any():
            return False
        first, last = data[start], data[end - 1]
        if not (((first > 0x20) & (first < 0x7F)).all() and ((last > 0x20) & (last < 0x7F)).all()):
            return False
    return True
