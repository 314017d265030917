"""Longest-prefix routing from a logical path to its mount."""

from __future__ import annotations

import pytest

from awsbroker.core.mounts import MountEntry
from awsbroker.core.router import Route, Router
from awsbroker.sdk.framework import FrameworkBackend


class Dummy(FrameworkBackend["Dummy"]):
    def __init__(self, name: str) -> None:
        super().__init__(self, [])
        self.name = name


def entry(path: str) -> MountEntry:
    return MountEntry(path, "dummy", f"dummy_{len(path):08x}", path.strip("/"))


@pytest.fixture
def router() -> Router:
    r = Router()
    for path in ("sys/", "auth/token/", "aws/", "aws/prod/", "a/b/c/"):
        r.mount(entry(path), Dummy(path))
    return r


def mounted_at(router: Router, path: str) -> str | None:
    route = router.match(path)
    return None if route is None else route.mount_path


@pytest.mark.parametrize(
    ("path", "mount"),
    [
        ("sys/mounts", "sys/"),
        ("sys/", "sys/"),
        ("sys", "sys/"),
        ("auth/token/create", "auth/token/"),
        ("auth/token", "auth/token/"),
        ("auth/other/login", None),
        ("auth", None),
        ("aws/creds/x", "aws/"),
        ("aws/prod/creds/x", "aws/prod/"),
        ("aws/prod", "aws/prod/"),
        ("aws/production/x", "aws/"),
        ("aws/prod/", "aws/prod/"),
        ("a/b/c/d/e", "a/b/c/"),
        ("a/b/x", None),
        ("awsx/y", None),
        ("", None),
        ("/", None),
        ("nothing", None),
    ],
)
def test_longest_prefix_wins(router: Router, path: str, mount: str | None) -> None:
    assert mounted_at(router, path) == mount


def test_route_exposes_the_entry_and_backend(router: Router) -> None:
    route = router.match("aws/prod/x")
    assert isinstance(route, Route)
    assert route.entry.path == "aws/prod/"
    assert isinstance(route.backend, Dummy)
    assert route.backend.name == "aws/prod/"


def test_unmount_falls_back_to_the_shorter_mount(router: Router) -> None:
    router.unmount("aws/prod/")
    assert mounted_at(router, "aws/prod/creds/x") == "aws/"
    router.unmount("aws/")
    assert mounted_at(router, "aws/prod/creds/x") is None
    router.unmount("never-mounted/")


def test_mount_replaces_an_existing_route(router: Router) -> None:
    replacement = Dummy("new")
    router.mount(entry("aws/"), replacement)
    route = router.match("aws/x")
    assert route is not None
    assert route.backend is replacement


def test_routes_and_clear(router: Router) -> None:
    assert sorted(r.mount_path for r in router.routes()) == [
        "a/b/c/",
        "auth/token/",
        "aws/",
        "aws/prod/",
        "sys/",
    ]
    router.clear()
    assert router.routes() == []
    assert router.match("sys/mounts") is None


def test_routes_is_a_snapshot(router: Router) -> None:
    snapshot = router.routes()
    router.unmount("sys/")
    assert len(snapshot) == 5
    assert len(router.routes()) == 4
