"""Fixtures: one loopback cluster per module (see cluster_helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_helpers import Cluster, start_cluster

from sse.exec import close_executor


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield c
    finally:
        close_executor()
        c.stop()
