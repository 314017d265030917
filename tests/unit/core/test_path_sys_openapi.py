"""`sys/internal/specs/openapi`: the document of the running core (sys/, auth/token/, every
engine at its mount path), valid OpenAPI 3, readable through the `default` policy only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate
from tests.support.core_harness import Harness, make_harness

from awsbroker import __version__
from awsbroker.core.mounts import new_entry
from awsbroker.engines.aws.backend import factory as aws_factory
from awsbroker.sdk.errors import PermissionDenied
from awsbroker.sdk.framework import FrameworkBackend
from awsbroker.sdk.logical import JSONObject, Operation
from awsbroker.sdk.openapi import templates

R, U = Operation.READ, Operation.UPDATE
OPENAPI = "sys/internal/specs/openapi"


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = make_harness()
    harness.core.engines["aws"] = aws_factory
    harness.core.enable_mount(new_entry("aws/", "aws"))
    harness.core.enable_mount(new_entry("team/aws/", "aws"))
    yield harness
    harness.close()


def read_doc(h: Harness, token: str | None = None) -> JSONObject:
    response = h.ok(R, OPENAPI, token=token)
    assert response.raw is not None
    return response.raw


def test_the_document_is_valid_openapi(h: Harness) -> None:
    doc: Any = read_doc(h)
    validate(doc)
    assert doc["openapi"] == "3.0.2"
    assert doc["info"] == {
        "title": "awsbroker",
        "version": __version__,
        "description": doc["info"]["description"],
    }


def test_every_mount_is_documented_at_its_path(h: Harness) -> None:
    paths: Any = read_doc(h)["paths"]
    for path in (
        "/sys/mounts/{path}",
        "/sys/internal/specs/openapi",
        "/auth/token/create",
        "/aws/creds/{name}",
        "/aws/sts/{name}",
        "/team/aws/roles/",
        "/team/aws/roles/{name}",
        "/test/items/{name}",
    ):
        assert path in paths, path
    assert paths["/sys/seal"]["x-vault-sudo"] is True
    assert paths["/sys/health"]["get"]["security"] == []
    assert paths["/aws/roles/{name}"]["post"]["tags"] == ["secrets"]
    assert paths["/auth/token/create"]["post"]["tags"] == ["auth"]
    assert paths["/sys/mounts"]["get"]["tags"] == ["system"]


def test_every_declared_pattern_round_trips(h: Harness) -> None:
    """Each spec converts; the template, with its parameters filled in, routes back to that
    spec (or to an earlier one of the same URL, which the backend would pick too)."""
    for route in h.core.router.routes():
        backend = route.backend
        assert isinstance(backend, FrameworkBackend)
        for spec in backend.paths:
            for template in templates(spec.pattern):
                for schema in template.parameters.values():
                    assert re.search(str(schema["pattern"]), "x1")
                concrete = re.sub(r"\{\w+\}", "x1", template.path)
                found = backend.match(concrete)
                assert found is not None, (route.mount_path, spec.pattern)
                assert found[0].pattern == spec.pattern or backend.paths.index(
                    found[0]
                ) < backend.paths.index(spec), (route.mount_path, spec.pattern)


def test_a_default_policy_token_may_read_it(h: Harness) -> None:
    token = h.token({"policies": ["nobody"]})
    assert "/sys/mounts" in read_doc(h, token)["paths"]  # type: ignore[operator]


def test_without_the_default_policy_it_is_denied(h: Harness) -> None:
    token = h.token({"policies": ["nobody"], "no_default_policy": True})
    with pytest.raises(PermissionDenied):
        h.call(R, OPENAPI, token=token)
    with pytest.raises(PermissionDenied):
        h.call(R, OPENAPI, token="")
