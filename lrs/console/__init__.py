"""The operator console under /console: server-rendered pages over the services the APIs use.

Pages call the same services as the HTTP APIs (the credential store and limiter through
`lrs.auth.gate`, the statement store's query, `lrs.ingest` for voiding, `CredentialAdmin`),
so no rule is implemented twice. Sessions live in `console_sessions`, which this package
alone owns.
"""
