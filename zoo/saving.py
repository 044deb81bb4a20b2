"""Save and load a model with its tokenizer in one file.

A zoo `.keras` file is an ordinary Keras archive (``keras.saving.load_model``
opens it, with ``safe_mode=True``: zoo has no Lambda layers, docs/pitfalls.md #15) plus
one extra member, ``zoo.json``: the tokenizer's vocabulary (docs/pitfalls.md #17), the
generation defaults and a short description of how the model was trained.
Keras ignores that member; `load` reads it.

n-gram models are saved as a zip with the same ``zoo.json`` next to the
model's own file.

Saves are atomic: the file is written under a temporary name in the same folder
and renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import ZooError
from zoo.text import Tokenizer

ZOO_MEMBER = "zoo.json"
NGRAM_MEMBER = "ngram.bin"
FORMAT = "zoo-model/1"


@dataclass
class Bundle:
    """What `load` returns: the model and what it needs to be used."""

    model: object
    tokenizer: Tokenizer
    generation: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    source_tokenizer: Tokenizer | None = None  # encoder-decoder models only


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent
    )
    os.close(fd)
    os.unlink(tmp)  # Keras wants to create the file itself
    return Path(tmp)


def save(
    path,
    model,
    tokenizer: Tokenizer,
    *,
    generation=None,
    info=None,
    source_tokenizer: Tokenizer | None = None,
) -> Path:
    """Write `model` and `tokenizer` (and optional settings) to one file.

    Args:
        path: target file; ``.keras`` for a Keras model (Keras requires the
            suffix), any name for an n-gram model.
        model: a Keras model or an `NGramLM`.
        tokenizer: the tokenizer used to train it (the target side's, for an
            encoder-decoder model).
        generation: default generation settings (temperature, top_k, ...).
        info: free-form JSON-able facts (data, epochs, perplexity, ...).
        source_tokenizer: an encoder-decoder model's source-side tokenizer.

    Returns:
        The path written.

    Example:
        >>> save("runs/lstm/model.keras", model, tokenizer, generation={"top_k": 5})
    """
    path = Path(path)
    is_keras = not hasattr(model, "next_token_logits")
    if is_keras and path.suffix != ".keras":
        raise ZooError(f"a Keras model must be saved to a .keras file, got {path}")
    meta = {
        "format": FORMAT,
        "kind": "keras" if is_keras else "ngram",
        "tokenizer": tokenizer.get_config(),
        "source_tokenizer": source_tokenizer and source_tokenizer.get_config(),
        "generation": dict(generation or {}),
        "info": dict(info or {}),
    }
    tmp = _atomic_target(path)
    try:
        if is_keras:
            model.save(tmp)
            with zipfile.ZipFile(tmp, "a") as zf:
                zf.writestr(ZOO_MEMBER, json.dumps(meta, ensure_ascii=False))
        else:
            inner = tmp.with_name(tmp.name + ".ngram")
            try:
                model.save(inner)
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                    zf.write(inner, NGRAM_MEMBER)
                    zf.writestr(ZOO_MEMBER, json.dumps(meta, ensure_ascii=False))
            finally:
                inner.unlink(missing_ok=True)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_meta(path) -> dict:
    """The ``zoo.json`` of a saved file, or a `ZooError` saying it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"no such model file: {path}")
    if not zipfile.is_zipfile(path):
        raise ZooError(
            f"{path} is not a zoo model file (not a zip archive). Train one with "
            "`zoo train MODEL` or save one with zoo.save()."
        )
    with zipfile.ZipFile(path) as zf:
        if ZOO_MEMBER not in zf.namelist():
            raise ZooError(
                f"{path} is not a zoo model file: it has no {ZOO_MEMBER} (a plain "
                "Keras file has no tokenizer; load it with keras.saving.load_model)."
            )
        meta = json.loads(zf.read(ZOO_MEMBER))
    if meta.get("format") != FORMAT:
        raise ZooError(f"{path}: unsupported zoo format {meta.get('format')!r}")
    return meta


def load(path, *, safe_mode: bool = True) -> Bundle:
    """Load what `save` wrote: model, tokenizer, generation defaults, info.

    Args:
        path: a file written by `save`.
        safe_mode: passed to ``keras.saving.load_model``; True refuses files
            that would run arbitrary code.

    Returns:
        A `Bundle`. Keras models come back uncompiled; compile them with
        `zoo.training.compile_model` to train further.
    """
    meta = read_meta(path)
    tokenizer = Tokenizer.from_config(meta["tokenizer"])
    if meta["kind"] == "keras":
        import keras

        from zoo import register_serializables

        register_serializables()  # done by `import keras` too; here for clarity
        model = keras.saving.load_model(path, compile=False, safe_mode=safe_mode)
    else:
        from zoo.models.ngram import NGramLM

        with tempfile.TemporaryDirectory() as tmpdir:
            with zipfile.ZipFile(path) as zf:
                inner = zf.extract(NGRAM_MEMBER, tmpdir)
            model = NGramLM.load(inner)
    source = meta.get("source_tokenizer")
    return Bundle(
        model,
        tokenizer,
        meta.get("generation", {}),
        meta.get("info", {}),
        Tokenizer.from_config(source) if source else None,
    )
