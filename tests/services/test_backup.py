"""`interact backup` and `interact restore`: a round trip of the database and the uploads, on the
suite's database kind (SQLite, or PostgreSQL through pg_dump/pg_restore)."""
from __future__ import annotations

import io
import json
import os
import stat
import tarfile

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from fixtures.database import ensure_database
from interact.domain.db import db
from interact.domain.models import Attachment, Case, CaseEvent
from interact.services import cases as case_service
from interact.services.attachments import Upload, path_of


@pytest.fixture
def empty_url(database_url, tmp_path, reset_database):
    """A second, empty database of the suite's kind, to restore into."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.db'}"
    url = parsed.set(database=f"{parsed.database}_restore").render_as_string(hide_password=False)
    ensure_database(url)
    reset_database(url)
    return url


def invoke(app, *args: str):
    """Run an `interact` command against `app` (its own context: the CLI uses an active one)."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
    return result


def snapshot() -> dict:
    """What a restore must bring back: every case's number and reply, the events, the files."""
    cases = {c.number: (c.status.value, c.reply_text, c.public_title)
             for c in db.session.scalars(select(Case))}
    files = {a.stored_name: path_of(a).read_bytes() for a in db.session.scalars(select(Attachment))}
    events = db.session.scalar(select(func.count()).select_from(CaseEvent))
    return {"cases": cases, "files": files, "events": events}


def test_a_backup_restores_the_database_and_the_uploads(app, runner, create_case, make_app, empty_url,
                                                        tmp_path, png_bytes, pdf_bytes, monkeypatch):
    monkeypatch.setitem(app.config, "INTERACT_UPLOAD_DIR", str(tmp_path / "uploads"))  # this test's files only
    create_case("replied", uploads=[Upload("现场照片.png", png_bytes()), Upload("材料.pdf", pdf_bytes())])
    create_case("handling", uploads=[Upload("b.png", png_bytes(color=(0, 90, 0)))])
    create_case("submitted")
    before = snapshot()
    assert len(before["files"]) == 3

    archive = tmp_path / "backup.tar"
    made = runner.invoke(args=["backup", str(archive)])
    assert made.exit_code == 0, made.output
    assert "办件 3 件，附件 3 个" in made.output
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600  # personal data: owner only
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        names = set(tar.getnames())
    assert manifest["cases"] == 3 and manifest["dialect"] == make_url(str(db.engine.url)).get_backend_name()
    assert {"database.sqlite", "database.pgdump"} & names
    assert len([n for n in names if n.startswith("uploads/")]) == 3
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 1  # never overwrites

    uploads = tmp_path / "restored-uploads"
    other = make_app(url=empty_url, INTERACT_UPLOAD_DIR=str(uploads))
    restored = invoke(other, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "办件 3 件，附件 3 个" in restored.output
    with other.app_context():
        assert snapshot() == before
        # The restored install works: a new case gets the next number of its day, not a used one.
        case, _code = case_service.submit_case(case_service.Submission(
            kind="consultation", title="恢复后的咨询", content="内容", name="李四", phone="13800001111",
            publish=True))
        db.session.commit()
        assert case.number not in before["cases"]
        db.session.remove()
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in uploads.rglob("*") if p.is_file())

    again = invoke(other, "restore", str(archive))
    assert again.exit_code == 1 and "--replace" in again.output  # cases there: refused, nothing touched
    replaced = invoke(other, "restore", str(archive), "--replace")
    assert replaced.exit_code == 0, replaced.output
    with other.app_context():
        assert snapshot() == before
        db.session.remove()


def test_a_damaged_or_foreign_backup_is_refused_before_anything_changes(app, runner, create_case, make_app,
                                                                       empty_url, tmp_path):
    create_case("replied")
    archive = tmp_path / "backup.tar"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(damaged, "w") as tar:
        for member, data in members:
            if member.name.startswith("database."):
                data = data[:-10] + b"0123456789"
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    other = make_app(url=empty_url)
    with other.app_context():
        upgrade()
        db.session.remove()
    refused = invoke(other, "restore", str(damaged))
    assert refused.exit_code == 1 and "校验值不符" in refused.output
    (tmp_path / "foreign.tar").write_bytes(b"not a tar at all")
    foreign = invoke(other, "restore", str(tmp_path / "foreign.tar"))
    assert foreign.exit_code == 1 and "Traceback" not in foreign.output
    assert invoke(other, "restore", str(tmp_path / "missing.tar")).exit_code == 1
