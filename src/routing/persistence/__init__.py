"""The event store's own parts, below the contexts: recorders for the three backends, the
cipher, the transcoder and correlating mapper, the audit hash chain, WAL checkpoints and
re-keying. Opening the store (``routing.store``) and the relay's progress sit above the
application service, which uses these."""
