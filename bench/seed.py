"""Seeding for the benchmarks: a fresh schema and N realistic cases by bulk insert.

Used by bench_lists.py (queries in process) and bench_http.py (pages over HTTP), so that both
measure the same data. The cases spread over several years (newest last), over departments
with a skewed load (a few busy ones, many quiet ones, as in a real city), over every kind and
status: old cases are almost all answered, the last days' ones still open, a share of them
overdue. Each case has its timeline events and, when answered with consent, a masked public
copy, so the records, feeds and staff pages have what they show in production. Text is Chinese
and varied (templates filled at random), so page sizes and index sizes are realistic.

Case numbers follow the platform's format (YYYYMMDD and a daily sequence) and the daily
counters are written too, so cases submitted during a benchmark get fresh numbers.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData, create_engine, insert, select, text

from interact.domain.db import db
from interact.domain.models import Case, CaseCounter, CaseEvent, Department, Status
from interact.services import directory, listing, publication

LOCAL = ZoneInfo("Asia/Shanghai")
KINDS = ["consultation", "suggestion", "complaint", "mailbox", "correction"]
KIND_WEIGHTS = [35, 20, 30, 10, 5]
PASSWORD = "Bench-Passw0rd-2026!"  # the benchmark's staff accounts; a throw-away database only

DEPARTMENT_NAMES = [
    "市政府办公厅", "市住房和城乡建设局", "市交通运输局", "市教育局", "市市场监督管理局",
    "市人力资源和社会保障局", "市城市管理局", "市公安局", "市卫生健康委员会", "市生态环境局",
    "市自然资源和规划局", "市民政局", "市水务局", "市文化广电和旅游局", "市医疗保障局",
    "市住房公积金管理中心", "市税务局", "市应急管理局", "市农业农村局", "市商务局",
]
PLACES = ["幸福路", "人民大街", "建设街道", "南湖小区", "东城区", "高新区", "锦绣花园", "朝阳社区",
          "滨河路", "解放大路", "光明街", "和平里", "开发区管委会", "北站", "第三中学", "人民医院"]
TOPICS = {
    "consultation": ["公积金提取条件", "社保转移手续", "入学报名材料", "居住证办理流程", "不动产登记时限",
                     "医保异地备案", "营业执照变更", "新生儿落户"],
    "suggestion": ["增设公交线路", "延长图书馆开放时间", "增加停车位", "完善无障碍设施", "加装电梯",
                   "增设便民服务点", "优化红绿灯配时", "修建口袋公园"],
    "complaint": ["夜间施工噪音扰民", "小区物业乱收费", "路面破损未修", "餐馆油烟扰民", "占道经营",
                  "垃圾清运不及时", "供暖温度不达标", "商家拒不退款"],
    "mailbox": ["老旧小区改造进度", "城市发展规划", "营商环境", "教育资源均衡", "养老服务体系"],
    "correction": ["网页链接失效", "办事指南内容过期", "联系电话错误", "附件无法下载", "页面错别字"],
}
SENTENCES = [
    "这个问题已经持续了一段时间，给周边居民的生活带来了很大不便。",
    "我们曾多次向社区和物业反映，但一直没有得到解决。",
    "希望有关部门能够尽快核实情况，依法依规予以处理。",
    "附近有老人和小孩，安全隐患比较突出。",
    "请问具体需要准备哪些材料，在哪里办理，多长时间可以办结？",
    "网上查到的办事指南与窗口工作人员的说法不一致。",
    "建议相关部门统筹考虑，广泛听取群众意见。",
    "恳请领导重视，给我们一个明确的答复。",
]
REPLIES = [
    "您好！您反映的问题已收悉，我局高度重视，立即安排工作人员到现场核实。",
    "经核查，情况基本属实，已责令相关单位限期整改，并将持续跟踪整改落实情况。",
    "根据相关规定，办理该事项需提供身份证明、申请表及相关证明材料，可通过政务服务网在线办理。",
    "感谢您对我市工作的关心和支持。您的建议已转交相关业务部门研究，将在后续工作中统筹考虑。",
    "如有疑问，可在工作日拨打政务服务热线咨询。",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"


def reset(url: str) -> None:
    """Start from an empty database: every table dropped (a benchmark's own database only)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            meta = MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@dataclass(frozen=True)
class Seeded:
    """What a benchmark needs to know of the seeded data."""

    cases: int
    busy_department: str  # the code of the department with the most cases
    record_number: str  # a published record
    case_number: str  # an open case of the busy department
    month: str  # a month (YYYY-MM) with replies
    deep_cursor: str  # the records list's cursor halfway down
    handler: str  # usernames, all with PASSWORD
    reviewer: str
    dispatcher: str


def _text(rng: random.Random, kind: str) -> tuple[str, str, str]:
    """A title, a letter and a reply for a case of `kind`."""
    place, topic = rng.choice(PLACES), rng.choice(TOPICS[kind])
    title = f"关于{place}{topic}的问题"
    body = f"领导您好！我是{place}附近的居民，想反映{topic}的情况。" + "".join(
        rng.sample(SENTENCES, rng.randint(2, 5)))
    reply = "".join(rng.sample(REPLIES, rng.randint(2, 4)))
    return title, body, reply


def fill(n: int, departments: int = 60, years: int = 3, seed: int = 7, batch_size: int = 20_000,
         now: datetime | None = None) -> Seeded:
    """Insert `n` cases over the last `years` years into a migrated, empty database."""
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    depts = []
    for i in range(departments):
        name = DEPARTMENT_NAMES[i] if i < len(DEPARTMENT_NAMES) else f"{rng.choice(PLACES)}街道办事处{i}"
        dept = Department(code=f"d{i:03d}", name=name, active=True)
        db.session.add(dept)
        depts.append(dept)
    db.session.flush()
    dept_ids = [d.id for d in depts]
    # A skewed load (Zipf-like): department 0 gets the most cases.
    weights = [1 / (i + 1) for i in range(departments)]
    directory.create_user("bench-handler", PASSWORD, ["handler"], depts[0].code, must_change=False)
    directory.create_user("bench-reviewer", PASSWORD, ["reviewer"], depts[0].code, must_change=False)
    directory.create_user("bench-dispatcher", PASSWORD, ["dispatcher"], None, must_change=False)
    db.session.commit()

    span = years * 365 * 24 * 60
    start = now - timedelta(minutes=span)
    moments = sorted(start + timedelta(minutes=rng.randrange(span)) for _ in range(n))
    counters: dict[date, int] = {}
    cases, events = [], []
    record_number = case_number = None
    month = None
    event_id = 0
    texts = {kind: [_text(rng, kind) for _ in range(400)] for kind in KINDS}

    def flush() -> None:
        db.session.execute(insert(Case), cases)
        db.session.execute(insert(CaseEvent), events)
        db.session.commit()
        cases.clear()
        events.clear()

    for i, submitted in enumerate(moments, start=1):
        local_day = submitted.astimezone(LOCAL).date()
        seq = counters[local_day] = counters.get(local_day, 0) + 1
        number = f"{local_day:%Y%m%d}{seq:05d}"
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
        title, body, reply = rng.choice(texts[kind])
        age_days = (now - submitted).days
        if age_days > 30:
            status = Status.replied if rng.random() < 0.9 else Status.declined
        else:
            status = rng.choice([Status.submitted, Status.assigned, Status.handling, Status.handling,
                                 Status.pending_review, Status.replied, Status.replied])
        dept_id = None if status == Status.submitted else rng.choices(dept_ids, weights)[0]
        due = datetime.combine(local_day + timedelta(days=5), time(23, 59, 59), LOCAL).astimezone(timezone.utc)
        answered = status in (Status.replied, Status.declined)
        replied = submitted + timedelta(hours=rng.randint(4, 24 * 7)) if answered else None
        if replied is not None and replied > now:
            replied = now - timedelta(minutes=1)
        consent = rng.random() < 0.85
        published = status == Status.replied and consent and rng.random() < 0.9
        name = rng.choice(SURNAMES) + rng.choice("伟芳娜敏静丽强磊军洋勇艳杰")
        cases.append({
            "id": i, "number": number, "kind": kind, "status": status, "department_id": dept_id,
            "title": title, "content": body, "name": name, "phone": f"1380000{rng.randrange(10000):04d}",
            "publish_consent": consent, "query_code_hash": f"{i:064x}",
            "submitted_at": submitted, "submitted_on": local_day, "deadline_days": 3,
            "due_at": due, "original_due_at": due, "transfer_count": 0, "extension_days": 0,
            "extension_count": 0, "urge_count": 0,
            "reply_text": reply if status == Status.replied else None, "replied_at": replied,
            "working_days_used": rng.randint(1, 5) if answered else None,
            "on_time": (rng.random() < 0.93) if answered else None,
            "published": published,
            "public_title": title if published else None, "public_content": body if published else None,
            "public_reply": reply if published else None, "public_name": name[0] + "**" if published else None,
        })
        first = Status.submitted if dept_id is None else Status.assigned
        steps = [("submit", None, first, submitted)]
        if answered:
            steps += [("accept", Status.assigned, Status.handling, submitted + (replied - submitted) / 3),
                      ("review", Status.pending_review, status, replied)]
        elif status in (Status.handling, Status.pending_review):
            steps.append(("accept", Status.assigned, Status.handling, submitted + timedelta(hours=2)))
        for action, before, after, at in steps:
            event_id += 1
            events.append({"id": event_id, "case_id": i, "at": at, "action": action, "from_status": before,
                           "to_status": after, "note": "", "public_note": "", "public": True,
                           "department_id": dept_id})
        if published:
            record_number = number
            if month is None and i >= n // 2:  # a whole month in the middle of the span
                month = f"{replied.astimezone(LOCAL):%Y-%m}"
        if dept_id == dept_ids[0] and status == Status.handling:
            case_number = number
        if len(cases) >= batch_size:
            flush()
    if cases:
        flush()
    db.session.execute(insert(CaseCounter), [{"day": d, "last": last} for d, last in counters.items()])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Bulk-inserted ids bypass the sequences: move them past the rows.
        for table in ("cases", "case_events"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    publication.rebuild_tallies()
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # As autovacuum would have by now: statistics, and the visibility map index-only scans need.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return Seeded(n, depts[0].code, record_number or "", case_number or "", month or "", deep_cursor(),
                  "bench-handler", "bench-reviewer", "bench-dispatcher")


def deep_cursor() -> str:
    """The records list's cursor halfway down (what a crawler walking the pages reaches)."""
    middle = (db.session.execute(
        select(Case.replied_at, Case.id).where(Case.published.is_(True))
        .order_by(Case.replied_at.desc(), Case.id.desc()).offset(publication.published_total() // 2).limit(1)).first())
    return listing.encode_cursor(*middle) if middle else ""
