from datetime import timedelta

import pytest

from airrc.errors import AuthError, Conflict, Forbidden, InputError
from airrc.principals.accounts import KdfParams, Principals
from tests.conftest import FAST_KDF


@pytest.fixture
def principals():
    return Principals(FAST_KDF)


def test_production_kdf_defaults_are_strong():
    params = KdfParams()
    assert params.memory_kib >= 65536
    assert params.time_cost >= 3


def test_session_token_unlocks_the_personal_key(node, principals):
    with node.store.session() as session:
        row = principals.add_user(session, "officer", "duty officer secret", ["duty_officer"])
    token = principals.login(node.store, "officer", "duty officer secret", lifetime=timedelta(hours=1))
    with node.store.session() as session:
        plain = principals.create_token(session, row, lifetime=timedelta(hours=1))
        who = principals.authenticate(session, token)
        locked = principals.authenticate(session, plain)
    signature = who.sign_personally(b"ack FLASH 42")
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from airrc.crypto.canonical import b64decode

    ed25519.Ed25519PublicKey.from_public_bytes(b64decode(row.personal_public_key)).verify(
        signature, b"ack FLASH 42"
    )
    with pytest.raises(Forbidden) as err:
        locked.sign_personally(b"x")
    assert err.value.code == "auth.key_locked"


def test_personal_key_is_not_stored_in_clear(node, principals):
    with node.store.session() as session:
        row = principals.add_user(session, "appr", "approver secret 1", ["approver"])
    unlocked = principals._unlock_personal_key(row, "approver secret 1")
    assert unlocked.private_bytes_raw() not in row.personal_key_sealed
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
