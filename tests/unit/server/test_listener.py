"""The listener's start-up checks: an address already listened on is refused with a message."""

from __future__ import annotations

import socket

import pytest

from awsbroker.server.config import Listener
from awsbroker.server.listener import ListenError, check_free


def test_a_free_address_passes_and_stays_free() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
    check_free(Listener(address=f"127.0.0.1:{port}", tls_disable=True))
    with socket.socket() as again:  # the probe did not keep the port
        again.bind(("127.0.0.1", port))


@pytest.mark.parametrize("reuse_port", [False, True])
def test_an_address_someone_listens_on_is_refused(reuse_port: bool) -> None:
    # SO_REUSEPORT is how our own HTTP server binds: a second awsbroker must not share it.
    with socket.socket() as holder:
        if reuse_port:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        refused = f"cannot listen on {address}: Address already in use"
        with pytest.raises(ListenError, match=refused):
            check_free(Listener(address=address, tls_disable=True))
