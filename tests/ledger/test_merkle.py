"""RFC 9162 reference vectors (the RFC 6962 test data used by Certificate Transparency and C2SP tooling),
plus property tests against a deliberately naive implementation written from the RFC's definitions."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airrc.errors import ProofError
from airrc.ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (0, 1): [],
}
CONSISTENCY = {
    (1, 8): INCLUSION[(0, 8)],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (4, 8): ["6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
}


def test_empty_tree_root():
    assert root([]) == hashlib.sha256(b"").digest()


def test_hashing_prefixes():
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size):
    assert root(LEAVES[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size"), list(INCLUSION))
def test_reference_inclusion_proofs(index, size):
    proof = inclusion_proof(LEAVES[:size], index)
    assert [p.hex() for p in proof] == INCLUSION[(index, size)]
    verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize(("old", "new"), list(CONSISTENCY))
def test_reference_consistency_proofs(old, new):
    proof = consistency_proof(LEAVES[:new], old)
    assert [p.hex() for p in proof] == CONSISTENCY[(old, new)]
    verify_consistency(old, new, bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1]), proof)


# -- a naive reference, straight from RFC 9162 section 2.1 ---------------------------------------------------


def naive_mth(d):
    if len(d) == 0:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < len(d):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:])).digest()


def naive_path(m, d):
    if len(d) == 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m, d, b):
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


entries = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(entries, st.data())
def test_matches_naive_reference(d, data):
    n = len(d)
    assert root(d) == naive_mth(d)
    m = data.draw(st.integers(0, n - 1))
    assert inclusion_proof(d, m) == naive_path(m, d)
    verify_inclusion(leaf_hash(d[m]), m, n, inclusion_proof(d, m), root(d))
    old = data.draw(st.integers(1, n))
    proof = consistency_proof(d, old)
    assert proof == ([] if old == n else naive_subproof(old, d, True))
    verify_consistency(old, n, root(d[:old]), root(d), proof)


@settings(max_examples=100, deadline=None)
@given(entries, st.data())
def test_any_mutation_of_a_proof_is_refused(d, data):
    n = len(d)
    m = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(d, m)
    r = root(d)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof]
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(d[m]), m, n, bad, r)
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(d[m]), m, n, proof[:-1], r)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(d[m]), m, n, [*proof, b"\x00" * 32], r)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(d[m] + b"x"), m, n, proof, r)
    if n > 1:
        old = data.draw(st.integers(1, n - 1))
        cproof = consistency_proof(d, old)
        with pytest.raises(ProofError):
            verify_consistency(old, n, root(d[:old]), root(d), cproof[:-1])
        with pytest.raises(ProofError):
            verify_consistency(old, n, root(d[:old]), root(d), [*cproof, b"\x00" * 32])
        with pytest.raises(ProofError):
            verify_consistency(old, n, root([*d[: old - 1], b"rewritten"]), root(d), cproof)


def test_out_of_range_arguments_are_typed_errors():
    r = root(LEAVES)
    with pytest.raises(ProofError) as idx:
        verify_inclusion(leaf_hash(b""), 8, 8, [], r)
    assert idx.value.code == "ledger.bad_index"
    with pytest.raises(ProofError) as size:
        verify_consistency(9, 8, r, r, [])
    assert size.value.code == "ledger.bad_size"
    with pytest.raises(ProofError) as short_hash:
        verify_inclusion(b"short", 0, 8, [], r)
    assert short_hash.value.code == "ledger.bad_hash"
    with pytest.raises(ProofError) as split:
        verify_consistency(8, 8, r, root(LEAVES[:7]), [])
    assert split.value.code == "ledger.inconsistent"
    with pytest.raises(ProofError):
        inclusion_proof(LEAVES, 8)
    with pytest.raises(ProofError):
        consistency_proof(LEAVES, 9)
