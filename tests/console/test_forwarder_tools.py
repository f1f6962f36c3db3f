"""A forwarder's tools in the console: secret rotation (shown once), the exact payload a
statement would produce, and replay of the dead letters created in a time range."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import httpx

from forwarders.service import ForwarderService
from forwarders.worker import Worker
from lrs.services import Services
from tests.console.conftest import SignIn, csrf_of
from tests.forwarders.conftest import FakeClock
from tests.forwarders.receiver import Receiver
from tests.forwarders.test_delivery import post


async def test_a_rotated_secret_is_shown_once_and_signs_the_next_delivery(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    services: Services,
    make_forwarder: Any,
    admin: ForwarderService,
    worker: Worker,
    receiver: Receiver,
) -> None:
    forwarder = await make_forwarder("rotating")
    await sign_in(*admin_secret)
    confirm = await browser.get(f"/console/forwarders/{forwarder['id']}/rotate")
    assert confirm.status_code == 200
    rotated = await browser.post(
        f"/console/forwarders/{forwarder['id']}/rotate",
        data={"csrf": csrf_of(confirm), "overlap_hours": "0"},
    )
    assert rotated.status_code == 200
    secret = rotated.text.split('id="new-secret"><code>')[1].split("<")[0]
    assert secret.startswith("whsec_")
    again = await browser.get(f"/console/forwarders/{forwarder['id']}")
    assert secret not in again.text  # shown once only

    receiver.verify_with("rotating", secret)  # only the new secret: the old one is retired
    await admin.send_test_event(forwarder["id"])
    await worker.run_until_empty()
    [delivery] = receiver.on("rotating")
    assert delivery.verified is True
    [entry] = await services.audit.list(action="forwarder.rotate-secret")
    assert (entry.actor, entry.target) == (admin_secret[0], forwarder["id"])
    assert entry.details == {"overlap_hours": 0.0}


async def test_a_bad_overlap_gets_400_naming_the_field_and_rotates_nothing(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    make_forwarder: Any,
    admin: ForwarderService,
) -> None:
    forwarder = await make_forwarder("steady")
    before = (await admin.get_forwarder(forwarder["id"])).forwarder.secrets
    await sign_in(*admin_secret)
    confirm = await browser.get(f"/console/forwarders/{forwarder['id']}/rotate")
    for value in ("soon", "-1", "100000"):
        answer = await browser.post(
            f"/console/forwarders/{forwarder['id']}/rotate",
            data={"csrf": csrf_of(confirm), "overlap_hours": value},
        )
        assert answer.status_code == 400 and "overlap_hours" in answer.text
    assert (await admin.get_forwarder(forwarder["id"])).forwarder.secrets == before


async def test_the_payload_preview_is_the_body_the_worker_then_sends(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
    make_forwarder: Any,
    worker: Worker,
    receiver: Receiver,
) -> None:
    forwarder = await make_forwarder("previewed")
    [statement_id] = await post(client, make_statement())
    await sign_in(*admin_secret)
    page = await browser.get(
        f"/console/forwarders/{forwarder['id']}/preview", params={"statement": statement_id}
    )
    assert page.status_code == 200
    wire = html.unescape(page.text.split('class="wire">')[1].split("</pre>")[0])
    assert wire.startswith(f"POST {forwarder['url']}\n")
    assert "webhook-signature: v1," in wire
    previewed_body = wire.split("\n\n", 1)[1]

    await worker.run_until_empty()
    [delivery] = receiver.on("previewed")
    assert delivery.body.decode() == previewed_body


async def test_a_statement_the_forwarder_does_not_match_says_why(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
    make_forwarder: Any,
) -> None:
    forwarder = await make_forwarder("picky")
    other = make_statement(verb={"id": "http://example.com/verbs/watched"})
    [statement_id] = await post(client, other)
    await sign_in(*admin_secret)
    page = await browser.get(
        f"/console/forwarders/{forwarder['id']}/preview", params={"statement": statement_id}
    )
    assert "Would not be sent (not_matched)" in page.text
    assert "http://example.com/verbs/watched" in page.text
    bad = await browser.get(
        f"/console/forwarders/{forwarder['id']}/preview", params={"statement": "x"}
    )
    assert bad.status_code == 400 and "statement" in bad.text


async def test_the_dead_letters_of_a_time_range_are_replayed_and_others_are_not(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    services: Services,
    make_forwarder: Any,
    admin: ForwarderService,
    worker: Worker,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    forwarder = await make_forwarder("ranged")
    receiver.plan("ranged", 400, 400)
    early = await admin.send_test_event(forwarder["id"])
    clock.advance(2 * 3600)
    late = await admin.send_test_event(forwarder["id"])
    await worker.run_until_empty()
    await sign_in(*admin_secret)
    letters = await browser.get(f"/console/forwarders/{forwarder['id']}")
    start = late.created - timedelta(minutes=1)
    end = late.created + timedelta(minutes=1)
    replay = await browser.post(
        f"/console/forwarders/{forwarder['id']}/replay-range",
        data={"csrf": csrf_of(letters), "start": start.isoformat(), "end": end.isoformat()},
    )
    assert replay.status_code == 303 and replay.headers["location"].endswith("replayed=1")
    assert (await admin.get_event(early.id)).state == "dead"
    assert (await admin.get_event(late.id)).state != "dead"
    [entry] = await services.audit.list(action="events.replay")
    assert entry.details is not None and entry.details["replayed"] == 1

    backwards = await browser.post(
        f"/console/forwarders/{forwarder['id']}/replay-range",
        data={"csrf": csrf_of(letters), "start": end.isoformat(), "end": start.isoformat()},
    )
    assert backwards.status_code == 400 and "end" in backwards.text


async def test_a_selection_of_dead_letters_is_replayed_and_the_rest_stays_dead(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    services: Services,
    make_forwarder: Any,
    admin: ForwarderService,
    worker: Worker,
    receiver: Receiver,
) -> None:
    forwarder = await make_forwarder("chosen")
    receiver.plan("chosen", 400, 400, 400)
    events = [await admin.send_test_event(forwarder["id"]) for _ in range(3)]
    await worker.run_until_empty()
    await sign_in(*admin_secret)
    letters = await browser.get(f"/console/forwarders/{forwarder['id']}")
    chosen = [events[0].id, events[2].id]
    replay = await browser.post(
        f"/console/forwarders/{forwarder['id']}/replay-selection",
        data={"csrf": csrf_of(letters), "event": chosen},
    )
    assert replay.status_code == 303 and replay.headers["location"].endswith("replayed=2")
    states = [(await admin.get_event(e.id)).state for e in events]
    assert states[1] == "dead" and "dead" not in (states[0], states[2])
    audited = {e.target for e in await services.audit.list(action="event.replay")}
    assert audited == set(chosen)
    nothing = await browser.post(
        f"/console/forwarders/{forwarder['id']}/replay-selection", data={"csrf": csrf_of(letters)}
    )
    assert nothing.status_code == 400 and "event" in nothing.text


async def test_an_event_of_another_forwarder_is_neither_shown_nor_replayed_here(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    make_forwarder: Any,
    admin: ForwarderService,
    worker: Worker,
    receiver: Receiver,
) -> None:
    mine, theirs = await make_forwarder("mine"), await make_forwarder("theirs")
    receiver.plan("theirs", 400)
    other = await admin.send_test_event(theirs["id"])
    await worker.run_until_empty()
    await sign_in(*admin_secret)
    page = await browser.get(f"/console/forwarders/{mine['id']}/events/{other.id}")
    assert page.status_code == 404
    letters = await browser.get(f"/console/forwarders/{mine['id']}")
    replay = await browser.post(
        f"/console/forwarders/{mine['id']}/replay-selection",
        data={"csrf": csrf_of(letters), "event": other.id},
    )
    assert replay.status_code == 404
    assert (await admin.get_event(other.id)).state == "dead"


async def test_an_events_page_lists_every_attempt_with_its_status(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    make_forwarder: Any,
    admin: ForwarderService,
    worker: Worker,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    forwarder = await make_forwarder("tried")
    receiver.plan("tried", 500)
    event = await admin.send_test_event(forwarder["id"])
    await worker.run_until_empty()
    clock.advance(3600)  # past the retry's due time
    await worker.run_until_empty()
    assert (await admin.get_event(event.id)).state == "delivered"
    await sign_in(*admin_secret)
    listing = await browser.get(f"/console/forwarders/{forwarder['id']}")
    assert f"/console/forwarders/{forwarder['id']}/events/{event.id}" in listing.text
    page = await browser.get(f"/console/forwarders/{forwarder['id']}/events/{event.id}")
    assert page.status_code == 200
    assert page.text.count('class="attempt-status"') == 2
    assert '<td class="attempt-status">500</td>' in page.text
    assert '<td class="attempt-status">200</td>' in page.text
