"""The pure erasure decisions: keys, pseudonyms, rewriting, and the plan."""

from __future__ import annotations

import hashlib

from statements.erasure import (
    Candidate,
    actor_is,
    erasure_keys,
    plan_erasure,
    pseudonym,
    rewrite_statement,
)
from statements.index import agent_key, derive_index

ADA = {"objectType": "Agent", "name": "Ada Lovelace", "mbox": "mailto:ada@Example.com"}
BOB = {"objectType": "Agent", "name": "Bob", "mbox": "mailto:bob@example.com"}
KEYS = erasure_keys(ADA)
P = pseudonym(KEYS, b"secret", "http://lrs.test/erased")
COMPLETED = {"id": "http://adlnet.gov/expapi/verbs/completed"}
VOIDED = {"id": "http://adlnet.gov/expapi/verbs/voided"}
COURSE = {"objectType": "Activity", "id": "http://example.com/course"}


def statement(actor, obj=COURSE, verb=COMPLETED, **extra):
    return {"actor": actor, "verb": verb, "object": obj, **extra}


def ref(target_id):
    return {"objectType": "StatementRef", "id": target_id}


def candidate(statement_id, body, voiding=False):
    obj = body["object"]
    target = obj["id"] if obj.get("objectType") == "StatementRef" else None
    return Candidate(statement_id, body, target, voiding)


def test_an_mbox_is_erased_in_its_sha1_form_too():
    sha1 = hashlib.sha1(b"mailto:ada@example.com", usedforsecurity=False).hexdigest()
    assert KEYS[0] == "mbox::mailto:ada@example.com"
    assert f"mbox_sha1sum::{sha1}" in KEYS


def test_the_pseudonym_is_stable_per_secret_and_hides_the_agent():
    again = pseudonym(KEYS, b"secret", "http://lrs.test/erased")
    other = pseudonym(KEYS, b"another secret", "http://lrs.test/erased")
    sha1_form = pseudonym(erasure_keys({"mbox_sha1sum": KEYS[1][14:]}), b"secret", "h")
    assert again == P and other != P
    assert P["account"]["homePage"] == "http://lrs.test/erased"
    assert sha1_form["account"]["name"] == P["account"]["name"]
    assert "ada@" not in str(P).lower()


def test_rewrite_replaces_every_occurrence_and_nothing_else():
    team = {"objectType": "Group", "member": [ADA, BOB]}
    sub = statement(BOB, obj=ADA, context={"instructor": ADA})
    sub["objectType"] = "SubStatement"
    original = statement(
        BOB,
        obj=sub,
        authority=ADA,
        context={
            "instructor": ADA,
            "team": team,
            "contextAgents": [{"objectType": "contextAgent", "agent": ADA}],
            "contextGroups": [{"objectType": "contextGroup", "group": team}],
            "extensions": {"http://example.com/x.y": 1},
        },
    )
    rewritten = rewrite_statement(original, KEYS, P)
    assert "ada@" not in str(rewritten).lower() and "Lovelace" not in str(rewritten)
    assert rewritten["actor"] == BOB
    assert rewritten["authority"] == P
    assert rewritten["context"]["team"]["member"] == [P, BOB]
    assert rewritten["context"]["contextAgents"][0]["agent"] == P
    assert rewritten["object"]["object"] == P
    assert rewritten["object"]["context"]["instructor"] == P
    assert rewritten["context"]["extensions"] == {"http://example.com/x.y": 1}
    assert "Ada Lovelace" in str(original)  # the input is not mutated


def test_a_group_actor_with_the_agent_as_member_is_not_the_agent():
    group = {"objectType": "Group", "name": "team", "member": [ADA, BOB]}
    assert actor_is(statement(ADA), KEYS)
    assert actor_is(statement({"mbox_sha1sum": KEYS[1].split("::")[1]}), KEYS)
    assert not actor_is(statement(group), KEYS)


def test_own_statements_are_deleted_and_mentions_pseudonymised():
    own = candidate("1", statement(ADA))
    mention = candidate("2", statement(BOB, context={"instructor": ADA}))
    in_group = candidate("3", statement({"objectType": "Group", "member": [ADA, BOB]}))
    plan = plan_erasure([own, mention, in_group], KEYS, P, {})
    assert plan.deleted == ("1",)
    assert {k.id for k in plan.pseudonymised} == {"2", "3"}
    kept = {k.id: k for k in plan.pseudonymised}
    assert kept["2"].index.related_agents == (agent_key(BOB), agent_key(P))
    assert kept["3"].statement["actor"]["member"] == [P, BOB]


def test_a_voiding_statement_goes_with_its_target_and_stays_pseudonymised_otherwise():
    target = candidate("t", statement(ADA))
    voids_own = candidate("v1", statement(ADA, obj=ref("t"), verb=VOIDED), voiding=True)
    voids_other = candidate("v2", statement(ADA, obj=ref("bobs"), verb=VOIDED), voiding=True)
    voids_absent = candidate("v3", statement(ADA, obj=ref("later"), verb=VOIDED), voiding=True)
    outside = {"bobs": derive_index(statement(BOB))}
    plan = plan_erasure([target, voids_own, voids_other, voids_absent], KEYS, P, outside)
    assert plan.deleted == ("t", "v1")
    kept = {k.id: k for k in plan.pseudonymised}
    assert set(kept) == {"v2", "v3"}
    assert kept["v2"].statement["actor"] == P
    assert kept["v2"].index.voids == "bobs"
    assert agent_key(BOB) in kept["v2"].index.agents  # inherited from its (kept) target


def test_statements_matching_only_through_a_statement_ref_are_rekeyed():
    deleted = candidate("d", statement(ADA))
    mentioned = candidate("m", statement(BOB, context={"instructor": ADA}))
    on_deleted = candidate("x", statement(BOB, obj=ref("d")))
    on_mentioned = candidate("y", statement(BOB, obj=ref("m")))
    plan = plan_erasure([deleted, mentioned, on_deleted, on_mentioned], KEYS, P, {})
    rekeyed = {k.id: k for k in plan.rekeyed}
    assert set(rekeyed) == {"x", "y"}
    assert all(k.statement is None for k in rekeyed.values())
    assert rekeyed["x"].index.related_agents == (agent_key(BOB),)
    assert rekeyed["y"].index.related_agents == (agent_key(BOB), agent_key(P))
    assert rekeyed["y"].index.activities == (COURSE["id"],)


def test_statement_ref_cycles_terminate():
    a = candidate("a", statement(BOB, obj=ref("b"), context={"instructor": ADA}))
    b = candidate("b", statement(BOB, obj=ref("a"), context={"instructor": ADA}))
    plan = plan_erasure([a, b], KEYS, P, {})
    assert {k.id for k in plan.pseudonymised} == {"a", "b"}


def test_a_rewritten_statement_drops_its_signature_but_an_untouched_one_keeps_it():
    signature = {"usageType": "http://adlnet.gov/expapi/attachments/signature", "sha2": "ab"}
    other = {"usageType": "http://example.com/usage/file", "sha2": "cd"}
    mention = statement(BOB, context={"instructor": ADA}, attachments=[signature, other])
    untouched = statement(BOB, attachments=[signature])
    assert rewrite_statement(mention, KEYS, P)["attachments"] == [other]
    assert rewrite_statement(untouched, KEYS, P) == untouched
    only_signed = statement(BOB, object=ADA, attachments=[signature])
    assert "attachments" not in rewrite_statement(only_signed, KEYS, P)
