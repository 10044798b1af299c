from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_open_files_limit_is_raised_towards_the_hard_limit() -> None:
    # In a child process, so this test's own limits stay as they were.
    script = textwrap.dedent(
        """
        import resource
        from bot.app import raise_open_files_limit
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        got = raise_open_files_limit(4096)
        print(got, resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    got, soft, hard = (int(x) for x in out)
    expected = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    assert got == soft == expected
