"""The citizen forms: field definitions, choices and labels for rendering and parsing.

The forms carry no validators on purpose: every rule (required fields, phone and e-mail
format, routing, file types) lives in `interact.services.cases`, which the JSON API calls
too. The views map the service's field errors back onto these fields. CSRF is checked
globally by CSRFProtect; the forms only render its token.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import EmailField, TelField, URLField

from ..domain.kinds import ERROR_TYPES, RATINGS, Kind
from ..domain.models import Department, Site
from ..services.attachments import Upload
from ..services.cases import Submission


# The consent options: anything else (nothing chosen, a made-up value) is no choice, which the service refuses.
PUBLISH_CHOICES = {"y": True, "n": False}


class CaseForm(FlaskForm):
    """The fields every kind of case shares."""

    title = StringField(_l("标题"))
    content = TextAreaField(_l("内容"))
    name = StringField(_l("姓名"))
    phone = TelField(_l("联系电话"))
    email = EmailField(_l("电子邮箱（选填）"))
    attachments = MultipleFileField(_l("附件（选填）"))
    # Consent is a choice the citizen makes (Art. 17): two options, neither preselected.
    publish = RadioField(_l("是否公开您的来信"), choices=[SelectChoice("y", _l("公开")), SelectChoice("n", _l("不公开"))],
                         validate_choice=False)
    # Anti-spam (interact.services.antispam): a trap field that people never see or reach,
    # and the image CAPTCHA when an administrator has switched it on.
    homepage = StringField(_l("个人主页（请勿填写）"))
    captcha = StringField(_l("验证码"))
    # A random one-time token per rendered form: a re-sent POST returns the first receipt
    # instead of creating a second case (interact.services.submissions).
    submission_token = HiddenField()

    def submission(self, kind: Kind) -> Submission:
        """The posted values as a service Submission (files read into memory)."""
        return Submission(
            kind=kind.code,
            title=self.title.data or "",
            content=self.content.data or "",
            name=self.name.data or "",
            phone=self.phone.data or "",
            email=self.email.data or "",
            publish=PUBLISH_CHOICES.get(self.publish.data or ""),
            uploads=[u for u in map(_upload, self.attachments.data or []) if u is not None],
            **self.routing(),
        )

    def routing(self) -> dict:
        """The Submission fields that say where the case goes (differs per kind)."""
        return {}


class DepartmentCaseForm(CaseForm):
    """Consultations, suggestions and complaints: the department is optional."""

    department = SelectField(_l("承办部门（选填）"), choices=[], validate_choice=False)

    def routing(self) -> dict:
        """The chosen department's code, if any."""
        return {"department": self.department.data or ""}


class MailboxForm(DepartmentCaseForm):
    """A leader-mailbox letter: the leader's office must be chosen (the service enforces it)."""

    department = SelectField(_l("收信信箱"), choices=[], validate_choice=False)


class CorrectionForm(CaseForm):
    """A website error report: routed to the department that owns the site."""

    site = SelectField(_l("出错网站"), choices=[], validate_choice=False)
    page_url = URLField(_l("出错页面网址"))
    error_type = SelectField(_l("错误类型"), choices=[], validate_choice=False)
    screenshot = FileField(_l("页面截图（选填）"))

    def routing(self) -> dict:
        """The site (its owner handles the report), the page and the kind of error."""
        return {
            "site": self.site.data or None,
            "page_url": self.page_url.data or "",
            "error_type": self.error_type.data or "",
            "screenshot": _upload(self.screenshot.data),
        }


def _choices(labels: dict) -> list[SelectChoice]:
    """Options from a registry of code → label."""
    return [SelectChoice(code, label) for code, label in labels.items()]


def _upload(storage) -> Upload | None:
    """Read an uploaded file (a werkzeug FileStorage) into an Upload, or None if none was sent."""
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return Upload(storage.filename, storage.read())


def case_form(kind: Kind, departments: list[Department], sites: list[Site]) -> CaseForm:
    """The form for `kind`, bound to the request's data when it is a POST."""
    if kind.needs_site:
        form = CorrectionForm()
        form.site.choices = [SelectChoice("", _l("请选择网站"))] + [
            SelectChoice(str(s.id), f"{s.name}（{s.department.name}）") for s in sites
        ]
        form.error_type.choices = [SelectChoice("", _l("请选择错误类型"))] + _choices(ERROR_TYPES)
    elif kind.needs_mailbox:
        form = MailboxForm()
        form.department.choices = [SelectChoice("", _l("请选择领导信箱"))] + [
            SelectChoice(d.code, d.mailbox_name) for d in departments if d.mailbox_name
        ]
    else:
        form = DepartmentCaseForm()
        form.department.choices = [SelectChoice("", _l("不指定，由平台分办"))] + [
            SelectChoice(d.code, d.name) for d in departments
        ]
    return form


class QueryForm(FlaskForm):
    """The number and query code a citizen follows a case with."""

    number = StringField(_l("办件编号"))
    code = StringField(_l("查询码"))


class RatingForm(FlaskForm):
    """The citizen's one rating of an approved reply."""

    number = HiddenField()
    code = HiddenField()
    rating = RadioField(_l("满意度"), choices=_choices(RATINGS), validate_choice=False)
    comment = TextAreaField(_l("评价意见（选填）"))
