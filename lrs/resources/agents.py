"""The Agents Resource: GET /xapi/agents?agent= (1.0.3 Communication 2.4, 2.0 4.1.6.3).

Returns a Person object (`statements.person`). Readable with any read scope: `all`,
`all/read`, `statements/read`, `statements/read/mine`, `state`, `profile` or `define`.
Names are taken from the statements the credential may read (its own for
`statements/read/mine`, none for the document and define scopes), so a Person never tells
a credential more than its statements would.
"""

from __future__ import annotations

import orjson
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import Response

from lrs.auth.backend import credential_of
from lrs.auth.scopes import (
    ALL,
    ALL_READ,
    DEFINE,
    PROFILE,
    STATE,
    STATEMENTS_READ,
    STATEMENTS_READ_MINE,
    Credential,
    require,
)
from lrs.resources.documents import tagged_json
from lrs.services import Services
from statements.document_params import parse_agent_object, require as require_param, single_values
from statements.errors import InvalidQuery
from statements.index import agent_key
from statements.person import person_of
from statements.types import JSONObject, StatementQuery

DESCRIBE_SCOPES = (STATEMENTS_READ, STATEMENTS_READ_MINE, STATE, PROFILE, DEFINE)
"""Scopes (beyond `all` and `all/read`) that may read the Agents and Activities resources."""
PERSON_SAMPLE = 100
"""The most recent statements about the agent that names are gathered from."""


class AgentsResource(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        services: Services = request.state.services
        credential = credential_of(request.scope)
        require(credential, read=True, scopes=DESCRIBE_SCOPES)
        values = single_values(request.query_params.multi_items(), frozenset({"agent"}))
        agent = parse_agent_object(
            require_param(values, "agent"), request.scope["state"]["xapi_version"]
        )
        if agent.get("objectType") == "Group":
            raise InvalidQuery("agent", "must be an Agent: the Agents Resource takes no Group")
        seen = await _statements_about(services, credential, agent)
        return tagged_json(person_of(agent, seen))


async def _statements_about(
    services: Services, credential: Credential, agent: JSONObject
) -> list[JSONObject]:
    if credential.has_any({ALL, ALL_READ, STATEMENTS_READ}):
        own = None
    elif STATEMENTS_READ_MINE in credential.scopes:
        own = agent_key(credential.authority)
    else:
        return []
    query = StatementQuery(agent=agent_key(agent), limit=PERSON_SAMPLE)
    page = await services.statements.find_statements(query, authority_key=own)
    return [orjson.loads(statement.raw) for statement in page.statements]
