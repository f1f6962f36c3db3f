"""Mapping templates: how a marketplace or CRM forwarder turns an event into its payload.

`template` (loading a CSV template, rendering a payload for an event and a person),
`paths` (source paths into the event, statement and person), `transforms` (the named
transforms a template row applies), `datatypes` (coercion to the target types) and
`templates/` (the built-in templates). Pure: the pipeline calls it once per event.
"""
