"""PostgreSQL: connections in the deployment's schema, the batch sink, the SQL migrations."""
