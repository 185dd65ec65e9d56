"""The care-episode bounded context: event catalogue, journey rules, aggregate, service."""
