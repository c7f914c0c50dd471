"""Benchmarks and their figures against the goals of issue 7: `python -m bench`.

With BENCH_CODE=DIR in the environment, `bot` is imported from DIR/bot instead of this tree
(how BENCHMARKS.md measures the code before a change, in the same run as after it).
"""

import os
import sys

if os.environ.get("BENCH_CODE"):
    sys.path.insert(0, os.environ["BENCH_CODE"])
