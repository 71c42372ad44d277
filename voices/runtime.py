"""How the neural voices use the CPU.

Measured on the 2-core development machine (shared with other jobs, so CPU time
rather than wall time): Piper's ONNX session with onnxruntime's defaults burns
0.27 s of CPU per second of audio, of which ~0.1 s is its worker threads
spin-waiting between operators; without spinning it is 0.20–0.22, and a single
thread 0.16–0.17. In the server the CPU is shared with ASR and other sessions, so
a spinning thread steals time from work that is waiting: spinning is off.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (a container or `taskset` can allow fewer than the machine has)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def onnx_session_options(num_threads: int | None = None):
    """onnxruntime SessionOptions for one synthesis at a time on `num_threads` cores
    (default: all usable ones), operators run in order, idle threads sleep."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads or usable_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options
