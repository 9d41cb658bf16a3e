"""The subscription pages of the public surface (Art. 18): subscribe, confirm, unsubscribe.

Thin adapters over `interact.services.subscriptions`. The pages never show an address in
full (only z***@example.com), and the answer to a subscription request is the same whether
or not the address was known. The unsubscribe link is also the RFC 8058 one-click target:
a mail client POSTs `List-Unsubscribe=One-Click` to it without any CSRF token, the signed
token in the URL being the proof; every other POST to it must carry the page's CSRF token.
The blueprint is "public_subscribe".
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField
from wtforms.fields import EmailField

from ..domain.errors import DomainError, ValidationFailed
from ..web.extensions import csrf
from ..domain.kinds import KINDS
from ..services import antispam, directory
from ..services import subscriptions as subscription_service
from ..services.tx import unit_of_work
from .views import private, spam_trap_answer

ONE_CLICK = "One-Click"


class SubscribeForm(FlaskForm):
    """Address, scope and frequency of a subscription; the rules live in the service."""

    email = EmailField(_l("电子邮箱"))
    scope = RadioField(_l("订阅范围"), choices=[SelectChoice(k, v) for k, v in subscription_service.SCOPES.items()], default="all",
                       validate_choice=False)
    department = SelectField(_l("部门"), choices=[], validate_choice=False)
    kind = SelectField(_l("办件类别"), choices=[], validate_choice=False)
    frequency = RadioField(_l("发送频率"), choices=[SelectChoice(k, v) for k, v in subscription_service.FREQUENCIES.items()],
                           default="immediate", validate_choice=False)
    # Anti-spam, as on the case forms (interact.services.antispam).
    homepage = StringField(_l("个人主页（请勿填写）"))
    captcha = StringField(_l("验证码"))

    def scope_value(self) -> str:
        """The department code or kind code the chosen scope needs."""
        return {"department": self.department.data, "kind": self.kind.data}.get(self.scope.data, "") or ""


def _form() -> SubscribeForm:
    """The subscription form with department and kind choices, prefilled from the query string."""
    form = SubscribeForm()
    form.department.choices = [SelectChoice("", _l("请选择部门"))] + [
        SelectChoice(d.code, d.name) for d in directory.active_departments()]
    form.kind.choices = [SelectChoice("", _l("请选择类别"))] + [
        SelectChoice(code, kind.label) for code, kind in KINDS.items()]
    if request.method == "GET":
        # Links from a department's or a kind's records page preselect that scope.
        for scope in ("department", "kind"):
            value = (request.args.get(scope) or "").strip()
            if value:
                form.scope.data = scope
                form[scope].data = value
    return form


def _refusal(exc: DomainError):
    """A damaged, expired or unknown link: the error page with the service's message."""
    return private(render_template("errors.html", code=exc.status_code, message=exc.message), exc.status_code)


def make_blueprint() -> Blueprint:
    """Build the subscription pages' blueprint ("public_subscribe", no URL prefix)."""
    bp = Blueprint("public_subscribe", __name__)

    @bp.route("/subscribe", methods=["GET", "POST"])
    def subscribe():
        """Subscribe an address to newly published records; the answer never says if it was known."""
        form = _form()
        if request.method == "GET":
            return _page(form)
        trapped = spam_trap_answer(form)
        if trapped is not None:
            return trapped
        try:
            antispam.check_captcha_if_on(form.captcha.data)
            with unit_of_work():
                subscription_service.subscribe(form.email.data or "", form.scope.data or "",
                                               form.scope_value(), form.frequency.data or "")
        except ValidationFailed as exc:
            return _page(form, exc.fields, exc.message, 400)
        return private(render_template(
            "public/subscribe/sent.html", masked=subscription_service.mask_email(subscription_service.normal_email(form.email.data)),
            days=subscription_service.CONFIRM_MAX_AGE.days))

    def _page(form: SubscribeForm, errors=None, message: str = "", status: int = 200):
        """The subscription form, with the service's field errors next to their fields."""
        form.captcha.data = ""  # an answer is spent once; the page shows a new image
        return private(render_template(
            "public/subscribe/form.html", form=form, errors=errors or {}, error_message=message,
            captcha=antispam.captcha_required()), status)

    @bp.get("/subscribe/confirm/<token>")
    def subscribe_confirm(token: str):
        """The confirmation link of the double opt-in."""
        try:
            with unit_of_work():
                sub = subscription_service.confirm(token)
                page = _subscription_page("public/subscribe/confirmed.html", sub)
        except DomainError as exc:
            return _refusal(exc)
        return page

    @bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
    def unsubscribe(token: str):
        """GET: a page with an unsubscribe button. POST: unsubscribe (RFC 8058 one-click too)."""
        if request.method == "POST" and request.form.get("List-Unsubscribe") != ONE_CLICK:
            csrf.protect()  # only the mail client's one-click request comes without a token
        try:
            if request.method == "GET":
                sub = subscription_service.subscription_for_unsubscribe(token)
                return _subscription_page("public/subscribe/unsubscribe.html", sub, token=token)
            with unit_of_work():
                sub = subscription_service.unsubscribe(token)
                page = _subscription_page("public/subscribe/unsubscribed.html", sub)
        except DomainError as exc:
            return _refusal(exc)
        return page

    # The token in the URL proves the request, and a mail client's one-click POST has no way
    # to carry a CSRF token; the view checks the token itself for every other POST.
    csrf.exempt(unsubscribe)

    def _subscription_page(template: str, sub, **context):
        """A page about one subscription, showing the address masked."""
        return private(render_template(
            template, masked=subscription_service.mask_email(sub.email),
            scope_text=subscription_service.scope_label(sub.scope, sub.scope_value),
            frequency_text=subscription_service.frequency_label(sub.frequency), **context))

    return bp
