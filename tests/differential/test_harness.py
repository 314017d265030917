"""The comparer itself, on answers made up here: what it reports, and what it lets pass."""

from __future__ import annotations

import pytest
from tests.differential.harness import GET, Answer, Case, Everywhere, check, compare


def _envelope(**data: object) -> dict[str, object]:
    return {"request_id": "x", "lease_id": "", "data": data, "warnings": None}


def test_same_shape_other_values_is_no_difference() -> None:
    case = Case("c", GET("p"))
    assert compare(case, Answer(200, _envelope(a="1")), Answer(200, _envelope(a="2"))) == []


def test_status_keys_types_errors_and_values_are_reported() -> None:
    case = Case("c", GET("p"), values=("data.policies",))
    theirs = Answer(400, {**_envelope(a="1", policies=["a,b"]), "mount_type": "x"})
    ours = Answer(403, {**_envelope(a=1, b=[], policies=["a", "b"]), "errors": ["no"]})
    assert compare(case, theirs, ours) == [
        "status: openbao 400, awsbroker 403",
        "envelope: key 'mount_type' only in openbao",
        "envelope: key 'errors' only in awsbroker",
        "data: key 'b' only in awsbroker",
        "data.a: openbao str, awsbroker int",
        "errors: openbao None, awsbroker ['no']",
        "value data.policies: openbao ['a,b'], awsbroker ['a', 'b']",
    ]


def test_a_listed_difference_that_is_gone_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    case = Case("c", GET("p"))
    monkeypatch.setattr("tests.differential.harness.run_case", lambda case, targets: [])
    expected = {"c": {"status: openbao 200, awsbroker 404": "a reason"}}
    with pytest.raises(pytest.fail.Exception, match="listed but gone"):
        check(case, (None, None), expected, lambda *_: None)  # type: ignore[arg-type]


def test_an_unlisted_difference_fails_and_an_everywhere_rule_explains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = Case("c", GET("p"))
    found = ["envelope: key 'mount_type' only in awsbroker", "status: openbao 200, awsbroker 500"]
    monkeypatch.setattr("tests.differential.harness.run_case", lambda case, targets: found)
    rule = Everywhere(r"envelope: key 'mount_type' only in awsbroker", "why", case)
    with pytest.raises(pytest.fail.Exception, match="awsbroker 500"):
        check(case, (None, None), {}, lambda *_: None, [rule])  # type: ignore[arg-type]
    expected = {"c": {"status: openbao 200, awsbroker 500": "a reason"}}
    check(case, (None, None), expected, lambda *_: None, [rule])  # type: ignore[arg-type]
