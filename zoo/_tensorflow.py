"""Import TensorFlow once, showing its start-up log lines once.

TensorFlow's C++ libraries log a few lines while they load, before its
logging is set up, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them. On a machine
without a GPU they include a harmless CUDA message, and TensorFlow 2.21 loads
two libraries that each print the same lines: users read everything twice.
`import_tensorflow` captures the process's stderr (file descriptor 2) while
TensorFlow loads and writes each line back once, in order; nothing is dropped
but exact repeats (timestamps and thread ids aside).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

# "I0000 00:00:1795963864.186214   11837 port.cc:153] ..." -> "I port.cc:153] ..."
_PREFIX = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ ")


def dedupe_log(text: str) -> str:
    """`text` with every line that repeats an earlier one removed."""
    seen, kept = set(), []
    for line in text.splitlines(keepends=True):
        key = _PREFIX.sub(r"\1 ", line).rstrip("\n")
        if key in seen:
            continue
        seen.add(key)
        kept.append(line)
    return "".join(kept)


def import_tensorflow():
    """Import and return `tensorflow`, its start-up lines shown once."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to tidy
        import tensorflow

        return tensorflow
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            if text:
                os.write(2, dedupe_log(text).encode("utf-8"))
    return tensorflow
