"""Rollups of an older document layout are rebuilt from the statements, not misread."""

from analytics.consumer import CURSOR, LAYOUT, STATE
from analytics.rollups import LEARNERS
from tests.analytics.conftest import COURSE


async def test_a_state_of_another_layout_is_rebuilt_from_the_first_statement(
    client, analyst, services, learner_statement
):
    db = services.client[services.settings.database]
    response = await client.post("/xapi/statements", json=[learner_statement("ada", "completed")])
    assert response.status_code == 200
    # as the per-(activity, verb, learner) layout left it: cursor past the statement
    await db[STATE].insert_one({"_id": CURSOR, "seq": 2**62})
    await db[LEARNERS].insert_one({"_id": "old", "a": "x", "v": "completed", "l": "y", "n": 1})

    await services.analytics.catch_up()

    state = await db[STATE].find_one({"_id": CURSOR})
    assert state["layout"] == LAYOUT
    assert await db[LEARNERS].find_one({"_id": "old"}) is None
    body = (await analyst.get("/analytics/activities/summary", params={"activity": COURSE})).json()
    assert body["counts"] == {"completed": 1}
