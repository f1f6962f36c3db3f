"""Statement forwarding: completion events delivered as signed webhooks."""
