"""Operating the system: correlation ids, structured logs, metrics, health and config checks.

Infrastructure only: nothing here decides anything about care episodes or liability.
"""
