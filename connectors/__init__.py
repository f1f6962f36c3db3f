"""Conferencing connectors: provider webhooks in, canonical xAPI statements out.

The flow, one module per step:

    delivery ── providers/signing.py (verify before anything is parsed)
            ── providers/zoom.py, webex.py, teams.py (the provider's shape → MeetingEvent)
            ── inbox.py (stored durably, deduplicated; then the provider gets its 2xx)
            ── processor.py (claims inbox events asynchronously)
            ── intervals.py + attendance.py (pure: merged presence → statements with
               UUIDv5 ids) ── StatementSink (declared in processor.py, implemented by `lrs`: the
               same ingest path as POST /xapi/statements)

After a meeting, `reconcile.py` (pure) compares a provider's attendance report
(providers/reports.py; Teams' fetched by providers/graph.py over an HTTP exchange `lrs`
supplies) with the stored events and plans the missing ones, which go through the inbox too.

`spec.py` checks a definition, `store.py` owns the definitions (secrets sealed with
forwarders' SecretBox), `service.py` is the facade the HTTP layer and the CLI call.
Nothing here imports `lrs` or `starlette`: `lrs` wires this package in.
"""
