"""The bundled Tang poems as a TensorFlow Datasets builder, offline.

Importing this module registers the dataset "zoo_tang" with TFDS::

    import tensorflow_datasets as tfds
    import zoo.data.tfds_tang  # noqa: F401  (registers the builder)

    poems = tfds.load("zoo_tang", split="validation")
    for poem in poems.take(1):
        print(poem["title"].numpy().decode(), poem["author"].numpy().decode())

`tfds.load` prepares it on first use from the files bundled with zoo; nothing
is downloaded. It holds the same poems and split as `load_corpus("tang")`
(TFDS calls the "valid" split "validation"), one example per poem.
"""

from __future__ import annotations

import tensorflow_datasets as tfds

from zoo.data.corpora import _tang_poems

# TFDS split name -> zoo split name.
_SPLITS = {"train": "train", "validation": "valid", "test": "test"}


class ZooTang(tfds.core.GeneratorBasedBuilder):
    """Tang poems in simplified characters, split by whole authors, bundled
    with zoo.

    From the chinese-poetry collection's Complete Tang Poems (its first ten
    files) and Three Hundred Tang Poems, converted to simplified characters
    with full-width punctuation and without duplicates (see data/README.md).
    One example per poem, in the order of the corpus text: {"title": str,
    "author": str, "text": str}, where "text" is the poem's lines, each ending
    in a newline (mostly one couplet a line: 空山不见人，但闻人语响。).

    Example:
        >>> import zoo.data.tfds_tang  # doctest: +SKIP
        >>> tfds.load("zoo_tang", split="test")  # doctest: +SKIP
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "First release: 8,857 training, 473 validation and 581 test poems.",
    }

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "9,911 Tang poems (chinese-poetry's Complete Tang Poems, first "
                "ten files, and Three Hundred Tang Poems), in simplified "
                "characters with full-width punctuation, duplicates removed, "
                "bundled with zoo and split by whole authors: 8,857 train, 473 "
                "validation, 581 test. One example per poem."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "title": tfds.features.Text(),
                    "author": tfds.features.Text(),
                    "text": tfds.features.Text(),
                }
            ),
            # Poems stay in corpus order, so "title\nauthor\ntext" blocks joined
            # by a newline give exactly load_corpus("tang")'s text.
            disable_shuffling=True,
            homepage="https://github.com/chinese-poetry/chinese-poetry",
            license="MIT (the chinese-poetry collection, copyright 2016 "
            "JackeyGao); the poems are in the public domain",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        del dl_manager  # the data is bundled: nothing to download
        poems = _tang_poems()
        return {
            tfds_name: self._generate_examples(poems[zoo_name])
            for tfds_name, zoo_name in _SPLITS.items()
        }

    def _generate_examples(self, poems: list[dict]):
        for index, poem in enumerate(poems):
            # A zero-padded key keeps the poems in order.
            yield f"{index:05d}", poem
