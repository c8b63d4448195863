"""Admin processes (factor 12): one-off and scheduled jobs, each its own function and role."""
