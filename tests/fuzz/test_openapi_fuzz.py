"""The short fuzzing run: a live server, fuzzed from its own OpenAPI description with the root
token, a few cases per operation (derandomized: the same cases every run), and the hostile
requests of `tests/support/fuzz_hostile.py` for each. The long run is `scripts/fuzz`; what is
judged, and what is left out, is in `tests/support/fuzz.py`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from tests.support.fuzz import Budget, World, fuzz
from tests.support.fuzz_state import check_state, log_exceptions

# About 600 cases (89 operations x 2 modes x 3, and the seeded role names) and 960 hostile
# requests, under a minute.
SHORT = Budget(per_operation=3, per_seeded_name=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = World(Path(tmp_path_factory.mktemp("fuzz")))
    try:
        world.start()
        yield world
    finally:
        world.close()


def test_the_served_document_is_valid_openapi(world: World) -> None:
    token = world.call("POST", "auth/token/create", {"policies": ["default"]}).json()
    answer = world.server.request(
        "GET", "sys/internal/specs/openapi", token["auth"]["client_token"]
    )
    assert answer.status_code == 200
    doc = answer.json()
    validate(doc)
    assert doc["info"]["title"] == "awsbroker"
    assert "/aws/creds/{name}" in doc["paths"]


def test_no_input_makes_the_server_fail(world: World) -> None:
    report = fuzz(world, SHORT)
    print(report.summary())  # shown with `pytest -s`
    details = "\n".join(f"{f.label} [{f.mode}] {f.kind}: {f.detail}" for f in report.failures)
    assert not report.failures, report.summary() + "\n" + details
    assert report.cases >= 400, report.summary()
    # Every operation also got the hostile requests (tests/support/fuzz_hostile.py): deep
    # bodies and odd Content-Types to each POST, foreign Origin and Host to each.
    assert report.hostile >= 800, report.summary()
    assert world.server.running
    assert check_state(world) == []
    assert log_exceptions(world) == []
