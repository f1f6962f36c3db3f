"""The prefixed filter keys stored with each statement and asked for by each query."""

from __future__ import annotations

from lrs.storage.statement_keys import (
    ALL,
    alternatives,
    filter_keys,
    index_from_keys,
    pair_keys,
    query_keys,
    rekeyed,
    statement_keys,
)
from statements.types import StatementIndex, StatementQuery

INDEX = StatementIndex(
    verbs=("http://v",),
    agents=("mbox::mailto:a@x.com",),
    related_agents=("mbox::mailto:a@x.com", "account::http://lrs::k"),
    activities=("http://act",),
    related_activities=("http://act", "http://parent"),
    registrations=("r-1",),
    voids=None,
)


def test_statement_keys_hold_every_filter_value_once_with_its_prefix():
    keys = statement_keys(INDEX, authority_key="auth", ref="target")
    assert keys[0] == ALL
    assert "v:http://v" in keys and "a:mbox::mailto:a@x.com" in keys
    assert "T:http://parent" in keys and "r:r-1" in keys
    assert "u:auth" in keys and "s:target" in keys


def test_index_round_trips_through_keys_without_authority_or_ref():
    keys = statement_keys(INDEX, authority_key="auth", ref="target")
    assert index_from_keys(keys) == INDEX


def test_filter_keys_leave_out_the_catch_all():
    assert ALL not in filter_keys(INDEX)


def test_query_keys_put_the_most_selective_filter_first():
    query = StatementQuery(activity="http://t", registration="r-1")
    assert query_keys(query, None) == ["r:r-1", "t:http://t"]


def test_statements_carry_every_pair_of_plain_agent_verb_and_activity():
    assert set(pair_keys(INDEX)) == {
        "va:http://v mbox::mailto:a@x.com",
        "ta:http://act mbox::mailto:a@x.com",
        "vt:http://v http://act",
    }
    assert set(pair_keys(INDEX)) <= set(statement_keys(INDEX, authority_key=None, ref=None))


def test_pairs_multiply_out_every_value():
    index = StatementIndex(("v1", "v2"), ("a1", "a2"), (), ("t1",), (), (), None)
    assert len(pair_keys(index)) == 2 * 2 + 1 * 2 + 2 * 1


def test_two_plain_filters_are_asked_for_as_their_pair():
    assert query_keys(StatementQuery(verb="http://v", agent="ag"), None) == ["va:http://v ag"]
    assert query_keys(StatementQuery(activity="http://t", agent="ag"), None) == ["ta:http://t ag"]
    assert query_keys(StatementQuery(verb="http://v", activity="http://t"), None) == [
        "vt:http://v http://t"
    ]


def test_three_plain_filters_read_the_agent_activity_pair_and_check_the_verb():
    query = StatementQuery(verb="http://v", activity="http://t", agent="ag", registration="r")
    assert query_keys(query, "me") == ["r:r", "ta:http://t ag", "v:http://v", "u:me"]


def test_a_related_filter_is_never_paired():
    query = StatementQuery(verb="http://v", agent="ag", related_agents=True)
    assert query_keys(query, None) == ["A:ag", "v:http://v"]
    query = StatementQuery(verb="http://v", activity="http://t", related_activities=True)
    assert query_keys(query, None) == ["T:http://t", "v:http://v"]
    query = StatementQuery(agent="ag", activity="http://t", related_activities=True)
    assert query_keys(query, None) == ["a:ag", "T:http://t"]


def test_related_filters_use_the_related_keys():
    query = StatementQuery(agent="ag", related_agents=True, activity="x", related_activities=True)
    assert query_keys(query, None) == ["A:ag", "T:x"]


def test_unfiltered_query_reads_the_catch_all_and_mine_reads_the_authority():
    assert query_keys(StatementQuery(), None) == [ALL]
    assert query_keys(StatementQuery(), "me") == ["u:me"]


def test_attachment_contents_are_keys_too():
    keys = statement_keys(INDEX, authority_key=None, ref=None, attachments=["abc"])
    assert "h:abc" in keys
    assert index_from_keys(keys) == INDEX


def test_rekeyed_replaces_filter_keys_renames_authority_and_keeps_the_rest():
    old = statement_keys(INDEX, authority_key="mbox::mailto:a@x.com", ref="target")
    new_index = StatementIndex(("http://v",), (), ("account::h::p",), (), (), (), None)
    keys = rekeyed(
        old, new_index, authorities={"mbox::mailto:a@x.com": "account::h::p"}, attachments=["f"]
    )
    assert sorted(keys) == sorted(
        [ALL, "v:http://v", "A:account::h::p", "u:account::h::p", "s:target", "h:f"]
    )


def test_rekeyed_drops_the_pairs_of_the_old_values_and_adds_the_new_ones():
    old = statement_keys(INDEX, authority_key=None, ref=None)
    new_index = StatementIndex(("http://v",), ("account::h::p",), (), ("http://act",), (), (), None)
    keys = rekeyed(old, new_index, authorities={})
    assert not any("mailto:a@x.com" in key for key in keys)
    assert "va:http://v account::h::p" in keys and "vt:http://v http://act" in keys


def test_while_stored_statements_lack_pairs_queries_ask_for_single_keys():
    query = StatementQuery(verb="http://v", agent="ag", activity="http://t")
    assert query_keys(query, None, pairs=False) == ["a:ag", "t:http://t", "v:http://v"]


def test_a_related_key_does_not_repeat_a_value_its_plain_key_holds():
    keys = statement_keys(INDEX, authority_key="auth", ref=None)
    assert "A:mbox::mailto:a@x.com" not in keys and "a:mbox::mailto:a@x.com" in keys
    assert "T:http://act" not in keys and "t:http://act" in keys
    assert "A:account::http://lrs::k" in keys and "T:http://parent" in keys


def test_a_related_query_key_is_satisfied_by_the_plain_key_of_its_value():
    assert alternatives("A:ag") == ("A:ag", "a:ag")
    assert alternatives("T:http://t") == ("T:http://t", "t:http://t")
    assert alternatives("a:ag") == ("a:ag",) and alternatives("va:v ag") == ("va:v ag",)


def test_a_stored_index_written_with_repeated_related_keys_reads_back_the_same():
    older = [*statement_keys(INDEX, authority_key=None, ref=None), "A:mbox::mailto:a@x.com"]
    assert index_from_keys(older) == INDEX
