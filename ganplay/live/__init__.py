"""The live loop, Qt-free: what runs in the training process and what it sends to the window.

- ``protocol``: the typed commands (window -> loop) and events (loop -> window);
- ``command_loop``: the dispatch shape both loops share; ``loop``: the playground's loop;
  ``compare_loop``: the compare window's loop;
- ``frames`` and ``layers``: what a frame carries, and the canvas layers as specs;
- ``transport``: the training process's end of the pipe.

See ``docs/ARCHITECTURE.md``.
"""
