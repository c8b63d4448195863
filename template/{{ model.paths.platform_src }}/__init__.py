"""Shared platform code: settings, logging, HTTP plumbing and backing-service adapters."""
