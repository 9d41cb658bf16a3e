"""Every closed set of values a column can hold, each value with its translated title.

Each set is a `RichEnum`: a `str` enum whose members compare, hash, print and serialise as their
plain value (so code comparing with "pending" keeps working) and carry a title (`member.title`,
a lazy Simplified-Chinese string) declared beside the value. The models store them with
`interact.domain.models._enum`, which also makes the database refuse any other value (CHECK).
Templates reach the classes by name (see interact.web.pages), so a state is labelled in one place.

Open sets stay plain strings: audit actions, mask labels, object types, mail templates.
"""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class RichEnum(str, enum.Enum):
    """A string enum whose members carry a translated title: `name = "value", _l("标题")`."""

    def __new__(cls, value: str, title: object):
        """A member whose value is `value` and whose title is `title`."""
        member = str.__new__(cls, value)
        member._value_ = value
        member._title = title
        return member

    def __str__(self) -> str:
        """The plain value, as in templates, f-strings and CSV cells."""
        return self.value

    def __format__(self, spec: str) -> str:
        """Format as the plain value."""
        return format(self.value, spec)

    # enum.property, unlike property, lets a member be named "title" too (TextField.title).
    @enum.property
    def title(self) -> object:
        """The translated title of this value."""
        return self._title

    @classmethod
    def values(cls) -> list[str]:
        """Every value, in declaration order."""
        return [m.value for m in cls]

    @classmethod
    def titles(cls) -> dict[str, object]:
        """Value → translated title, in declaration order (for choices and label lookups)."""
        return {m.value: m.title for m in cls}


# --- staff ------------------------------------------------------------------------------------


class Role(RichEnum):
    """Staff roles; a user may hold several."""

    admin = "admin", _l("系统管理员")
    dispatcher = "dispatcher", _l("分办员")
    handler = "handler", _l("承办人")
    reviewer = "reviewer", _l("审核人")
    auditor = "auditor", _l("审计员")


class NotifyMode(RichEnum):
    """How a staff user receives notifications (User.notify_mode)."""

    immediate = "immediate", _l("即时通知")  # one mail per notification
    digest = "digest", _l("每日汇总")  # one mail a day


# --- cases ------------------------------------------------------------------------------------


class Status(RichEnum):
    """Case statuses; the API names are fixed."""

    submitted = "submitted", _l("待分办")
    assigned = "assigned", _l("待受理")
    handling = "handling", _l("办理中")
    pending_review = "pending_review", _l("待审核")
    replied = "replied", _l("已答复")
    declined = "declined", _l("不予受理")


class CaseKind(RichEnum):
    """The kinds of case (Case.kind); interact.domain.kinds holds the rest of each kind's record."""

    consultation = "consultation", _l("咨询")
    suggestion = "suggestion", _l("建议")
    complaint = "complaint", _l("投诉")
    mailbox = "mailbox", _l("领导信箱")
    correction = "correction", _l("网站纠错")


class ErrorType(RichEnum):
    """What is wrong with a government website (Case.error_type, website error reports only)."""

    content = "content", _l("错别字/内容错误")
    broken_link = "broken_link", _l("链接无法访问")
    outdated = "outdated", _l("信息未更新")
    no_response = "no_response", _l("互动无回应")
    service = "service", _l("服务不可用")
    other = "other", _l("其他")


class DeclineReason(RichEnum):
    """Why a case is not accepted (Case.decline_reason, and Case.draft_reason while drafted)."""

    duplicate = "duplicate", _l("重复提交")
    abusive = "abusive", _l("含有辱骂、攻击等不当内容")
    out_of_scope = "out_of_scope", _l("不属于受理范围")
    no_content = "no_content", _l("无实质内容")


class DraftKind(RichEnum):
    """What the draft waiting for review proposes (Case.draft_kind)."""

    reply = "reply", _l("答复")
    decline = "decline", _l("不予受理")


class Rating(RichEnum):
    """The citizen's rating of the answer (Case.rating)."""

    satisfied = "satisfied", _l("满意")
    basically_satisfied = "basically_satisfied", _l("基本满意")
    dissatisfied = "dissatisfied", _l("不满意")


class AttachmentPurpose(RichEnum):
    """Why a file came with a case (Attachment.purpose)."""

    attachment = "attachment", _l("附件")
    screenshot = "screenshot", _l("截图")


class ExtensionStatus(RichEnum):
    """Where a request for more working days stands (ExtensionRequest.status)."""

    pending = "pending", _l("待审批")
    approved = "approved", _l("已批准")
    denied = "denied", _l("未批准")


# --- review of publishable text (Art. 17) -----------------------------------------------------


class TextField(RichEnum):
    """A publishable text of a case that flags and masks point into (CaseFlag.field, TextMask.field)."""

    title = "title", _l("标题")
    content = "content", _l("来信内容")
    reply = "reply", _l("答复稿")  # the draft while one exists


class FlagKind(RichEnum):
    """What a content rule found (CaseFlag.kind)."""

    external_link = "external_link", _l("站外链接")
    sensitive_word = "sensitive_word", _l("敏感词")


class MaskOrigin(RichEnum):
    """Who put a mask on the public copy (TextMask.origin)."""

    detector = "detector", _l("自动识别")
    reviewer = "reviewer", _l("审核人添加")


# --- audit, mail and subscriptions ------------------------------------------------------------


class AuditOutcome(RichEnum):
    """Whether an audited act succeeded (AuditEntry.outcome)."""

    success = "success", _l("成功")
    failure = "failure", _l("失败")


class OutboxStatus(RichEnum):
    """Where a queued e-mail stands (OutboxMessage.status)."""

    pending = "pending", _l("待发送")
    sent = "sent", _l("已发送")
    dead = "dead", _l("已放弃")  # given up after too many failures; an administrator may requeue it


class SubscriptionScope(RichEnum):
    """What a reader's subscription covers (Subscription.scope)."""

    all = "all", _l("全部办理结果")
    department = "department", _l("某个部门的办理结果")
    kind = "kind", _l("某类办件的办理结果")


class Frequency(RichEnum):
    """How often a subscription mails (Subscription.frequency)."""

    immediate = "immediate", _l("即时")
    daily = "daily", _l("每日摘要")

# Every state enum, for templates (by class name) and for the tests that check titles and columns.
ALL: tuple[type[RichEnum], ...] = (
    Role, NotifyMode, Status, CaseKind, ErrorType, DeclineReason, DraftKind, Rating, AttachmentPurpose,
    ExtensionStatus, TextField, FlagKind, MaskOrigin, AuditOutcome, OutboxStatus, SubscriptionScope, Frequency,
)
