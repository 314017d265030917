"""Rekey and generate-root (issue 17 item 14). Both servers at their defaults: Vault's
token-less `sys/rekey/*` and `sys/generate-root/*` are gone on both (the listener's
`disable_unauthed_*` switches, true unless set to false), 405 `unsupported operation` whatever
the method or token. Each attempt started is cancelled after its case, so the servers stay as
they were."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import (
    AWSBROKER,
    DELETE,
    ENGINE,
    GET,
    OPENBAO,
    PUT,
    Case,
    Target,
    check,
    params,
)
from tests.support import bao, openbao
from tests.support.server import ROOT_TOKEN, UNAUTHED_ON, config_server, running

NO_REKEY = (DELETE("sys/rekey/init"),)
NO_ROOT = (DELETE("sys/generate-root/attempt"),)

CASES = [
    Case("rekey status", GET("sys/rekey/init"), item="14"),
    Case(
        "rekey init",
        PUT("sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1}),
        cleanup=NO_REKEY,
        item="14",
    ),
    Case(
        "rekey init with a threshold over the shares",
        PUT("sys/rekey/init", {"secret_shares": 1, "secret_threshold": 2}),
        cleanup=NO_REKEY,
        item="14",
    ),
    Case(
        "rekey update without an attempt",
        PUT("sys/rekey/update", {"key": "AAAA", "nonce": "x"}),
        item="14",
    ),
    Case("rekey cancel", DELETE("sys/rekey/init"), item="14"),
    Case("rekey backup without PGP", GET("sys/rekey/backup"), item="14"),
    Case("rekey verify status", GET("sys/rekey/verify"), item="14"),
    Case("generate-root status", GET("sys/generate-root/attempt"), item="14"),
    Case("generate-root start", PUT("sys/generate-root/attempt", {}), cleanup=NO_ROOT, item="14"),
    Case(
        "generate-root update without an attempt",
        PUT("sys/generate-root/update", {"key": "AAAA", "nonce": "x"}),
        item="14",
    ),
    Case("generate-root cancel", DELETE("sys/generate-root/attempt"), item="14"),
    Case(
        "decode-token of a bogus token",
        PUT("sys/decode-token", {"encoded_token": "AAAA", "otp": "BBBB"}),
        item="14",
    ),
]

EXPECTED: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)


# ---- both servers with the token-less paths switched on ------------------------------------

ROTATE_OFF = (DELETE("sys/rotate/root/init"),)
TOKEN_ROOT_OFF = (DELETE("sys/generate-root-token/attempt"),)
ONE = {"secret_shares": 1, "secret_threshold": 1}
STATUS = ("started", "required", "progress", "t", "n", "otp_length", "complete")

ON_CASES = [
    Case("on: rekey status, no token", GET("sys/rekey/init", token=None), item="14"),
    Case(
        "on: rekey init, no token",
        PUT("sys/rekey/init", ONE, token=None),
        cleanup=NO_REKEY,
        item="14",
    ),
    Case(
        "on: rekey init with a threshold over the shares",
        PUT("sys/rekey/init", {"secret_shares": 1, "secret_threshold": 2}, token=None),
        cleanup=NO_REKEY,
        item="14",
    ),
    Case(
        "on: rekey update without an attempt",
        PUT("sys/rekey/update", {"key": "AAAA", "nonce": "x"}, token=None),
        item="14",
    ),
    Case("on: rekey verify status", GET("sys/rekey/verify", token=None), item="14"),
    Case("on: rekey cancel, no token", DELETE("sys/rekey/init", token=None), item="14"),
    Case(
        "on: generate-root status, no token",
        GET("sys/generate-root/attempt", token=None),
        values=("otp_length", "required", "started"),
        item="14",
    ),
    Case(
        "on: generate-root start, no token",
        PUT("sys/generate-root/attempt", {}, token=None),
        cleanup=NO_ROOT,
        item="14",
    ),
    Case(
        "on: generate-root update without an attempt",
        PUT("sys/generate-root/update", {"key": "AAAA", "nonce": "x"}, token=None),
        item="14",
    ),
    Case(
        "on: generate-root cancel, no token",
        DELETE("sys/generate-root/attempt", token=None),
        item="14",
    ),
    Case("on: rotate/root status", GET("sys/rotate/root/init"), item="14"),
    Case("on: rotate/root status, no token", GET("sys/rotate/root/init", token=None), item="14"),
    Case("on: rotate/root init", PUT("sys/rotate/root/init", ONE), cleanup=ROTATE_OFF, item="14"),
    Case(
        "on: rotate/root update without a nonce",
        PUT("sys/rotate/root/update", {"key": "AAAA"}),
        item="14",
    ),
    Case("on: rotate/root verify status", GET("sys/rotate/root/verify"), item="14"),
    Case("on: rotate/root backup", GET("sys/rotate/root/backup"), item="14"),
    Case("on: rotate/root cancel", DELETE("sys/rotate/root/init"), item="14"),
    Case(
        "on: generate-root-token status",
        GET("sys/generate-root-token/attempt"),
        values=tuple(f"data.{key}" for key in ("otp_length", "required", "started")),
        item="14",
    ),
    Case(
        "on: generate-root-token status, no token",
        GET("sys/generate-root-token/attempt", token=None),
        item="14",
    ),
    Case(
        "on: generate-root-token start",
        PUT("sys/generate-root-token/attempt", {}),
        cleanup=TOKEN_ROOT_OFF,
        item="14",
    ),
    Case(
        "on: generate-root-token update without a nonce",
        PUT("sys/generate-root-token/update", {"key": "AAAA"}),
        item="14",
    ),
    Case("on: generate-root-token cancel", DELETE("sys/generate-root-token/attempt"), item="14"),
    Case(
        "on: decode-token, no token",
        PUT("sys/decode-token", {"encoded_token": "AAAA", "otp": "BBBB"}, token=None),
        item="14",
    ),
]

_OTP_LENGTH = (
    "The OTP is as long as a root token: Vault's (and ours) are `hvs.` and 24 characters, 28; "
    "OpenBao's are `s.` and 24, 26. Clients read `otp_length` rather than assume it."
)
ON_EXPECTED: dict[str, dict[str, str]] = {
    "on: rekey init with a threshold over the shares": {
        "status: openbao 500, awsbroker 400": "A bad seal configuration is the caller's "
        "mistake: 400 with OpenBao's words (docs/compatibility.md).",
    },
    "on: generate-root status, no token": {
        "value otp_length: openbao 26, awsbroker 28": _OTP_LENGTH
    },
    "on: generate-root-token status": {
        "value data.otp_length: openbao 26, awsbroker 28": _OTP_LENGTH
    },
}


@pytest.fixture(scope="module")
def switched_on(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, Target]]:
    """OpenBao with a second listener that sets both `disable_unauthed_*` to false, and an
    awsbroker (in memory, 1 share) whose listener does."""
    bao.require()
    settings = dict.fromkeys(UNAUTHED_ON, "false")
    with openbao.running(tmp_path_factory.mktemp("openbao-on"), listener=settings) as theirs:
        workdir = tmp_path_factory.mktemp("awsbroker-on")
        with running(config_server(workdir, "inmem", {}, listener=UNAUTHED_ON)) as ours:
            root = ours.init_and_unseal(1, 1).root_token
            with requests.Session() as a, requests.Session() as b:
                yield (
                    Target(OPENBAO, theirs.url, a, {"root": ROOT_TOKEN, **ENGINE[OPENBAO]}),
                    Target(AWSBROKER, ours.url, b, {"root": root, **ENGINE[AWSBROKER]}),
                )


@pytest.mark.parametrize("case", params(ON_CASES))
def test_switched_on_same_as_openbao(
    case: Case, switched_on: tuple[Target, Target], record_property: Any
) -> None:
    check(case, switched_on, ON_EXPECTED, record_property, EVERYWHERE)


# ---- both servers sealed (fresh, uninitialised) ----------------------------------------------

SEALED_CASES = [
    Case(f"sealed{', on' if on else ''}: {step.method} {step.path}", step, item="14")
    for on in (False, True)
    for step in (
        GET("sys/rekey/init", token=None),
        PUT("sys/generate-root/attempt", {}, token=None),
        GET("sys/rotate/root/init"),
    )
]


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, tuple[Target, ...]]]:
    """Fresh servers, sealed until initialised: with the listener's defaults (False) and with
    both `disable_unauthed_*` false (True)."""
    bao.require()
    pairs: dict[bool, tuple[Target, ...]] = {}
    with contextlib.ExitStack() as stack:
        for on in (False, True):
            theirs = stack.enter_context(
                openbao.running(
                    tmp_path_factory.mktemp("openbao-sealed"),
                    listener=dict.fromkeys(UNAUTHED_ON, "false") if on else None,
                    uninitialized=True,
                )
            )
            workdir = tmp_path_factory.mktemp("awsbroker-sealed")
            server = config_server(workdir, "inmem", {}, listener=UNAUTHED_ON if on else None)
            ours = stack.enter_context(running(server))
            a = stack.enter_context(requests.Session())
            b = stack.enter_context(requests.Session())
            pairs[on] = (
                Target(OPENBAO, theirs.url, a, {"root": ROOT_TOKEN, **ENGINE[OPENBAO]}),
                Target(AWSBROKER, ours.url, b, {"root": ROOT_TOKEN, **ENGINE[AWSBROKER]}),
            )
        yield pairs


@pytest.mark.parametrize("case", params(SEALED_CASES))
def test_sealed_same_as_openbao(
    case: Case, sealed: dict[bool, tuple[Target, ...]], record_property: Any
) -> None:
    """Sealed, every one of them is 503 `Vault is sealed` first, switched on or off."""
    targets = sealed[case.id.startswith("sealed, on")]
    check(case, (targets[0], targets[1]), {}, record_property, EVERYWHERE)
