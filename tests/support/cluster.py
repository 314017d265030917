"""Several real `awsbroker server` processes on one storage: a cluster, for the tests that make a
change on one node and look for it on another.

`start_cluster` starts the nodes on one PostgreSQL table or one SQLite file, initialises the
storage through the first and unseals every node with the same key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from tests.support.reliability import Broker
from tests.support.server import ServerFactory, ServerProcess


@dataclass
class Cluster:
    nodes: list[Broker]

    @property
    def token(self) -> str:
        return self.nodes[0].token

    def pairs(self, rounds: int) -> Iterator[tuple[int, Broker, Broker]]:
        """`rounds` (round, writer, reader) triples, each node writing in turn and the next
        one reading, so that every ordered pair of neighbours is exercised."""
        count = len(self.nodes)
        for n in range(rounds):
            yield n, self.nodes[n % count], self.nodes[(n + 1) % count]

    def logs(self) -> str:
        return "\n".join(node.server.log() for node in self.nodes)


def start_cluster(
    servers: ServerFactory,
    storage: Sequence[str],
    count: int,
    settings: Mapping[str, str | int] | None = None,
) -> Cluster:
    """`count` nodes on `storage`: ("postgresql", dsn, table) or ("sqlite", path), each with
    the server `settings` given."""
    processes: list[ServerProcess] = []
    for _ in range(count):
        if storage[0] == "postgresql":
            processes.append(servers.postgresql(storage[1], storage[2], settings=settings))
        else:
            processes.append(servers.sqlite_file(storage[1], settings=settings))
    init = processes[0].init_and_unseal()
    nodes = [Broker(process, init) for process in processes]
    for node in nodes[1:]:
        node.unseal()
    return Cluster(nodes)


def status(node: Broker, method: str, path: str, token: str, **kwargs: Any) -> int:
    """The HTTP status of one request to `node` with `token`."""
    response: requests.Response = node.server.request(method, path, token=token, **kwargs)
    return response.status_code
