"""Content sent to the service: hash, match, decide, record, queue for review; media retention."""
