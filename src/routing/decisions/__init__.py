"""Routing decisions: what a front-end should do before or during a contact, and why."""
