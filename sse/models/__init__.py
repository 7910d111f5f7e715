"""One adapter per kind of system; see sse.models.base for the protocol."""

from sse.models.base import Adapter, Decoding, Prompt, SystemSpec, build_adapter, register_kind

__all__ = ["Adapter", "Decoding", "Prompt", "SystemSpec", "build_adapter", "register_kind"]
