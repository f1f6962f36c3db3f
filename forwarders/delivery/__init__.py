"""Delivery: one signed POST of a stored payload, and what its answer means.

`send` (the HTTP client and one attempt: sign, POST, read an excerpt), `ssrf` (the guard that
refuses private and link-local addresses at connect time), `signing` (Standard Webhooks
signatures), `outcome` (response -> delivered, retry later, endpoint gone, dead) and
`schedule` (the retry delays). Nothing here renders a payload or touches the database.
"""
