"""Back-office forms: they render fields and carry the CSRF token; the services judge the input.

Select fields skip WTForms' own choice check (`validate_choice=False`) because the services
already refuse unknown departments, reasons and decisions with a Chinese message per field.
Also here: the department choices the dispatch, site and user forms share, and `attach_errors`,
which puts a service's per-field messages next to a form's fields.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..domain.errors import DomainError
from ..domain.kinds import DECLINE_REASONS, KINDS
from ..domain.models import Role
from ..services import directory
from .auth import ROLE_LABELS

# Where a service names a field differently from the form that carries it.
FIELD_ALIASES = {"url": "base_url", "role": "roles"}


def choice_list(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]


def department_choices(include_inactive: bool = False) -> list[SelectChoice]:
    """(code, name) choices for a department select, led by an empty "please choose"."""
    depts = directory.all_departments() if include_inactive else directory.active_departments()
    return choice_list([("", _("请选择"))] + [
        (d.code, d.name if d.active else _("%(name)s（已停用）", name=d.name)) for d in depts])


def attach_errors(form, exc: DomainError) -> None:
    """Show the service's per-field messages next to the form's fields."""
    for name, message in (exc.fields or {}).items():
        field = getattr(form, FIELD_ALIASES.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    """Username and password; the field names are fixed for other tools."""

    username = StringField(_l("用户名"), validators=[InputRequired()])
    password = PasswordField(_l("密码"), validators=[InputRequired()])


class PostForm(FlaskForm):
    """A button that only needs the CSRF token (logout, accept)."""


# --- case actions -------------------------------------------------------------------------
# Field names are the JSON API's body keys, so `body()` is the same dict the API passes on.

class DispatchForm(FlaskForm):
    """Route a case to a department."""

    department = SelectField(_l("承办部门"), choices=[], validate_choice=False)

    def body(self) -> dict:
        """The action body for `cases.perform`."""
        return {"department": self.department.data or ""}


def dispatch_form(formdata=None) -> DispatchForm:
    """A dispatch form listing the active departments."""
    form = DispatchForm(formdata=formdata)
    form.department.choices = department_choices()
    return form


class AcceptForm(FlaskForm):
    """Take a case on; nothing to fill in."""

    def body(self) -> dict:
        """The action body for `cases.perform`."""
        return {}


class TransferForm(FlaskForm):
    """Send a case back to the dispatch office."""

    reason = TextAreaField(_l("退回理由"))

    def body(self) -> dict:
        """The action body for `cases.perform`."""
        return {"reason": self.reason.data or ""}


class ReplyForm(FlaskForm):
    """Draft the reply for review."""

    text = TextAreaField(_l("答复内容"))

    def body(self) -> dict:
        """The action body for `cases.perform`."""
        return {"text": self.text.data or ""}


class DeclineForm(FlaskForm):
    """Propose not to accept the case."""

    reason = SelectField(_l("不予受理理由"), choices=choice_list([("", _l("请选择")), *DECLINE_REASONS.items()]),
                         validate_choice=False)
    explanation = TextAreaField(_l("说明"))

    def body(self) -> dict:
        """The action body for `cases.perform`."""
        return {"reason": self.reason.data or "", "explanation": self.explanation.data or ""}


class ReviewForm(FlaskForm):
    """Approve or return a draft, and decide on publication."""

    decision = RadioField(_l("审核结论"), choices=choice_list([("approve", _l("通过")), ("return", _l("退回修改"))]),
                          validate_choice=False)
    comment = TextAreaField(_l("审核意见（退回时必填）"))
    publish = BooleanField(_l("公开办理结果"))

    def body(self) -> dict:
        """The action body for `cases.perform`."""
        return {"decision": self.decision.data or "", "comment": self.comment.data or "",
                "publish": bool(self.publish.data)}


ACTION_FORMS: dict[str, type[FlaskForm]] = {
    "dispatch": DispatchForm,
    "accept": AcceptForm,
    "transfer": TransferForm,
    "reply": ReplyForm,
    "decline": DeclineForm,
    "review": ReviewForm,
}


# --- administration -------------------------------------------------------------------------

class DepartmentForm(FlaskForm):
    """A new department."""

    code = StringField(_l("部门代码（小写字母、数字、连字符）"))
    name = StringField(_l("部门名称"))
    mailbox_name = StringField(_l("领导信箱名称（可选，如“市长信箱”）"))
    public_contacts = TextAreaField(_l("本部门公开的联系电话和电子邮箱（每行一个；在来信和答复中出现时不作为个人信息遮盖）"))


class DepartmentEditForm(FlaskForm):
    """Change a department's name, state and leader mailbox."""

    name = StringField(_l("部门名称"))
    active = BooleanField(_l("启用"))
    mailbox_name = StringField(_l("领导信箱名称（可选）"))
    public_contacts = TextAreaField(_l("本部门公开的联系电话和电子邮箱（每行一个；在来信和答复中出现时不作为个人信息遮盖）"))


class SiteForm(FlaskForm):
    """A new government website."""

    department = SelectField(_l("主办部门"), choices=[], validate_choice=False)
    name = StringField(_l("网站名称"))
    base_url = StringField(_l("网址"))


ROLE_CHOICES = choice_list((r.value, ROLE_LABELS[r]) for r in Role)


class UserForm(FlaskForm):
    """A new staff account."""

    username = StringField(_l("用户名"))
    display_name = StringField(_l("姓名（可选）"))
    password = PasswordField(_l("初始密码（至少12位）"))
    roles = MultiCheckboxField(_l("角色"), choices=ROLE_CHOICES, validate_choice=False)
    department = SelectField(_l("所属部门"), choices=[], validate_choice=False)
    email = StringField(_l("电子邮箱（可选）"))


class UserEditForm(FlaskForm):
    """Change a staff account's roles and state."""

    roles = MultiCheckboxField(_l("角色"), choices=ROLE_CHOICES, validate_choice=False)
    active = BooleanField(_l("启用"))
    email = StringField(_l("电子邮箱（接收办件通知）"))


class OverrideForm(FlaskForm):
    """Make one date a day off or a working day."""

    day = DateField(_l("日期"), validators=[InputRequired()])
    working = RadioField(_l("调整为"), choices=choice_list([("off", _l("休息日")), ("work", _l("工作日"))]),
                         validators=[InputRequired()])
    note = StringField(_l("说明（如“国务院通知调休”）"))


class ConfirmYearForm(FlaskForm):
    """Record that a year's schedule matches the State Council notice."""

    year = HiddenField()
    note = StringField(_l("依据（可选）"))


class DeadlineForm(FlaskForm):
    """One kind's deadline in working days."""

    kind = HiddenField()
    days = IntegerField(_l("办理期限（工作日）"), validators=[Optional()])

    def kind_label(self) -> object:
        """The kind's Chinese name."""
        kind = KINDS.get(self.kind.data or "")
        return kind.label if kind else self.kind.data
