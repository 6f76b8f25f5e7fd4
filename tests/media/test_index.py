"""The PDQ index is exact: on random and clustered hashes, at every radius, its answer is the brute-force
answer; additions and removals in any order give what a rebuild gives."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airrc.errors import MediaError
from airrc.media.index import MAX_RADIUS, PdqIndex, brute_force


def _random(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, (n, 32), dtype=np.uint8)


def _near(rng: np.random.Generator, centre: np.ndarray, n: int, max_flips: int) -> np.ndarray:
    """``n`` hashes within ``max_flips`` bits of ``centre``."""
    out = np.repeat(centre[np.newaxis, :], n, axis=0)
    for row in out:
        for bit in rng.choice(256, int(rng.integers(0, max_flips + 1)), replace=False):
            row[bit // 8] ^= 1 << (7 - bit % 8)
    return out


def _clustered(rng: np.random.Generator, clusters: int, per: int) -> np.ndarray:
    centres = _random(rng, clusters)
    return np.concatenate([_near(rng, c, per, 60) for c in centres])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), radius=st.sampled_from([0, 1, 8, 15, 16, 31, 32, 47, 52, MAX_RADIUS]))
def test_search_equals_brute_force(seed, radius):
    rng = np.random.default_rng(seed)
    data = np.concatenate([_random(rng, 300), _clustered(rng, 6, 50)])
    index = PdqIndex()
    index.add(data[:200])
    index.merge()  # part of the data in the sorted arrays, part in the delta
    index.add(data[200:])
    queries = np.concatenate([data[rng.choice(len(data), 5)], _near(rng, data[0], 5, 40), _random(rng, 3)])
    for query in queries:
        assert index.search(query.tobytes(), radius) == brute_force(data, query.tobytes(), radius)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), removed=st.integers(0, 200))
def test_incremental_adds_and_removals_equal_a_rebuild(seed, removed):
    rng = np.random.default_rng(seed)
    data = _clustered(rng, 5, 60)
    index = PdqIndex()
    slots = np.concatenate([index.add(part) for part in np.array_split(data, 4)])
    gone = rng.choice(slots, min(removed, len(slots)), replace=False)
    index.remove(gone.tolist())
    if seed % 2:
        index.merge()
    keep = np.setdiff1d(slots, gone)
    rebuilt = PdqIndex()
    rebuilt.add(data[keep])
    rebuilt.merge()
    assert len(index) == len(rebuilt) == len(keep)
    for query in data[rng.choice(len(data), 6)]:
        ours = [(int(keep[s]), d) for s, d in rebuilt.search(query.tobytes(), 31)]
        assert sorted(index.search(query.tobytes(), 31)) == sorted(ours)


def test_merges_happen_as_the_delta_grows_and_slots_stay_stable():
    rng = np.random.default_rng(5)
    index = PdqIndex()
    first = _random(rng, 10)
    slots = index.add(first)
    for _ in range(5):
        index.add(_random(rng, 3000))
    assert index._merged > 0  # the delta was folded into the sorted arrays on the way
    for slot, value in zip(slots, first, strict=True):
        assert index.hash_at(int(slot)) == value.tobytes()
        assert (int(slot), 0) in index.search(value.tobytes(), 0)


def test_bad_radius_and_hashes_are_refused():
    index = PdqIndex()
    for radius in (-1, MAX_RADIUS + 1):
        with pytest.raises(MediaError) as refused:
            index.search(b"\0" * 32, radius)
        assert refused.value.code == "media.bad_radius"
    with pytest.raises(MediaError) as short:
        index.add([b"\0" * 31])
    assert short.value.code == "media.bad_hash"
    assert index.search(b"\0" * 32, 31) == []
