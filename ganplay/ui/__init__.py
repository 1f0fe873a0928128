"""The PySide6 window. Importing this package loads no torch: the engine starts in the training
process (or thread) after the window is on screen."""
