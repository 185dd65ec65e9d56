"""Performance benchmarks of the routing service (see README.md)."""
