"""The Activities Resource: GET /xapi/activities?activityId= (1.0.3 Communication 2.5, 2.0
4.1.6.4).

Returns the canonical Activity folded from the trusted definitions seen in statements
(`lrs.storage.mongo_activities`), or `{"objectType": "Activity", "id": ...}` for an
Activity the LRS knows nothing about. Readable with the scopes listed in
`lrs.resources.agents.DESCRIBE_SCOPES`.
"""

from __future__ import annotations

from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import Response

from lrs.auth.backend import credential_of
from lrs.auth.scopes import require
from lrs.resources.agents import DESCRIBE_SCOPES
from lrs.resources.documents import tagged_json
from lrs.services import Services
from statements.document_params import parse_activity_id, require as require_param, single_values


class ActivitiesResource(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        services: Services = request.state.services
        require(credential_of(request.scope), read=True, scopes=DESCRIBE_SCOPES)
        values = single_values(request.query_params.multi_items(), frozenset({"activityId"}))
        activity_id = parse_activity_id(require_param(values, "activityId"))
        return tagged_json(await services.activities.get_activity(activity_id))
