"""The managers' directory file: every line checked on its own, a later line may not contradict
an earlier one, and the file's header is checked before anything is loaded."""

from __future__ import annotations

import hashlib
import io

import pytest

from tiering.csv_files import CsvFileError, Rejected
from tiering.directory.managers import DirectoryLine, Manager, parse_row, read_directory
from tiering.directory.tokens import hash_token

HEADER = "manager_id,name,team,branch_id,email,customer_id\n"


def read(text: str) -> list[tuple[int, DirectoryLine | Rejected]]:
    return list(read_directory(io.StringIO(text)))


def reasons(text: str) -> dict[int, str]:
    return {line: item.reason for line, item in read(text) if isinstance(item, Rejected)}


def test_a_good_line_and_a_manager_only_line() -> None:
    items = read(
        HEADER
        + "M1,Wang Fang,CUSTOMER_MANAGER,BR1,wang@bank.example,C1\n"
        + " M2 , Li Na ,wealth_team,BR1,,\n"
    )
    assert items == [
        (
            2,
            DirectoryLine(
                Manager("M1", "Wang Fang", "CUSTOMER_MANAGER", "BR1", "wang@bank.example"), "C1"
            ),
        ),
        (3, DirectoryLine(Manager("M2", "Li Na", "WEALTH_TEAM", "BR1", None), None)),
    ]


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (",Wang,CUSTOMER_MANAGER,BR1,,C1", "manager_id is empty"),
        ("M1,,CUSTOMER_MANAGER,BR1,,C1", "name is empty"),
        ("M1,Wang,,BR1,,C1", "team is empty"),
        ("M1,Wang,TELLERS,BR1,,C1", "team 'TELLERS' is not one of BRANCH_SERVICE"),
        ("M1,Wang,CUSTOMER_MANAGER,,,C1", "branch_id is empty"),
        ("M1,Wang,CUSTOMER_MANAGER,BR1,not-an-address,C1", "is not an e-mail address"),
        ("M1,Wang,CUSTOMER_MANAGER,BR1,,C1,extra", "more fields than the header"),
    ],
)
def test_a_bad_line_is_named_with_its_reason(row: str, words: str) -> None:
    text = (
        HEADER + "M0,Zhao,BRANCH_SERVICE,BR1,,C0\n" + row + "\n" + "M9,Sun,BRANCH_SERVICE,BR2,,C9\n"
    )
    got = reasons(text)
    assert list(got) == [3]
    assert words in got[3]
    good = [item for _, item in read(text) if isinstance(item, DirectoryLine)]
    assert [a.customer_id for a in good] == ["C0", "C9"]  # the lines around it still load


def test_a_manager_defined_twice_differently_is_rejected_the_second_time() -> None:
    got = reasons(
        HEADER
        + "M1,Wang,CUSTOMER_MANAGER,BR1,,C1\n"
        + "M1,Wang,CUSTOMER_MANAGER,BR1,,C2\n"  # the same manager again: fine
        + "M1,Wang,WEALTH_TEAM,BR2,,C3\n"
    )
    assert got == {4: "manager M1 has another team, branch_id on line 2"}


def test_a_customer_has_one_manager() -> None:
    got = reasons(
        HEADER
        + "M1,Wang,CUSTOMER_MANAGER,BR1,,C1\n"
        + "M2,Li,CUSTOMER_MANAGER,BR1,,C1\n"
        + "M1,Wang,CUSTOMER_MANAGER,BR1,,C1\n"  # a repeat of line 2: harmless
    )
    assert got == {3: "customer C1 is already assigned to manager M1 on line 2"}


def test_a_rejected_line_defines_nothing() -> None:
    got = reasons(HEADER + "M1,Wang,NOPE,BR1,,C1\n" + "M1,Wang,CUSTOMER_MANAGER,BR1,,C1\n")
    assert list(got) == [2]


def test_a_header_without_the_columns_stops_the_whole_file() -> None:
    with pytest.raises(CsvFileError, match="missing: email, customer_id"):
        read("manager_id,name,team,branch_id\nM1,Wang,CUSTOMER_MANAGER,BR1\n")


def test_line_numbers_count_the_header() -> None:
    items = read(HEADER + "M1,Wang,CUSTOMER_MANAGER,BR1,,C1\n\nM2,Li,NOPE,BR1,,C2\n")
    assert [line for line, _ in items] == [2, 4]  # a blank line is skipped, still counted


def test_parse_row_accepts_lower_case_teams_and_strips_spaces() -> None:
    row = {
        "manager_id": " M1 ",
        "name": "Wang",
        "team": "private_banking",
        "branch_id": "HO",
        "email": "",
        "customer_id": "",
    }
    assert parse_row(row) == DirectoryLine(
        Manager("M1", "Wang", "PRIVATE_BANKING", "HO", None), None
    )


def test_the_token_hash_is_sha256_hex() -> None:
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(hash_token("x")) == 64


def test_a_manager_may_say_which_language_they_read() -> None:
    items = read(
        "manager_id,name,team,branch_id,email,customer_id,language\n"
        + "M1,Wang Fang,CUSTOMER_MANAGER,BR1,,C1,zh-TW\n"
        + "M2,Li Na,WEALTH_TEAM,BR1,,,en\n"
        + "M3,Zhao Lei,WEALTH_TEAM,BR1,,,\n"
        + "M4,Chen Jie,WEALTH_TEAM,BR1,,,klingon\n"
        + "M1,Wang Fang,CUSTOMER_MANAGER,BR1,,C2,en\n"
    )
    languages = {
        line: item.manager.language for line, item in items if isinstance(item, DirectoryLine)
    }
    assert languages == {2: "zh_Hant", 3: "en", 4: None}
    problems = {line: item.reason for line, item in items if isinstance(item, Rejected)}
    assert "language 'klingon' is not one of zh-CN" in problems[5]
    assert "manager M1 has another language on line 2" in problems[6]


def test_a_manager_may_be_a_supervisor() -> None:
    items = read(
        "manager_id,name,team,branch_id,email,customer_id,role\n"
        + "S1,Qian Hui,BRANCH_SERVICE,BR1,,,Supervisor\n"
        + "M2,Li Na,WEALTH_TEAM,BR1,,C2,manager\n"
        + "M3,Zhao Lei,WEALTH_TEAM,BR1,,C3,\n"
        + "M4,Chen Jie,WEALTH_TEAM,BR1,,,boss\n"
        + "S1,Qian Hui,BRANCH_SERVICE,BR1,,C5,\n"
    )
    roles = {line: item.manager.role for line, item in items if isinstance(item, DirectoryLine)}
    assert roles == {2: "supervisor", 3: "manager", 4: "manager"}
    problems = {line: item.reason for line, item in items if isinstance(item, Rejected)}
    assert problems[5] == "role 'boss' is not one of manager, supervisor"
    assert problems[6] == "manager S1 has another role on line 2"


def test_without_a_role_column_everyone_is_a_manager() -> None:
    (item,) = [i for _, i in read(HEADER + "M1,Wang,CUSTOMER_MANAGER,BR1,,C1\n")]
    assert isinstance(item, DirectoryLine)
    assert item.manager.role == "manager"
