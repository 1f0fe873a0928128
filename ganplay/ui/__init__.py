"""The PySide6 window. Importing this package loads no torch: the engine arrives in the worker
thread after the window is on screen."""
