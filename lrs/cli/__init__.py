"""The `lrs` command, one module per command family.

`main` builds the parser and runs `serve`, `credentials`, `forwarders` and `worker`; the
families with more options live beside it: `forwarders_tools` (reconcile, preview),
`templates` (mapping-template options), `identities`, `data` (erase, retention) and
`demo_receiver` (a local webhook receiver that verifies signatures).
"""
