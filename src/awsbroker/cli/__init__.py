"""The `awsbroker` command: a client of the server's HTTP API, and nothing more.

`main.py` dispatches to one module per verb family (`cmd_*.py`); `client.py` is the HTTP
client, `settings.py` where the address and token come from, `output.py` the formats.
"""
