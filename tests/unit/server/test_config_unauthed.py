"""The listener's `disable_unauthed_rekey_endpoints` and
`disable_unauthed_generate_root_endpoints`: true unless the file says false, a clear error for
anything else (tests/integration/test_unauthed_switches.py: what they do)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from awsbroker.server.config import ConfigError, parse

SWITCHES = ("disable_unauthed_rekey_endpoints", "disable_unauthed_generate_root_endpoints")


def listener(*lines: str) -> str:
    body = "\n".join(["  tls_disable = true", *(f"  {line}" for line in lines)])
    return f'storage "inmem" {{}}\nlistener "tcp" {{\n{body}\n}}\n'


def test_both_are_on_by_default() -> None:
    parsed = parse(listener()).listener
    assert parsed.disable_unauthed_rekey_endpoints is True
    assert parsed.disable_unauthed_generate_root_endpoints is True


@pytest.mark.parametrize("value", ["false", '"false"', "0"])
@pytest.mark.parametrize("switch", SWITCHES)
def test_each_turns_off_alone(switch: str, value: str) -> None:
    parsed = parse(listener(f"{switch} = {value}")).listener
    assert getattr(parsed, switch) is False
    (other,) = (name for name in SWITCHES if name != switch)
    assert getattr(parsed, other) is True


@pytest.mark.parametrize("switch", SWITCHES)
def test_a_value_not_a_boolean_is_refused(switch: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(listener(f'{switch} = "sometimes"'), source="test.hcl")
    assert str(raised.value) == f"test.hcl: listener {switch} must be true or false"


def test_the_readmes_commented_switches_are_the_defaults() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    text = readme.split("## Running for real", 1)[1].split("```hcl\n", 1)[1].split("```", 1)[0]
    as_given = parse(text, source="README").listener
    uncommented = re.sub(rf"(?m)^(\s*)# ({'|'.join(SWITCHES)})\b", r"\1\2", text)
    assert uncommented != text
    listener = parse(uncommented, source="README").listener
    for switch in SWITCHES:
        assert getattr(listener, switch) is getattr(as_given, switch) is True
