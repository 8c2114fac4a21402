"""The worker's entry: `python <this directory> <JSON config>`.

Python runs a directory's __main__.py with that directory first on sys.path, where our
modules would be importable under generic top-level names (`zygote`, `child`...): the
package is imported as torl_worker.* from its parent directory instead, and neither
directory stays on the path the snippets inherit. Nothing is written next to the
sources (no __pycache__), as when the worker was one script.
"""
import os
import sys

here = sys.path.pop(0)
sys.path.insert(0, os.path.dirname(os.path.abspath(here)))
write_bytecode = sys.dont_write_bytecode
sys.dont_write_bytecode = True
from torl_worker.worker import main  # noqa: E402
sys.dont_write_bytecode = write_bytecode
del sys.path[0]

main()
