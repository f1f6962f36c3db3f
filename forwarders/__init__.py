"""Forwarding: stored statement -> event -> payload, rendered once -> signed, durable delivery.

The flow, at the top level:

- `source`: what forwarding needs from the statement store (declared here, implemented by
  `lrs`): new statements, scans by verb and stored time, reads by id.
- `rules` (the `Forwarder` and which statements it takes), `spec` (checking the admin API's
  forwarder bodies) and `events` (statement -> event, the generic payload).
- `discovery` (follows new statements, with a watermark backfill) -> `pipeline` (resolve
  the person, apply the policy, render the payload once, decide the state) -> `queue` (the
  event queue in `forwarder_events`) -> `worker` (claim -> deliver the stored payload ->
  record).
- `feed` (the completion feed), `reconcile` (what should have been sent, and where it is),
  `preview` (what would be sent), `service` (the admin API), `store` (forwarders and the
  indexes), `config` (settings), `health`, `stats`, `secretbox`, `errors`.

Steps with several modules are packages: `mapping/` (templates), `identity/` (people),
`delivery/` (one signed POST and its outcome). `forwarders` imports nothing from `lrs`.
"""
