"""Media signals between nodes: us shares a deepfake's PDQ hash under AMBER with cn only; cn stores it,
and a recompressed, resized copy hashed at cn matches it with an alert naming both provenances; sg sees
nothing; matching finds rotated copies; the index follows rows written by another process."""

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from airrc.alerts import Alert
from airrc.api.app import create_app
from airrc.errors import MediaError
from airrc.media.tables import MediaHashRow
from airrc.node import Node
from tests.hotline.conftest import Net
from tests.media.images import encode, scene


def _shared(net: Net):
    us = net.nodes["us"]
    deepfake = scene(42)
    with us.store.session() as session:
        signed, stored = us.media.share(
            session, [us.media.hash(encode(deepfake))], label="deepfake of a named minister", partners=["cn"]
        )
    net.relay()
    return deepfake, signed, stored


def test_a_shared_hash_reaches_only_its_partner_and_matches_a_travelled_copy(net: Net) -> None:
    us, cn, sg = net.nodes["us"], net.nodes["cn"], net.nodes["sg"]
    deepfake, signed, stored = _shared(net)
    assert signed.statement.tlp == "amber"
    assert stored[0][1] == []  # nothing known matched it at us
    with cn.store.read_session() as session:
        received = session.scalars(select(MediaHashRow).where(MediaHashRow.origin == us.id)).all()
    assert [r.label for r in received] == ["deepfake of a named minister"]
    with sg.store.read_session() as session:
        assert session.scalars(select(MediaHashRow)).all() == []

    copy = deepfake.resize((200, 150))
    with cn.store.session() as session:
        _signed, found = cn.media.share(
            session, [cn.media.hash(encode(copy, "JPEG", quality=40))], label="seen on a video platform"
        )
    [(row, matches)] = found
    assert [(m.origin, m.label) for m in matches] == [(us.id, "deepfake of a named minister")]
    assert matches[0].distance <= 31
    with cn.store.read_session() as session:
        alerts = session.scalars(select(Alert).where(Alert.code == "media.match")).all()
        listed = cn.media.matches(session)
    assert len(alerts) == 1
    assert "us" in alerts[0].message
    assert listed[0]["known"]["origin_name"] == "us"
    assert listed[0]["new"]["hash"] == row.hash.hex()


def test_matching_an_image_finds_rotated_and_mirrored_copies(net: Net) -> None:
    cn = net.nodes["cn"]
    deepfake, _signed, _stored = _shared(net)
    for turned in (
        deepfake.transpose(Image.Transpose.ROTATE_90),
        deepfake.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    ):
        with cn.store.read_session() as session:
            _hashed, found = cn.media.match_image(session, encode(turned, "JPEG", quality=70))
        assert [m.label for m in found] == ["deepfake of a named minister"]
    with cn.store.read_session() as session:
        _hashed, nothing = cn.media.match_image(session, encode(scene(7)))
    assert nothing == []


def test_the_index_follows_rows_another_process_wrote(net: Net) -> None:
    cn = net.nodes["cn"]
    # A second Node over the same home and database, as a CLI process beside the server is: built first,
    # it sees the rows the server stores afterwards.
    other = Node(cn.settings)
    _shared(net)
    with cn.store.read_session() as session:
        known = session.scalars(select(MediaHashRow)).one()
    with other.store.read_session() as session:
        assert [m.hash_id for m in other.media.search(session, [known.hash], radius=0)] == [known.id]
    other.close()


def test_bad_signals_are_refused(net: Net) -> None:
    us = net.nodes["us"]
    hashed = us.media.hash(encode(scene(5)))
    with us.store.session() as session:
        for label, code in (("", "media.bad_signal"), ("CSAM sample", "media.bad_signal")):
            with pytest.raises(MediaError) as refused:
                us.media.share(session, [hashed], label=label)
            assert refused.value.code == code
        with pytest.raises(MediaError) as empty:
            us.media.share(session, [], label="x")
        assert empty.value.code == "media.no_hashes"


def test_the_rest_api_hashes_matches_and_lists(net: Net) -> None:
    cn = net.nodes["cn"]
    _shared(net)
    with cn.store.session() as session:
        cn.add_user(session, "ana", "analyst password 1", ["analyst"])
    token = cn.login("ana", "analyst password 1")
    client = TestClient(create_app(cn))
    auth = {"authorization": f"Bearer {token}"}
    hashed = client.post("/media/v1/hash", content=encode(scene(42), "JPEG", quality=50), headers=auth)
    assert hashed.status_code == 200, hashed.text
    assert len(hashed.json()["dihedral"]) == 8
    matched = client.post("/media/v1/match", content=encode(scene(42).resize((160, 120))), headers=auth)
    assert [m["origin_name"] for m in matched.json()["matches"]] == ["us"]
    by_hash = client.get(f"/media/v1/hashes/{hashed.json()['hash']}/matches", headers=auth)
    assert len(by_hash.json()["matches"]) == 1
    bad = client.post("/media/v1/hash", content=b"not an image", headers=auth)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "media.unsupported_type")
    assert client.get("/media/v1/hashes/zz/matches", headers=auth).json()["error"]["code"] == "media.bad_hash"
    assert client.post("/media/v1/hash", content=b"x").status_code == 401
    shared = client.post(
        "/media/v1/signals", json={"hashes": [hashed.json()["hash"]], "label": "a copy"}, headers=auth
    )
    assert shared.status_code == 201, shared.text
    assert shared.json()["matches"][0]["matches"][0]["distance"] <= 31
    assert len(client.get("/media/v1/matches", headers=auth).json()) == 1
