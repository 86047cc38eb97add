"""Files and waits: atomic writes, locks, the content-addressed cache, paths and user paths, YAML
loading, and stops from outside (SIGINT, SIGTERM)."""
