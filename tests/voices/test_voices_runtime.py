"""CPU settings of the neural voices, and the ELF reader the espeak reset relies on."""

from __future__ import annotations

import os

import pytest

from voices.elf_symbols import symbol_values
from voices.runtime import onnx_session_options, usable_cores


def test_usable_cores_follow_the_affinity_mask():
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert usable_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("threads,expected", [(None, usable_cores()), (1, 1), (3, 3)])
def test_onnx_options_threads_and_spinning(threads, expected):
    options = onnx_session_options(threads)
    assert options.intra_op_num_threads == expected
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    quiet = onnx_session_options(threads, spin=False)
    assert quiet.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert quiet.get_session_config_entry("session.inter_op.allow_spinning") == "0"


def test_piper_session_uses_them(piper_engine):
    options = piper_engine._voice.session.get_session_options()
    assert options.intra_op_num_threads == usable_cores()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_elf_symbols_of_the_espeak_library():
    espeakng_loader = pytest.importorskip("espeakng_loader")
    found = symbol_values(espeakng_loader.get_library_path(), {"espeak_Initialize", "espeak_Synth"}, ("Flutter_ix.",))
    assert {"espeak_Initialize", "espeak_Synth"} <= found.keys()
    (flutter,) = [size for name, (_, size) in found.items() if name.startswith("Flutter_ix.")]
    assert flutter == 4  # a C int


def test_elf_symbols_of_something_else_is_empty(tmp_path):
    path = tmp_path / "not-elf.so"
    path.write_bytes(b"#!/bin/sh\n" * 10)
    assert symbol_values(path, {"main"}) == {}
