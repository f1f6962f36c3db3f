"""The forwarders pages: health, dead letters, and a replay delivered to a real receiver."""

from __future__ import annotations

from typing import Any

import httpx

from forwarders.service import ForwarderService
from forwarders.worker import Worker
from lrs.services import Services
from tests.console.conftest import SignIn, csrf_of
from tests.forwarders.conftest import FakeClock
from tests.forwarders.receiver import Receiver


async def test_a_dead_letter_replayed_from_the_console_is_delivered(
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
    forwarder = await make_forwarder("console-hook")
    receiver.plan("console-hook", 400)
    event = await admin.send_test_event(forwarder["id"])
    await worker.run_until_empty()
    assert (await admin.get_event(event.id)).state == "dead"
    await sign_in(*admin_secret)

    listing = await browser.get("/console/forwarders")
    assert 'href="/console/forwarders/' + forwarder["id"] + '"' in listing.text
    overview = await browser.get("/console/")
    assert '<dd id="dead-letters">1</dd>' in overview.text
    letters = await browser.get(f"/console/forwarders/{forwarder['id']}")
    assert event.id in letters.text
    replay = await browser.post(
        f"/console/forwarders/{forwarder['id']}/events/{event.id}/replay",
        data={"csrf": csrf_of(letters)},
    )
    assert replay.status_code == 303

    clock.sync()
    assert await worker.run_until_empty() == 1
    assert (await admin.get_event(event.id)).state == "delivered"
    deliveries = receiver.on("console-hook")
    assert [d.id for d in deliveries] == [event.id, event.id]
    assert deliveries[-1].verified is True
    [entry] = await services.audit.list(action="event.replay")
    assert (entry.actor, entry.target) == (admin_secret[0], event.id)


async def test_replaying_every_dead_letter_of_a_forwarder(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    make_forwarder: Any,
    admin: ForwarderService,
    worker: Worker,
    receiver: Receiver,
) -> None:
    forwarder = await make_forwarder("console-all")
    receiver.plan("console-all", 400, 400)
    for _ in range(2):
        await admin.send_test_event(forwarder["id"])
    await worker.run_until_empty()
    await sign_in(*admin_secret)
    letters = await browser.get(f"/console/forwarders/{forwarder['id']}")
    replay = await browser.post(
        f"/console/forwarders/{forwarder['id']}/replay", data={"csrf": csrf_of(letters)}
    )
    assert replay.headers["location"].endswith("?replayed=2")
    assert await admin.list_events(forwarder_id=forwarder["id"], state="dead") == []


async def test_an_unknown_forwarder_gets_404(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    assert (await browser.get("/console/forwarders/nope")).status_code == 404


async def test_the_audit_log_page_lists_entries_filtered_by_action(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(admin_secret[0], "wrong")
    await sign_in(*admin_secret)
    page = await browser.get("/console/audit", params={"action": "auth.failed"})
    assert page.status_code == 200
    assert "<td>auth.failed</td>" in page.text
    assert "<td>console.signed_in</td>" not in page.text
    everything = await browser.get("/console/audit")
    assert "<td>console.signed_in</td>" in everything.text
