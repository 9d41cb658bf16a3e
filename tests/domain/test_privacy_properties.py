"""Art. 17, property tests (hypothesis) of the detector: every ID-shaped and card-shaped number is
masked whatever its checksum says (and flagged when the checksum fails), numbers that identify
nobody are never masked, and any text keeps every character outside the matches."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interact.domain import privacy

# No example database on disk, no per-example deadline on a shared 2-core machine; the autouse
# clean-up fixture has nothing to clean between examples of a pure function.
PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

BEFORE = st.sampled_from(["", "身份证", "我的号码是", "卡号：", "请核实", "，", "。 "])
AFTER = st.sampled_from(["", "，谢谢", "。", " 请回复", "的用户"])
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date.today())


@st.composite
def id_shaped(draw) -> tuple[str, bool]:
    """An 18-character ID number with any check character, and whether that character is right."""
    first17 = (f"{draw(st.sampled_from(sorted(privacy.PROVINCES))):02d}{draw(st.integers(0, 9999)):04d}"
               f"{draw(birth_dates):%Y%m%d}{draw(st.integers(0, 999)):03d}")
    check = draw(st.sampled_from("0123456789X"))
    return first17 + check, check == privacy.id_check_char(first17)


@st.composite
def card_shaped(draw) -> str:
    """16–19 digits starting like a card of a common issuer; Luhn passes or fails by chance."""
    prefix = draw(st.sampled_from(["62", "60", "65", "4", "51", "55", "35", "95", "2221", "2720"]))
    length = 16 if prefix in ("2221", "2720") else draw(st.integers(16, 19))
    return prefix + draw(st.text("0123456789", min_size=length - len(prefix), max_size=length - len(prefix)))


@PROPERTY
@given(id_shaped(), BEFORE, AFTER)
def test_every_id_shaped_number_is_masked_and_flagged_unless_its_check_is_right(value, before, after):
    number, right = value
    text = before + number + after
    (match,) = privacy.find(text)
    assert (match.text, match.label, match.confident) == (
        number, "id_number" if right else "id_number_unverified", right)
    assert privacy.mask(text) == before + "[身份证号]" + after


@PROPERTY
@given(card_shaped(), BEFORE, AFTER)
def test_every_card_shaped_number_is_masked_and_flagged_when_luhn_fails(number, before, after):
    text = before + number + after
    (match,) = privacy.find(text)
    assert match.text == number
    if privacy.id_shaped(number):  # 18 digits can be both: an ID wins
        assert match.label in ("id_number", "id_number_unverified")
    else:
        assert (match.label, match.confident) == (
            ("bank_card", True) if privacy.luhn_ok(number) else ("bank_card_unverified", False))
    assert number not in privacy.mask(text)


@st.composite
def readable(draw) -> str:
    """A number that identifies nobody, written the ways letters write them."""
    day = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)))
    amount = draw(st.integers(0, 99_999_999))
    return draw(st.sampled_from([
        f"{day.year}年{day.month}月{day.day}日", f"{day:%Y-%m-%d}", f"{day:%Y/%m/%d}", f"{day:%Y.%m.%d}",
        f"{day:%Y%m%d}{draw(st.integers(1, 99999)):05d}",  # a case number
        f"{amount:,}元", f"¥{amount:,}.{draw(st.integers(0, 99)):02d}", f"{amount}元",
        f"第{draw(st.integers(1, 999))}条", f"第{draw(st.integers(1, 99))}款",
        f"{day:%Y-%m-%d} {draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}",
        draw(st.sampled_from(["12345", "12329", "12315", "12333", "96110", "110", "119", "400-810-1234"])),
        f"{draw(st.integers(1, 99))}号楼", f"地铁{draw(st.integers(1, 20))}号线",
        f"{draw(st.integers(1, 100))}%",
    ]))


@PROPERTY
@given(st.lists(readable(), min_size=1, max_size=4), st.sampled_from(["，", "。", "、", "至", "和"]))
def test_dates_amounts_case_and_article_numbers_and_hotlines_are_never_masked(values, joiner):
    text = "来信反映：" + joiner.join(values) + "。"
    assert privacy.find(text) == []
    assert privacy.mask(text) == text


@PROPERTY
@given(st.text(st.sampled_from(list("0123456789 -+@.XxQq微信号车牌护照粤B京A号栋单元室，。abcE")), max_size=60))
def test_any_text_keeps_every_character_outside_its_matches(text):
    matches = privacy.find(text)
    pos, rebuilt = 0, []
    for m in matches:
        assert pos <= m.start < m.end and text[m.start:m.end] == m.text and m.label in privacy.KINDS
        rebuilt += [text[pos:m.start], privacy.MASKS[m.label]]
        pos = m.end
    assert privacy.mask(text) == "".join([*rebuilt, text[pos:]])


def test_the_birth_date_bound_follows_today():
    tomorrow = date.today() + timedelta(days=1)
    number = f"110105{tomorrow:%Y%m%d}002"
    assert privacy.find(number + privacy.id_check_char(number)) == []
