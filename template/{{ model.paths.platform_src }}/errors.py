"""Errors that service logic raises; the HTTP layer maps them to status codes."""


class ServiceError(Exception):
    """Base class for errors a caller can act on."""


class ValidationError(ServiceError):
    """The request is well-formed JSON but breaks a business rule (HTTP 400)."""


class NotFoundError(ServiceError):
    """The addressed record does not exist (HTTP 404)."""


class ConflictError(ServiceError):
    """The record already exists or changed meanwhile (HTTP 409)."""
