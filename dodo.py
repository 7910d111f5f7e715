"""doit entry point, a thin shim: the task graph lives in sse.graph (`doit list` shows the stages).

Environment: SSE_TASKS (glob of task YAML, default tasks/python-to-rust.yaml),
SSE_MODELS (comma list), SSE_RUNS, SSE_OUTPUT (default reports), SSE_CACHE_DIR.
"""

from sse.graph import creators_for, doit_config, plan_from_env, prepare_cache

prepare_cache()
DOIT_CONFIG = doit_config()
globals().update(creators_for(plan_from_env()))
__all__ = ["DOIT_CONFIG"]
