"""Rekey and root generation attempts shared by several nodes (barriers) on one storage:
shares given at once to three nodes make one attempt that completes once; the shares are never
in the physical store in plain text; a rekey that stops between its two writes still leaves a
server that unseals, with the old keys or with the new."""

from __future__ import annotations

import base64

import pytest
from tests.support.threads import run_together

from awsbroker.barrier.aes_gcm import AESGCMBarrier
from awsbroker.barrier.seal import SEAL_CONFIG_PATH, ShamirSeal
from awsbroker.core.share_attempts import (
    GENERATE_ROOT_PATH,
    REKEY_PATH,
    GenerateRoot,
    Progress,
    Rekey,
    RekeyDone,
    decode_token,
    encode_token,
)
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.storage import list_recursive


class Node:
    def __init__(self, physical: InmemStorage) -> None:
        self.barrier = AESGCMBarrier(physical)
        self.seal = ShamirSeal(self.barrier, physical)


@pytest.fixture
def physical() -> InmemStorage:
    return InmemStorage()


@pytest.fixture
def keys(physical: InmemStorage) -> list[bytes]:
    return Node(physical).seal.initialize(5, 3)


@pytest.fixture
def nodes(physical: InmemStorage, keys: list[bytes]) -> list[Node]:
    made = [Node(physical) for _ in range(3)]
    for node in made:
        for key in keys[:3]:
            node.seal.submit(key)
        assert not node.barrier.sealed
    return made


def unseals(physical: InmemStorage, keys: list[bytes]) -> bool:
    node = Node(physical)
    try:
        for key in keys:
            node.seal.submit(key)
    except InvalidRequest:
        return False
    return not node.barrier.sealed


def test_shares_given_at_once_to_three_nodes_complete_one_rekey(
    physical: InmemStorage, keys: list[bytes], nodes: list[Node]
) -> None:
    Rekey(nodes[0].barrier, nodes[0].seal).start(2, 2, False)
    nonce = str((Rekey(nodes[1].barrier, nodes[1].seal).record() or {})["nonce"])
    results: list[Progress | RekeyDone] = []
    run_together(
        3,
        lambda n: results.append(Rekey(nodes[n].barrier, nodes[n].seal).update(keys[n + 1], nonce)),
    )
    done = [r for r in results if isinstance(r, RekeyDone)]
    assert sorted(r.count for r in results if isinstance(r, Progress)) == [1, 2]
    assert len(done) == 1
    assert physical.get(REKEY_PATH) is None
    assert not unseals(physical, keys[:3])
    assert unseals(physical, done[0].keys)


def test_submitted_shares_are_never_stored_in_plain_text(
    physical: InmemStorage, keys: list[bytes], nodes: list[Node]
) -> None:
    rekey = Rekey(nodes[0].barrier, nodes[0].seal)
    rekey.start(1, 1, False)
    rekey.update(keys[0], str((rekey.record() or {})["nonce"]))
    generation = GenerateRoot(nodes[1].barrier, nodes[1].seal, lambda: "hvs." + "x" * 24)
    generation.start("o" * 28)
    generation.update(keys[1], str((generation.record() or {})["nonce"]))
    assert physical.get(REKEY_PATH) is not None
    assert physical.get(GENERATE_ROOT_PATH) is not None
    stored = b"".join(physical.get(key) or b"" for key in list_recursive(physical))
    for key in keys[:2]:
        for form in (key, key.hex().encode(), base64.b64encode(key)):
            assert form not in stored


def test_a_rekey_stopped_before_its_root_key_write_keeps_the_old_keys(
    physical: InmemStorage, keys: list[bytes], nodes: list[Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object) -> bool:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(nodes[0].barrier, "replace_root_key", crash)
    rekey = Rekey(nodes[0].barrier, nodes[0].seal)
    rekey.start(2, 2, False)
    nonce = str((rekey.record() or {})["nonce"])
    rekey.update(keys[0], nonce)
    rekey.update(keys[1], nonce)
    with pytest.raises(RuntimeError):
        rekey.update(keys[2], nonce)
    assert b'"next"' in (physical.get(SEAL_CONFIG_PATH) or b"")  # the pending record stayed
    config = nodes[1].seal.config()
    assert config is not None
    assert (config.secret_shares, config.secret_threshold) == (5, 3)
    assert unseals(physical, keys[2:])


def test_a_rekey_stopped_after_its_root_key_write_unseals_with_the_new_keys(
    physical: InmemStorage, keys: list[bytes], nodes: list[Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_put = physical.put
    writes: list[str] = []

    def put(key: str, value: bytes) -> None:
        if key == SEAL_CONFIG_PATH:
            writes.append(key)
            if len(writes) == 2:  # the final configuration, after the root key
                raise RuntimeError("the process died here")
        real_put(key, value)

    monkeypatch.setattr(physical, "put", put)
    rekey = Rekey(nodes[0].barrier, nodes[0].seal)
    rekey.start(2, 2, False)
    nonce = str((rekey.record() or {})["nonce"])
    rekey.update(keys[0], nonce)
    rekey.update(keys[1], nonce)
    with pytest.raises(RuntimeError):
        rekey.update(keys[2], nonce)
    monkeypatch.setattr(physical, "put", real_put)
    config = nodes[1].seal.config()
    assert config is not None
    assert (config.secret_shares, config.secret_threshold) == (2, 2)
    assert not unseals(physical, keys[:3])  # the new keys were lost with the process


def test_the_encoded_token_is_the_token_xor_the_otp_in_unpadded_base64() -> None:
    token, otp = "hvs." + "a" * 24, "BMjzW3wAsEzINXCM05Wbas3u9zSl"
    encoded = encode_token(token, otp)
    assert "=" not in encoded
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    assert bytes(x ^ y for x, y in zip(raw, otp.encode(), strict=True)) == token.encode()
    assert decode_token(encoded, otp) == token
    with pytest.raises(InvalidRequest, match="length of byte slices is not equivalent: 28 != 4"):
        decode_token(encoded, "abcd")
