"""The web front end: pages, the JSON API, the Prometheus exporter and /healthz on one server."""
