"""How the neural voices use the CPU.

Piper's ONNX session runs one synthesis at a time on all usable cores, operators in order.
Whether idle worker threads spin between operators was measured both ways on the 2-core machine:
quiet (load ~1), spinning gave the same CPU time (0.20 s per second of audio) and lower wall
time (RTF 0.101 against 0.122, first audio 151 ms against 181 ms), so onnxruntime's default
(spinning) is kept; under heavy load (~10) turning it off saved ~25 % CPU, which is what
`spin=False` is for.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (a container or `taskset` can allow fewer than the machine has)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def onnx_session_options(num_threads: int | None = None, *, spin: bool = True):
    """onnxruntime SessionOptions for one synthesis at a time on `num_threads` cores
    (default: all usable ones), operators run in order."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads or usable_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    for pool in ("intra_op", "inter_op"):
        options.add_session_config_entry(f"session.{pool}.allow_spinning", "1" if spin else "0")
    return options
