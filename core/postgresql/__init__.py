"""Django's PostgreSQL backend, with a connection pool that gets past a mass disconnection fast."""
