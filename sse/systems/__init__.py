"""One adapter per kind of system; see sse.systems.base for the protocol."""

from sse.systems.base import Adapter, build_adapter, register_kind
from sse.task.spec import Decoding, Prompt, SystemSpec

__all__ = ["Adapter", "Decoding", "Prompt", "SystemSpec", "build_adapter", "register_kind"]
