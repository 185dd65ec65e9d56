"""Audit: history as it was known, replay, tamper evidence and policy simulation (issue 7).

For auditors: what the store knew when, whether the read models are what the events say,
whether anyone edited the event log behind the application's back, and what liability would
have been under another rulebook.
"""
