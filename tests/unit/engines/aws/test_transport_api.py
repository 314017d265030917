"""`ForwardingIAM` / `ForwardingSTS` (transport/api.py): each method of the protocols hands
its own operation to `_forward`, with its arguments. mypy checks the answers' types, not which
operation a method names (twenty IAM operations answer the same type), so this does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from awsbroker.engines.aws.transport.api import IAM, STS, ForwardingIAM, ForwardingSTS

IAM_OPERATIONS = frozenset(name for name in vars(IAM) if not name.startswith("_")) - {"close"}
STS_OPERATIONS = frozenset(name for name in vars(STS) if not name.startswith("_")) - {"close"}


class Recording:
    """Answers each call with the operation it was handed and its arguments."""

    def _forward(self, operation: Callable[..., Any], kwargs: Mapping[str, object]) -> Any:
        return operation.__name__, dict(kwargs)

    def close(self) -> None:
        pass


class RecordingIAM(Recording, ForwardingIAM):
    pass


class RecordingSTS(Recording, ForwardingSTS):
    pass


@pytest.mark.parametrize(
    ("client", "operations"),
    [(RecordingIAM(), IAM_OPERATIONS), (RecordingSTS(), STS_OPERATIONS)],
    ids=["iam", "sts"],
)
def test_each_method_forwards_its_own_operation(client: Any, operations: frozenset[str]) -> None:
    assert len(operations) > 3
    for name in sorted(operations):
        if name == "get_caller_identity":
            assert client.get_caller_identity() == (name, {})
        else:
            assert getattr(client, name)(Marker=name) == (name, {"Marker": name})
