"""task layer."""
