"""Appends a custom section to a WebAssembly component: `append_custom_section.py IN NAME DATA OUT`.

The section goes at the component's top level, after every other section, where the host's
manifest reader finds it as it would one inside a core module (host/src/manifest.rs). The format
(the component model's binary format, as a core module's): id 0, the size of what follows as a
LEB128 u32, the name as a LEB128 length and UTF-8 bytes, then the data.
Python's standard library only, so that any python3 can run it.
"""

import sys

COMPONENT_PREAMBLE = b"\0asm\x0d\x00\x01\x00"
MAX_U32 = 2**32 - 1


def leb128_u32(value: int) -> bytes:
    if not 0 <= value <= MAX_U32:
        raise ValueError(f"{value} does not fit a u32")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def custom_section(name: str, data: bytes) -> bytes:
    encoded = name.encode("utf-8")
    body = leb128_u32(len(encoded)) + encoded + data
    return b"\x00" + leb128_u32(len(body)) + body


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(f"usage: {argv[0]} IN NAME DATA-FILE OUT", file=sys.stderr)
        return 2
    source, name, data_file, out = argv[1:]
    with open(source, "rb") as f:
        component = f.read()
    if not component.startswith(COMPONENT_PREAMBLE):
        print(f"{source}: not a WebAssembly component (no component preamble)", file=sys.stderr)
        return 1
    with open(data_file, "rb") as f:
        data = f.read()
    with open(out, "wb") as f:
        f.write(component + custom_section(name, data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
