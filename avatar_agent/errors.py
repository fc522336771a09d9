"""Exception types shared across the package."""

from __future__ import annotations


class AvatarAgentError(Exception):
    """Base class for errors reported to the user as one readable line."""


class EnrollmentError(AvatarAgentError, ValueError):
    """A portrait cannot be turned into an avatar bundle (no face, too small, ...)."""


class BundleError(AvatarAgentError, ValueError):
    """An avatar bundle is missing, corrupt, or of an unsupported version."""


class ModelNotFoundError(AvatarAgentError, FileNotFoundError):
    """A model file could not be found by argument, environment variable or package."""
