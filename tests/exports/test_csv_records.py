"""CSV records built column by column are the bytes `csv.writer` writes, record by record."""

from __future__ import annotations

import csv
import io

from hypothesis import given, strategies as st

from exports.files import csv_records

# the characters that decide quoting, among ordinary and non-ASCII ones
CELLS = st.text(alphabet=st.sampled_from(list('a,"\r\n é=\x00\t') + ["€", "😀"]), max_size=6)


def written(rows: list[list[str]]) -> list[bytes]:
    records = []
    for row in rows:
        buffer = io.StringIO()
        csv.writer(buffer).writerow(row)
        records.append(buffer.getvalue().encode())
    return records


@given(st.integers(1, 4).flatmap(lambda n: st.lists(st.lists(CELLS, min_size=n, max_size=n))))
def test_records_and_their_sizes_are_what_csv_writer_writes(rows: list[list[str]]) -> None:
    columns = [list(column) for column in zip(*rows, strict=True)]
    data, sizes = csv_records(columns)
    expected = written(rows)
    assert data == b"".join(expected)
    assert sizes == [len(record) for record in expected]


def test_a_record_of_one_empty_field_is_quoted_as_csv_writer_quotes_it() -> None:
    assert csv_records([["", "a", ""]]) == (b'""\r\na\r\n""\r\n', [4, 3, 4])
    assert csv_records([["", "a"], ["", ""]]) == (b",\r\na,\r\n", [3, 4])
