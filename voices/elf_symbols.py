"""Read symbol values from an ELF64 shared library's symbol table (no dependencies).

Used to find the few function-local static variables in libespeak-ng that carry
state from one utterance to the next (see voices.espeak_engine): they are not
exported, but the wheel's library keeps its full symbol table.
"""

from __future__ import annotations

import struct
from pathlib import Path

_SHT_SYMTAB, _SHT_DYNSYM = 2, 11
_SECTION = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr
_SYMBOL = struct.Struct("<IBBHQQ")  # Elf64_Sym


def symbol_values(path: str | Path, names: set[str], prefixes: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """{symbol name: (st_value, st_size)} for symbols named in `names` or starting with one of
    `prefixes` (a compiler names a function-local static `name.NNNN`). Empty when
    the file is not a little-endian ELF64 or has no symbol table."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return {}
    section_offset = struct.unpack_from("<Q", data, 0x28)[0]
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    sections = [_SECTION.unpack_from(data, section_offset + i * entry_size) for i in range(count)]
    found: dict[str, tuple[int, int]] = {}
    for _, kind, _, _, offset, size, link, _, _, sym_size in sections:
        if kind not in (_SHT_SYMTAB, _SHT_DYNSYM) or not sym_size:
            continue
        strings_offset = sections[link][4]
        for start in range(offset, offset + size, sym_size):
            name_index, _, _, _, value, size = _SYMBOL.unpack_from(data, start)
            end = data.index(b"\0", strings_offset + name_index)
            name = data[strings_offset + name_index : end].decode("ascii", "replace")
            if value and (name in names or name.startswith(prefixes)):
                found.setdefault(name, (value, size))
    return found
