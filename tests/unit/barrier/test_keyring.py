"""The keyring: terms, the root key, and its JSON form."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from awsbroker.barrier.keyring import KEY_SIZE, Key, Keyring


def _keyring() -> Keyring:
    return Keyring.new(secrets.token_bytes(KEY_SIZE), secrets.token_bytes(KEY_SIZE), 100.0)


def test_new_has_term_one() -> None:
    ring = _keyring()
    assert ring.active_term == 1
    assert ring.active_key.term == 1
    assert ring.active_key.install_time == 100.0
    assert ring.term_key(2) is None


def test_with_new_term_leaves_the_original_alone() -> None:
    ring = _keyring()
    value = secrets.token_bytes(KEY_SIZE)
    rotated = ring.with_new_term(value, 200.0)
    assert rotated.active_term == 2
    assert rotated.active_key.value == value
    assert rotated.active_key.install_time == 200.0
    assert rotated.term_key(1) is ring.term_key(1)
    assert rotated.root_key == ring.root_key
    assert ring.active_term == 1
    assert sorted(ring.keys) == [1]


def test_keys_mapping_is_read_only() -> None:
    ring = _keyring()
    with pytest.raises(TypeError):
        ring.keys[5] = Key(5, b"\x00" * KEY_SIZE, 0.0)  # type: ignore[index]


def test_serialize_round_trip() -> None:
    ring = _keyring().with_new_term(secrets.token_bytes(KEY_SIZE), 300.5)
    data = ring.serialize()
    doc = json.loads(data)
    assert base64.b64decode(doc["root_key"]) == ring.root_key
    assert [k["term"] for k in doc["keys"]] == [1, 2]
    back = Keyring.deserialize(data)
    assert back.root_key == ring.root_key
    assert back.active_term == 2
    for term in (1, 2):
        original, parsed = ring.keys[term], back.keys[term]
        assert (parsed.term, parsed.value, parsed.install_time) == (
            original.term,
            original.value,
            original.install_time,
        )
    assert back.serialize() == data


def test_repr_hides_key_material() -> None:
    ring = _keyring()
    text = repr(ring) + repr(ring.active_key)
    for secret in (ring.root_key, ring.active_key.value):
        assert secret.hex() not in text
        assert base64.b64encode(secret).decode() not in text
        assert repr(secret) not in text


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"root_key": "AAAA", "keys": []}',
        b'{"root_key": 5, "keys": [{"term": 1, "value": "AA==", "install_time": 0}]}',
        b'{"root_key": "!!", "keys": [{"term": 1, "value": "AA==", "install_time": 0}]}',
        b'{"root_key": "AA==", "keys": [{"term": 1, "value": "AA==", "install_time": 0}]}',
    ],
)
def test_deserialize_rejects_malformed(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"keyring|root key|32 bytes|term"):
        Keyring.deserialize(data)


def test_validation() -> None:
    good = secrets.token_bytes(KEY_SIZE)
    with pytest.raises(ValueError, match="at least one term"):
        Keyring(root_key=good, keys={})
    with pytest.raises(ValueError, match="inconsistent"):
        Keyring(root_key=good, keys={2: Key(1, good, 0.0)})
    with pytest.raises(ValueError, match="inconsistent"):
        Keyring(root_key=good, keys={0: Key(0, good, 0.0)})
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring(root_key=good, keys={1: Key(1, b"short", 0.0)})
    with pytest.raises(ValueError, match="root key"):
        Keyring(root_key=b"short", keys={1: Key(1, good, 0.0)})


def test_validation_errors_never_carry_key_material() -> None:
    bad = b"x" * 31
    with pytest.raises(ValueError, match="root key") as info:
        Keyring(root_key=bad, keys={1: Key(1, secrets.token_bytes(KEY_SIZE), 0.0)})
    assert "xxxx" not in str(info.value)
