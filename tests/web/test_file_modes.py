"""Files holding personal data or secrets are the running account's alone (issue 8): the instance
folder, the SQLite database and its -wal/-shm files, the generated secret key, the upload folder
and each attachment, the mail-send lock. New ones are created 0600/0700 whatever the umask, and
an install made before this rule is tightened when the app starts."""
from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from interact import create_app
from interact.domain.db import db
from interact.services import attachments, mail
from interact.services.attachments import CheckedFile
from interact.services.tx import unit_of_work


def mode(path: Path) -> int:
    """The permission bits of `path`."""
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_private(*paths: Path) -> None:
    """Each folder is 0700 and each file 0600: nothing for the group or others."""
    for path in paths:
        assert path.exists(), path
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path.name}: {oct(mode(path))}, not {oct(expected)}"


@pytest.fixture
def open_umask():
    """A umask that takes nothing away, so that only the code's own modes count."""
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.fixture
def install(monkeypatch, tmp_path):
    """An instance folder of its own, with the default SQLite database and a generated secret key."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("INTERACT_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("INTERACT_SECRET_KEY", raising=False)
    monkeypatch.delenv("INTERACT_UPLOAD_DIR", raising=False)
    return instance


def dispose(app) -> None:
    """Close the app's database connections."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def test_a_new_install_creates_every_private_file_owner_only(install, open_umask):
    app = create_app()
    try:
        with app.app_context():
            db.create_all()  # the first write: SQLite (in WAL mode) now has its -wal and -shm files
            with unit_of_work():  # stored files reach their final name with the commit
                stored = attachments.store(CheckedFile("照片.png", b"\x89PNG data", "image/png", ".png"))
            assert mail.send_due().busy is False  # nothing to send, but the run takes the lock file
            database = install / "interact.db"
            assert_private(install, install / "secret_key", database, Path(f"{database}-wal"),
                           Path(f"{database}-shm"), install / "uploads", attachments.path_of(stored),
                           install / "mail-send.lock")
    finally:
        dispose(app)


def test_an_older_install_is_tightened_at_start_up(install, open_umask):
    install.mkdir(mode=0o755)
    uploads = install / "uploads"
    uploads.mkdir(mode=0o755)
    (uploads / "old.jpg").write_bytes(b"jpeg")
    (install / "secret_key").write_text("an-old-development-key")
    (install / "mail-send.lock").write_bytes(b"")
    database = install / "interact.db"
    older = sqlite3.connect(database)  # held open, so that its -wal and -shm files exist
    try:
        older.execute("PRAGMA journal_mode=WAL")
        older.execute("CREATE TABLE t (x)")
        older.execute("INSERT INTO t VALUES (1)")
        older.commit()
        files = [install, uploads, install / "secret_key", install / "mail-send.lock", database,
                 Path(f"{database}-wal"), Path(f"{database}-shm")]
        for path in files:
            path.chmod(0o755 if path.is_dir() else 0o644)
        app = create_app()
        dispose(app)
        assert app.config["SECRET_KEY"] == "an-old-development-key"
        assert_private(*files)
        # The old attachment keeps its mode, but nobody else can enter the folder to reach it.
        assert mode(uploads) & 0o077 == 0
        assert older.execute("SELECT x FROM t").fetchall() == [(1,)]  # the data is untouched
    finally:
        older.close()


def test_a_database_elsewhere_is_created_owner_only_too(install, open_umask, tmp_path):
    elsewhere = tmp_path / "data"
    elsewhere.mkdir()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{elsewhere}/site.db"})
    dispose(app)
    assert_private(elsewhere / "site.db")
    # A relative path is inside the instance folder (where Flask-SQLAlchemy opens it), not the working directory.
    dispose(create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///relative.db"}))
    assert_private(install / "relative.db")
    assert not Path("relative.db").exists()
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"
