"""Art. 17: the personal-data detector finds ID numbers, phones, e-mails, bank cards and detailed
addresses, leaves every other number alone, and `mask` / `interact pii mask` hide them completely
while leaving the rest of the text byte for byte as it was."""
from __future__ import annotations

import re
from datetime import date

import pytest
from fixtures.values import with_luhn

from interact.domain import privacy

# --- independent implementations of the two checksums --------------------------------------------

def with_id_check(first17: str) -> str:
    """Complete an ID number: GB 11643 weights are 2^(i-1) mod 11, counted from the right."""
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    value = (12 - total % 11) % 11
    return first17 + ("X" if value == 10 else str(value))


def full_width(text: str) -> str:
    """The full-width form of ASCII digits and letters, as Chinese input methods type them."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def found(text: str) -> list[tuple[str, str]]:
    """(label, text) of every match."""
    return [(m.label, m.text) for m in privacy.find(text)]


def in_sentence(value: str) -> str:
    """`value` inside ordinary Chinese text."""
    return f"我的信息是{value}，请核实。"


def test_the_independent_checksum_agrees_with_the_published_example():
    assert with_id_check("11010519491231002") == "11010519491231002X"


NEXT_YEAR = date.today().year + 1
VALID_IDS = [
    "11010519491231002X",
    "11010519491231002x",
    with_id_check("44030419900307123"),
    with_id_check("21010219851101456"),
    with_id_check("82000019700101001"),
    full_width("11010519491231002X"),
    "110105 19491231 002X",
    "110105491231002",  # 15-digit legacy form, born 1949-12-31
]


@pytest.mark.parametrize("value", VALID_IDS)
def test_resident_id_numbers_are_found(value):
    assert found(in_sentence(value)) == [("id_number", value)]


# A mistyped ID is still the citizen's ID: the right shape with a wrong check character is masked,
# under its own label so that the reviewer sees no check confirmed it.
BAD_CHECK_IDS = [
    "11010519491231002" + ("1" if with_id_check("11010519491231002").endswith("X") else "X"),
    "110105194912310021",
    "110101199003071234",  # the one the adversarial test published
    "31013520000130150X",  # its first 17 digits pass Luhn: the X must not be left behind a card mask
    "110105 19491231 0021",
    full_width("110101199003071234"),
    next(with_id_check("44030419900307123")[:17] + c for c in "0123456789X"
         if c != with_id_check("44030419900307123")[17]),
]


@pytest.mark.parametrize("value", BAD_CHECK_IDS)
def test_id_shaped_numbers_with_a_wrong_check_character_are_masked_as_unverified(value):
    text = in_sentence(value)
    (match,) = privacy.find(text)
    assert (match.label, match.text, match.confident) == ("id_number_unverified", value, False)
    assert privacy.mask(text) == in_sentence("[身份证号]")


# Not even the shape of an ID: no such province, no such birth date.
INVALID_IDS = [
    with_id_check("00010519491231002"),  # no such province
    with_id_check("10010519491231002"),
    with_id_check("72010519491231002"),
    with_id_check("11010519900230002"),  # 30 February
    with_id_check("11010519901301002"),  # month 13
    with_id_check(f"110105{NEXT_YEAR}0101002"),  # born in the future
    with_id_check("11010518991231002"),  # before 1900
    "110105491331002",  # legacy form, month 13
    "800105491231002",  # legacy form, no such province
]


@pytest.mark.parametrize("value", INVALID_IDS)
def test_numbers_failing_the_id_checks_are_left_alone(value):
    text = in_sentence(value)
    assert privacy.find(text) == []
    assert privacy.mask(text) == text


@pytest.mark.parametrize("value", [
    "13812345678", "19912345678", "+8613812345678", "+86 138 1234 5678", "+86-138-1234-5678",
    "(+86)13812345678", "(+86) 138-1234-5678", "8613812345678", "138 1234 5678", "138-1234-5678",
    full_width("13812345678"), "１３８　１２３４　５６７８",
])
def test_mobile_numbers_are_found(value):
    assert found(in_sentence(value)) == [("mobile", value)]


@pytest.mark.parametrize("value", [
    "024-12345678", "(010)87654321", "（010）87654321", "0755 8888 6666", "0755-88886666", "02412345678",
    "+86-10-12345678", "+86 755 8888 6666", "024-12345678转801", "024-12345678-801", "0571-8765432",
])
def test_landlines_with_an_area_code_are_found(value):
    assert found(in_sentence(value)) == [("landline", value)]


@pytest.mark.parametrize("value", [
    "zhangsan@example.com", "zhang.san+tag@mail.example.com.cn", "li_si-1990@163.com", "ZS@EXAMPLE.ORG",
    full_width("zhangsan@example.com"),
])
def test_email_addresses_are_found(value):
    assert found(in_sentence(value)) == [("email", value)]


UNIONPAY = with_luhn("622202020000000000")  # 19 digits
VISA = with_luhn("411111111111111")  # 16 digits


def grouped(number: str, sep: str = " ") -> str:
    """A card number in groups of four."""
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


@pytest.mark.parametrize("value", [UNIONPAY, VISA, grouped(UNIONPAY), grouped(VISA, "-"), with_luhn("371449635398431"),
                                   with_luhn("622848001234567"), full_width(VISA)])
def test_bank_card_numbers_passing_luhn_are_found(value):
    assert found(in_sentence(value)) == [("bank_card", value)]


def luhn_broken(number: str) -> str:
    """The same number with its last digit changed so that Luhn fails."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@pytest.mark.parametrize("value", [
    luhn_broken(UNIONPAY), luhn_broken(VISA), grouped(luhn_broken(UNIONPAY)), grouped(luhn_broken(VISA), "-"),
    luhn_broken(with_luhn("601382000000000")), luhn_broken(with_luhn("523456789012345")),
    luhn_broken(with_luhn("955880000000000000")), full_width(luhn_broken(VISA)),
])
def test_card_shaped_numbers_failing_luhn_are_masked_as_unverified(value):
    text = in_sentence(value)
    (match,) = privacy.find(text)
    assert (match.label, match.text, match.confident) == ("bank_card_unverified", value, False)
    assert privacy.mask(text) == in_sentence("[银行卡号]")


@pytest.mark.parametrize("value", [
    luhn_broken(with_luhn("10000000000000000")),  # no issuer starts with 1, 7 or 8
    luhn_broken(with_luhn("7000000000000000")), luhn_broken(with_luhn("800000000000000000")),
    luhn_broken(with_luhn("411111111111")),  # 13 digits: too short to be a card without Luhn
    luhn_broken(with_luhn("62220202000000000000")),  # 21 digits
])
def test_numbers_not_shaped_like_a_card_are_left_alone_when_luhn_fails(value):
    assert privacy.find(in_sentence(value)) == []


def test_an_id_number_or_a_mobile_is_never_also_counted_as_a_card():
    id_number = "11010519491231002X"
    text = f"身份证{id_number}，手机13812345678，邮箱13812345678@163.com。"
    assert found(text) == [("id_number", id_number), ("mobile", "13812345678"), ("email", "13812345678@163.com")]


@pytest.mark.parametrize(("text", "address"), [
    ("家住沈河区青年大街100号3栋2单元501室，", "100号3栋2单元501室"),
    ("和平路18号院5号楼1单元302，楼道灯坏了", "18号院5号楼1单元302"),
    ("幸福小区7栋1203室漏水", "7栋1203室"),
    ("住在解放路100弄5号501室的居民", "100弄5号501室"),
    ("阳光花园三栋二单元601户", "三栋二单元601户"),
    ("锦绣家园B座12层1201", "B座12层1201"),
    ("新华路８８号２栋３单元４０２室", "８８号２栋３单元４０２室"),
])
def test_detailed_addresses_down_to_the_room_are_found(text, address):
    assert found(text) == [("address", address)]
    assert privacy.mask(text).replace(privacy.MASKS["address"], address) == text


@pytest.mark.parametrize("text", [
    "青年大街路面破损", "沈河区青年大街", "5号楼门前积水", "地铁3号线2号口", "两室一厅，2室1厅",
    "第3单元的课文", "和平路18号院", "请到3楼服务窗口",
])
def test_a_road_district_or_building_alone_is_not_masked(text):
    assert privacy.find(text) == []


@pytest.mark.parametrize("text", [
    "订单号DD20261127000123已支付", "订单号：20261127000123", "交易时间20261127103000",
    "办件编号2026112700042", "金额12,345.00元", "共计¥1,234,567.89", "号码12345678901不是手机号",
    "11位数字10012345678", "日期2026-11-27", "2026年11月27日", "20261127", "12位138123456789", "受理号 0123456",
    f"编号{luhn_broken(with_luhn('12345678901234567'))}", "IPv4地址10.0.0.1", "版本3.11.7",
])
def test_numbers_that_fail_every_check_are_left_alone(text):
    assert privacy.find(text) == []
    assert privacy.mask(text) == text


# --- after their keywords: QQ, WeChat, passport; licence plates -------------------------------------

@pytest.mark.parametrize(("text", "label", "value"), [
    ("我的QQ：12345678，", "qq", "12345678"),
    ("qq号 987654321", "qq", "987654321"),
    ("QQ号码是10001。", "qq", "10001"),
    ("加扣扣2345678901", "qq", "2345678901"),
    (full_width("QQ") + "：１２３４５６７８", "qq", "１２３４５６７８"),
    ("微信号：zhang_san1990，", "wechat", "zhang_san1990"),
    ("微信 lisi-888 ", "wechat", "lisi-888"),
    ("我微信是wangwu123", "wechat", "wangwu123"),
    ("wx: zhaoliu_66", "wechat", "zhaoliu_66"),
    ("VX号Sunqi2020。", "wechat", "Sunqi2020"),
    ("加vx abcdefghijklmnopqrst", "wechat", "abcdefghijklmnopqrst"),
    ("车牌号粤B12345的车", "plate", "粤B12345"),
    ("车牌：京A·D12345", "plate", "京A·D12345"),
    ("一辆沪AD12345停在消防通道上", "plate", "沪AD12345"),
    ("苏E12345D是新能源车", "plate", "苏E12345D"),
    ("辽A 3B5C7违停", "plate", "辽A 3B5C7"),
    ("护照号码：E12345678。", "passport", "E12345678"),
    ("护照EA1234567", "passport", "EA1234567"),
    ("护照号 G87654321", "passport", "G87654321"),
    ("护照号为123456789", "passport", "123456789"),
])
def test_qq_wechat_plate_and_passport_are_found(text, label, value):
    (match,) = privacy.find(text)
    assert (match.label, match.text, match.confident) == (label, value, True)
    # Only the value goes: the keyword before it stays readable.
    assert privacy.mask(text) == text.replace(value, privacy.MASKS[label])


@pytest.mark.parametrize("text", [
    "QQ群里有人说", "QQ：1234", "qq号123456789012", "扣扣0123456",  # too short, too long, a leading 0
    "微信公众号“city_service”", "微信支付", "微信 App", "通过微信小程序办理", "wxWidgets 库", "微信：abc",
    "微信 1abcdefg", "微信号 a" + "b" * 20,  # a WeChat ID starts with a letter and has 6–20 characters
    "京沪高速G2", "京港澳高速", "粤B1234", "粤B12345678", "沪ABCDE", "京A12B", "粤I12345",
    "护照办理进度", "护照 E1234", "出示护照原件",
])
def test_keywords_without_a_plausible_value_mask_nothing(text):
    assert privacy.find(text) == []


def test_a_mobile_given_as_wechat_is_masked_as_a_mobile():
    assert found("我的微信是13812345678") == [("mobile", "13812345678")]


# --- the one registry of labels -------------------------------------------------------------------

def test_every_label_has_a_mask_and_a_reason_and_unverified_ones_mask_like_verified_ones():
    assert set(privacy.KINDS) == set(privacy.LABELS) == set(privacy.MASKS)
    for label, kind in privacy.KINDS.items():
        assert re.fullmatch(r"\[[^\]]+\]", kind.mask) and str(kind.title), label
    assert privacy.UNVERIFIED == {"id_number_unverified", "bank_card_unverified"}
    assert privacy.MASKS["id_number_unverified"] == privacy.MASKS["id_number"]
    assert privacy.MASKS["bank_card_unverified"] == privacy.MASKS["bank_card"]


# --- mask() ----------------------------------------------------------------------------------------

EVERYTHING = (
    "张三反映：身份证11010519491231002X，手机+86 138 1234 5678，座机(024)12345678，"
    f"邮箱zhang.san@example.com，银行卡{grouped(UNIONPAY)}，住沈河区青年大街100号3栋2单元501室。\n"
    "办件编号2026112700042，金额12,345.00元，2026年11月27日。"
)


def outside(text: str, matches) -> list[str]:
    """The stretches of `text` between the matches."""
    pieces, pos = [], 0
    for m in matches:
        pieces.append(text[pos:m.start])
        pos = m.end
    pieces.append(text[pos:])
    return pieces


def test_mask_hides_every_match_and_keeps_all_other_text():
    matches = privacy.find(EVERYTHING)
    assert [m.label for m in matches] == ["id_number", "mobile", "landline", "email", "bank_card", "address"]
    masked = privacy.mask(EVERYTHING)
    # Rebuild the expected output from the untouched stretches and one fixed mask per match.
    pieces = outside(EVERYTHING, matches)
    expected = pieces[0] + "".join(privacy.MASKS[m.label] + piece for m, piece in zip(matches, pieces[1:], strict=True))
    assert masked == expected
    # No digit or letter of a match survives: what remains are the digits outside the matches.
    assert re.findall(r"[0-9A-Za-z]", masked) == re.findall(r"[0-9A-Za-z]", "".join(pieces))
    for m in matches:
        assert m.text not in masked


def test_mask_accepts_given_matches_and_joins_overlaps():
    text = "abc 13812345678 def"
    spans = [privacy.Match(4, 10, "manual", "138123"), privacy.Match(8, 15, "mobile", "2345678")]
    assert privacy.mask(text, spans) == "abc [个人信息] def"
    assert privacy.mask(text, []) == text


def test_matches_refer_to_the_original_offsets_after_normalising():
    text = "电话：１３８１２３４５６７８。"
    (match,) = privacy.find(text)
    assert text[match.start:match.end] == match.text == "１３８１２３４５６７８"
    assert privacy.mask(text) == "电话：[手机号]。"


def test_empty_text_has_nothing_to_mask():
    assert privacy.find("") == [] and privacy.mask("") == ""


# --- interact pii mask ---------------------------------------------------------------------------------

def pii_mask(runner, data: bytes):
    """Run `interact pii mask` with `data` on standard input."""
    return runner.invoke(args=["pii", "mask"], input=data)


def test_cli_masks_standard_input_onto_standard_output(runner):
    result = pii_mask(runner, EVERYTHING.encode())
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == privacy.mask(EVERYTHING).encode()
    assert b"13812345678" not in result.stdout_bytes and b"138 1234 5678" not in result.stdout_bytes


@pytest.mark.parametrize("data", [
    "没有个人信息的一段话。\n".encode(), "没有换行结尾".encode(), b"", b"\n\n", "windows\r\n行尾\r\n".encode(),
    "\ufeff带 BOM 的文本\n".encode(), "  前后空格  \t\n".encode(),
])
def test_cli_leaves_text_without_personal_data_byte_for_byte(runner, data):
    result = pii_mask(runner, data)
    assert result.exit_code == 0
    assert result.stdout_bytes == data


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"])
def test_cli_keeps_the_trailing_newline_or_its_absence(runner, ending):
    result = pii_mask(runner, "请联系13812345678".encode() + ending)
    assert result.stdout_bytes == "请联系[手机号]".encode() + ending


def test_cli_refuses_input_that_is_not_utf8(runner):
    result = pii_mask(runner, b"\xff\xfe\x00bad")
    assert result.exit_code == 1
    assert result.stdout_bytes == b""


@pytest.mark.parametrize(("listed", "key"), [
    ("(0571)8700 1234", "057187001234"),
    ("+86 138-0000-1111", "13800001111"),
    ("12345", "12345"),
    ("XFB@HZ.gov.cn", "xfb@hz.gov.cn"),
    ("本局值班室", None),
    ("xfb@", None),
    ("0571-87001234 或 87001235", None),
])
def test_a_published_contact_is_known_by_its_digits_or_its_lower_case_address(listed, key):
    assert privacy.contact_key(listed) == key


def test_only_the_listed_number_its_extensions_and_address_count_as_published():
    keys = frozenset({"057187001234", "xfb@hz.gov.cn"})
    text = "致电0571-87001234转8001、0571-87001234-12或邮件XFB@hz.gov.cn；我的座机0571-87001235，010-87001234。"
    verdicts = [(m.text, privacy.is_published_contact(m, keys)) for m in privacy.find(text)]
    assert verdicts == [("0571-87001234转8001", True), ("0571-87001234-12", True), ("XFB@hz.gov.cn", True),
                        ("0571-87001235", False), ("010-87001234", False)]
