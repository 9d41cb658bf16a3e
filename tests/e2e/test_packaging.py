"""The wheel ships what a non-editable `pip install .` needs: templates, static files, migrations, data.

The folders stay at the repository's top level; pyproject.toml maps them into the `interact` package.
The wheel is built from a copy of the source tree, so a stale `build/` folder cannot hide a gap and
two runs at once do not share one.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from interact import default_instance_path, installed_from_wheel, shipped_folder

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_FOLDERS = ("templates", "static", "migrations")
NOT_SOURCE = shutil.ignore_patterns(".git", ".ruff_cache", ".pytest_cache", "__pycache__", "*.pyc", "build",
                                    "dist", "*.egg-info", "instance", ".venv")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the source tree and return its path."""
    base = tmp_path_factory.mktemp("wheel")
    source, out = base / "source", base / "out"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    subprocess.run(  # noqa: S603 - a fixed command line on the test's own interpreter
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
         str(source)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("interact-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel) -> set[str]:
    """The names of the files in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_ships_templates_static_migrations_and_data(wheel_names):
    expected = {
        "interact/templates/base.html",
        "interact/templates/public/home.html",
        "interact/templates/staff/auth/login.html",
        "interact/templates/email/case_receipt.txt",
        "interact/static/css/app.css",
        "interact/migrations/alembic.ini",
        "interact/migrations/env.py",
        "interact/migrations/script.py.mako",
        "interact/data/common-passwords.txt",
    }
    assert expected <= wheel_names, sorted(expected - wheel_names)
    versions = {name for name in wheel_names if name.startswith("interact/migrations/versions/")}
    assert any(name.endswith(".py") for name in versions), sorted(versions)


def test_wheel_ships_every_file_of_the_shipped_folders(wheel_names):
    in_tree = {
        f"interact/{path.relative_to(ROOT).as_posix()}"
        for folder in SHIPPED_FOLDERS
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert in_tree, "no templates, static files or migrations found in the source tree"
    assert in_tree <= wheel_names, sorted(in_tree - wheel_names)[:20]


def test_wheel_ships_every_python_package(wheel_names):
    packages = {
        f"{path.relative_to(ROOT).as_posix()}"
        for path in (ROOT / "interact").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert packages <= wheel_names, sorted(packages - wheel_names)


def test_checkout_uses_the_top_level_folders_and_repository_instance():
    assert not installed_from_wheel()
    for name in SHIPPED_FOLDERS:
        assert Path(shipped_folder(name)).resolve() == ROOT / name
    assert Path(default_instance_path()).resolve() == ROOT / "instance"


def test_installed_package_finds_its_folders_inside_itself_and_instance_in_cwd(wheel, tmp_path):
    target, cwd = tmp_path / "site", tmp_path / "cwd"
    cwd.mkdir()
    subprocess.run(  # noqa: S603 - a fixed command line on the test's own interpreter
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    script = (
        "import json, interact\n"
        "app = interact.create_app()\n"
        "print(json.dumps({'package': interact.__file__, 'templates': app.template_folder,\n"
        "                  'static': app.static_folder, 'instance': app.instance_path,\n"
        "                  'migrations': app.extensions['migrate'].directory}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERACT_", "FLASK_"))}
    env["PYTHONPATH"] = str(target)
    result = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env,  # noqa: S603
                            check=True, capture_output=True, text=True, timeout=120)
    found = json.loads(result.stdout.strip().splitlines()[-1])
    package = target / "interact"
    assert Path(found["package"]) == package / "__init__.py"
    for name in SHIPPED_FOLDERS:
        assert Path(found[name]) == package / name
        assert (package / name).is_dir()
    assert Path(found["instance"]) == cwd / "instance"
    assert (cwd / "instance").is_dir()
