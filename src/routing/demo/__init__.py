"""Seeded, reproducible demo data for demos, load tests and projections."""

from routing.demo.generator import generate_episodes

__all__ = ["generate_episodes"]
