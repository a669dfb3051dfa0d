"""Server processes starting together agree on one content key (issue 10, item 10).

``ohsc serve --workers 2`` on a fresh data directory: both workers created the content key at
once, and the second read the first one's file before anything was written to it ("content
key file ... is damaged"), so one worker died at start and was started again under load.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ohsc.media.blobs import load_or_create_key


def _start_together(key_file: Path, starters: int) -> tuple[list[bytes], list[BaseException]]:
    barrier = threading.Barrier(starters)
    keys: list[bytes] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            keys.append(load_or_create_key(None, key_file))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return keys, errors


def test_starting_together_gives_every_starter_the_same_key(tmp_path: Path) -> None:
    for round_ in range(30):
        key_file = tmp_path / f"home{round_}" / "content.key"
        keys, errors = _start_together(key_file, 12)
        assert not errors, errors[0]
        assert len(keys) == 12 and len(set(keys)) == 1
        assert load_or_create_key(None, key_file) == keys[0]
        assert len(list(key_file.parent.iterdir())) == 1  # no temporary files left behind
