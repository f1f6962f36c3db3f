import orjson

from exports.parquet_schema import SCHEMA, record_batch


def batch_of(statements):
    raws = [orjson.dumps(s).decode() for s in statements]
    return record_batch(
        statements, raws, [0] * len(statements), [None] * len(statements), [None] * len(statements)
    )


def test_a_value_of_another_json_type_is_null_in_its_column():
    statements = [
        {"actor": {"name": 5}, "result": {"success": "yes", "score": {"raw": True}}},
        {"actor": {"name": "Ann"}, "result": {"success": True, "score": {"raw": 85}}},
    ]
    batch = batch_of(statements)
    assert batch.schema == SCHEMA
    assert batch.column("actor_name").to_pylist() == [None, "Ann"]
    assert batch.column("result_success").to_pylist() == [None, True]
    assert batch.column("result_score_raw").to_pylist() == [None, 85.0]


def test_object_type_is_activity_when_absent_or_empty():
    statements = [
        {"object": {"id": "http://example.com/a"}},
        {"object": {"objectType": "", "id": "http://example.com/b"}},
        {"object": {"objectType": "Agent", "mbox": "mailto:b@example.com"}},
        {"object": {"objectType": "StatementRef", "id": "9e1c1b0e-6c1f-4a55-9d5f-1f6b3f0c2a11"}},
    ]
    kinds = batch_of(statements).column("object_type").to_pylist()
    assert kinds == ["Activity", "Activity", "Agent", "StatementRef"]
