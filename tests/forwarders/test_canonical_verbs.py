"""Forwarders match on the canonical verb (`statements.vocabulary`): every provider's alias
of a word reaches a forwarder that names the word or any IRI of it, and a statement whose
result contradicts the word reaches none."""

from __future__ import annotations

from forwarders.rules import Forwarder, matches, verb_iris, wanted_verbs
from statements.vocabulary import default_vocabulary, extend, parse_vocabulary
from tests.forwarders.conftest import ADL
from tests.forwarders.test_delivery import post

W3ID = "https://w3id.org/xapi/adl/verbs/"
COMPLETED_ALIASES = (
    ADL + "completed",
    W3ID + "completed",
    "http://activitystrea.ms/schema/1.0/complete",
    "http://activitystrea.ms/complete",
)


def forwarder(**fields) -> Forwarder:
    return Forwarder(id="f1", name="f", url="https://example.com/hook", **fields)


def verb(iri: str) -> dict[str, str]:
    return {"id": iri}


def test_an_adl_rule_takes_every_alias_of_completed(make_statement):
    for iri in COMPLETED_ALIASES:
        assert matches(forwarder(), make_statement(verb=verb(iri))), iri


def test_a_rule_may_name_the_plain_word(make_statement):
    plain = forwarder(verbs=("completed",))
    for iri in COMPLETED_ALIASES:
        assert matches(plain, make_statement(verb=verb(iri))), iri
    assert not matches(plain, make_statement(verb=verb(ADL + "passed")))


def test_a_contradicting_result_is_not_a_completion(make_statement):
    not_completed = {"completion": False}
    for iri in COMPLETED_ALIASES:
        statement = make_statement(verb=verb(iri), result=not_completed)
        assert not matches(forwarder(), statement), iri
        assert not matches(forwarder(verbs=("completed",)), statement), iri
    failed_but_passed = make_statement(verb=verb(ADL + "failed"), result={"success": True})
    assert not matches(forwarder(verbs=(ADL + "failed",)), failed_but_passed)


def test_an_unaliased_verb_iri_still_matches_itself_only(make_statement):
    launched = "http://example.com/verbs/launched"
    rule = forwarder(verbs=(launched,))
    assert matches(rule, make_statement(verb=verb(launched)))
    assert not matches(rule, make_statement())
    assert wanted_verbs(rule, default_vocabulary()) == {launched}


def test_the_verb_keys_discovery_reads_are_every_alias_of_the_wanted_words():
    vocabulary = default_vocabulary()
    iris = verb_iris(wanted_verbs(forwarder(), vocabulary), vocabulary)
    assert set(COMPLETED_ALIASES) <= iris
    assert {ADL + "passed", W3ID + "passed"} <= iris
    assert ADL + "failed" not in iris


def test_an_operator_alias_reaches_the_forwarder(make_statement):
    finished = "http://example.com/verbs/finished"
    extension = parse_vocabulary({"version": "ops-1", "aliases": {"completed": [finished]}})
    vocabulary = extend(default_vocabulary(), extension)
    statement = make_statement(verb=verb(finished))
    assert matches(forwarder(), statement, vocabulary)
    assert not matches(forwarder(), statement)  # the packaged vocabulary knows no such alias


async def test_w3id_adl_and_activity_streams_completions_are_all_forwarded(
    client, make_statement, make_forwarder, worker, receiver
):
    await make_forwarder("hook")  # the default rule: ADL completed and passed IRIs
    forwarded = await post(client, *(make_statement(verb=verb(i)) for i in COMPLETED_ALIASES))
    [contradicted] = await post(
        client, make_statement(verb=verb(W3ID + "completed"), result={"completion": False})
    )
    assert await worker.run_until_empty() == len(COMPLETED_ALIASES)
    sent = {d.payload["data"]["statement_id"] for d in receiver.on("hook")}
    assert sent == set(forwarded)
    assert contradicted not in sent
    # every provider's completion is the same event type for the receiver
    assert {d.payload["type"] for d in receiver.on("hook")} == {"learning.completed"}


async def test_a_forwarder_naming_the_word_gets_every_provider(
    client, make_statement, make_forwarder, worker, receiver
):
    await make_forwarder("hook", verbs=["completed"])
    forwarded = await post(client, *(make_statement(verb=verb(i)) for i in COMPLETED_ALIASES))
    await post(client, make_statement(verb=verb(ADL + "passed")))
    assert await worker.run_until_empty() == len(COMPLETED_ALIASES)
    assert {d.payload["data"]["statement_id"] for d in receiver.on("hook")} == set(forwarded)


async def test_reconciliation_counts_every_alias(client, make_statement, make_forwarder, admin):
    created = await make_forwarder("hook")
    await post(client, *(make_statement(verb=verb(i)) for i in COMPLETED_ALIASES))
    forwarder = await admin.find(created["id"])
    report = await admin_reconcile(admin, forwarder)
    assert report.qualifying == len(COMPLETED_ALIASES)
    assert report.outcomes["missing"].count == len(COMPLETED_ALIASES)


async def admin_reconcile(admin, forwarder):
    from datetime import timedelta

    from forwarders.reconcile import Reconciler

    reconciler = Reconciler(admin.pipeline, clock=admin.clock)
    since = forwarder.created - timedelta(seconds=1)
    return await reconciler.reconcile(forwarder, since, admin.clock() + timedelta(seconds=60))
