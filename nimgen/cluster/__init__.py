"""A live cluster through the user's own kubectl: status, cleanup, migrate-deployments."""
