"""The shared kernel: what every context (liability, necessity, guarantee, decisions, episodes)
means the same way: Swedish time, the month pattern, the proposal's date, the rule registry
every trace cites, and the refusal of a fact (``refusals``). It imports nothing from the
contexts, so each of them can import it."""
