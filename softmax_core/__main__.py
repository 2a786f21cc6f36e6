"""``python -m softmax_core`` (the ``softmax-lab`` command): see cli/__init__.py."""

from softmax_core.cli import run_main

run_main()
