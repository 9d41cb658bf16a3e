"""The suite's setup: keep the tests out of the developer's instance folder, then load the fixtures.

The fixtures live in tests/fixtures/ (loaded below as plugins); plain shared values are in
tests/fixtures/values.py. Test modules never import this file.
"""
from __future__ import annotations

import os
import shutil
import tempfile

# Nothing in the tests may touch the developer's instance folder or secret. Set before any
# fixture module imports `interact`; each process (each xdist worker) gets its own folder.
TMP = tempfile.mkdtemp(prefix="interact-test-")
os.environ["INTERACT_TEST_TMP"] = TMP
os.environ["INTERACT_INSTANCE_PATH"] = os.path.join(TMP, "instance")
os.environ.setdefault("INTERACT_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.pop("INTERACT_DATABASE_URL", None)
os.environ.pop("INTERACT_SURFACE", None)

pytest_plugins = [
    "fixtures.database",
    "fixtures.apps",
    "fixtures.web",
    "fixtures.factories",
    "fixtures.mail",
    "fixtures.clock",
    "fixtures.queries",
    "fixtures.uploads",
    "fixtures.openapi",
]


def pytest_unconfigure(config) -> None:
    """Remove this process's temporary folder (database, uploads, instance)."""
    shutil.rmtree(TMP, ignore_errors=True)
