"""Parsing the provider admin's export: every format variant and every rejection reason."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from installer_app.errors import ExitCode
from installer_app.secrets import Secret
from installer_app.store.inventory import InventoryFileError, ParsedInventory, parse_inventory
from tests.fixtures.store import CHINESE_HEADERS, InventoryWriter

ROWS = [
    (
        "WXA2000012345",
        "8f14e45fceea167a5a36dedd4bea2543",
        "WX-ATT-200",
        "https://open.work.weixin.qq.com/connect/hardware?hw_code=qr1",
    ),
    ("WXA2000012346", "c9f0f895fb98ab9159f51fd0297e236d", "WX-ATT-200", ""),
]


def assert_two_good_rows(parsed: ParsedInventory) -> None:
    assert parsed.rejected == ()
    assert [(r.row, r.sn, r.model_id, r.qr_code) for r in parsed.rows] == [
        (
            2,
            "WXA2000012345",
            "WX-ATT-200",
            "https://open.work.weixin.qq.com/connect/hardware?hw_code=qr1",
        ),
        (3, "WXA2000012346", "WX-ATT-200", None),
    ]
    assert parsed.rows[0].secret_no == Secret("8f14e45fceea167a5a36dedd4bea2543")
    assert isinstance(parsed.rows[1].secret_no, Secret)


@pytest.mark.parametrize(
    ("name", "bom"),
    [("inv.csv", False), ("inv.csv", True), ("inv.tsv", False), ("inv.tsv", True)],
)
def test_csv_and_tsv_with_and_without_bom(
    write_inventory: InventoryWriter, name: str, bom: bool
) -> None:
    path = write_inventory(ROWS, name=name, bom=bom)
    assert (path.read_bytes().startswith(b"\xef\xbb\xbf")) is bom
    assert_two_good_rows(parse_inventory(path))


def test_tab_separated_file_named_csv_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    lines = ["device_sn\tsecret_no\tmodel_id\tqr_code"] + ["\t".join(r) for r in ROWS]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    assert_two_good_rows(parse_inventory(path))


def test_xlsx(write_inventory: InventoryWriter) -> None:
    assert_two_good_rows(parse_inventory(write_inventory(ROWS, name="inv.xlsx")))


def test_xlsx_numbers_and_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "numbers.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["SecretNo", "Device SN"])
    sheet.append(["abc!def", 1234567])  # Excel keeps an all-digit SN as a number
    sheet.append([None, None])
    sheet.append(["xyz~123", 7654321.0])
    workbook.save(path)
    workbook.close()
    parsed = parse_inventory(path)
    assert parsed.rejected == ()
    assert [(r.row, r.sn) for r in parsed.rows] == [(2, "1234567"), (4, "7654321")]


def test_chinese_headers_in_any_order_and_case(write_inventory: InventoryWriter) -> None:
    headers = (CHINESE_HEADERS[3], CHINESE_HEADERS[1], CHINESE_HEADERS[0], CHINESE_HEADERS[2])
    rows = [(qr, secret, sn, model) for sn, secret, model, qr in ROWS]
    assert_two_good_rows(parse_inventory(write_inventory(rows, headers=headers, bom=True)))


@pytest.mark.parametrize(
    "headers",
    [
        (" Device SN ", "SECRETNO", "Model ID", "QR Code"),
        ("设备sn", "SecretNo", "型号ID", "二维码"),
        ("DEVICE_SN", "Secret_No", "model-id", "qr_code"),
    ],
)
def test_header_spelling_variants(
    write_inventory: InventoryWriter, headers: tuple[str, ...]
) -> None:
    assert_two_good_rows(parse_inventory(write_inventory(ROWS, headers=headers)))


def test_optional_columns_may_be_missing_and_extra_columns_are_ignored(
    write_inventory: InventoryWriter,
) -> None:
    path = write_inventory(
        [("note", "SN1", "secret-1")], headers=("remark", "device_sn", "secret_no")
    )
    parsed = parse_inventory(path)
    assert [(r.sn, r.model_id, r.qr_code) for r in parsed.rows] == [("SN1", None, None)]


def test_every_rejection_reason_with_its_row(write_inventory: InventoryWriter) -> None:
    rows = [
        ("GOOD1", "secret-1", "WX-ATT-200", ""),  # row 2
        ("", "secret-2", "WX-ATT-200", ""),  # 3: no SN
        ("BAD-SN", "secret-3", "WX-ATT-200", ""),  # 4: '-' not allowed
        ("X" * 129, "secret-4", "WX-ATT-200", ""),  # 5: too long
        ("GOOD5", "", "WX-ATT-200", ""),  # 6: no SecretNo
        ("GOOD6", "has space", "WX-ATT-200", ""),  # 7: space outside 0x21..0x7E
        ("GOOD7", "s" * 129, "WX-ATT-200", ""),  # 8: SecretNo too long
        ("good1", "secret-9", "WX-ATT-200", ""),  # 9: duplicate of row 2, other case
        ("GOOD10", "secret-10", "WX-DOOR-100", ""),  # 10: another model
        ("GOOD11", "秘密", "WX-ATT-200", ""),  # 11: not ASCII
        ("GOOD12", "secret-12", "", ""),  # 12: no model: fine
    ]
    parsed = parse_inventory(write_inventory(rows), expected_model_id="WX-ATT-200")
    assert [r.sn for r in parsed.rows] == ["GOOD1", "GOOD12"]
    reasons = {r.row: r.reason.english() for r in parsed.rejected}
    assert reasons == {
        3: "no device_sn",
        4: "SN BAD-SN is not valid: 1 to 128 letters A-Z, a-z and digits",
        5: "SN " + "X" * 40 + "… is not valid: 1 to 128 letters A-Z, a-z and digits",
        6: "SN GOOD5 has no SecretNo",
        7: "the SecretNo of SN GOOD6 is not valid: 1 to 128 printable ASCII characters "
        "without spaces",
        8: "the SecretNo of SN GOOD7 is not valid: 1 to 128 printable ASCII characters "
        "without spaces",
        9: "SN good1 appears again (first on row 2)",
        10: "SN GOOD10 is for model WX-DOOR-100, not the configured WX-ATT-200",
        11: "the SecretNo of SN GOOD11 is not valid: 1 to 128 printable ASCII characters "
        "without spaces",
    }
    rendered = " ".join(reasons.values())
    for secret in ("has space", "s" * 129, "秘密"):
        assert secret not in rendered


def test_model_is_not_checked_when_none_is_configured(write_inventory: InventoryWriter) -> None:
    parsed = parse_inventory(write_inventory([("SN1", "sec-1", "ANY-MODEL", "")]))
    assert parsed.rejected == () and parsed.rows[0].model_id == "ANY-MODEL"


def test_limits_are_inclusive(write_inventory: InventoryWriter) -> None:
    sn, secret = "A" * 128, "".join(chr(c) for c in range(0x21, 0x7F))[:128]
    parsed = parse_inventory(write_inventory([(sn, secret, "", "")]))
    assert parsed.rejected == () and parsed.rows[0].secret_no.reveal() == secret


def file_error(path: Path) -> str:
    with pytest.raises(InventoryFileError) as caught:
        parse_inventory(path)
    assert caught.value.exit_code == ExitCode.USAGE
    text = str(caught.value)
    assert str(path) in text
    return text


def test_missing_required_column_names_it(write_inventory: InventoryWriter) -> None:
    text = file_error(write_inventory([("SN1", "x")], headers=("device_sn", "secret")))
    assert "no secret_no / SecretNo / 调用凭证 column" in text and "device_sn, secret" in text


def test_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"device_sn,secret_no\nSN1,abc\x80\xff\n")  # neither UTF-8 nor GB18030
    assert "not UTF-8, UTF-16 or GB18030 (GBK) text" in file_error(path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert "not a text or .xlsx file" in file_error(path)


def test_damaged_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a zip archive")
    assert "not a readable .xlsx workbook" in file_error(path)


def test_old_xls(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    assert "old .xls workbook" in file_error(path)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n\r\n")
    assert "it is empty" in file_error(empty)
    assert "Cannot import" in file_error(tmp_path / "nowhere.csv")


def test_duplicate_column(write_inventory: InventoryWriter) -> None:
    path = write_inventory([("SN1", "a1", "a2")], headers=("device_sn", "secret_no", "SecretNo"))
    assert "appears twice" in file_error(path)


def test_header_only_file_has_no_rows(write_inventory: InventoryWriter) -> None:
    parsed = parse_inventory(write_inventory([]))
    assert parsed.rows == () and parsed.rejected == ()


def test_quoted_fields_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_bytes(b'"device_sn","secret_no"\r\n"SN1","a,b""c"\r\n')
    parsed = parse_inventory(path)
    assert parsed.rows[0].secret_no.reveal() == 'a,b"c'


def test_xlsx_with_a_bad_header_closes_the_workbook(write_inventory: InventoryWriter) -> None:
    # filterwarnings=error turns an unclosed workbook file into a failure here
    path = write_inventory(
        [("SN1", "a1", "a2")], name="dup.xlsx", headers=("SN", "secret_no", "调用凭证")
    )
    assert "appears twice" in file_error(path)


def test_xlsx_with_a_broken_sheet(write_inventory: InventoryWriter, tmp_path: Path) -> None:
    import zipfile

    good = write_inventory(ROWS, name="good.xlsx")
    broken = tmp_path / "broken-sheet.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut in the middle of the XML
            dst.writestr(item, data)
    assert "not a readable .xlsx workbook" in file_error(broken)


def test_a_qr_code_that_is_not_exactly_wecoms_binding_link_is_a_rejected_row(
    write_inventory: InventoryWriter,
) -> None:
    good = "https://open.work.weixin.qq.com/connect/hardware?hw_code=Ab_9-z"
    rows = [
        ("QR1", "secret-1", "", good),  # row 2
        (
            "QR2",
            "secret-2",
            "",
            "https://evil.example\\@open.work.weixin.qq.com/connect/hardware?hw_code=A",
        ),
        ("QR3", "secret-3", "", "http://open.work.weixin.qq.com/connect/hardware?hw_code=A"),
        ("QR4", "secret-4", "", good + "&next=https://evil.example"),
        (
            "QR5",
            "secret-5",
            "",
            "https://open.work.weixin.qq.com/connect/hardware?hw_code=secret-5",
        ),
        ("QR6", "secret-6", "", "javascript:alert(1)"),
        ("QR7", "secret-7", "", f"  {good}  "),  # surrounding blanks from a spreadsheet: fine
    ]
    parsed = parse_inventory(write_inventory(rows))
    assert [(r.sn, r.qr_code) for r in parsed.rows] == [("QR1", good), ("QR7", good)]
    reasons = {r.row: r.reason.english() for r in parsed.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert reasons[3] == (
        "the QR code of SN QR2 is not usable: it does not point at WeCom's binding page"
    )
    assert reasons[5] == "the QR code of SN QR4 is not usable: its parameters are not WeCom's"
    assert reasons[6] == "the QR code of SN QR5 is not usable: it would carry a secret"
    assert "secret-5" not in " ".join(reasons.values())
