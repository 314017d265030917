from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from awsbroker.cli.credcache import (
    CacheUnsafe,
    CredentialCache,
    cache_dir,
    fresh_enough,
    worth_caching,
)


def test_handed_out_only_with_more_than_15_minutes_left() -> None:
    """botocore refreshes under 15 minutes left: whatever the lifetime, a credential with
    less is never handed out from the cache (a 15-minute one with 8 left made credential-process
    run at every call)."""
    hour = {"issued_at": 0, "expires_at": 3600}
    assert fresh_enough(hour, 2699)
    assert not fresh_enough(hour, 2700)
    day = {"issued_at": 0, "expires_at": 86400}
    assert fresh_enough(day, 86400 - 901)
    assert not fresh_enough(day, 86400 - 900)
    quarter = {"issued_at": 0, "expires_at": 900}
    assert not fresh_enough(quarter, 0)
    assert not fresh_enough(quarter, 7 * 60)
    assert not fresh_enough({"issued_at": 0}, 0)


def test_credentials_of_15_minutes_or_less_are_not_stored() -> None:
    assert worth_caching({"issued_at": 0, "expires_at": 901})
    assert not worth_caching({"issued_at": 0, "expires_at": 900})
    assert not worth_caching({"issued_at": 0, "expires_at": None})


def test_where_the_cache_lives(tmp_path: Path) -> None:
    assert cache_dir({"AWSBROKER_CACHE_DIR": "/c"}) == Path("/c")
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/awsbroker")
    assert cache_dir({"HOME": str(tmp_path)}) == tmp_path / ".cache" / "awsbroker"


def test_store_and_load_private_files(tmp_path: Path) -> None:
    cache = CredentialCache(tmp_path / "c", ["addr", "aws", "role"], "hvs.a")
    cache.prepare()
    assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700
    assert cache.load() is None
    with cache.locked():
        cache.store({"access_key": "k"})
    assert cache.load() == {"access_key": "k"}
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    other = CredentialCache(tmp_path / "c", ["addr", "aws", "other"], "hvs.a")
    assert other.path != cache.path
    cache.path.chmod(0o644)
    assert cache.load() is None  # readable by others: not trusted
    cache.path.write_text("not json")
    cache.path.chmod(0o600)
    assert cache.load() is None


def test_a_loose_directory_is_tightened_and_a_non_directory_refused(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o777)
    CredentialCache(loose, ["k"], "hvs.a").prepare()
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "link"
    os.symlink(target, link)
    with pytest.raises(CacheUnsafe):
        CredentialCache(link, ["k"], "hvs.a").prepare()


def test_each_token_has_its_own_file_named_by_a_hash(tmp_path: Path) -> None:
    token = "hvs.secretsecretsecret"
    mine = CredentialCache(tmp_path, ["addr", "aws", "role"], token)
    assert CredentialCache(tmp_path, ["addr", "aws", "role"], token).path == mine.path
    theirs = CredentialCache(tmp_path, ["addr", "aws", "role"], "hvs.other")
    assert theirs.path != mine.path
    assert CredentialCache(tmp_path, ["addr", "aws", "role"], "").path != mine.path
    mine.prepare()
    with mine.locked():
        mine.store({"access_key": "k"})
    assert theirs.load() is None
    for path in tmp_path.iterdir():
        assert "secret" not in path.name
        assert "secret" not in path.read_text()
