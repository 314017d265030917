"""The storage contract helpers: list folding, recursive listing and per-mount views."""

from __future__ import annotations

import pytest

from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.storage import View, children, list_recursive


def test_children_folds_keys_into_leaves_and_folders() -> None:
    keys = ["a/b", "a/c/d", "a/c/e", "a/", "ab", "b/x", "a/z"]
    assert children(keys, "a/") == ["b", "c/", "z"]
    assert children(keys, "") == ["a/", "ab", "b/"]
    assert children(keys, "nothing/") == []


def test_children_of_a_prefix_that_is_not_a_folder() -> None:
    assert children(["abc", "abd/e", "x"], "ab") == ["c", "d/"]


def test_list_recursive_is_depth_first_and_complete() -> None:
    store = InmemStorage()
    for key in ["z", "a/1", "a/b/2", "a/b/3", "c/4"]:
        store.put(key, b"")
    assert list_recursive(store) == ["a/1", "a/b/2", "a/b/3", "c/4", "z"]
    assert list_recursive(store, "a/b/") == ["a/b/2", "a/b/3"]
    assert list_recursive(store, "none/") == []


def test_view_is_a_chroot() -> None:
    inner = InmemStorage()
    inner.put("outside", b"o")
    view = View(inner, "mount/x/")
    view.put("k", b"v")
    view.put("dir/k2", b"w")
    assert inner.get("mount/x/k") == b"v"
    assert view.get("k") == b"v"
    assert view.get("outside") is None
    assert view.list("") == ["dir/", "k"]
    assert view.list("dir/") == ["k2"]
    view.delete("k")
    assert inner.get("mount/x/k") is None
    assert inner.get("outside") == b"o"


def test_views_nest() -> None:
    inner = InmemStorage()
    View(View(inner, "a/"), "b/").put("c", b"1")
    assert inner.get("a/b/c") == b"1"


def test_empty_prefix_view_is_the_whole_store() -> None:
    inner = InmemStorage()
    View(inner, "").put("k", b"v")
    assert inner.get("k") == b"v"


def test_view_prefix_must_end_in_slash() -> None:
    with pytest.raises(ValueError, match="ends in '/'"):
        View(InmemStorage(), "mount")


@pytest.mark.parametrize("key", ["/abs", "..", "../x", "a/../../b", "a/.."])
def test_view_refuses_keys_that_escape(key: str) -> None:
    inner = InmemStorage()
    inner.put("x", b"secret")
    view = View(inner, "m/")
    for op in (view.get, view.delete, view.list):
        with pytest.raises(ValueError, match="invalid storage key"):
            op(key)
    with pytest.raises(ValueError, match="invalid storage key"):
        view.put(key, b"v")
    assert inner.get("x") == b"secret"


def test_dots_inside_names_are_fine() -> None:
    view = View(InmemStorage(), "m/")
    view.put("a..b/.c", b"v")
    assert view.get("a..b/.c") == b"v"
