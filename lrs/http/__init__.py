"""What every HTTP request passes through before a resource sees it, outermost first.

`access_log` (one log line and the HTTP metrics per request), `cors`, `middleware` (request
id, xAPI version header), `ratelimit` (per-credential limits) and `alternate_syntax` (xAPI's
alternate request syntax, turned into an ordinary request). `lrs.app` orders them.
"""
