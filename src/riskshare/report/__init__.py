"""Reports of a run: report.json, allocation.csv, report.md, figures, terminal summaries.

The report layer reads results; it computes nothing of the mechanism. See
``docs/report.md`` for every file and field.
"""

from ._document import FORMAT_VERSION, build_report
from ._markdown import describe_utility, render_markdown
from ._summary import summary_json, summary_text
from ._tables import ALLOCATION_COLUMNS
from ._writer import SPEC_COPY, SubPoolPicture, copy_inputs, write_run

__all__ = [
    "FORMAT_VERSION",
    "ALLOCATION_COLUMNS",
    "SPEC_COPY",
    "SubPoolPicture",
    "build_report",
    "copy_inputs",
    "describe_utility",
    "render_markdown",
    "summary_json",
    "summary_text",
    "write_run",
]
