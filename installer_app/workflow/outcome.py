"""One exit code for several boards provisioned together: the worst one.

"Worst" is the order below, most urgent first: an interruption, then an unexpected failure,
then what needs a person to change something before anything can work (usage or
configuration), then a faulty or foreign board, a provider refusal, an empty inventory, and
last a binding that did not come in time (which a re-run simply resumes).
"""

from __future__ import annotations

from collections.abc import Iterable

from installer_app.errors import ExitCode

SEVERITY: tuple[int, ...] = (
    ExitCode.INTERRUPTED,
    ExitCode.FAILURE,
    ExitCode.USAGE,
    ExitCode.DEVICE,
    ExitCode.PROVIDER,
    ExitCode.NO_CREDENTIAL,
    ExitCode.TIMEOUT,
)


def worst_exit_code(codes: Iterable[int]) -> int:
    """0 when every board is done (or there were none), else the most severe code."""
    failed = [code for code in codes if code != ExitCode.OK]
    if not failed:
        return ExitCode.OK

    def rank(code: int) -> int:
        return SEVERITY.index(code) if code in SEVERITY else SEVERITY.index(ExitCode.FAILURE)

    return min(failed, key=rank)
