"""Systems reached through command-line tools: `claude`, `gemini`, `llm`, `ollama`, `command`.

`adapter` holds the shared machinery (options, locality, retries, the skip decision),
`outcome` the failure vocabulary; one module per tool says how to call it and read it.
Importing this package registers the five kinds.
"""

from sse.systems.clis.adapter import CliAdapter
from sse.systems.clis.claude import ClaudeCodeAdapter
from sse.systems.clis.command import CommandAdapter
from sse.systems.clis.gemini import GeminiCliAdapter
from sse.systems.clis.llm import LlmCliAdapter
from sse.systems.clis.ollama import OllamaAdapter
from sse.systems.clis.outcome import CallResult, classify

__all__ = ["CallResult", "ClaudeCodeAdapter", "CliAdapter", "CommandAdapter", "GeminiCliAdapter", "LlmCliAdapter",
           "OllamaAdapter", "classify"]
