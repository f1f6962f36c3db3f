import pytest

from exports.columns import (
    DEFAULT_COLUMNS,
    cell,
    neutralise,
    parse_column,
    parse_columns,
    row,
    rows,
    split_columns,
)
from statements.errors import BadRequest


def test_dotted_paths_reach_nested_values():
    statement = {"actor": {"mbox": "mailto:a@example.com"}, "result": {"score": {"scaled": 0.5}}}
    columns = parse_columns(["actor.mbox", "result.score.scaled", "result.success"])
    assert row(statement, columns, {}) == ["mailto:a@example.com", "0.5", ""]


def test_bracketed_keys_hold_dots_as_extension_iris_do():
    column = parse_column("context.extensions[http://example.com/ext/a.b].shift")
    assert column.path == ("context", "extensions", "http://example.com/ext/a.b", "shift")
    statement = {"context": {"extensions": {"http://example.com/ext/a.b": {"shift": "night"}}}}
    assert row(statement, (column,), {}) == ["night"]


def test_split_columns_keeps_commas_inside_brackets():
    assert split_columns("id,context.extensions[http://x/a,b],verb.id") == [
        "id",
        "context.extensions[http://x/a,b]",
        "verb.id",
    ]


def test_derived_columns_take_their_values_from_the_caller():
    columns = parse_columns(["canonical_verb", "employee_id"])
    assert row({}, columns, {"canonical_verb": "completed", "employee_id": "E1"}) == [
        "completed",
        "E1",
    ]


def test_a_page_column_by_column_has_the_cells_of_each_statement_row_by_row():
    page = [
        {"actor": {"mbox": "mailto:a@example.com"}, "result": {"score": {"scaled": -0.5}}},
        {"actor": "not an object", "result": {"score": 1, "response": "=HYPERLINK(1)"}},
        {"actor": {"account": {"name": "@x", "homePage": "https://h"}}, "result": None},
        {},
        {"result": {"response": "", "score": {"scaled": True}}, "actor": {"mbox": "-12"}},
    ]
    columns = parse_columns(
        [
            "actor.mbox",
            "actor.account.name",
            "result.score.scaled",
            "result.response",
            "result",
            "canonical_verb",
        ]
    )
    verbs = ["completed", None, "passed", "http://x/v", ""]
    expected = [
        row(statement, columns, {"canonical_verb": verb})
        for statement, verb in zip(page, verbs, strict=True)
    ]
    assert rows(page, columns, {"canonical_verb": verbs}) == [tuple(r) for r in expected]
    assert expected[1][3] == "'=HYPERLINK(1)" and expected[2][1] == "'@x"


@pytest.mark.parametrize("name", ["password", "actor..mbox", "actor.", "", "verb.id]"])
def test_unknown_or_malformed_columns_are_a_400_naming_the_column(name):
    with pytest.raises(BadRequest) as error:
        parse_columns([name]) if name else parse_columns([])
    assert error.value.details["field"] == "columns"


def test_the_default_columns_parse():
    assert [c.name for c in parse_columns(DEFAULT_COLUMNS)] == list(DEFAULT_COLUMNS)


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_formula_cells_are_neutralised_for_spreadsheets(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["-0.5", "-12", "plain", "a=b", "1e-3"])
def test_numbers_and_ordinary_text_stay_as_they_are(text):
    assert neutralise(text) == text


def test_cells_render_json_types_plainly():
    assert cell(None) == ""
    assert cell(True) == "true"
    assert cell(-0.25) == "-0.25"
    assert cell({"en-US": "=cmd"}) == '{"en-US":"=cmd"}'
    assert cell(["=x"]) == '["=x"]'
    assert cell("=x") == "'=x"
