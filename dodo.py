"""doit entry point: the task graph lives in sse.run.pipeline (`doit list` shows the stages).

Environment: SSE_TASKS (glob of task YAML, default tasks/python-to-rust.yaml),
SSE_MODELS (comma list), SSE_RUNS, SSE_OUTPUT (default reports), SSE_CACHE_DIR.
"""

from sse.run.pipeline import DOIT_CONFIG, doit_tasks

globals().update(doit_tasks())
__all__ = ["DOIT_CONFIG"]
