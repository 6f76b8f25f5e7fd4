from datetime import timedelta

import pytest

from airrc.crypto.signing import HybridVerifier
from airrc.errors import AuthError, Conflict, Forbidden, InputError, SignatureInvalid
from airrc.principals.accounts import KdfParams, Principals
from tests.conftest import FAST_KDF


@pytest.fixture
def principals():
    return Principals(FAST_KDF)


def test_production_kdf_defaults_are_strong():
    params = KdfParams()
    assert params.memory_kib >= 65536
    assert params.time_cost >= 3


def test_no_token_carries_the_personal_key_only_the_password_unlocks_it(node, principals):
    with node.store.session() as session:
        row = principals.add_user(session, "officer", "duty officer secret", ["duty_officer"])
    token = principals.login(node.store, "officer", "duty officer secret", lifetime=timedelta(hours=1))
    with node.store.session() as session:
        plain = principals.create_token(session, row, lifetime=timedelta(hours=1))
        for bearer in (token, plain):
            locked = principals.authenticate(session, bearer)
            assert locked.personal_key is None
            with pytest.raises(Forbidden) as err:
                locked.sign_personally(b"x")
            assert err.value.code == "auth.key_locked"
        who = principals.unlock(session, "officer", "duty officer secret")
    signature = who.sign_personally(b"ack FLASH 42")
    # Hybrid, like the node's keys: both halves verify against what the roster publishes.
    verifier = HybridVerifier.from_b64(row.personal_public_key, row.personal_pq_public_key)
    verifier.verify_message(b"ack FLASH 42", signature)
    with pytest.raises(SignatureInvalid):
        verifier.verify_message(b"ack FLASH 43", signature)
    entry = next(u for u in principals_roster(node, principals).users if u.username == "officer")
    assert (entry.public_key, entry.ml_dsa_65_key) == who.personal_public_keys()


def principals_roster(node, principals):
    with node.store.read_session() as session:
        return principals.roster(session)


def test_a_legacy_ed25519_only_personal_key_is_refused_by_name(node, principals):
    import os

    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    from airrc.principals.accounts import LEGACY_KEY_AAD

    with node.store.session() as session:
        row = principals.add_user(session, "old", "an old password", ["duty_officer"])
        nonce = os.urandom(12)
        row.personal_key_sealed = nonce + ChaCha20Poly1305(
            principals._derive("an old password", row.key_salt)
        ).encrypt(
            nonce, ed25519.Ed25519PrivateKey.generate().private_bytes_raw(), LEGACY_KEY_AAD + row.id.encode()
        )
    with node.store.session() as session, pytest.raises(AuthError) as err:
        principals.unlock(session, "old", "an old password")
    assert err.value.code == "auth.legacy_personal_key"


def test_personal_key_is_not_stored_in_clear(node, principals):
    with node.store.session() as session:
        row = principals.add_user(session, "appr", "approver secret 1", ["approver"])
    unlocked = principals._unlock_personal_key(row, "approver secret 1")
    assert unlocked.ed25519_key.private_bytes_raw() not in row.personal_key_sealed
    assert unlocked.mldsa_key.private_bytes_raw() not in row.personal_key_sealed
    with pytest.raises(AuthError):
        principals._unlock_personal_key(row, "wrong password 1")


def test_service_principals_can_never_approve(node, principals):
    with node.store.session() as session:
        for roles in (["approver"], ["admin"], ["duty_officer"], ["ai_system", "approver"]):
            with pytest.raises(InputError) as err:
                principals.add_service(session, "planner", roles)
            assert err.value.code == "auth.bad_role"
        planner = principals.add_service(session, "planner")
        token = principals.create_token(session, planner, lifetime=timedelta(days=1))
        who = principals.authenticate(session, token)
    assert who.kind == "service"
    with pytest.raises(Forbidden):
        who.require("approver")


def test_bad_inputs(node, principals):
    with node.store.session() as session:
        with pytest.raises(InputError) as weak:
            principals.add_user(session, "weak", "short", ["analyst"])
        assert weak.value.code == "auth.weak_password"
        with pytest.raises(InputError) as role:
            principals.add_user(session, "x", "long enough pass", ["god"])
        assert role.value.code == "auth.bad_role"
        with pytest.raises(InputError):
            principals.add_user(session, "Bad Name", "long enough pass", ["analyst"])
        with pytest.raises(Conflict):
            principals.add_user(session, "admin", "long enough pass", ["analyst"])
        admin = principals.get(session, "admin")
        with pytest.raises(InputError):
            principals.create_token(session, admin, lifetime=timedelta(days=400))


def test_disabled_user_tokens_stop_working(node, principals):
    with node.store.session() as session:
        row = principals.add_user(session, "leaver", "leaver password", ["analyst"])
        token = principals.create_token(session, row, lifetime=timedelta(days=1))
        row.active = False
    with node.store.session() as session, pytest.raises(AuthError):
        principals.authenticate(session, token)
