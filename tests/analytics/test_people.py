"""HRIS attributes of learners, resolved through the identity import and kept a minute."""

from lrs.analytics_people import CACHE_SECONDS, IdentityPeople

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
