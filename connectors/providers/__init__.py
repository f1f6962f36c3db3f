"""One module per provider (its payloads → MeetingEvent, pure), their signatures, and the
typed field reader they share."""
