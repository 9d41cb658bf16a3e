"""The reviewer's privacy check on the case page (Art. 17): what the public copy will hide.

The case page shows a reviewer the title, content and draft reply with every stored mask
highlighted, the list of masks with a lift/restore button each, a form to mask a stretch by hand,
and a preview of the public copy. The highlighting is built here as plain segments and escaped by
Jinja: citizen text is never marked safe. Nothing here runs the detector; it only reads the
stored masks (interact/services/masks.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField

from ..services import publication
from ..domain.errors import Conflict, DomainError, ValidationFailed
from ..domain.models import Case, TextMask
from ..services import audit
from ..services import masks as mask_service
from ..services.tx import unit_of_work
from .forms import choice_list

FIELD_LABELS = {"title": _l("标题"), "content": _l("来信内容"), "reply": _l("答复稿")}
MASK_LABELS = {
    "id_number": _l("身份证号"), "mobile": _l("手机号"), "landline": _l("固定电话"), "email": _l("电子邮箱"),
    "bank_card": _l("银行卡号"), "address": _l("详细地址"), "manual": _l("人工遮盖"),
}
ORIGIN_LABELS = {"detector": _l("自动识别"), "reviewer": _l("审核人添加")}
ANCHOR = "pii-heading"


class MaskForm(FlaskForm):
    """A reviewer masks an exact stretch of one field."""

    field = SelectField(_l("遮盖位置"), choices=[], validate_choice=False)
    text = TextAreaField(_l("要遮盖的文字（从上文原样复制）"))


class LiftForm(FlaskForm):
    """Lift a mask (lifted=1) or restore it (lifted=0)."""

    lifted = HiddenField()


@dataclass(frozen=True)
class FieldView:
    """One publishable field cut into plain and highlighted segments."""

    name: str
    label: str
    segments: list[mask_service.Segment]


@dataclass(frozen=True)
class MaskPanel:
    """Everything the privacy check on the case page shows."""

    fields: list[FieldView]
    rows: list[TextMask]
    preview: dict[str, str]
    form: MaskForm


def mask_form() -> MaskForm:
    """An empty manual-mask form listing the three fields."""
    form = MaskForm(formdata=None)
    form.field.choices = choice_list([(name, label) for name, label in FIELD_LABELS.items()])
    return form


def panel(case: Case) -> MaskPanel | None:
    """The privacy check for `case`, or None unless the signed-in user may review it now."""
    user = current_user._get_current_object()
    if not mask_service.can_edit_masks(user, case):
        return None
    rows = mask_service.case_masks(case)
    texts = mask_service.field_texts(case)
    fields = [FieldView(name, str(FIELD_LABELS[name]), mask_service.segments(name, texts[name], rows))
              for name in mask_service.FIELDS if texts[name]]
    return MaskPanel(fields, rows, publication.public_copy(case, rows), mask_form())


def register(bp) -> None:
    """Add the privacy-check helpers and the mask routes to the staff blueprint."""

    @bp.context_processor
    def mask_helpers():
        """The privacy-check panel builder and the label registries for the case page."""
        return {"mask_panel_for": panel, "MASK_LABELS": MASK_LABELS, "MASK_FIELD_LABELS": FIELD_LABELS,
                "MASK_ORIGIN_LABELS": ORIGIN_LABELS}

    @bp.post("/cases/<number>/masks")
    @login_required
    def case_mask_add(number: str):
        """A reviewer masks a stretch of the title, content or draft reply by hand."""
        form = MaskForm()
        form.field.choices = mask_form().field.choices
        back = redirect(url_for(".case_page", number=number, _anchor=ANCHOR))
        user = current_user._get_current_object()
        if not form.validate_on_submit():
            audit.record_now("case.mask_add", user=user, object_type="case", object_id=number,
                             details={"error": "invalid_form"})
            flash(_("表单无效，请刷新页面后重试。"), "error")
            return back
        try:
            with unit_of_work():
                mask_service.add_manual_mask(number, form.field.data or "", form.text.data or "", user)
        except DomainError as exc:
            audit.record_refusal("case.mask_add", exc, user=user, object_type="case", object_id=number)
            if not isinstance(exc, (ValidationFailed, Conflict)):
                raise  # 403 or 404, like every other refused case action
            flash(exc.message, "error")
            return back
        flash(_("已添加遮盖：这段文字公开时将被隐去。"), "success")
        return back

    @bp.post("/cases/<number>/masks/<int:mask_id>/lift")
    @login_required
    def case_mask_lift(number: str, mask_id: int):
        """A reviewer lifts a mask that hides nothing personal, or restores it."""
        form = LiftForm()
        back = redirect(url_for(".case_page", number=number, _anchor=ANCHOR))
        user = current_user._get_current_object()
        if not form.validate_on_submit():
            audit.record_now("case.mask_lift", user=user, object_type="case", object_id=number,
                             details={"error": "invalid_form"})
            flash(_("表单无效，请刷新页面后重试。"), "error")
            return back
        lifted = form.lifted.data != "0"
        try:
            with unit_of_work():
                mask_service.lift_mask(number, mask_id, user, lifted=lifted)
        except DomainError as exc:
            audit.record_refusal("case.mask_lift", exc, user=user, object_type="case", object_id=number)
            if not isinstance(exc, Conflict):
                raise
            flash(exc.message, "error")
            return back
        flash(_("已撤销遮盖：这段文字公开时将照常显示。") if lifted else _("已恢复遮盖。"), "success")
        return back
