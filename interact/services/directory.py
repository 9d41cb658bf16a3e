"""Departments, sites, staff accounts and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain import privacy
from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.db import db
from ..domain.duties import role_conflicts
from ..domain.models import ApiToken, Department, Role, Site, User, UserRole
from ..domain.timeutil import utcnow
from . import audit, passwords, settings
from .inputs import is_valid_email

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 128
TOKEN_PREFIX = "itk_"  # noqa: S105 - the public marker of a token, not a secret


def active_departments() -> list[Department]:
    """Active departments, by name."""
    return list(db.session.scalars(select(Department).where(Department.active).order_by(Department.code)))


def mailbox_departments() -> list[Department]:
    """Active departments that run a leader mailbox."""
    return [d for d in active_departments() if d.mailbox_name]


def active_sites() -> list[Site]:
    """Active sites of active departments."""
    return list(db.session.scalars(
        select(Site).join(Site.department).where(Site.active, Department.active).order_by(Site.name)
    ))


def all_departments() -> list[Department]:
    """Every department, active or not, by code (for administrators)."""
    return list(db.session.scalars(select(Department).order_by(Department.code)))


def all_sites() -> list[Site]:
    """Every site with its department (for administrators)."""
    return list(db.session.scalars(select(Site).options(joinedload(Site.department))
                                   .order_by(Site.department_id, Site.name)))


def all_users() -> list[User]:
    """Every staff account with its department and roles (for administrators)."""
    return list(db.session.scalars(select(User).options(joinedload(User.department)).order_by(User.username)))


def department_by_code(code: str, *, active_only: bool = True) -> Department:
    """The department with `code`, or NotFound."""
    dept = db.session.scalar(select(Department).where(Department.code == code))
    if dept is None or (active_only and not dept.active):
        raise NotFound(_("部门 %(code)s 不存在。", code=code))
    return dept


def department_contacts(dept: Department) -> list[str]:
    """The department's published phone numbers and e-mail addresses, as entered."""
    return [line for line in (dept.public_contacts or "").splitlines() if line]


def _clean_department_contacts(values: list[str] | None) -> str:
    """Checked contacts, stored one per line."""
    return "\n".join(settings.clean_contacts(values or [], field="public_contacts"))


def published_contact_keys() -> frozenset[str]:
    """Every department's and the platform's published contacts, as the detector compares them.

    Quoted in a letter or a reply they are the government's own contact data, not a citizen's,
    so they are never masked (Art. 17 protects personal data, not a hotline). One query.
    """
    texts = list(settings.platform_contacts())
    for stored in db.session.scalars(select(Department.public_contacts).where(Department.public_contacts != "")):
        texts.extend(stored.splitlines())
    return frozenset(key for key in map(privacy.contact_key, texts) if key)


def create_department(code: str, name: str, mailbox_name: str | None = None,
                      actor: User | None = None, public_contacts: list[str] | None = None) -> Department:
    """Add a department with a unique slug code."""
    code = (code or "").strip().lower()
    name = (name or "").strip()
    errors = {}
    if not CODE_RE.match(code):
        errors["code"] = _("部门代码只能由小写字母、数字和连字符组成（2至64位）。")
    elif db.session.scalar(select(Department.id).where(Department.code == code)):
        errors["code"] = _("部门代码 %(code)s 已存在。", code=code)
    if not name or len(name) > 128:
        errors["name"] = _("请填写部门名称（不超过128字）。")
    try:
        contacts = _clean_department_contacts(public_contacts)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(_("部门信息有误。"), errors)
    dept = Department(code=code, name=name, mailbox_name=(mailbox_name or "").strip() or None, active=True,
                      public_contacts=contacts)
    db.session.add(dept)
    db.session.flush()
    audit.record("department.create", user=actor, object_type="department", object_id=dept.code,
                 details={"name": dept.name, "mailbox": dept.mailbox_name,
                          "contacts": department_contacts(dept)})
    return dept


def update_department(dept: Department, *, name: str, active: bool, mailbox_name: str | None,
                      actor: User | None = None, public_contacts: list[str] | None = None) -> None:
    """Rename, (de)activate or set the leader mailbox and published contacts of a department.

    `public_contacts` None keeps the current ones. Cases already under review keep the masks
    found when they were drafted: `interact pii rescan` looks at them again.
    """
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise ValidationFailed(_("请填写部门名称（不超过128字）。"), {"name": _("请填写部门名称（不超过128字）。")})
    contacts = dept.public_contacts if public_contacts is None else _clean_department_contacts(public_contacts)
    before = {"name": dept.name, "active": dept.active, "mailbox": dept.mailbox_name,
              "contacts": department_contacts(dept)}
    dept.name = name
    dept.active = active
    dept.mailbox_name = (mailbox_name or "").strip() or None
    dept.public_contacts = contacts
    db.session.flush()
    audit.record("department.update", user=actor, object_type="department", object_id=dept.code,
                 details={"from": before, "to": {"name": dept.name, "active": dept.active,
                                                 "mailbox": dept.mailbox_name,
                                                 "contacts": department_contacts(dept)}})


def valid_http_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url


def create_site(department_code: str, name: str, base_url: str, actor: User | None = None) -> Site:
    """Add a government website owned by a department."""
    dept = department_by_code(department_code, active_only=False)
    name = (name or "").strip()
    base_url = (base_url or "").strip()
    errors = {}
    if not name or len(name) > 128:
        errors["name"] = _("请填写网站名称（不超过128字）。")
    if not valid_http_url(base_url) or len(base_url) > 512:
        errors["url"] = _("网址须以 http:// 或 https:// 开头。")
    if errors:
        raise ValidationFailed(_("网站信息有误。"), errors)
    site = Site(department=dept, name=name, base_url=base_url, active=True)
    db.session.add(site)
    db.session.flush()
    audit.record("site.create", user=actor, object_type="site", object_id=site.id,
                 details={"department": dept.code, "name": site.name, "url": site.base_url})
    return site


def check_password_rules(password: str) -> None:
    """Refuse passwords the policy refuses (length, common passwords, character classes)."""
    passwords.check_policy(password)


def create_user(username: str, password: str, roles: list[str], department_code: str | None = None,
                email: str | None = None, display_name: str | None = None, *, must_change: bool = True,
                actor: User | None = None) -> User:
    """Create a staff account with one or more roles.

    The operator chose the password, so by default the user must change it at first sign-in.
    """
    username = (username or "").strip()
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = _("用户名须为3至64位字母、数字、点、下划线或连字符。")
    elif db.session.scalar(select(User.id).where(User.username == username)):
        errors["username"] = _("用户名 %(name)s 已存在。", name=username)
    try:
        role_set = {Role(r) for r in roles}
    except ValueError:
        role_set = set()
        errors["roles"] = _("未知的角色。可选：%(roles)s", roles=", ".join(r.value for r in Role))
    if not role_set and "roles" not in errors:
        errors["roles"] = _("至少需要一个角色。")
    elif conflict := conflict_message(role_set):
        errors["roles"] = conflict
    dept = None
    if department_code:
        try:
            dept = department_by_code(department_code)
        except NotFound as exc:
            errors["department"] = exc.message
    elif role_set & {Role.handler, Role.reviewer}:
        errors["department"] = _("承办人和审核人必须属于一个部门。")
    if email and not is_valid_email(email):
        errors["email"] = _("电子邮箱格式不正确。")
    try:
        check_password_rules(password)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(_("用户信息有误。"), errors)
    user = User(username=username, department=dept, email=email or None, display_name=display_name or None,
                active=True, session_version=1)
    passwords.initial_password(user, password, must_change=must_change)
    user.role_rows = [UserRole(role=r) for r in sorted(role_set, key=lambda r: r.value)]
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user=actor, object_type="user", object_id=user.username,
                 details={"roles": sorted(r.value for r in role_set), "department": dept.code if dept else None})
    return user


def hash_password(password: str) -> str:
    """Hash a password with the configured method (scrypt unless a test suite lowers the cost)."""
    return passwords.hash_password(password)


def conflict_message(roles) -> str | None:
    """The Chinese message naming every forbidden pair in `roles` (Art. 25), or None."""
    pairs = role_conflicts(roles)
    if not pairs:
        return None
    named = "、".join(_("“%(a)s”与“%(b)s”", a=a.title, b=b.title) for a, b in pairs)
    return _("职责分离：%(pairs)s不能由同一账号兼任。系统管理员和审计员只能单独担任。", pairs=named)


def role_violations() -> list[tuple[User, list[tuple[Role, Role]]]]:
    """Accounts whose stored roles break the separation of duties, by username, with each forbidden pair."""
    found = ((user, role_conflicts(user.roles)) for user in all_users())
    return [(user, pairs) for user, pairs in found if pairs]


def set_roles(user: User, roles: list[str], actor: User | None = None) -> None:
    """Replace a user's roles; nobody changes their own, and no forbidden pair is granted."""
    try:
        role_set = {Role(r) for r in roles}
    except ValueError as exc:
        raise ValidationFailed(_("未知的角色。"), {"roles": _("未知的角色。")}) from exc
    if not role_set:
        raise ValidationFailed(_("至少需要一个角色。"), {"roles": _("至少需要一个角色。")})
    if actor is not None and actor.id == user.id and role_set != user.roles:
        # An administrator granting themselves a role is what separation of duties exists to stop.
        msg = _("不能修改自己的角色，请由另一位系统管理员办理。")
        raise ValidationFailed(msg, {"roles": msg})
    if conflict := conflict_message(role_set):
        raise ValidationFailed(conflict, {"roles": conflict})
    if role_set & {Role.handler, Role.reviewer} and user.department_id is None:
        raise ValidationFailed(_("承办人和审核人必须属于一个部门。"), {"department": _("承办人和审核人必须属于一个部门。")})
    before = sorted(r.value for r in user.roles)
    user.role_rows = [UserRole(role=r) for r in sorted(role_set, key=lambda r: r.value)]
    db.session.flush()
    audit.record("user.roles", user=actor, object_type="user", object_id=user.username,
                 details={"from": before, "to": sorted(r.value for r in role_set)})


def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Enable or disable an account; an administrator cannot disable their own."""
    if not active and actor is not None and actor.id == user.id:
        msg = _("不能停用自己的账号。")
        raise ValidationFailed(msg, {"active": msg})
    if user.active and not active:
        # A disabled account's open sessions end now, not when they time out.
        user.session_version = (user.session_version or 0) + 1
    before = user.active
    user.active = active
    db.session.flush()
    audit.record("user.active", user=actor, object_type="user", object_id=user.username,
                 details={"from": before, "to": active})


def set_email(user: User, email: str | None, actor: User | None = None) -> None:
    """Set or clear a staff user's notification address (audited; the address stays out of the log)."""
    email = (email or "").strip()
    if email and not is_valid_email(email):
        msg = _("电子邮箱格式不正确。")
        raise ValidationFailed(msg, {"email": msg})
    before = user.email or None
    if before == (email or None):
        return
    user.email = email or None
    db.session.flush()
    audit.record("user.email", user=actor, object_type="user", object_id=user.username,
                 details={"set": bool(email), "changed": before is not None})


def user_by_username(username: str) -> User:
    """The user called `username`, or NotFound."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_("用户 %(name)s 不存在。", name=username))
    return user


# Compared against when the username is unknown, so both paths cost one scrypt check.
_DUMMY_HASH = generate_password_hash("interact-timing-equaliser")


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def _token_hash(raw: str) -> str:
    """SHA-256 of a token; tokens are random enough that no salt is needed."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(user: User, days: int | None = None, actor: User | None = None) -> str:
    """Create an API token for `user` and return it; only its hash is stored."""
    days = days or current_app.config["INTERACT_TOKEN_DAYS"]
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, token_hash=_token_hash(raw), prefix=raw[:10],
                     expires_at=utcnow() + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", user=actor, object_type="api_token", object_id=token.id,
                 details={"owner": user.username, "days": days})
    return raw


def list_tokens(username: str | None = None) -> list[ApiToken]:
    """Every API token (or one user's), newest first, with its owner; never the token itself."""
    stmt = select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.id.desc())
    if username:
        stmt = stmt.where(ApiToken.user_id == user_by_username(username).id)
    return list(db.session.scalars(stmt))


def revoke_token(id_or_prefix: str, actor: User | None = None) -> ApiToken:
    """Revoke one token named by its number or by the prefix `tokens list` shows."""
    key = (id_or_prefix or "").strip()
    if key.isdigit():
        matches = [t for t in [db.session.get(ApiToken, int(key))] if t is not None]
    elif key.startswith(TOKEN_PREFIX) and len(key) > len(TOKEN_PREFIX):
        # A whole token works too: only its listed prefix is compared.
        matches = list(db.session.scalars(select(ApiToken).where(ApiToken.prefix.startswith(key[:10], autoescape=True))))
    else:
        matches = []
    if not matches:
        raise NotFound(_("令牌 %(key)s 不存在。", key=key[:10]))
    if len(matches) > 1:
        raise Conflict(_("前缀 %(key)s 对应多个令牌，请用令牌编号吊销。", key=key[:10]))
    token = matches[0]
    if token.revoked_at is not None:
        raise Conflict(_("令牌 #%(id)d 已于此前吊销。", id=token.id))
    token.revoked_at = utcnow()
    db.session.flush()
    audit.record("token.revoke", user=actor, object_type="api_token", object_id=token.id,
                 details={"owner": token.user.username})
    return token


def user_for_token(raw: str) -> User | None:
    """The active user owning a valid, unexpired, unrevoked token, or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(raw)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now or not token.user.active:
        return None
    token.last_used_at = now
    return token.user
