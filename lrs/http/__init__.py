"""What every HTTP request passes through before a resource sees it, outermost first.

`edge` (the request id, the security headers, one access-log line and the HTTP metrics per
request), `cors`, then `admission` (the alternate request syntax, the xAPI version headers,
authentication and per-credential rate limits, and a JSON 500 for an unexpected exception).
`lrs.app` orders them.
"""
