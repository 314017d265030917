"""The `file` device's sink: append, mode, stdout/discard, SIGHUP reopen, deleted files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from awsbroker.audit.file_sink import FileSink
from awsbroker.sdk.errors import InvalidRequest


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_lines_are_appended_to_a_file_created_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    sink = FileSink.from_options({"file_path": str(path)})
    sink.write(b"one\n")
    sink.write(b"two\n")
    sink.close()
    assert path.read_bytes() == b"one\ntwo\n"
    assert mode_of(path) == 0o600


def test_mode_option_and_legacy_path_alias(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(b"old\n")
    path.chmod(0o644)
    sink = FileSink.from_options({"path": str(path), "mode": "0640"})
    sink.write(b"new\n")
    sink.close()
    assert path.read_bytes() == b"old\nnew\n"
    assert mode_of(path) == 0o640


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "file_path is required"),
        ({"file_path": "/tmp/x", "mode": "rw"}, "unable to parse 'mode'"),
        ({"file_path": "/tmp/x", "mode": "7777"}, "not a file mode"),
    ],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        FileSink.from_options(options)


def test_stdout_and_discard(capsys: pytest.CaptureFixture[str]) -> None:
    FileSink("stdout").write(b'{"type":"request"}\n')
    FileSink("discard").write(b"nothing\n")
    assert capsys.readouterr().out == '{"type":"request"}\n'


def test_reopen_lets_a_rotated_file_go(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    sink = FileSink(str(path))
    sink.write(b"before\n")
    path.rename(tmp_path / "audit.log.1")
    sink.write(b"still old\n")  # no SIGHUP yet: the open file is the renamed one
    sink.reopen()
    sink.write(b"after\n")
    sink.close()
    assert (tmp_path / "audit.log.1").read_bytes() == b"before\nstill old\n"
    assert path.read_bytes() == b"after\n"


def test_a_deleted_file_is_never_written_to_and_a_missing_directory_fails(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "logs"
    directory.mkdir()
    path = directory / "audit.log"
    sink = FileSink(str(path))
    sink.write(b"first\n")
    path.unlink()
    directory.rmdir()
    with pytest.raises(FileNotFoundError):
        sink.write(b"lost?\n")
    directory.mkdir()
    sink.write(b"back\n")  # the directory is back: the next write opens the path again
    sink.close()
    assert path.read_bytes() == b"back\n"


def test_a_full_device_fails_and_its_mode_is_left_alone() -> None:
    before = os.stat("/dev/full").st_mode
    sink = FileSink("/dev/full")
    with pytest.raises(OSError, match="No space left"):
        sink.write(b"x\n")
    sink.close()
    assert os.stat("/dev/full").st_mode == before
