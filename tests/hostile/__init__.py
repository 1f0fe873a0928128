"""Hostile and damaged inputs (issue 16, "Nothing trained is ever lost").

Every bad file is generated in ``tmp_path`` at test time (no blobs in the repository): each test
checks that ganplay refuses it with a message naming the file, quickly and without a traceback,
and that nothing already trained is lost.
"""
