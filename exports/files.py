"""Export files: rows go into numbered parts of bounded size, each checksummed as written.

`Parts` starts a new part when the next row would take the current one past
`max_file_bytes` of uncompressed rows (a part holds at least one row). NDJSON and CSV parts
are gzip streams whose compressed bytes pass through SHA-256 on their way to disk, so no file
is read twice; a Parquet part is hashed once, after its footer is written. Everything here is
synchronous: `exports.run` calls it in a worker thread while the next page is being read.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from exports.manifest import FileEntry

if TYPE_CHECKING:
    import pyarrow as pa

GZIP_LEVEL = 3
"""Measured on exported statements: twice as fast as level 6, for parts about 18 % larger
(level 1 is no faster and larger still)."""
READ_CHUNK = 1 << 20
SUFFIXES = {"ndjson": ".ndjson.gz", "csv": ".csv.gz", "parquet": ".parquet"}


class HashingFile(io.RawIOBase):
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]  # RawIOBase takes a Buffer; only bytes-likes reach here
        self.sha256.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)


class Part(Protocol):
    def write(self, rows: Sequence[bytes]) -> None: ...

    def close(self) -> tuple[int, str]: ...


class GzipPart:
    """One `.ndjson.gz` or `.csv.gz` file; CSV parts start with the header row."""

    def __init__(self, path: Path, header: bytes = b"") -> None:
        self._file = path.open("wb")
        self._hashing = HashingFile(self._file)
        self._gzip = gzip.GzipFile(
            filename="", mode="wb", fileobj=self._hashing, compresslevel=GZIP_LEVEL, mtime=0
        )
        if header:
            self._gzip.write(header)

    def write(self, rows: Sequence[bytes]) -> None:
        self._gzip.write(b"".join(rows))

    def close(self) -> tuple[int, str]:
        self._gzip.close()
        self._file.close()
        return self._hashing.size, self._hashing.sha256.hexdigest()


class ParquetPart:
    """One `.parquet` file; each `write` is a row group (a page of statements)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        import pyarrow.parquet as pq  # pyarrow (30 MB) only for Parquet

        from exports.parquet_schema import SCHEMA

        self._writer = pq.ParquetWriter(str(path), SCHEMA, compression="zstd")

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> tuple[int, str]:
        self._writer.close()
        return self.path.stat().st_size, file_sha256(self.path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def csv_line(cells: Sequence[str]) -> bytes:
    """One CSV record (RFC 4180 quoting, CRLF), as UTF-8."""
    return csv_lines([cells])[0]


def csv_lines(rows: Iterable[Sequence[str]]) -> list[bytes]:
    """CSV records, one per row, each as UTF-8: one writer for the lot (a writer per row
    was a tenth of an export's time), cut at the offsets it reached after each row, since a
    quoted cell may hold a line break of its own."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    ends = []
    for cells in rows:
        writer.writerow(cells)
        ends.append(buffer.tell())
    text = buffer.getvalue()
    starts = [0, *ends[:-1]]
    return [text[start:end].encode() for start, end in zip(starts, ends, strict=True)]


class Parts:
    """Numbered parts in `directory`, each at most `max_bytes` of rows, listed as written."""

    def __init__(self, directory: Path, fmt: str, max_bytes: int, header: bytes = b"") -> None:
        self.directory = directory
        self.fmt = fmt
        self.max_bytes = max_bytes
        self.header = header
        self.files: list[FileEntry] = []
        self._part: GzipPart | ParquetPart | None = None
        self._rows = 0
        self._bytes = 0

    def current(self) -> GzipPart | ParquetPart:
        if self._part is None:
            path = self.directory / self._name()
            self._part = ParquetPart(path) if self.fmt == "parquet" else GzipPart(path, self.header)
        return self._part

    def _name(self) -> str:
        return f"part-{len(self.files):05d}{SUFFIXES[self.fmt]}"

    def finish_part(self) -> None:
        if self._part is None:
            return
        size, digest = self._part.close()
        self.files.append(FileEntry(self._name(), self._rows, size, digest))
        self._part, self._rows, self._bytes = None, 0, 0

    def chunks(self, sizes: Sequence[int]) -> Iterator[tuple[int, int]]:
        """Split rows of these sizes into `[start, end)` runs, each for the current part:
        between runs the part is full and a new one starts."""
        start = 0
        while start < len(sizes):
            end, size = start, 0
            while end < len(sizes):
                full = self._bytes + size + sizes[end] > self.max_bytes
                if full and (self._rows or end > start):
                    break
                size += sizes[end]
                end += 1
            if end == start:
                self.finish_part()
                continue
            yield start, end
            self._rows += end - start
            self._bytes += size
            start = end

    def write_lines(self, lines: Sequence[bytes]) -> None:
        """NDJSON or CSV lines."""
        for start, end in self.chunks([len(line) for line in lines]):
            part = self.current()
            assert isinstance(part, GzipPart)  # noqa: S101 - text formats only reach here
            part.write(lines[start:end])

    def write_batch(self, batch: pa.RecordBatch, sizes: Sequence[int]) -> None:
        """Parquet rows; `sizes` are the statements' JSON lengths, the size bound's measure."""
        for start, end in self.chunks(sizes):
            part = self.current()
            assert isinstance(part, ParquetPart)  # noqa: S101 - parquet only reaches here
            part.write_batch(batch.slice(start, end - start))

    def close(self) -> list[FileEntry]:
        self.finish_part()
        return self.files
