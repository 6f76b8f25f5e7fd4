"""`airrc media` as an operator runs it: hash files, share a hash kept on this node, match a copy, list."""

import json

from tests.conftest import cli
from tests.media.images import encode, scene


def test_hash_share_match_and_bad_files(tmp_path):
    home = tmp_path / "node"
    cli(
        "init",
        "--name",
        "us-media",
        "--country",
        "US",
        "--password-stdin",
        home=home,
        stdin="media admin password\n",
    )
    original, copy, flat = tmp_path / "fake.png", tmp_path / "copy.jpg", tmp_path / "flat.png"
    original.write_bytes(encode(scene(8)))
    copy.write_bytes(encode(scene(8).resize((160, 120)), "JPEG", quality=35))
    flat.write_bytes(encode(scene(8).convert("L").point(lambda _v: 128)))
    hashed = json.loads(cli("media", "hash", str(original), str(copy), "--json", home=home).stdout)
    assert [h["quality"] >= 50 for h in hashed] == [True, True]
    shared = cli("media", "share", str(original), "--label", "deepfake of a named minister", home=home)
    assert "1 hash(es)" in shared.stdout
    found = json.loads(cli("media", "match", str(copy), "--json", home=home).stdout)
    assert [m["label"] for m in found] == ["deepfake of a named minister"]
    by_hash = json.loads(
        cli("media", "match", hashed[0]["hash"], "--radius", "0", "--json", home=home).stdout
    )
    assert [m["distance"] for m in by_hash] == [0]
    again = cli("media", "share", str(copy), "--label", "a copy", home=home)
    assert "matches:" in again.stdout
    listed = json.loads(cli("media", "matches", "--json", home=home).stdout)
    assert listed[0]["known"]["label"] == "deepfake of a named minister"
    low = cli("media", "hash", str(flat), home=home, check=False)
    assert low.returncode == 1
    assert "error[media.low_quality]" in low.stderr
    bad_tlp = cli("media", "share", str(original), "--label", "x", "--tlp", "purple", home=home, check=False)
    assert "error[input.bad_tlp]" in bad_tlp.stderr
