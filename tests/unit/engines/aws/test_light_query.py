"""The light path's form encoding (transport/light_query.py `form_body`) against what botocore
sends: `urlencode` of the UTF-8 pairs with `doseq`, byte for byte, for any text."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from awsbroker.engines.aws.transport.light_query import form_body


def botocore_form(fields: dict[str, object]) -> bytes:
    """As `botocore.awsrequest.AWSRequestPreparer._prepare_body` encodes a dict body."""
    pairs = [(k.encode(), v.encode() if isinstance(v, str) else v) for k, v in fields.items()]
    return urlencode(pairs, doseq=True).encode()


@pytest.mark.parametrize(
    "fields",
    [
        {"Action": "AssumeRole", "Version": "2011-06-15", "DurationSeconds": 3600},
        {"Number": -1.5, "Flag": True, "Text": "a b"},
        {"RoleArn": "arn:aws:iam::123456789012:role/a+b=c,d@e", "RoleSessionName": "s p"},
        {"Policy": '{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'},
        {"Tags.member.1.Key": "team", "Tags.member.1.Value": "é ü 中 🙂 ~-._"},
        {"Empty": "", "Amp": "a&b", "Percent": "100%", "Slash": "/", "Tilde": "~"},
        {"Binary": b"\x00\xff a", "Text": "x"},  # not from the serializer: the general case
    ],
)
def test_the_body_is_botocores(fields: dict[str, object]) -> None:
    assert form_body(fields) == botocore_form(fields)


@given(st.dictionaries(st.text(min_size=1), st.text() | st.integers(), max_size=8))
def test_the_body_is_botocores_for_any_text(fields: dict[str, str | int]) -> None:
    assert form_body(dict(fields)) == botocore_form(dict(fields))
