"""Forwarding: statement -> completion event -> rendering -> signed, durable delivery.

Pure: `rules` (forwarder config and matching), `events` (statement -> event -> payload),
`signing` (Standard Webhooks), `schedule` (retry delays), `outcome` (response -> next step),
`urls` (SSRF guard). I/O: `store` (forwarders), `jobs` (the event queue), `discovery`
(change stream + seq backfill), `delivery` (one signed POST), `worker`, `service` (admin API).
"""
