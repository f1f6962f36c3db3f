"""Parts: bounded size, at least one row each, checksums of what reached the disk."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime

from exports.files import Parts, csv_line, csv_lines
from exports.source import cutoff_ms, settled_bounds
from lrs.storage.sequence import MS_SHIFT
from statements.types import StatementQuery


def test_rows_split_at_the_size_bound_and_an_oversized_row_gets_a_part_alone(tmp_path):
    parts = Parts(tmp_path, "ndjson", max_bytes=10)
    parts.write_lines([b"aaaa\n", b"bbbb\n", b"cccc\n"])
    parts.write_lines([b"x" * 30 + b"\n", b"dd\n"])
    files = parts.close()
    assert [f.rows for f in files] == [2, 1, 1, 1]
    contents = [gzip.decompress((tmp_path / f.name).read_bytes()) for f in files]
    assert contents == [b"aaaa\nbbbb\n", b"cccc\n", b"x" * 30 + b"\n", b"dd\n"]
    for entry in files:
        data = (tmp_path / entry.name).read_bytes()
        assert entry.bytes == len(data) and entry.sha256 == hashlib.sha256(data).hexdigest()


def test_csv_parts_each_start_with_the_header(tmp_path):
    parts = Parts(tmp_path, "csv", max_bytes=6, header=b"h\r\n")
    parts.write_lines([b"1234\r\n", b"5678\r\n"])
    files = parts.close()
    assert [gzip.decompress((tmp_path / f.name).read_bytes()) for f in files] == [
        b"h\r\n1234\r\n",
        b"h\r\n5678\r\n",
    ]


def test_nothing_written_means_no_files(tmp_path):
    assert Parts(tmp_path, "ndjson", max_bytes=10).close() == []


def test_the_cursor_is_the_settled_bound_even_where_no_statement_sits():
    bounds = settled_bounds(StatementQuery(ascending=True), cutoff_ms=5000)
    assert bounds.cursor == (5001 << MS_SHIFT) - 1
    assert bounds.query.until == datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC)


def test_a_user_until_earlier_than_the_cutoff_wins_and_the_cursor_never_moves_back():
    until = datetime(1970, 1, 1, 0, 0, 1, 500_000, tzinfo=UTC)
    bounds = settled_bounds(StatementQuery(until=until, after=9 << 40), cutoff_ms=5000)
    assert bounds.query.until == until
    assert bounds.cursor == 9 << 40


def test_the_cutoff_is_behind_now_by_the_settle_time_and_before_writes_in_flight():
    now = datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert cutoff_ms(now, 2.0, None) == 8000
    assert cutoff_ms(now, 0.0, None) == 9999  # never the current millisecond
    assert cutoff_ms(now, 0.0, lambda: 4000) == 4000


def test_csv_lines_are_cut_per_record_even_across_a_quoted_line_break() -> None:
    lines = csv_lines([["a", "one\r\ntwo"], ["b", 'say "hi"'], ["c", ""]])
    assert lines == [b'a,"one\r\ntwo"\r\n', b'b,"say ""hi"""\r\n', b"c,\r\n"]
    assert csv_line(["a", "one\r\ntwo"]) == lines[0]
