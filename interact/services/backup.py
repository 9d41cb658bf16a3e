"""Backups of the database and the uploads in one file, and their restore.

A backup is a tar file, owner-only (it holds citizens' personal data), written beside its final
name and renamed into place when complete:

- `manifest.json`: format, time, database kind, migration revision, the number of cases, and the
  size and SHA-256 of every other member;
- `database.sqlite` (SQLite's online backup API: a consistent copy while the site runs) or
  `database.pgdump` (pg_dump's custom format, consistent within one transaction);
- `uploads/…`: every finished upload (the `.part` files of requests in flight are left out).

The database is copied first and the uploads after it, so every attachment the copied database
refers to is in the backup (a later upload is at worst an orphan, which `interact attachments
sweep` removes).

A restore checks every member against the manifest before it touches anything, refuses a
database that already holds cases unless told to replace it, then loads the database (SQLite's
backup API the other way; pg_restore) and puts the uploads back. A backup of an older release is
brought up to date by `interact db upgrade` afterwards.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, inspect, select, text

from ..config import PRIVATE_FILE_MODE, private_folder
from ..domain.db import db
from ..domain.errors import Conflict, ValidationFailed
from ..domain.models import Case
from ..domain.timeutil import utcnow
from .attachments import upload_dir

FORMAT = "interact-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
PG_MEMBER = "database.pgdump"
UPLOADS = "uploads/"


@dataclass(frozen=True)
class BackupResult:
    """What a backup holds."""

    path: Path
    dialect: str
    revision: str | None
    cases: int
    uploads: int
    size: int


@dataclass(frozen=True)
class RestoreResult:
    """What a restore brought back."""

    dialect: str
    revision: str | None
    cases: int
    uploads: int
    created_at: str


def _sha256(fh) -> str:
    """The SHA-256 of an open binary file, read a megabyte at a time."""
    digest = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return _sha256(fh)


def _revision() -> str | None:
    if not inspect(db.engine).has_table("alembic_version"):
        return None
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def _pg_env(url) -> dict[str, str]:
    """libpq's environment for the database at `url` (no password on a command line)."""
    env = dict(os.environ)
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value:
            env[name] = str(value)
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ValidationFailed(_("找不到 %(tool)s：请安装 PostgreSQL 客户端（Debian：postgresql-client），版本不低于服务器。",
                                 tool=name))
    return found


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)  # noqa: S603 - fixed tool, our arguments
    if done.returncode != 0:
        raise ValidationFailed(_("%(tool)s 失败：%(error)s", tool=Path(cmd[0]).name,
                                 error=(done.stderr or done.stdout).strip()[-500:]))


def _dump_database(folder: Path) -> tuple[str, Path]:
    """Copy the database into `folder`; its dialect and the file."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        target = folder / SQLITE_MEMBER
        source, copy = sqlite3.connect(url.database), sqlite3.connect(target)
        try:
            source.backup(copy)  # page by page, consistent, while others keep writing
        finally:
            source.close()
            copy.close()
        return "sqlite", target
    if url.get_backend_name() == "postgresql":
        target = folder / PG_MEMBER
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"],
             _pg_env(url))
        return "postgresql", target
    raise ValidationFailed(_("不支持备份这种数据库：%(name)s", name=url.get_backend_name()))


def backup(destination: str | os.PathLike) -> BackupResult:
    """Write a backup of the database and the uploads to `destination` (a new file)."""
    destination = Path(destination)
    if destination.exists():
        raise Conflict(_("%(path)s 已存在：备份不会覆盖已有文件。", path=destination))
    if not destination.parent.is_dir():
        raise ValidationFailed(_("目录 %(path)s 不存在。", path=destination.parent))
    revision = _revision()
    cases = db.session.scalar(select(func.count()).select_from(Case)) or 0
    db.session.rollback()  # no transaction of ours stays open while the copy runs
    partial = destination.with_name(destination.name + ".part")
    with tempfile.TemporaryDirectory(prefix="interact-backup-") as tmp:
        dialect, dump = _dump_database(Path(tmp))
        uploads = upload_dir()
        files = sorted(p for p in uploads.rglob("*") if p.is_file() and not p.name.endswith(".part"))
        members = {dump.name: dump} | {UPLOADS + p.relative_to(uploads).as_posix(): p for p in files}
        manifest = {
            "format": FORMAT, "created_at": utcnow().isoformat(), "dialect": dialect, "revision": revision,
            "cases": cases,
            "files": {name: {"size": path.stat().st_size, "sha256": _file_sha256(path)} for name, path in members.items()},
        }
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
                body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(datetime.now().timestamp())
                tar.addfile(info, io.BytesIO(body))
                for name, path in members.items():
                    tar.add(path, arcname=name, recursive=False)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, destination)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(destination, dialect, revision, cases, len(files), destination.stat().st_size)


def _checked_members(tar: tarfile.TarFile) -> tuple[dict, dict[str, tarfile.TarInfo]]:
    """The manifest and the members, every one checked against it (size, SHA-256, safe name)."""
    try:
        manifest = json.loads(tar.extractfile(MANIFEST).read())
    except (KeyError, AttributeError, ValueError) as exc:
        raise ValidationFailed(_("这不是本平台的备份文件（没有可读的清单）。")) from exc
    if manifest.get("format") != FORMAT:
        raise ValidationFailed(_("不认识的备份格式：%(format)s", format=manifest.get("format")))
    members = {m.name: m for m in tar.getmembers() if m.name != MANIFEST}
    if set(members) != set(manifest["files"]):
        raise ValidationFailed(_("备份文件不完整或被改动：成员与清单不符。"))
    for name, member in members.items():
        parts = Path(name).parts
        if not member.isfile() or Path(name).is_absolute() or ".." in parts:
            raise ValidationFailed(_("备份文件含有不安全的成员：%(name)s", name=name))
        with tar.extractfile(member) as fh:
            actual = _sha256(fh)
        if actual != manifest["files"][name]["sha256"]:
            raise ValidationFailed(_("备份文件被改动或已损坏：%(name)s 的校验值不符。", name=name))
    return manifest, members


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    """Write one checked member's bytes to `target`, owner-only."""
    with tar.extractfile(member) as fh:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(fh, out)


def restore(source: str | os.PathLike, *, replace: bool = False) -> RestoreResult:
    """Load the backup at `source` into this app's database and upload folder."""
    source = Path(source)
    if not source.is_file():
        raise ValidationFailed(_("找不到备份文件 %(path)s。", path=source))
    url = db.engine.url
    dialect = url.get_backend_name()
    try:
        archive = tarfile.open(source, mode="r")
    except tarfile.TarError as exc:
        raise ValidationFailed(_("这不是本平台的备份文件（无法读取）。")) from exc
    with archive as tar:
        manifest, members = _checked_members(tar)
        if manifest["dialect"] != dialect:
            raise ValidationFailed(_("这是 %(theirs)s 数据库的备份，不能恢复到 %(ours)s。",
                                     theirs=manifest["dialect"], ours=dialect))
        if inspect(db.engine).has_table("cases") and not replace:
            if db.session.scalar(select(func.count()).select_from(Case)):
                raise Conflict(_("目标数据库已有办件：确认要用备份替换全部数据时，请加 --replace。"))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()  # no pooled connection may see the database change under it
        with tempfile.TemporaryDirectory(prefix="interact-restore-") as tmp:
            folder = Path(tmp)
            dump = SQLITE_MEMBER if dialect == "sqlite" else PG_MEMBER
            _write_member(tar, members[dump], folder / dump)
            if dialect == "sqlite":
                copy = sqlite3.connect(folder / dump)
                target = sqlite3.connect(url.database)
                try:
                    copy.backup(target)
                finally:
                    copy.close()
                    target.close()
            else:
                with db.engine.begin() as conn:  # the backup brings every table back
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
                db.engine.dispose()
                _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                      f"--dbname={url.database}", str(folder / dump)], _pg_env(url))
            uploads = private_folder(upload_dir())
            restored = 0
            for name, member in members.items():
                if not name.startswith(UPLOADS):
                    continue
                target_path = uploads / name[len(UPLOADS):]
                target_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                _write_member(tar, member, target_path)
                restored += 1
    cases = db.session.scalar(select(func.count()).select_from(Case)) or 0
    return RestoreResult(dialect, manifest["revision"], cases, restored, manifest["created_at"])
