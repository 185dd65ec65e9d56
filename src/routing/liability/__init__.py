"""Liability context: which region pays for a contact, how much, and what the patient pays."""
