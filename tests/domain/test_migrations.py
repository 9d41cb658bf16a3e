"""The migrations' files sort in chain order, so a reader listing the folder reads them in order."""
from __future__ import annotations

import ast
import os
from pathlib import Path

VERSIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "migrations", "versions")


def _revisions() -> dict[str, tuple[str, str | None]]:
    """File name → (revision, down_revision), read from each migration's source."""
    found = {}
    for name in os.listdir(VERSIONS):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(Path(VERSIONS, name).read_text(encoding="utf-8"))
        values = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                  for t in node.targets if isinstance(t, ast.Name) and t.id in ("revision", "down_revision")}
        found[name] = (values["revision"], values.get("down_revision"))
    return found


def test_migration_file_names_sort_in_chain_order():
    files = _revisions()
    by_parent = {down: (name, rev) for name, (rev, down) in files.items()}
    chain, parent = [], None
    while parent in by_parent:
        name, parent = by_parent[parent]
        chain.append(name)
    assert len(chain) == len(files), "the migrations do not form one chain"
    assert chain == sorted(files)


def test_migration_file_names_carry_date_and_time():
    for name in _revisions():
        stamp = name.split("_", 2)[:2]
        assert stamp[0].isdigit() and len(stamp[0]) == 8, name
        assert stamp[1].isdigit() and len(stamp[1]) == 4, name
