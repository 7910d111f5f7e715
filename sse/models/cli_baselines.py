"""Adapters for kind(s) in this module register with @register_kind (filled by its issue)."""
