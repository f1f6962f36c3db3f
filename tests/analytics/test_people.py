"""HRIS attributes of learners, resolved through the identity import and kept a minute."""

import asyncio

import pytest

from analytics.contribution import identifier_of
from forwarders.identity.person import actor_keys
from lrs.analytics_people import AHEAD, CACHE_SECONDS, IdentityPeople
from statements.index import agent_key

ADA = {"mbox": "mailto:ada@example.com"}
NOBODY = {"mbox": "mailto:nobody@example.com"}


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


async def test_an_hris_change_shows_in_the_slices_once_the_resolution_has_aged(services):
    store = services.identities.store
    await services.identities.import_people(
        "employee_id,email,department\nE1,ada@example.com,Sales\n", "csv"
    )
    clock = Clock()
    people = IdentityPeople(store, clock)

    assert await people.attribute([ADA, NOBODY], "department") == ["Sales", None]

    await services.identities.import_people(
        "employee_id,email,department\nE1,ada@example.com,Ops\n", "csv"
    )
    clock.now += CACHE_SECONDS / 2
    assert await people.attribute([ADA], "department") == ["Sales"]
    clock.now += CACHE_SECONDS
    assert await people.attribute([ADA], "department") == ["Ops"]
    assert await people.attribute([ADA], "manager") == [None]


async def test_a_table_read_ahead_of_its_age_serves_the_slices_meanwhile(services):
    store = services.identities.store
    await services.identities.import_people(
        "employee_id,email,department\nE1,ada@example.com,Sales\n", "csv"
    )
    clock = Clock()
    people = IdentityPeople(store, clock)
    assert await people.attribute([ADA], "department") == ["Sales"]

    await services.identities.import_people(
        "employee_id,email,department\nE1,ada@example.com,Ops\n", "csv"
    )
    clock.now += AHEAD * CACHE_SECONDS + 1
    assert await people.attribute([ADA], "department") == ["Sales"]  # read under way
    await people.settled()
    assert await people.attribute([ADA], "department") == ["Ops"]


async def test_the_table_resolves_every_actor_as_the_identity_store_does(services):
    store = services.identities.store
    await services.identities.import_people(
        "employee_id,email,department,accounts\n"
        "E1,ada@example.com,Sales,\n"
        "E2,bob@example.com,Ops,https://hr.example.com|b0b\n",
        "csv",
    )
    actors = [
        {"mbox": "mailto:ADA@Example.com"},
        {"account": {"homePage": "https://hr.example.com", "name": "b0b"}},
        {
            "mbox": "mailto:ada@example.com",
            "account": {"homePage": "https://hr.example.com", "name": "b0b"},
        },
        NOBODY,
        {"openid": "https://id.example.com/nobody"},
    ]
    expected = [r.person.department if r.person else None for r in await store.resolve_many(actors)]

    assert await IdentityPeople(store).attribute(actors, "department") == expected
    assert expected == ["Sales", "Ops", None, None, None]  # one, one, several, none, none


@pytest.mark.parametrize(
    "actor",
    [
        {"mbox": "mailto:Ada.Lovelace@EXAMPLE.com"},
        {"mbox_sha1sum": "A" * 40},
        {"openid": "https://id.example.com/ada"},
        {"account": {"homePage": "https://hr.example.com", "name": "ada"}},
    ],
)
def test_a_learner_key_names_an_identifier_that_resolves_as_the_actor_does(actor):
    assert actor_keys(identifier_of(agent_key(actor))) == actor_keys(actor)


def test_an_account_key_that_cannot_be_split_names_no_identifier():
    actor = {"account": {"homePage": "http://[::1]/hr", "name": "ada"}}

    assert identifier_of(agent_key(actor)) is None


async def test_concurrent_first_slices_wait_for_one_read_of_the_table(services):
    store = services.identities.store
    await services.identities.import_people(
        "employee_id,email,department\nE1,ada@example.com,Sales\n", "csv"
    )
    reads = 0
    holders = store.holders

    async def counted():
        nonlocal reads
        reads += 1
        return await holders()

    store.holders = counted
    people = IdentityPeople(store)

    answers = await asyncio.gather(*(people.attribute([ADA], "department") for _ in range(16)))

    assert answers == [["Sales"]] * 16
    assert reads == 1
