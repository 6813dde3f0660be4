"""A real Elasticsearch node for the whole test session (see launcher.py beside this file).

``elasticsearch``: an ``EsServer`` started once per session (the first run fetches the distribution
with Maven; later runs start from ``.cache/elasticsearch`` in about 10 s) and stopped at the end.
Tests may ``kill()``/``restart()`` it, and must leave it running.

A conftest elsewhere reuses the launcher by loading it the way ``load_launcher`` does, under the
same module name (``launcher.MODULE_NAME``), so that both share one module object.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from launcher import EsServer

MODULE_NAME = "pyjaeger_tests_es_launcher"


def load_launcher() -> ModuleType:
    """Import launcher.py by path, once per process: tests have no packages (--import-mode=importlib)."""
    module = sys.modules.get(MODULE_NAME)
    if module is None:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, Path(__file__).with_name("launcher.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module
        spec.loader.exec_module(module)
    return module


launcher = load_launcher()


@pytest.fixture(scope="session")
def elasticsearch() -> Iterator[EsServer]:
    """The session's node, stopped (and its run folder deleted) at the end. A test that kills or
    stops it must bring it back (``restart()``) before it ends, even when it fails."""
    with launcher.start() as server:
        yield server
