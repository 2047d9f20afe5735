"""Write the files of docs/library.md (each code block after a ``<!-- file: PATH -->`` line)
into a directory, as a reader following the guide would.

    python guide.py docs/library.md DIRECTORY
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

BLOCK = re.compile(r"^<!-- file: (?P<path>\S+) -->\n```[a-z]*\n(?P<body>.*?)^```$", re.M | re.S)


def main(guide: Path, directory: Path) -> int:
    written = 0
    for match in BLOCK.finditer(guide.read_text()):
        target = directory / match["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(match["body"])
        print(f"wrote {target}")
        written += 1
    if not written:
        print(f"{guide}: no <!-- file: PATH --> blocks", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
