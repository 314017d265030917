"""One real OpenBao dev server and one awsbroker dev server for the whole differential run
(root token `root` on both), and the tally printed at the end: how many cases were compared and
how many differ, with how many differences in all.

Cases use names of their own (policies, mounts, tokens) so the shared servers carry no state
from one case into another."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from tests.differential.harness import AWSBROKER, ENGINE, OPENBAO, Target
from tests.support import bao, openbao
from tests.support.server import ROOT_TOKEN, ServerProcess, running
from tests.support.server import dev_server as make_dev_server


@pytest.fixture(scope="session")
def openbao_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openbao.OpenBaoServer]:
    bao.require()  # before any server: a missing `bao` skips (fails under CI) at no cost
    with openbao.running(tmp_path_factory.mktemp("openbao")) as server:
        yield server


@pytest.fixture(scope="session")
def awsbroker_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running(make_dev_server(tmp_path_factory.mktemp("awsbroker"))) as server:
        yield server


@pytest.fixture(scope="session")
def targets(
    openbao_server: openbao.OpenBaoServer, awsbroker_server: ServerProcess
) -> Iterator[tuple[Target, Target]]:
    with requests.Session() as theirs, requests.Session() as ours:
        yield (
            Target(OPENBAO, openbao_server.url, theirs, {"root": ROOT_TOKEN, **ENGINE[OPENBAO]}),
            Target(
                AWSBROKER, awsbroker_server.url, ours, {"root": ROOT_TOKEN, **ENGINE[AWSBROKER]}
            ),
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The tally: cases compared, how many answered alike, how many differ only by the
    everywhere rules (everywhere.py), how many with differences listed case by case."""
    compared = alike = everywhere_only = listed_cases = differences = 0
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name != "differential":
                    continue
                compared += 1
                differences += value["differences"]
                if not value["differences"]:
                    alike += 1
                elif value.get("listed"):
                    listed_cases += 1
                else:
                    everywhere_only += 1
    if compared:
        terminalreporter.write_line(
            f"differential: {compared} cases compared with OpenBao, {compared - alike} differ "
            f"({alike} alike, {everywhere_only} only by the everywhere rules, {listed_cases} with "
            f"differences listed case by case; {differences} differences, each kept with its "
            f"reason)"
        )
