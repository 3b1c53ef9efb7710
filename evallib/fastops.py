"""Set membership and lookups on id columns, in Arrow's C++ hash tables.

Why: in pandas 3, ``Series.isin`` on Arrow-backed strings builds its lookup one Python
value at a time (seconds per million ids), and merges on string keys hash them again
on every call. These helpers hand the work to ``pyarrow.compute`` (``is_in``,
``index_in``), which hashes each side once in C++. Missing values never match.
Other dtypes (numbers, dates) go to pandas, which is already fast for them.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["isin", "positions", "matches", "plain_text", "has_repeats", "system_memory"]


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


def matches(values, universe) -> tuple[np.ndarray, np.ndarray]:
    """``(at, where)``: the positions in ``values`` of those found in ``universe``, and where.

    :func:`positions` without an answer for every value: for ten million police records
    of which a few are about the people asked for, only the matches are materialised.
    """
    arr, vs = _arrow(values), _value_set(universe)
    if arr is None or vs is None:
        where = positions(values, universe)
        at = np.flatnonzero(where >= 0)
        return at, where[at]
    if pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_string())
    if isinstance(arr, pa.ChunkedArray) and arr.num_chunks > 1 and len(arr) >= 4 * _BLOCK:
        half = arr.num_chunks // 2           # two threads, each looking up half of the chunks
        with ThreadPoolExecutor(2) as pool:
            parts = list(pool.map(lambda chunks: pc.index_in(pa.chunked_array(chunks, arr.type), value_set=vs,
                                                             skip_nulls=True), (arr.chunks[:half], arr.chunks[half:])))
        found = pa.chunked_array([c for part in parts for c in part.chunks], pa.int32())
    else:
        found = pc.index_in(arr, value_set=vs, skip_nulls=True)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks() if found.num_chunks != 1 else found.chunk(0)
    at = np.flatnonzero(found.is_valid().to_numpy(zero_copy_only=False))
    where = found.drop_null().to_numpy(zero_copy_only=False).astype(np.int64)
    return at, where


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


_GOLDEN, _MIX1, _MIX2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)
_BLOCK = 1 << 20


def _text_chunks(values) -> list[pa.Array] | None:
    """The Arrow chunks of a text column (as ``large_string``), or ``None`` for other columns."""
    arr = _arrow(values)
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    return [c.cast(pa.large_string()) for c in chunks if len(c)]


def _hashes(chunk: pa.Array, out: np.ndarray | None = None) -> np.ndarray:
    """A 64-bit hash of every value of a ``large_string`` chunk, from its bytes (nulls: anything).

    Reads the values' bytes eight at a time straight from the Arrow buffers, a block of
    values at a time (small temporaries): no Python string per value.
    """
    _, offsets_buf, data_buf = chunk.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[chunk.offset: chunk.offset + len(chunk) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    size = len(data)
    if size < 8:                                  # too short to read in words: pad a copy
        data = np.concatenate([data, np.zeros(8 - size, np.uint8)])
    words = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))  # 8 bytes at each byte
    last = len(data) - 8
    out = np.empty(len(chunk), np.uint64) if out is None else out
    for lo in range(0, len(chunk), _BLOCK):
        hi = min(lo + _BLOCK, len(chunk))
        start, end = offsets[lo: hi], offsets[lo + 1: hi + 1]
        length = end - start
        h = length.astype(np.uint64) * _GOLDEN
        shortest, longest = int(length.min(initial=0)), int(length.max(initial=0))
        for j in range(0, longest, 8):
            rest = length - j
            at = start + j
            if at[-1] > last or at.max() > last:        # near the buffer's end: read earlier, shift down
                back = np.clip(at - last, 0, 7)
                word = words[np.minimum(at - back, last)] >> (back.astype(np.uint64) * np.uint64(8))
            else:
                word = words[at]
            if shortest < j + 8:                        # some values end within this word: mask the rest
                word &= np.where(rest >= 8, _ALL_BITS, (np.uint64(1) << (np.clip(rest, 0, 7).astype(np.uint64)
                                                                         * np.uint64(8))) - np.uint64(1))
            mixed = h ^ (word * _MIX1)
            mixed ^= mixed >> np.uint64(31)
            mixed *= _MIX2
            h = mixed if shortest > j else np.where(rest > 0, mixed, h)   # a hash depends on its own bytes only
        h ^= h >> np.uint64(29)
        out[lo: lo + len(h)] = h
    return out


def has_repeats(values) -> bool:
    """True when some (non-missing) value of a column appears more than once.

    For text, an order-free check that scales to tens of millions of ids: a 64-bit hash
    of each value (:func:`_hashes`), a sort of the hashes (numbers sort far faster than
    strings, and the ids need not come sorted), and an exact comparison of the few
    values whose hashes repeat. Other columns go to pandas.
    """
    chunks = _text_chunks(values)
    if chunks is None:
        s = values if isinstance(values, pd.Series) else pd.Series(values)
        return bool(s.dropna().duplicated().any())
    if not chunks:
        return False
    def all_hashes() -> np.ndarray:
        out = np.empty(sum(len(c) for c in chunks), np.uint64)
        starts = np.cumsum([0] + [len(c) for c in chunks])
        if len(out) < 4 * _BLOCK:
            for c, at in zip(chunks, starts, strict=False):
                _hashes(c, out[at: at + len(c)])
        else:      # two threads (numpy works without holding the interpreter on blocks this size)
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda i: _hashes(chunks[i], out[starts[i]: starts[i + 1]]), range(len(chunks))))
        return out

    nulls = sum(c.null_count for c in chunks)
    valid = np.concatenate([c.is_valid().to_numpy(zero_copy_only=False) for c in chunks]) if nulls else None
    ordered = all_hashes()[valid] if nulls else all_hashes()
    ordered.sort()                               # in place: no second copy of ten million numbers
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return False
    suspects = np.isin(all_hashes(), ordered[1:][same]) & (valid if nulls else True)   # rare: hash again
    texts = pa.chunked_array(chunks).filter(pa.array(suspects))
    return pc.count_distinct(texts).as_py() < len(texts)


@contextmanager
def system_memory():
    """Arrow's buffers from the C library's allocator (as numpy's are), for the block inside.

    Why: reading and checking a large dataset allocates and frees GiBs of Arrow buffers.
    Arrow's default allocator (mimalloc) keeps and resets its own pages, and on the
    virtual machines measured (``benchmarks/bench_national.py``) touching those pages
    again cost more processor time than reading the files (about 2.6 s of CPU per
    national load against 5.3 s); with the C library's allocator, freed buffers are
    reused by numpy and Arrow alike. Arrays made inside keep working after the block. An
    ``ARROW_DEFAULT_MEMORY_POOL`` set by the user is left alone.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        yield
        return
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)
