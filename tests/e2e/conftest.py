"""Real ``airrc serve`` processes on loopback for the end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from harness.nodes import DemoNode, exchange_cards, free_port

from airrc.config import Settings
from airrc.node import Node
from tests.conftest import cli  # noqa: F401 - the e2e tests import it from here

FAST = {
    "AIRRC_SYNC_INTERVAL_SECONDS": "1",
    "AIRRC_WITNESS_INTERVAL_SECONDS": "3600",
    "AIRRC_LINK_TEST_INTERVAL_SECONDS": "3600",
    "AIRRC_FEDERATION_MAX_BACKOFF_SECONDS": "1",
    "AIRRC_FEDERATION_POLL_SECONDS": "0.02",
}


class Cluster:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.nodes: dict[str, DemoNode] = {}

    def add(self, name: str, *, role: str = "member", env: dict[str, str] | None = None) -> DemoNode:
        node = DemoNode(
            name,
            self.base / name,
            free_port(),
            password=f"{name}-admin-password",
            env={**FAST, **(env or {})},
            role=role,
        )
        node.init()
        self.nodes[name] = node
        return node

    def pin_all(self) -> None:
        exchange_cards(list(self.nodes.values()))

    def start(self, *names: str) -> None:
        for name in names or tuple(self.nodes):
            self.nodes[name].start()
        with httpx.Client() as client:
            for name in names or tuple(self.nodes):
                self.nodes[name].wait_healthy(client)

    def open(self, name: str) -> Node:
        return Node(Settings(home=self.nodes[name].home))

    def stop_all(self) -> None:
        for node in self.nodes.values():
            node.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop_all()


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
