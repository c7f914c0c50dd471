"""The worker's web face: health and metrics, the public page and feeds, the dashboard."""
