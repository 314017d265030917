"""JSON records in storage: one encoding, and corrupt data reported as an internal error."""

from __future__ import annotations

import pytest

from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.errors import InternalError
from awsbroker.sdk.records import dump, get_record, load, put_record


def test_dump_is_compact_and_sorted() -> None:
    assert dump({"b": 1, "a": [True, None]}) == b'{"a":[true,null],"b":1}'


def test_round_trip_through_storage() -> None:
    storage = InmemStorage()
    assert get_record(storage, "k") is None
    put_record(storage, "k", {"x": {"y": "z"}})
    assert get_record(storage, "k") == {"x": {"y": "z"}}


@pytest.mark.parametrize("blob", [b"{not json", b"[1, 2]", b'"text"', b"\xff"])
def test_corrupt_records_are_internal_errors(blob: bytes) -> None:
    with pytest.raises(InternalError, match="corrupt record in storage"):
        load(blob)
