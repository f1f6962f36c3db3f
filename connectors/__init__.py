"""Conferencing connectors: provider webhooks in, canonical xAPI statements out.

The flow, one module per step:

    delivery ── signing.py (verify before anything is parsed)
            ── zoom.py / webex.py (the provider's shape → MeetingEvent, pure)
            ── inbox.py (stored durably, deduplicated; then the provider gets its 2xx)
            ── processor.py (claims inbox events asynchronously)
            ── intervals.py + attendance.py (pure: merged presence → statements with
               UUIDv5 ids) ── StatementSink (declared here, implemented by `lrs`: the
               same ingest path as POST /xapi/statements)

`store.py` owns the connector definitions (secrets sealed with forwarders' SecretBox),
`service.py` is the facade the HTTP layer and the CLI call. Nothing here imports `lrs`
or `starlette`: `lrs` wires this package in.
"""
