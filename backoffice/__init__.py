"""The agents' group: cards or forum topics, buttons, reply relay, notes, queue, digests."""
