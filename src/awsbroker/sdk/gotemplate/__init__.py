"""A safe interpreter for the Go `text/template` subset of Vault's `sdk/helper/template`
(generated user and session names, templated session tags).

Text and `{{ }}` actions (with `{{-`/`-}}` trim markers and `{{/* */}}` comments),
`if`/`else if`/`else`/`end`, pipelines, parentheses, `.Field` access, string/raw-string/int/bool
literals, and the functions of functions.py. `range`, `with`, variables and `{{.}}` are not
supported. A field's value is a string, or a map of strings read by key (`.Metadata.repository`);
a key the map lacks reads as "" (Go's `missingkey=zero`). `Template.fields` lists the fields a
template reads, so a caller can refuse unknown ones before any rendering.

lexer.py (source → tokens) → parser.py (tokens → nodes.py's typed nodes) → template.py
(evaluation, calling functions.py).
"""

from awsbroker.sdk.gotemplate.errors import TemplateError
from awsbroker.sdk.gotemplate.functions import random_base62, to_bytes
from awsbroker.sdk.gotemplate.nodes import Value
from awsbroker.sdk.gotemplate.template import Data, Template, parse

__all__ = ["Data", "Template", "TemplateError", "Value", "parse", "random_base62", "to_bytes"]
