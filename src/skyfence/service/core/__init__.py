"""Service infrastructure: settings, database and migrations, security, errors, middleware, limits, metrics."""
