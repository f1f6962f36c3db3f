"""Aggregates for analysts, served from rollups kept current as statements are stored.

The flow: `contribution` (pure) says what one statement adds; `consumer` reads the stored
sequence through a `source.StatementSource` and applies contributions exactly once into the
collections `rollups` owns; `queries` answers the endpoints from those collections only;
`verify` recounts from the statements. See docs/analytics.md.
"""
