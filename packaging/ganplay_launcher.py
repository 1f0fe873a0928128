"""Entry point of the frozen app: the same as the ``ganplay`` command (no arguments opens the window)."""
import multiprocessing
import sys

from ganplay.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless unless something forks a helper process
    sys.exit(main())
