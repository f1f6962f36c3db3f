"""Exports for analytics platforms: NDJSON, CSV and Parquet files with a checksummed manifest.

Pure: `spec` (what to export), `columns` (CSV flattening and spreadsheet safety),
`vocabulary` (the canonical verb column), `parquet_schema`, `manifest`.
I/O: `source` (statements in stored order through the statement store), `files` (bounded,
checksummed output files), `run` (one export), `verify`, `jobs` (the admin job collection).
"""
