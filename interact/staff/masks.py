"""The reviewer's privacy check on the case page (Art. 17): what the public copy will hide.

The case page shows a reviewer the title, content and draft reply with every stored mask
highlighted, the list of masks with a lift/restore button each, a form to mask a stretch by hand,
and a preview of the public copy. Each mask shows its reason; the ones no checksum confirmed (an
ID-shaped number with a wrong check character, a card-shaped one failing Luhn) are marked for
the reviewer to look at. The highlighting is built here as plain segments and escaped by
Jinja: citizen text is never marked safe. Nothing here runs the detector; it only reads the
stored masks (interact/services/masks.py). The case page view calls `panel` for its data; the
blueprint "staff_masks" holds the routes that add, lift and restore masks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField

from ..services import publication
from ..domain import privacy
from ..domain.models import Case, TextMask
from ..domain.states import MaskOrigin, TextField
from ..services import masks as mask_service
from ..web.actions import invalid_form, run_for_page
from . import auth
from .forms import choice_list

FIELD_LABELS = TextField.titles()
# Each mask's reason, from the detector's one registry of labels.
MASK_LABELS = {label: kind.title for label, kind in privacy.KINDS.items()}
ORIGIN_LABELS = MaskOrigin.titles()
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
    """Everything the privacy check on the case page shows, with the labels it names things by."""

    fields: list[FieldView]
    rows: list[TextMask]
    preview: dict[str, str]
    form: MaskForm
    labels: ClassVar[dict] = MASK_LABELS
    unverified: ClassVar[frozenset] = privacy.UNVERIFIED
    field_labels: ClassVar[dict] = FIELD_LABELS
    origin_labels: ClassVar[dict] = ORIGIN_LABELS


def mask_form() -> MaskForm:
    """An empty manual-mask form listing the three fields."""
    form = MaskForm(formdata=None)
    form.field.choices = choice_list([(name, label) for name, label in FIELD_LABELS.items()])
    return form


def panel(case: Case, editable: bool) -> MaskPanel | None:
    """The privacy check for `case`, or None (and no query) unless the user may edit its masks now.

    `editable` is whether the user may review the case now (`masks.can_edit_masks`); the case page
    knows it from the actions open to the user.
    """
    if not editable:
        return None
    rows = mask_service.case_masks(case)
    texts = mask_service.field_texts(case)
    fields = [FieldView(name, str(FIELD_LABELS[name]), mask_service.segments(name, texts[name], rows))
              for name in mask_service.FIELDS if texts[name]]
    return MaskPanel(fields, rows, publication.public_copy(case, rows), mask_form())


def make_blueprint() -> Blueprint:
    """Build the blueprint of the mask routes ("staff_masks", under /staff)."""
    bp = auth.staff_blueprint("staff_masks", __name__)

    @bp.post("/cases/<number>/masks")
    @login_required
    def case_mask_add(number: str):
        """A reviewer masks a stretch of the title, content or draft reply by hand."""
        form = MaskForm()
        form.field.choices = mask_form().field.choices
        back = url_for("staff.case_page", number=number, _anchor=ANCHOR)
        user = current_user._get_current_object()
        if not form.validate_on_submit():
            return invalid_form("case.mask_add", user, "case", number, back)
        _row, refused = run_for_page(
            "case.mask_add", user, "case", number,
            lambda: mask_service.add_manual_mask(number, form.field.data or "", form.text.data or "", user), back=back)
        if refused is not None:
            return refused
        flash(_("已添加遮盖：这段文字公开时将被隐去。"), "success")
        return redirect(back)

    @bp.post("/cases/<number>/masks/<int:mask_id>/lift")
    @login_required
    def case_mask_lift(number: str, mask_id: int):
        """A reviewer lifts a mask that hides nothing personal, or restores it."""
        form = LiftForm()
        back = url_for("staff.case_page", number=number, _anchor=ANCHOR)
        user = current_user._get_current_object()
        if not form.validate_on_submit():
            return invalid_form("case.mask_lift", user, "case", number, back)
        lifted = form.lifted.data != "0"
        _row, refused = run_for_page("case.mask_lift", user, "case", number,
                                     lambda: mask_service.lift_mask(number, mask_id, user, lifted=lifted), back=back)
        if refused is not None:
            return refused
        flash(_("已撤销遮盖：这段文字公开时将照常显示。") if lifted else _("已恢复遮盖。"), "success")
        return redirect(back)

    return bp
