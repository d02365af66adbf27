"""What every layer needs and that carries no HTTP: request context, metrics, domain errors."""
