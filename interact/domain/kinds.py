"""The registry of case kinds: one Case model and workflow, a small record per kind."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from .states import CaseKind, DeclineReason, ErrorType, Rating

DEFAULT_DEADLINE_DAYS = 3


@dataclass(frozen=True)
class Kind:
    """What differs between kinds: the Art. 16 channel statement and routing needs (the label is
    the kind's title in interact.domain.states)."""

    code: CaseKind
    purpose: object  # 开设宗旨
    aim: object  # 目的
    usage: object  # 使用方式
    # "mailbox" needs a leader's office; "correction" needs a site (routed to its owner).
    needs_mailbox: bool = False
    needs_site: bool = False

    @property
    def label(self) -> object:
        """The kind's translated name."""
        return self.code.title


KINDS: dict[str, Kind] = {
    k.code.value: k
    for k in (
        Kind(
            CaseKind.consultation,
            _l("为群众和企业解答政策、办事流程等方面的疑问。"),
            _l("让您准确了解政策规定和办事要求，少跑腿、不走弯路。"),
            _l("填写问题标题和具体内容，可指定部门；未指定的由市政府办公厅分办。提交后凭办件编号和查询码查询进度。"),
        ),
        Kind(
            CaseKind.suggestion,
            _l("听取群众对政府工作和城市发展的意见建议。"),
            _l("汇集民智，改进政府工作和公共服务。"),
            _l("写明建议的事项、理由和具体做法，可指定承办部门。"),
        ),
        Kind(
            CaseKind.complaint,
            _l("受理对行政机关及其工作人员的工作作风、服务质量等问题的投诉。"),
            _l("督促有关部门依法依规处理，维护您的合法权益。"),
            _l("写明投诉对象、时间、地点和经过；请如实反映，不得捏造事实。"),
        ),
        Kind(
            CaseKind.mailbox,
            _l("群众直接向政府领导反映情况、提出意见建议的渠道。"),
            _l("让领导直接了解社情民意，由领导办公室组织办理。"),
            _l("选择收信的领导信箱，写明来信事由。来信由领导办公室阅处并答复。"),
            needs_mailbox=True,
        ),
        Kind(
            CaseKind.correction,
            _l("“我为政府网站找错”：受理群众发现的政府网站错误。"),
            _l("及时纠正政府网站的错别字、错误链接、过时信息等问题，提高网站质量。"),
            _l("选择出错的网站，填写出错页面地址和错误类型，可附截图。主办单位在规定的答复时限内答复并公开处理情况。"),
            needs_site=True,
        ),
    )
}

# Value → translated title, for choices and lookups by the stored string.
ERROR_TYPES: dict[str, object] = ErrorType.titles()
DECLINE_REASONS: dict[str, object] = DeclineReason.titles()
RATINGS: dict[str, object] = Rating.titles()


def get_kind(code: str) -> Kind | None:
    """The kind registered under `code`, or None."""
    return KINDS.get(code)
