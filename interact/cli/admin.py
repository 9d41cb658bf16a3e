"""`interact departments|sites|users|tokens|workdays|deadlines`: the administrator's commands."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain.errors import DomainError
from ..domain.kinds import DEFAULT_DEADLINE_DAYS, KINDS
from ..domain.models import Role
from ..services import calendar, directory, passwords, twofactor
from ..domain.timeutil import format_local

from .common import CommandFailed, echo_table, out_of_range, parse_date, parse_local_date, service_call, yes_no
from ..services import deadlines as deadline_service
from ..services import overrides

ROLE_CODES = ", ".join(r.value for r in Role)


# --- departments -------------------------------------------------------------------------------

departments = AppGroup("departments", help=_l("部门：添加、列出。"))


@departments.command("add", help=_l("添加部门。CODE 为英文代码（小写字母、数字、连字符），NAME 为部门名称。"))
@click.argument("code")
@click.argument("name")
@click.option("--mailbox", "mailbox", metavar="NAME", help=_l("该部门开设的领导信箱名称，如“市长信箱”。"))
def departments_add(code: str, name: str, mailbox: str | None) -> None:
    """Add a department, optionally running a leader mailbox."""
    with service_call():
        dept = directory.create_department(code, name, mailbox)
        line = _("已添加部门：%(code)s %(name)s", code=dept.code, name=dept.name)
        if dept.mailbox_name:
            line += _("（领导信箱：%(mailbox)s）", mailbox=dept.mailbox_name)
    click.echo(line)


@departments.command("list", help=_l("列出全部部门。"))
def departments_list() -> None:
    """List every department, active or not."""
    rows = directory.all_departments()
    echo_table([_("代码"), _("名称"), _("领导信箱"), _("状态")],
               [(d.code, d.name, d.mailbox_name or "", yes_no(d.active)) for d in rows])


# --- sites -------------------------------------------------------------------------------------

sites = AppGroup("sites", help=_l("政府网站：添加、列出（网站纠错的对象）。"))


@sites.command("add", help=_l("为部门添加一个网站。URL 须以 http:// 或 https:// 开头。"))
@click.argument("department_code")
@click.argument("name")
@click.argument("url")
def sites_add(department_code: str, name: str, url: str) -> None:
    """Add a government website owned by a department."""
    with service_call():
        site = directory.create_site(department_code, name, url)
        line = _("已添加网站 #%(id)d：%(name)s %(url)s（%(dept)s）",
                 id=site.id, name=site.name, url=site.base_url, dept=site.department.name)
    click.echo(line)


@sites.command("list", help=_l("列出全部网站。"))
def sites_list() -> None:
    """List every site with its id, owner and URL."""
    rows = directory.all_sites()
    echo_table([_("编号"), _("部门"), _("名称"), _("网址"), _("状态")],
               [(s.id, s.department.code, s.name, s.base_url, yes_no(s.active)) for s in rows])


# --- users and tokens --------------------------------------------------------------------------

users = AppGroup("users", help=_l("工作人员账号：添加、列出。"))


def _read_password() -> str:
    """The password: typed twice without echo on a terminal, else the first line of stdin."""
    stdin = sys.stdin
    if stdin.isatty():
        return click.prompt(_("密码"), hide_input=True, confirmation_prompt=True, err=True)
    return stdin.readline().rstrip("\r\n")


def _password_from_stdin(password_stdin: bool) -> str:
    """The password of a users command: only ever from standard input, and never empty."""
    if not password_stdin:
        # A password on the command line ends up in shell history and in `ps` output.
        raise CommandFailed(_("密码不能写在命令行上：请加 --password-stdin，并从标准输入提供密码。"))
    password = _read_password()
    if not password:
        raise CommandFailed(_("没有从标准输入读到密码。"))
    return password


@users.command(
    "add",
    help=_l("添加工作人员。密码从标准输入的第一行读取，不能写在命令行上。例如：\n\n\b\n"
            "printf '%s\\n' \"$PW\" | interact users add wang --role handler --department housing --password-stdin"),
)
@click.argument("username")
@click.option("--role", "roles", multiple=True, metavar="ROLE",
              help=_l("角色，可重复：%(roles)s", roles=ROLE_CODES))
@click.option("--department", metavar="CODE", help=_l("所属部门代码（承办人、审核人必填）。"))
@click.option("--email", metavar="ADDRESS", help=_l("电子邮箱。"))
@click.option("--display-name", metavar="NAME", help=_l("显示给其他工作人员的姓名。"))
@click.option("--password-stdin", is_flag=True, help=_l("从标准输入读取密码（必需）。"))
def users_add(username: str, roles: tuple[str, ...], department: str | None, email: str | None,
              display_name: str | None, password_stdin: bool) -> None:
    """Create a staff account; the password comes from standard input only."""
    password = _password_from_stdin(password_stdin)
    with service_call():
        user = directory.create_user(username, password, list(roles), department, email=email,
                                     display_name=display_name)
        line = _("已添加工作人员：%(user)s（%(roles)s）", user=user.username,
                 roles=", ".join(sorted(r.value for r in user.roles)))
    click.echo(line)


@users.command(
    "reset-password",
    help=_l("重置工作人员的密码（从标准输入读取，须加 --password-stdin）。该用户的所有登录立即失效，下次登录时必须修改密码。"),
)
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help=_l("从标准输入读取密码（必需）。"))
def users_reset_password(username: str, password_stdin: bool) -> None:
    """Set a new password that the user must change at the next sign-in."""
    password = _password_from_stdin(password_stdin)
    with service_call():
        passwords.reset_password(None, directory.user_by_username(username), password)
    click.echo(_("已重置 %(user)s 的密码；该用户下次登录时必须修改密码。", user=username))


@users.command("reset-2fa", help=_l("解除工作人员的两步验证绑定（手机和恢复码都丢失时）。该用户下次登录时重新绑定。"))
@click.argument("username")
def users_reset_2fa(username: str) -> None:
    """Remove a user's authenticator so that they enrol again."""
    with service_call():
        twofactor.reset(directory.user_by_username(username))
    click.echo(_("已解除 %(user)s 的两步验证绑定。", user=username))


@users.command("list", help=_l("列出全部工作人员账号。"))
def users_list() -> None:
    """List every staff account with roles and department."""
    rows = directory.all_users()
    echo_table(
        [_("用户名"), _("姓名"), _("角色"), _("部门"), _("电子邮箱"), _("状态"), _("最近登录")],
        [(u.username, u.display_name or "", ",".join(sorted(r.value for r in u.roles)),
          u.department.code if u.department else "", u.email or "", yes_no(u.active),
          format_local(u.last_login_at)) for u in rows],
    )


@users.command(
    "set-roles",
    help=_l("替换工作人员的角色（可重复 --role）。系统管理员和审计员只能单独担任。用于纠正 users check-roles 报告的账号。"),
)
@click.argument("username")
@click.option("--role", "roles", multiple=True, metavar="ROLE", required=True,
              help=_l("角色，可重复：%(roles)s", roles=ROLE_CODES))
def users_set_roles(username: str, roles: tuple[str, ...]) -> None:
    """Replace an account's roles under the separation-of-duties rule (audited as cli:<os user>)."""
    with service_call():
        user = directory.user_by_username(username)
        directory.set_roles(user, list(roles))
        line = _("已将 %(user)s 的角色设为：%(roles)s", user=user.username,
                 roles=", ".join(sorted(r.value for r in user.roles)))
    click.echo(line)


@users.command(
    "check-roles",
    help=_l("列出角色组合违反职责分离的账号（系统管理员或审计员兼任其他角色）。有则退出状态为 1，没有则为 0。"),
)
def users_check_roles() -> None:
    """Report accounts holding a forbidden pair of roles, e.g. from an install made before the rule."""
    found = directory.role_violations()
    if not found:
        click.echo(_("没有违反职责分离的账号。"))
        return
    echo_table([_("用户名"), _("角色"), _("状态"), _("冲突")],
               [(u.username, ",".join(sorted(r.value for r in u.roles)), yes_no(u.active),
                 "; ".join(f"{a.value}+{b.value}" for a, b in pairs)) for u, pairs in found])
    raise CommandFailed(_("%(n)d 个账号的角色违反职责分离：请用 interact users set-roles 或另一位系统管理员在账号页面纠正。",
                          n=len(found)))


tokens = AppGroup("tokens", help=_l("工作人员 API 令牌。"))


@tokens.command("create", help=_l("为工作人员创建 API 令牌，令牌打印在最后一行，只显示这一次（数据库只保存其哈希）。"))
@click.argument("username")
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help=_l("有效天数（默认取 INTERACT_TOKEN_DAYS）。"))
def tokens_create(username: str, days: int | None) -> None:
    """Create an API token for a user and print it as the last line."""
    with service_call():
        user = directory.user_by_username(username)
        raw = directory.create_token(user, days)
    days = days or current_app.config["INTERACT_TOKEN_DAYS"]
    # The notice goes to stderr so that `TOKEN=$(interact tokens create …)` captures only the token.
    click.echo(_("已为 %(user)s 创建 API 令牌，%(days)d 天后过期。令牌只显示这一次，请妥善保存：",
                 user=user.username, days=days), err=True)
    click.echo(raw)


@tokens.command("list", help=_l("列出 API 令牌（可只列某个工作人员的）：编号、前缀、所属用户、创建、过期、最近使用、吊销时间。不显示令牌本身。"))
@click.argument("username", required=False)
def tokens_list(username: str | None) -> None:
    """List tokens with their prefix and dates; the token itself is never stored or shown."""
    try:
        rows = directory.list_tokens(username)
    except DomainError as exc:
        raise CommandFailed(exc.message, exc.fields) from None
    echo_table(
        [_("编号"), _("前缀"), _("用户"), _("创建"), _("过期"), _("最近使用"), _("吊销")],
        [(t.id, t.prefix, t.user.username, format_local(t.created_at), format_local(t.expires_at),
          format_local(t.last_used_at), format_local(t.revoked_at)) for t in rows],
    )


@tokens.command("revoke", help=_l("吊销一个 API 令牌。TOKEN 为 tokens list 显示的编号或前缀（也可粘贴整个令牌）。"))
@click.argument("token", metavar="TOKEN_ID_OR_PREFIX")
def tokens_revoke(token: str) -> None:
    """Revoke one token; requests with it are refused from now on."""
    with service_call():
        revoked = directory.revoke_token(token)
        line = _("已吊销令牌 #%(id)d（%(prefix)s…，用户 %(user)s）。", id=revoked.id, prefix=revoked.prefix,
                 user=revoked.user.username)
    click.echo(line)


# --- working days ------------------------------------------------------------------------------

workdays = AppGroup("workdays", help=_l("工作日历：计算办理期限，查看和调整节假日安排。"))


@workdays.command(
    "due",
    short_help=_l("WHEN 提交的办件的到期日（YYYY-MM-DD）。"),
    help=_l("输出 WHEN 之后第 N 个工作日（提交当天不计），格式 YYYY-MM-DD。WHEN 为日期或 ISO 时间，带时区的时间先换算为北京时间。"),
)
@click.argument("when")
@click.option("--days", type=click.IntRange(1, 366), default=DEFAULT_DEADLINE_DAYS, show_default=True,
              help=_l("工作日数。"))
def workdays_due(when: str, days: int) -> None:
    """Print the due date of something submitted at WHEN."""
    start = parse_local_date(when)
    cal = calendar.current_calendar()
    try:
        click.echo(cal.add_working_days(start, days).isoformat())
    except ValueError:
        raise out_of_range(cal) from None


@workdays.command("count", help=_l("START 之后（不含）到 END（含）之间的工作日数。"))
@click.argument("start")
@click.argument("end")
def workdays_count(start: str, end: str) -> None:
    """Print the number of working days d with START < d <= END."""
    first, last = parse_local_date(start), parse_local_date(end)
    cal = calendar.current_calendar()
    try:
        click.echo(str(cal.working_days_between(first, last)))
    except ValueError:
        raise out_of_range(cal) from None


@workdays.command("year", help=_l("列出一年的休息日（off）和调休上班日（work）及其来源（library 或 override）。"))
@click.argument("year", type=int)
def workdays_year(year: int) -> None:
    """List a year's days off and make-up workdays, and whether the year is confirmed."""
    cal = calendar.current_calendar()
    try:
        schedule = cal.year_schedule(year)
    except ValueError:
        raise out_of_range(cal) from None
    for day in schedule:
        state = "work" if day.working else "off"
        click.echo(f"{day.day.isoformat()}  {state}  {day.source}  {day.name}".rstrip())
    if year in calendar.confirmed_years():
        click.echo(_("%(year)d 年的节假日安排已确认。", year=year))
    else:
        click.echo(_("%(year)d 年的节假日安排尚未确认：请对照国务院办公厅的通知核对后运行 "
                     "interact workdays confirm %(year)d。", year=year))


@workdays.command(
    "override",
    help=_l("把某天设为休息日（--off）或工作日（--work），或撤销调整（--clear）；未办结办件的办理期限随之重新计算。"),
)
@click.argument("day", metavar="DATE")
@click.option("--off", "mode", flag_value="off", help=_l("设为休息日。"))
@click.option("--work", "mode", flag_value="work", help=_l("设为工作日。"))
@click.option("--clear", "mode", flag_value="clear", help=_l("撤销该日的调整，恢复法定安排。"))
@click.option("--note", default="", help=_l("说明，如“国办发明电〔2026〕1号”。"))
def workdays_override(day: str, mode: str | None, note: str) -> None:
    """Mark DATE as a day off or a working day, or remove its override."""
    if mode is None:
        raise CommandFailed(_("请指定 --off、--work 或 --clear 之一。"))
    when = parse_date(day)
    with service_call():
        if mode == "clear":
            changed = overrides.clear_override(when)
            line = _("已撤销 %(day)s 的调整。", day=when.isoformat())
        else:
            changed = overrides.set_override(when, mode == "work", note)
            line = (_("已将 %(day)s 设为工作日。", day=when.isoformat()) if mode == "work"
                    else _("已将 %(day)s 设为休息日。", day=when.isoformat()))
    click.echo(line)
    click.echo(_("重新计算了 %(n)d 件未办结办件的办理期限。", n=changed))


@workdays.command("confirm", help=_l("确认某年的节假日安排已与国务院办公厅通知核对无误。"))
@click.argument("year", type=int)
@click.option("--note", default="", help=_l("说明，如通知文号。"))
def workdays_confirm(year: int, note: str) -> None:
    """Record that YEAR's schedule was checked against the State Council notice."""
    with service_call():
        calendar.confirm_year(year, note)
    click.echo(_("已确认 %(year)d 年的节假日安排。", year=year))


# --- deadlines ---------------------------------------------------------------------------------

deadlines = AppGroup("deadlines", help=_l("各类办件的办理期限（工作日）。"))


@deadlines.command("list", help=_l("列出各类办件的办理期限。"))
def deadlines_list() -> None:
    """List every kind's deadline in working days."""
    settings = deadline_service.deadline_settings()
    echo_table([_("类别"), _("名称"), _("工作日")],
               [(code, str(KINDS[code].label), days) for code, days in settings.items()])


@deadlines.command(
    "set",
    help=_l("设置某类办件的办理期限（1–60 个工作日），只影响此后提交的办件。KIND：%(kinds)s", kinds=", ".join(KINDS)),
)
@click.argument("kind")
@click.argument("days", type=int)
def deadlines_set(kind: str, days: int) -> None:
    """Change the deadline of one kind for cases submitted from now on."""
    with service_call():
        deadline_service.set_deadline_days(kind, days)
    click.echo(_("%(kind)s（%(label)s）的办理期限已设为 %(days)d 个工作日，适用于此后提交的办件。",
                 kind=kind, label=str(KINDS[kind].label), days=days))
