"""`interact demo`: fill a fresh database with a small, realistic city to try the platform on.

It creates departments, sites, staff of every role (with random passwords, printed once) and
about forty cases of every kind and in every status, submitted in the past so that some are
overdue and some were answered late.  Everything goes through the same services as the web
pages, so the demo data obeys every workflow rule.  `random.Random(seed)` makes the cases
reproducible; the passwords come from `secrets` and are never reproducible.
"""
from __future__ import annotations

import io
import random
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .common import CommandFailed, echo_table, service_call
from ..domain.db import db
from ..domain.models import Department, User
from ..services import calendar, directory, passwords
from ..services import cases as case_service
from ..services.attachments import Upload
from ..domain.timeutil import utcnow
from ..services import deadlines

# Kept as a TOML document so the sample letters read as data, apart from the code that uses them.
DEMO_TOML = '''# i18n: data. The demo city's departments, sites and citizens' letters: content, not interface text.
surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
given_names = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东", "海燕", "志强", "文博", "雨涵", "子轩", "思远", "佳怡"]

# The dispatch office (市政府办公厅) runs the mayor's mailbox; a leader's office runs a second one.
departments = [
    { code = "gov-office", name = "市政府办公厅", mailbox = "市长信箱" },
    { code = "deputy-mayor", name = "市政府副市长办公室", mailbox = "副市长信箱" },
    { code = "housing", name = "市住房和城乡建设局" },
    # A department's published contacts stay readable where a reply quotes them (never masked).
    { code = "housing-fund", name = "市住房公积金管理中心", contacts = ["0431-8888 1232", "gjj@demo.gov.cn"] },
    { code = "transport", name = "市交通运输局" },
    { code = "education", name = "市教育局" },
    { code = "market", name = "市市场监督管理局" },
    { code = "hrss", name = "市人力资源和社会保障局" },
    { code = "urban", name = "市城市管理局" },
    { code = "bigdata", name = "市大数据局" },
]

# Example hosts only.
sites = [
    { key = "portal", department = "bigdata", name = "市人民政府门户网站", url = "https://www.example.gov.cn" },
    { key = "housing", department = "housing", name = "市住房和城乡建设局网站", url = "https://zjj.example.gov.cn" },
    { key = "housing-fund", department = "housing-fund", name = "市住房公积金管理中心网站", url = "https://gjj.example.gov.cn" },
    { key = "transport", department = "transport", name = "市交通运输局网站", url = "https://jtj.example.gov.cn" },
    { key = "education", department = "education", name = "市教育局网站", url = "https://jyj.example.gov.cn" },
    { key = "hrss", department = "hrss", name = "市人力资源和社会保障局网站", url = "https://rsj.example.gov.cn" },
    { key = "market", department = "market", name = "市市场监督管理局网站", url = "https://scjgj.example.gov.cn" },
]

# --- 咨询 consultations ---

[[cases]]
kind = "consultation"
status = "replied"
department = "housing-fund"
age = 24
rating = "satisfied"
rating_comment = "回复很清楚，已在网上办好。"
title = "离职后提取住房公积金需要哪些材料？"
content = "本人今年6月从原单位离职，目前还没有在新单位缴存公积金。想咨询离职提取公积金需要准备哪些材料，是否必须本人到柜台办理，能否在网上办理？"
reply = "您好！职工与单位解除劳动关系、未重新就业且住房公积金账户封存满6个月的，可以申请提取。办理时需提供本人身份证和本人名下的银行卡。您可以通过市住房公积金管理中心网上服务大厅或手机公积金APP在线办理，无需到柜台。如有疑问，请拨打12329服务热线或0431-8888 1232，也可发邮件至gjj@demo.gov.cn。"

[[cases]]
kind = "consultation"
status = "replied"
route = "hrss"
age = 31
rating = "basically_satisfied"
returned = "请补充缴费基数的具体档次和办理渠道。"
title = "灵活就业人员如何缴纳职工养老保险？"
content = "我目前是自由职业者，想以灵活就业人员身份继续缴纳职工养老保险。请问在哪里登记，缴费基数怎么选，每月什么时候扣款？"
reply = "您好！本市户籍及持有本市居住证的灵活就业人员，可通过市人社局网上办事大厅或“人社服务”APP办理参保登记。缴费基数可在上年度全省全口径城镇单位就业人员平均工资的60%至300%之间自主选择，费款按月由税务部门从您签约的银行账户中扣缴。"

[[cases]]
kind = "consultation"
status = "replied"
department = "education"
age = 12
title = "2026年小学一年级学区划分何时公布？"
content = "孩子明年上小学，我们家住在城东新区。请问今年的学区划分什么时候公布？新建小区是否已经划入学区？"
reply = "您好！我市义务教育阶段学校招生范围（学区划分）一般于每年5月中旬在市教育局网站“招生入学”专栏公布。新建小区的划片将综合学位供给情况统筹确定，届时一并公布，请您关注。"

[[cases]]
kind = "consultation"
status = "handling"
department = "market"
age = 23
title = "个体工商户名称变更能否网上办理？"
content = "我经营一家小饭馆，想把个体工商户名称改一下。请问能不能在网上办理，需要哪些材料，多久能办好？"

[[cases]]
kind = "consultation"
status = "submitted"
title = "新生儿参加城乡居民医保怎么办理？"
content = "孩子上个月出生，想给孩子办理城乡居民医保。请问需要哪些材料，出生后多久内办理可以报销出生时的费用？"

[[cases]]
kind = "consultation"
status = "assigned"
department = "transport"
title = "老年人免费乘车卡如何办理？"
content = "我父亲今年满65周岁，听说可以办理老年人免费乘车卡。请问到哪里办理，需要带什么证件？"

[[cases]]
kind = "consultation"
status = "pending_review"
department = "housing"
title = "二手房交易网签流程咨询"
content = "我准备购买一套二手房，想了解一下网签备案的流程。买卖双方需要一起到场吗？大概需要几个工作日？"
reply = "您好！二手房买卖双方可通过市房屋交易服务平台在线签订合同并办理网签备案，也可到房屋交易服务中心窗口办理。线上办理时双方分别完成实名认证和电子签名即可，无需同时到场。材料齐全的，当日即可完成备案。"

[[cases]]
kind = "consultation"
status = "replied"
route = "hrss"
age = 40
late = true
rating = "dissatisfied"
rating_comment = "回复太慢，而且没有说清楚领取期限。"
title = "失业保险金申领条件咨询"
content = "我所在的公司上个月裁员，我被解除了劳动合同，已经缴纳失业保险4年。请问我能领取失业保险金吗？能领多久？如需核实可拨打我的手机13800005678，我的身份证号110101199003071234。"
reply = "您好！非因本人意愿中断就业、失业前用人单位和本人已缴纳失业保险费满1年并已进行失业登记的，可以申领失业保险金。累计缴费满1年不满5年的，领取期限最长为12个月。您可通过“人社服务”APP在线申领。"

[[cases]]
kind = "consultation"
status = "replied"
route = "bigdata"
age = 15
consent = false
title = "电子营业执照如何在政务服务APP中下载？"
content = "我们公司刚注册成立，听说可以在政务服务APP里下载电子营业执照，但我找不到入口，请问具体怎么操作？"
reply = "您好！请在政务服务APP首页点击“我的证照”，完成法定代表人实名认证后即可领取并下载电子营业执照。如仍找不到，可拨打政务服务热线12345转技术支持。"

# --- 建议 suggestions ---

[[cases]]
kind = "suggestion"
status = "replied"
department = "transport"
age = 35
rating = "satisfied"
title = "建议增开地铁2号线至高新区的接驳公交"
content = "高新区很多企业员工每天乘地铁2号线到终点站后，还要步行二十多分钟才能到园区。建议早晚高峰增开地铁站至园区的接驳公交，方便上下班。"
reply = "感谢您的建议！经实地调研，市交通运输局已会同公交集团开通“地铁2号线高新区站—科技园”微循环线路，早晚高峰每8分钟一班。欢迎您继续监督。"

[[cases]]
kind = "suggestion"
status = "handling"
department = "transport"
age = 26
title = "建议优化中山路与建设大街路口信号灯配时"
content = "中山路与建设大街路口早高峰东西向绿灯时间太短，车辆经常排队到上一个路口。建议根据车流优化信号灯配时。"

[[cases]]
kind = "suggestion"
status = "replied"
department = "education"
age = 44
late = true
title = "建议学校课后服务增加体育类课程"
content = "目前孩子学校的课后服务以作业辅导为主，建议增加篮球、跳绳等体育类课程，让孩子多运动。"
reply = "感谢您的建议！市教育局已要求各学校丰富课后服务内容，每周安排不少于2次体育、艺术类活动，并引入符合条件的社会专业力量参与。"

[[cases]]
kind = "suggestion"
status = "assigned"
route = "urban"
age = 21
title = "建议在老旧小区增设电动自行车集中充电设施"
content = "我们小区是2000年前建成的老旧小区，很多居民把电动车推上楼充电，存在很大的消防隐患。建议统一增设集中充电设施。"

[[cases]]
kind = "suggestion"
status = "submitted"
age = 18
title = "建议在市民中心增设自助打印设备"
content = "在市民中心办事时经常需要复印身份证、打印材料，但大厅内没有自助打印设备，只能到外面的打印店，很不方便。建议增设自助打印设备。"

[[cases]]
kind = "suggestion"
status = "pending_review"
department = "bigdata"
title = "建议社保、公积金缴存证明实现“一网通办”"
content = "办理贷款时需要分别到社保和公积金网站开具缴存证明，建议在政务服务网上实现一次申请、同时出具。"
reply = "感谢您的建议！市大数据局正在会同市人社局、市住房公积金管理中心推进证明材料共享，计划年内在政务服务网上线“个人缴存证明一件事”。"

[[cases]]
kind = "suggestion"
status = "replied"
department = "housing"
age = 28
publish = false
title = "建议加快老旧小区加装电梯审批"
content = "我们小区多数住户已经签字同意加装电梯，但审批流程很长。建议简化审批，推行联合审查。"
reply = "感谢您的建议！我局已会同规划、市场监管等部门实行既有住宅加装电梯联合审查，审批时限压缩至15个工作日。具体进度可咨询所在街道。"

# --- 投诉 complaints ---

[[cases]]
kind = "complaint"
status = "replied"
department = "market"
age = 33
rating = "basically_satisfied"
title = "超市销售过期食品"
content = "本月初我在城西某超市购买的酸奶已经过了保质期两天，与店员交涉后对方只同意退货，不愿赔偿。"
reply = "您好！接到投诉后，辖区市场监管所执法人员当日到该超市现场检查，发现其部分乳制品超过保质期仍在销售，已依法立案调查，并责令其下架、整改。您的赔偿诉求已组织双方调解，超市同意按规定赔偿。"

[[cases]]
kind = "complaint"
status = "replied"
route = "urban"
age = 19
rating = "satisfied"
rating_comment = "现在晚上安静了，谢谢。"
title = "工地夜间施工噪音扰民"
content = "我家附近的建筑工地连续一周在晚上十一点以后施工，噪音很大，严重影响休息。"
reply = "您好！经查，该工地未取得夜间施工许可。我局已责令其停止夜间施工，并对其依法处罚。如再发现夜间违规施工，请拨打12345或在本平台反映。"

[[cases]]
kind = "complaint"
status = "handling"
department = "transport"
title = "出租车司机拒载、绕路"
content = "昨晚在火车站乘坐出租车，司机先是嫌路近拒载，后来又明显绕路多收了二十多元。"

[[cases]]
kind = "complaint"
status = "replied"
department = "hrss"
age = 38
late = true
rating = "dissatisfied"
rating_comment = "处理太慢，工资到现在只发了一部分。"
title = "公司拖欠工资三个月"
content = "我在一家装修公司工作，公司已经连续三个月没有发工资，老板一直推脱。"
reply = "您好！市劳动保障监察支队已立案调查，约谈了该公司负责人，公司已承诺分两期支付拖欠工资，首期已于本周发放。我们将跟踪督促其按期足额支付。"

[[cases]]
kind = "complaint"
status = "submitted"
transfer = ["market", "小区物业服务收费由住房和城乡建设部门监管，请改派市住房和城乡建设局。"]
title = "小区物业擅自提高停车费"
content = "我们小区物业未经业主大会同意，把地面停车费从每月100元涨到200元。"

[[cases]]
kind = "complaint"
status = "pending_review"
department = "housing"
age = 22
title = "小区电梯长期故障物业不作为"
content = "我们楼的电梯已经坏了一个多月，物业一直说在等配件，老人上下楼非常困难。物业经理的车辽A·D12345每天停在单元门口。有进展请加我微信：dianti_2026。"
reply = "您好！我局已约谈该小区物业服务企业，责令其立即维修电梯，并已通知特种设备检验机构到场检验。"

[[cases]]
kind = "complaint"
status = "declined"
department = "market"
age = 16
decline = "duplicate"
explanation = "您已于前一日就同一事项提交投诉，我们将在该件中一并办理。"
title = "网购商品退货遭拒"
content = "我在网上买的衣服七天内申请退货，商家拒绝。"

[[cases]]
kind = "complaint"
status = "assigned"
department = "education"
title = "校外培训机构退费难"
content = "孩子报了一家培训机构的课程，机构停课后一直不退剩余课时费。"

# --- 领导信箱 leader mailbox ---

[[cases]]
kind = "mailbox"
status = "replied"
department = "gov-office"
age = 30
rating = "satisfied"
title = "关于改善城东片区交通拥堵的建议"
content = "尊敬的市长：城东片区近年新建小区很多，但道路建设跟不上，早晚高峰经常堵车。建议加快打通断头路，增加公交线路。"
reply = "您好！您的来信市长已阅。市政府已将城东片区三条断头路列入今年重点工程，预计年底前通车；市交通运输局将同步优化片区公交线路。感谢您对城市建设的关心。"

[[cases]]
kind = "mailbox"
status = "handling"
department = "gov-office"
age = 27
title = "小区供暖温度长期不达标"
content = "市长您好：我们小区入冬以来室温只有十五六度，多次向供热公司反映都没有解决。"

[[cases]]
kind = "mailbox"
status = "replied"
department = "deputy-mayor"
age = 25
title = "关于推进城乡学校结对帮扶的建议"
content = "副市长您好：农村学校师资力量薄弱，建议推动城区优质学校与农村学校结对，开展教师交流。"
reply = "您好！您的建议很有意义。市教育局已启动城乡学校结对帮扶工作，今年首批30所城区学校与农村学校结对，并实行教师轮岗交流。"

[[cases]]
kind = "mailbox"
status = "assigned"
department = "deputy-mayor"
title = "反映村道路面破损问题"
content = "副市长您好：我们村通往镇上的道路破损严重，雨天积水，孩子上学很不方便。"

[[cases]]
kind = "mailbox"
status = "declined"
department = "gov-office"
age = 11
decline = "no_content"
explanation = "来信无具体事项。"
title = "测试"
content = "测试测试"

[[cases]]
kind = "mailbox"
status = "pending_review"
department = "gov-office"
title = "建议延长市图书馆周末开放时间"
content = "市长您好：市图书馆周末下午五点就闭馆，很多上班族只有周末有时间，建议延长到晚上八点。"
reply = "您好！市图书馆已研究您的建议，将从下月起把周末闭馆时间延长至晚上八点。"

[[cases]]
kind = "mailbox"
status = "replied"
department = "deputy-mayor"
age = 17
consent = false
title = "关于农贸市场改造的意见"
content = "副市长您好：城南农贸市场环境较差，建议尽快改造提升。"
reply = "您好！城南农贸市场改造提升已列入明年民生实事项目，目前正在开展设计。"

# --- 网站纠错 website error reports ---

[[cases]]
kind = "correction"
status = "replied"
site = "housing"
page = "/bsfw/bszn/index.html"
error_type = "broken_link"
age = 20
rating = "satisfied"
screenshot = true
title = "“办事指南”栏目链接无法打开"
content = "点击“办事指南”栏目下的“商品房预售许可”链接，页面显示404。"
reply = "感谢您的纠错！该链接因栏目调整失效，我局已于当日修复。"

[[cases]]
kind = "correction"
status = "replied"
site = "portal"
page = "/zcjd/"
error_type = "outdated"
age = 14
title = "首页“政策解读”栏目长期未更新"
content = "门户网站首页“政策解读”栏目最新一条是半年前发布的。"
reply = "感谢您的纠错！我们已督促相关部门补充发布近期政策解读，并建立每周更新检查机制。"

[[cases]]
kind = "correction"
status = "handling"
site = "transport"
page = "/gjxl/cx.html"
error_type = "outdated"
age = 29
title = "公交线路查询页面显示已停运线路"
content = "公交线路查询页面仍能查到已于上月停运的“18路”。"

[[cases]]
kind = "correction"
status = "replied"
site = "education"
page = "/zsrx/zc/2026.html"
error_type = "content"
age = 36
late = true
title = "招生政策页面存在错别字"
content = "招生政策页面第三段“户籍”写成了“户藉”。"
reply = "感谢您的纠错！错别字已更正。"

[[cases]]
kind = "correction"
status = "assigned"
site = "hrss"
page = "/hdjl/zxzx/"
error_type = "no_response"
screenshot = true
title = "在线咨询提交后一直无回应"
content = "在人社局网站“在线咨询”提交问题两周了，一直显示“待回复”。"

[[cases]]
kind = "correction"
status = "pending_review"
site = "housing-fund"
page = "/fw/jsq.html"
error_type = "service"
title = "公积金贷款计算器无法使用"
content = "公积金贷款计算器输入金额后点击“计算”没有任何反应。"
reply = "感谢您的纠错！计算器因浏览器兼容问题无法使用，已修复并通过测试。"

[[cases]]
kind = "correction"
status = "declined"
site = "portal"
page = "/"
error_type = "other"
age = 9
decline = "duplicate"
explanation = "该问题已有其他网友反映并已修复。"
title = "网站底部标识码显示错误"
content = "门户网站底部的网站标识码和备案号显示错误。"

[[cases]]
kind = "correction"
status = "replied"
site = "market"
page = "/xxgk/qyxy/"
error_type = "broken_link"
age = 22
rating = "basically_satisfied"
title = "企业信用信息公示链接跳转错误"
content = "“企业信用信息公示”链接跳转到了一个与本单位无关的页面。"
reply = "感谢您的纠错！该链接地址配置错误，已更正为国家企业信用信息公示系统。"

[[cases]]
kind = "correction"
status = "handling"
site = "education"
page = "/zsrx/xqhf/"
error_type = "broken_link"
title = "学区划分公告附件无法下载"
content = "学区划分公告中的附件点击后提示“文件不存在”。"
'''
DATA = tomllib.loads(DEMO_TOML)


@dataclass(frozen=True)
class Sample:
    """One demo case: what the citizen wrote and how far the staff got with it."""

    kind: str
    title: str
    content: str
    status: str
    department: str = ""  # the citizen's choice (a leader's office for the mailbox)
    route: str = ""  # where the dispatcher sends a case the citizen did not address
    site: str = ""  # site key, for website error reports
    page: str = ""  # path below the site's base URL
    error_type: str = ""
    reply: str = ""
    decline: str = ""  # decline reason code
    explanation: str = ""
    age: int = 0  # days since submission; 0 means within the last two days
    late: bool = False
    consent: bool = True  # the citizen agreed to publication
    publish: bool = True  # the reviewer's decision
    rating: str = ""
    rating_comment: str = ""
    returned: str = ""  # a reviewer's comment sending the first draft back
    transfer: tuple[str, str] | None = None  # (wrong department, the handler's reason)
    screenshot: bool = False


SAMPLES = [Sample(**{**row, "transfer": tuple(row["transfer"]) if "transfer" in row else None})
           for row in DATA["cases"]]


@dataclass(frozen=True)
class Staff:
    """A demo account and its one-time password."""

    user: User
    password: str


def _screenshot_png() -> bytes:
    """A small generated screenshot with a highlighted box, as a citizen would attach."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 270), (246, 246, 246))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 480, 40), fill=(180, 30, 30))
    draw.rectangle((120, 110, 360, 170), outline=(220, 0, 0), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class _Clock:
    """Place each case's actions at plausible past times on the working-day calendar."""

    def __init__(self, now: datetime, rng: random.Random):
        """Remember the real time, the calendar and the time zone."""
        self.now = now
        self.rng = rng
        self.cal = calendar.current_calendar()
        self.zone = ZoneInfo(calendar.tz_name())
        self.today = now.astimezone(self.zone).date()
        self.days = deadlines.deadline_days

    def _local(self, day: date, minutes: int) -> datetime:
        """An aware UTC instant at `minutes` after local midnight of `day`."""
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(timezone.utc) + timedelta(minutes=minutes)

    def schedule(self, sample: Sample, steps: list[str]) -> tuple[datetime, list[datetime]]:
        """The submission time and one time per step, all in the past."""
        if sample.age == 0:
            # Recent cases: within the last two days, so none of them is overdue yet.
            span = timedelta(hours=self.rng.uniform(len(steps) + 1, 40))
            submitted = self.now - span
            gap = span / (len(steps) + 1)
            return submitted, [submitted + gap * (i + 1) for i in range(len(steps))]
        start = self.today - timedelta(days=sample.age)
        while True:
            submitted = self._local(start, self.rng.randint(8 * 60, 21 * 60))
            times = self._step_times(sample, steps, start)
            # Long holidays can push the last step past today: move the whole case a week back.
            if max([submitted, *times]) < self.now - timedelta(minutes=5):
                return submitted, times
            start -= timedelta(days=7)

    def _step_times(self, sample: Sample, steps: list[str], start: date) -> list[datetime]:
        """Working-day times for each step: routing on day 1, the answer by or after the deadline."""
        allowed = self.days(sample.kind)
        answer_day = (self.rng.randint(allowed + 1, allowed + 3) if sample.late
                      else self.rng.randint(1, allowed))
        times, day, minutes = [], 0, 0
        for step in steps:
            if step in ("dispatch_wrong", "transfer", "dispatch", "accept"):
                wanted = 1 if step != "accept" or "transfer" not in steps else 2
            elif step == "rate":
                wanted = day + self.rng.randint(1, 2)
            elif sample.status in ("replied", "declined"):
                wanted = answer_day
            else:
                wanted = 2  # an open case stuck in handling or review
            if wanted > day:
                day, minutes = wanted, 9 * 60 + self.rng.randint(0, 20)
            else:
                minutes += self.rng.randint(25, 70)
            times.append(self._local(self.cal.add_working_days(start, day), minutes))
        return times


def _plan(sample: Sample) -> list[str]:
    """The actions that bring a new case to the sample's status."""
    steps: list[str] = []
    if sample.kind != "correction" and not sample.department:
        if sample.transfer:
            steps += ["dispatch_wrong", "transfer"]
        if sample.status == "submitted":
            return steps
        steps.append("dispatch")
    if sample.status == "assigned":
        return steps
    if sample.status == "declined":
        return steps + ["decline", "approve"]
    steps.append("accept")
    if sample.status == "handling":
        return steps
    steps.append("reply")
    if sample.returned:
        steps += ["return", "reply"]
    if sample.status == "pending_review":
        return steps
    steps.append("approve")
    if sample.rating:
        steps.append("rate")
    return steps


def _person(rng: random.Random) -> str:
    """A fake Chinese name."""
    return rng.choice(DATA["surnames"]) + rng.choice(DATA["given_names"])


def _citizen(rng: random.Random) -> tuple[str, str, str]:
    """A fake name, a 138 0000 xxxx phone number and sometimes an example.com address."""
    name = _person(rng)
    phone = f"1380000{rng.randint(0, 9999):04d}"
    email = f"citizen{rng.randint(100, 999)}@example.com" if rng.random() < 0.5 else ""
    return name, phone, email


def _create_staff(rng: random.Random) -> list[Staff]:
    """An admin, a dispatcher, an auditor, and a handler and a reviewer per department."""
    accounts = [("admin", ["admin"], None), ("dispatcher", ["dispatcher"], "gov-office"),
                ("auditor", ["auditor"], None)]
    for dept in DATA["departments"]:
        code = dept["code"]
        accounts += [(f"{code}-handler", ["handler"], code), (f"{code}-reviewer", ["reviewer"], code)]
    staff = []
    for username, roles, dept in accounts:
        password = passwords.generate(16)
        display = _person(rng)
        user = directory.create_user(username, password, roles, dept, email=f"{username}@example.gov.cn",
                                     display_name=display)
        staff.append(Staff(user, password))
    return staff


def _create_case(sample: Sample, clock: _Clock, rng: random.Random, people: dict[str, User],
                 sites: dict[str, object], screenshot: bytes) -> None:
    """Submit one sample case and walk it through the workflow with the demo staff."""
    steps = _plan(sample)
    submitted_at, times = clock.schedule(sample, steps)
    name, phone, email = _citizen(rng)
    site = sites.get(sample.site)
    sub = case_service.Submission(
        kind=sample.kind, title=sample.title, content=sample.content, name=name, phone=phone, email=email,
        department=sample.department, site=site.id if site else None,
        page_url=site.base_url + sample.page if site else "", error_type=sample.error_type,
        publish=sample.consent,
        screenshot=Upload("screenshot.png", screenshot) if sample.screenshot else None,
    )
    case, _code = case_service.submit_case(sub, now=submitted_at)
    dept = sample.department or sample.route or (site.department.code if site else "")
    # A returned case's first draft was only the opening sentence; the reviewer asked for the rest.
    first = sample.reply.split("。")[0] + "。"  # i18n: data
    drafts = iter([first, sample.reply] if sample.returned else [sample.reply])
    for step, at in zip(steps, times, strict=True):
        if step == "dispatch_wrong":
            case_service.dispatch_case(people["dispatcher"], case, sample.transfer[0], now=at)
        elif step == "transfer":
            case_service.transfer_case(people[f"{sample.transfer[0]}-handler"], case, sample.transfer[1], now=at)
        elif step == "dispatch":
            case_service.dispatch_case(people["dispatcher"], case, dept, now=at)
        elif step == "accept":
            case_service.accept_case(people[f"{dept}-handler"], case, now=at)
        elif step == "reply":
            case_service.draft_reply(people[f"{dept}-handler"], case, next(drafts), now=at)
        elif step == "return":
            case_service.review_draft(people[f"{dept}-reviewer"], case, "return", sample.returned, now=at)
        elif step == "decline":
            case_service.draft_decline(people[f"{dept}-handler"], case, sample.decline, sample.explanation, now=at)
        elif step == "approve":
            case_service.review_draft(people[f"{dept}-reviewer"], case, "approve", "", publish=sample.publish,
                                      now=at)
        elif step == "rate":
            case_service.rate_case(case, sample.rating, sample.rating_comment, now=at)


def fill(seed: int) -> tuple[list[Staff], int, int]:
    """Create the demo city; return its staff with their passwords, and the site and case counts."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data; passwords come from `secrets`
    for dept in DATA["departments"]:
        directory.create_department(dept["code"], dept["name"], dept.get("mailbox"),
                                    public_contacts=dept.get("contacts"))
    sites = {s["key"]: directory.create_site(s["department"], s["name"], s["url"]) for s in DATA["sites"]}
    staff = _create_staff(rng)
    people = {s.user.username: s.user for s in staff}
    clock = _Clock(utcnow(), rng)
    screenshot = _screenshot_png()
    for sample in SAMPLES:
        _create_case(sample, clock, rng, people, sites, screenshot)
    return staff, len(sites), len(SAMPLES)


@click.command(
    "demo",
    short_help=_l("向全新的数据库写入演示数据。"),
    help=_l("向全新的数据库写入演示数据：部门、网站、各角色工作人员（随机密码，只显示一次）和各类、各状态的示例办件。数据库中已有部门时不做任何改动。"),
)
@click.option("--seed", type=int, default=2026, show_default=True, help=_l("示例办件的随机种子。"))
@with_appcontext
def demo_command(seed: int) -> None:
    """Migrate the database, then fill it with demo data unless it already holds departments."""
    from flask_migrate import upgrade

    if current_app.config.get("ENV_NAME") == "production":
        # Demo accounts with printed passwords have no place on a production system (Art. 25).
        raise CommandFailed(_("生产环境（INTERACT_ENV=production）不能写入演示数据。"))
    upgrade()
    if db.session.scalar(select(Department.id).limit(1)) is not None:
        click.echo(_("数据库中已有部门数据（演示数据已写入或已在使用），未做任何改动。"))
        return
    with service_call():
        staff, site_count, case_count = fill(seed)
        rows = [(s.user.username, ",".join(sorted(r.value for r in s.user.roles)),
                 s.user.department.name if s.user.department else "", s.password) for s in staff]
    click.echo(_("已写入演示数据：%(d)d 个部门、%(s)d 个网站、%(u)d 个工作人员账号、%(c)d 件办件。",
                 d=len(DATA["departments"]), s=site_count, u=len(staff), c=case_count))
    click.echo("")
    click.echo(_("工作人员账号（密码只显示这一次，请妥善保存）："))
    echo_table([_("用户名"), _("角色"), _("部门"), _("密码")], rows)
    click.echo(_("首次登录时须修改密码；系统管理员和审核人还须用手机验证器应用绑定两步验证。"))
    click.echo("")
    click.echo(_("运行 interact run 后访问 %(public)s （公众页面）和 %(staff)s （工作人员后台）。",
                 public="http://127.0.0.1:5000/", staff="http://127.0.0.1:5000/staff/"))
