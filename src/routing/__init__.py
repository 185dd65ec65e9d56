"""routing: digital-first contact routing and inter-regional liability, event-sourced."""
