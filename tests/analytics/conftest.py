import uuid

import httpx
import pytest

from lrs.settings import Settings

COURSE = "http://example.com/courses/xapi-101"
ADL = "http://adlnet.gov/expapi/verbs/"


@pytest.fixture
def settings(tmp_path):
    """Rollups driven by the test (`catch_up`), with no lag: this process makes every write."""
    return Settings(
        database=f"t{uuid.uuid4().hex}",
        data_dir=tmp_path,
        public_url="http://lrs.test",
        analytics_rollups=False,
        analytics_lag_ms=0,
    )


@pytest.fixture
async def analyst(app_services, make_credentials):
    auth = await make_credentials(("analytics/read",), name="analyst")
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(
        transport=transport, base_url="http://lrs.test", headers=auth
    ) as http:
        yield http


@pytest.fixture
def learner_statement(make_statement):
    def make(learner, verb="completed", *, activity=COURSE, timestamp=None, **overrides):
        statement = make_statement(
            actor={"objectType": "Agent", "mbox": f"mailto:{learner}@example.com"},
            verb={"id": verb if ":" in verb else ADL + verb},
            object={"objectType": "Activity", "id": activity},
            **overrides,
        )
        if timestamp is not None:
            statement["timestamp"] = timestamp
        return statement

    return make
