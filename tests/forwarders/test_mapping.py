"""Mapping templates: loading (a bad template is refused naming its row and column), source
paths (roots, bracket keys for extension IRIs, language maps, lists) and rendering."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from forwarders.events import statement_event
from forwarders.mapping.paths import PathError, parse_path, resolve, split_path
from forwarders.mapping.template import (
    COLUMNS,
    InvalidTemplate,
    MissingRequiredField,
    RenderError,
    load_template,
    render_data,
    render_payload,
    template_lookup_names,
)

HEADER = ",".join(COLUMNS)
CERT = "https://example.com/ext/certificate"


@dataclass
class Person:
    employee_id: str = "E-1001"
    email: str | None = "ann.lee@example.com"
    emails: list[str] = field(default_factory=list)
    status: str = "active"

    def as_dict(self) -> dict[str, Any]:
        return {
            "employee_id": self.employee_id,
            "email": self.email,
            "emails": self.emails,
            "accounts": [],
            "manager_id": None,
            "department": "Ops",
            "job_code": None,
            "status": self.status,
        }


def template(*rows: str, version: str = "1.2.3", lookups=None, meta: str = ""):
    text = f"# name: test\n# version: {version}\n{meta}{HEADER}\n" + "\n".join(rows) + "\n"
    return load_template(text, lookups=lookups)


def statement(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        "actor": {"objectType": "Agent", "mbox": "mailto:Ann.Lee@Example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
        "object": {
            "id": "https://example.com/courses/safety",
            "definition": {"name": {"de": "Sicherheit", "en-US": "Safety"}},
        },
        "result": {
            "score": {"scaled": 0.9},
            "success": True,
            "extensions": {CERT: "CERT-77"},
        },
        "context": {
            "contextActivities": {
                "parent": [{"id": "https://example.com/p/1"}, {"id": "https://example.com/p/2"}]
            }
        },
        "timestamp": "2024-05-01T10:00:00Z",
        "stored": "2024-05-01T10:00:01Z",
    }
    return {**base, **changes}


def roots(stmt: dict[str, Any] | None = None, person: Person | None = None) -> dict[str, Any]:
    stmt = stmt or statement()
    return {
        "event": statement_event("f-1", stmt).as_dict(),
        "statement": stmt,
        "person": (person or Person()).as_dict(),
        "activity": stmt["object"],
        "verb": stmt["verb"],
        "result": stmt.get("result"),
    }


# -- loading ----------------------------------------------------------------------------------


def test_a_template_carries_its_name_version_and_rows():
    loaded = template(
        "person.employee_id,member_id,string,,true,HRIS id,one,until_termination",
        ",kind,string,constant:x,false,,one,P7Y",
        meta="# description: a test\n# any comment at all\n",
    )
    assert (loaded.name, loaded.version, loaded.description) == ("test", "1.2.3", "a test")
    first, second = loaded.rows
    assert (first.number, first.source_field, first.target_field) == (
        1,
        "person.employee_id",
        "member_id",
    )
    assert (
        first.required
        and first.notes == "HRIS id"
        and first.retention_policy == "until_termination"
    )
    assert second.source is None and str(second.transform) == "constant:x"
    assert loaded.text.startswith("# name: test")


def test_columns_may_come_in_any_order_and_the_name_may_be_given():
    columns = list(reversed(COLUMNS))
    text = "# version: 2.0.0\n" + ",".join(columns) + "\n,one,,false,,string,id,statement.id\n"
    loaded = load_template(text, name="from-the-file-name")
    assert loaded.name == "from-the-file-name" and loaded.rows[0].target_field == "id"


def test_quoted_cells_may_hold_commas():
    loaded = template('statement.id,id,string,,true,"the id, as stored",one,')
    assert loaded.rows[0].notes == "the id, as stored"


def refused(*rows: str, **kwargs: Any) -> InvalidTemplate:
    with pytest.raises(InvalidTemplate) as caught:
        template(*rows, **kwargs)
    return caught.value


GOOD = "statement.id,id,string,,true,,one,"


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ("events.id,x,string,,true,,one,", "source_field", "unknown root 'events'"),
        ("statement.result.scroe,x,number,,true,,one,", "source_field", "unknown field 'scroe'"),
        ("person.salary,x,number,,false,,one,", "source_field", "unknown field 'salary'"),
        ("statement.id.x,x,string,,false,,one,", "source_field", "has no field 'x'"),
        ("statement.result.extensions[,x,string,,false,,one,", "source_field", "bracket"),
        (",x,string,,false,,one,", "source_field", "1 to"),
        ("statement.id,x,string,uppercase_email,true,,one,", "transform", "unknown transform"),
        ("statement.id,x,string,lookup:nowhere,true,,one,", "transform", "unknown lookup table"),
        ("statement.id,x,text,,true,,one,", "data_type", "unknown data type 'text'"),
        ("statement.id,x,string,,yes,,one,", "required", "'yes' is not one of true, false"),
        ("statement.id,x,string,,true,,some,", "cardinality", "'some' is not one of one, many"),
        ("statement.id,x,string,,true,,one,forever", "retention_policy", "forever"),
        ("statement.id,x y,string,,true,,one,", "target_field", "keys are letters"),
        ("statement.id,x..y,string,,true,,one,", "target_field", "keys are letters"),
        ("statement.id,x,string,,true,,one", "retention_policy", "7 cells, expected 8"),
        ("statement.stored,id,datetime,,true,,one,", "target_field", "already row 1"),
        ("statement.stored,id.at,datetime,,true,,one,", "target_field", "inside 'id' (row 1)"),
    ],
)
def test_a_bad_row_is_refused_naming_its_row_and_column(row, column, words):
    error = refused(GOOD, row)
    assert (error.row, error.column) == (2, column)
    assert words in error.reason
    assert f"row 2, column {column}" in error.message
    assert error.details == {"field": "template", "row": 2, "column": column, "table": None}


@pytest.mark.parametrize(
    ("text", "column"),
    [
        (f"# name: t\n{HEADER}\n{GOOD}\n", "version"),
        (f"# version: one\n{HEADER}\n{GOOD}\n", "version"),
        (f"# version: 1.0.0\n# name: no spaces please\n{HEADER}\n{GOOD}\n", "name"),
        ("# version: 1.0.0\n" + HEADER.replace(",notes", "") + "\n", "notes"),
        ("# version: 1.0.0\n" + HEADER + ",owner\n", "owner"),
        ("# version: 1.0.0\n" + HEADER + ",notes\n", "notes"),
        (f"# version: 1.0.0\n{HEADER}\n", "(file)"),
        ("", "(file)"),
    ],
)
def test_a_bad_header_or_metadata_is_refused_as_row_0(text, column):
    with pytest.raises(InvalidTemplate) as caught:
        load_template(text)
    assert (caught.value.row, caught.value.column) == (0, column)


def test_a_bad_lookup_table_is_refused_naming_the_table_and_its_row():
    row = "activity.id,skills,string,lookup:skills,false,,many,"
    with pytest.raises(InvalidTemplate) as caught:
        template(row, lookups={"skills": "id,skill\na,b\n"})
    assert caught.value.table == "skills" and caught.value.row == 0
    with pytest.raises(InvalidTemplate) as caught:
        template(row, lookups={"skills": "key,value\na,b\n,c\n"})
    assert (caught.value.table, caught.value.row, caught.value.column) == ("skills", 2, "key")
    assert "lookup table 'skills' row 2" in caught.value.message
    with pytest.raises(InvalidTemplate, match="lookup table name"):
        template(row, lookups={"skills": "key,value\n", "../etc": "key,value\n"})


def test_lookup_tables_keep_every_value_of_a_key():
    loaded = template(
        "activity.id,skills,string,lookup:skills,false,,many,",
        lookups={"skills": "key,value\na,safety\na,first aid\nb,forklift\n"},
    )
    assert loaded.lookups["skills"] == {"a": ("safety", "first aid"), "b": ("forklift",)}


# -- source paths -----------------------------------------------------------------------------


def test_bracket_keys_hold_iris_with_dots():
    assert split_path(f"statement.result.extensions[{CERT}]") == [
        "statement",
        "result",
        "extensions",
        CERT,
    ]
    assert split_path("a[b.c][d].e") == ["a", "b.c", "d", "e"]
    path = parse_path(f"statement.result.extensions[{CERT}]")
    assert resolve(path, roots()) == "CERT-77"
    assert resolve(parse_path(f"result.extensions[{CERT}]"), roots()) == "CERT-77"
    deeper = parse_path("activity.definition.extensions[https://x.example/e].levels.top")
    assert deeper.keys[-2:] == ("levels", "top")  # anything goes inside an extension


@pytest.mark.parametrize("text", ["statement.", "statement..id", "a[]", "a[b", "a]b", "a[b]c"])
def test_malformed_paths_are_refused(text):
    with pytest.raises(PathError):
        split_path(text) if text.startswith("a") else parse_path(text)


def test_every_root_resolves():
    values = roots()
    assert resolve(parse_path("event.type"), values) == "learning.passed"
    assert resolve(parse_path("event.activity.name"), values) == "Safety"
    assert resolve(parse_path("statement.actor.mbox"), values) == "mailto:Ann.Lee@Example.com"
    assert resolve(parse_path("person.department"), values) == "Ops"
    assert resolve(parse_path("activity.id"), values) == "https://example.com/courses/safety"
    assert resolve(parse_path("verb.id"), values) == "http://adlnet.gov/expapi/verbs/passed"
    assert resolve(parse_path("result.score.scaled"), values) == 0.9
    assert resolve(parse_path("result.response"), values) is None


def test_a_language_map_resolves_to_its_english_text_or_a_chosen_tag():
    values = roots()
    assert resolve(parse_path("activity.definition.name"), values) == "Safety"
    assert resolve(parse_path("activity.definition.name.de"), values) == "Sicherheit"
    assert resolve(parse_path("verb.display"), values) == "passed"
    german = statement(object={"id": "https://e.com/a", "definition": {"name": {"de": "Nur"}}})
    assert resolve(parse_path("activity.definition.name"), roots(german)) == "Nur"


def test_a_path_through_a_list_gives_every_value():
    path = parse_path("statement.context.contextActivities.parent.id")
    assert resolve(path, roots()) == ["https://example.com/p/1", "https://example.com/p/2"]


# -- rendering --------------------------------------------------------------------------------


def test_render_payload_wraps_the_data_with_the_event_and_template_version():
    loaded = template(
        "person.employee_id,member.id,string,,true,,one,",
        "statement.actor.mbox,member.email,email,lowercase_email,true,,one,",
        "result.score,score,number,normalize_score_0_100,false,,one,",
        "statement.timestamp,done.on,date,iso_date,true,,one,",
        "result.success,done.passed,boolean,,false,,one,",
    )
    stmt = statement()
    event = statement_event("f-1", stmt)
    payload = render_payload(loaded, event, stmt, Person())
    assert payload == {
        "type": "learning.passed",
        "id": event.id,
        "timestamp": "2024-05-01T10:00:00Z",
        "template": {"name": "test", "version": "1.2.3"},
        "data": {
            "member": {"id": "E-1001", "email": "ann.lee@example.com"},
            "score": 90.0,
            "done": {"on": "2024-05-01", "passed": True},
        },
    }
    revoked = render_payload(loaded, replace(event, revokes="e-0"), stmt, Person())
    assert revoked["revokes"] == "e-0"


def test_absent_optional_values_keep_the_shape():
    loaded = template(
        "result.response,answer,string,,false,,one,",
        "person.emails,emails,email,,false,,many,",
    )
    assert render_data(loaded, roots()) == {"answer": None, "emails": []}


@pytest.mark.parametrize("missing", [None, "", []])
def test_a_required_field_missing_at_render_time_is_an_error_naming_it(missing):
    loaded = template(GOOD, "person.email,contact.email,email,,true,,one,")
    with pytest.raises(MissingRequiredField) as caught:
        render_data(loaded, roots(person=Person(email=missing)))  # type: ignore[arg-type]
    error = caught.value
    assert (error.source_field, error.target_field, error.row) == (
        "person.email",
        "contact.email",
        2,
    )
    assert str(error) == "required field missing: person.email -> contact.email"
    assert isinstance(error, RenderError)


def test_a_lookup_miss_on_a_required_field_is_missing():
    loaded = template(
        "verb.id,status,string,lookup:status,true,,one,",
        lookups={"status": "key,value\nhttp://adlnet.gov/expapi/verbs/completed,done\n"},
    )
    with pytest.raises(MissingRequiredField, match="verb.id -> status"):
        render_data(loaded, roots())


def test_a_value_its_type_cannot_hold_is_a_render_error_naming_the_row():
    loaded = template(GOOD, "activity.id,activity,integer,,false,,one,")
    with pytest.raises(RenderError) as caught:
        render_data(loaded, roots())
    assert caught.value.row == 2 and caught.value.target_field == "activity"
    assert "row 2 (activity): integer" in str(caught.value)


def test_a_transform_failure_is_a_render_error_naming_the_row():
    loaded = template("result.score.raw,score,number,normalize_score_0_100,false,,one,")
    stmt = statement(result={"score": {"raw": 7}})
    with pytest.raises(RenderError, match="row 1 \\(score\\)"):
        render_data(loaded, roots(stmt))


def test_several_values_for_a_one_field_are_an_error_not_a_guess():
    loaded = template("statement.context.contextActivities.parent.id,parent,string,,false,,one,")
    with pytest.raises(RenderError, match="2 values for a `one` field"):
        render_data(loaded, roots())


def test_many_fields_from_several_rows_are_merged_without_duplicates():
    skills = "https://example.com/ext/skills"
    loaded = template(
        f"activity.definition.extensions[{skills}],skills,string,,false,,many,",
        "activity.id,skills,string,lookup:skills,true,,many,",
        lookups={
            "skills": "key,value\nhttps://example.com/courses/safety,safety\n"
            "https://example.com/courses/safety,first aid\n"
        },
    )
    stmt = statement()
    stmt["object"]["definition"]["extensions"] = {skills: ["safety", "hazmat"]}
    assert render_data(loaded, roots(stmt)) == {"skills": ["safety", "hazmat", "first aid"]}
    bare = statement(object={"id": "https://example.com/other"})
    with pytest.raises(MissingRequiredField, match="activity.id -> skills"):
        render_data(loaded, roots(bare))


def test_a_single_value_for_a_many_field_becomes_a_list():
    loaded = template("person.employee_id,ids,string,,true,,many,")
    assert render_data(loaded, roots()) == {"ids": ["E-1001"]}


def test_the_lookup_tables_a_template_names_come_from_its_transform_column():
    text = (
        f"# version: 1.0.0\n{HEADER}\n"
        "activity.id,a,string,lookup:skills,false,see lookup:notes,many,\n"
        "verb.id,b,string, lookup:statuses ,false,,one,\n"
    )
    assert template_lookup_names(text) == ["skills", "statuses"]
    assert template_lookup_names("# version: 1.0.0\nnot,a,header\n") == []


def test_the_person_and_event_roots_know_every_field_they_are_given():
    from forwarders.events import Event
    from forwarders.identity.person import Person as RealPerson
    from forwarders.mapping.paths import SHAPES

    person = RealPerson("E-1", "a@example.com", accounts=(("https://lms.example.com", "a"),))
    assert set(SHAPES["person"]) == set(person.as_dict())
    assert set(SHAPES["event"]) == set(Event.__dataclass_fields__)
    assert set(SHAPES["person"]["accounts"]) == set(person.as_dict()["accounts"][0])
