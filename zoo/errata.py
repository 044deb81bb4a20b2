"""The source texts' mistakes in prose and formulas, each with its correction.

`zoo.listings` keeps the errata of the texts' code listings; this module keeps
the others: sentences and formulas of documents 000-004 that say something
false about language models. Each entry quotes the text verbatim (`quote`,
Chinese), says in English what it claims (`claim`) and what is true
(`correction`, with a reference where there is one), and names the test that
demonstrates the correction on zoo's own models (`shown_by`).

    >>> from zoo import errata
    >>> errata.show("003-4")
    >>> [entry.id for entry in errata.for_document("001")]
    ['001-2', '001-3']

The tests check that every quote appears verbatim under its section heading
in its document, and each `shown_by` test fails if the correction is wrong
about zoo's models (tests/test_errata.py).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from zoo.errors import ZooError

DOCUMENTS = ("000", "001", "002", "003", "004")
_TESTS = "tests/test_errata.py::"


@dataclass(frozen=True)
class Erratum:
    """One mistake of a source text, outside its code listings.

    Attributes:
        id: short key, "<document>-<section>" (e.g. "000-3.1").
        document: the source document number ("000" ... "004").
        section: the section heading, as in the text.
        quote: the sentence(s) or formula, verbatim from the text (Chinese).
        claim: what the text says, in English.
        correction: what is true, in English, with a reference where one
            exists.
        shown_by: where the correction is demonstrated: a test, as
            "tests/test_errata.py::test_name", or a notebook cell.
    """

    id: str
    document: str
    section: str
    quote: str
    claim: str
    correction: str
    shown_by: str

    def __str__(self) -> str:
        """The erratum as a short report, for `show` and notebooks."""

        def wrap(label: str, text: str) -> str:
            return textwrap.fill(
                text,
                width=88,
                initial_indent=f"{label:<12}",
                subsequent_indent=" " * 12,
                break_on_hyphens=False,
                break_long_words=False,
            )

        quote = "\n".join(
            " " * 12 + line if line else "" for line in self.quote.splitlines()
        )
        return "\n".join(
            [
                f"{self.id}: document {self.document}, {self.section}",
                f"{'The text:':<12}" + quote.lstrip(" "),
                wrap("It says:", self.claim),
                wrap("In fact:", self.correction),
                wrap("Shown by:", self.shown_by),
            ]
        )


def _registry(entries: Iterable[Erratum]) -> dict[str, Erratum]:
    """The entries by id; a `ZooError` if an id repeats or does not start
    with its entry's document."""
    registry: dict[str, Erratum] = {}
    for entry in entries:
        if entry.id in registry:
            raise ZooError(f"erratum id {entry.id!r} is used twice")
        if entry.document not in DOCUMENTS or not entry.id.startswith(
            entry.document + "-"
        ):
            raise ZooError(
                f"erratum {entry.id!r} must start with its document "
                f"({entry.document!r}, one of {', '.join(DOCUMENTS)}) and a dash"
            )
        registry[entry.id] = entry
    return registry


# --- the errata, in document order ------------------------------------------

ERRATA: dict[str, Erratum] = _registry(
    [
        Erratum(
            id="000-2",
            document="000",
            section="2. 核心概念与联系",
            quote=(
                "大规模语言模型可以分为两类：生成模型和判别模型。"
                "生成模型可以生成新的句子，而判别模型则可以判断两个句子是否相似。"
            ),
            claim=(
                "Large language models fall into two classes, generative and "
                "discriminative: generative models can generate new sentences, "
                "while discriminative models judge whether two sentences are "
                "similar."
            ),
            correction=(
                "Generative and discriminative name which probability a model "
                "learns, not a task on pairs of sentences. A generative model "
                "learns the distribution of the data itself: p(x), for a language "
                "model the probability of a whole sentence, p(x) = prod_t "
                "p(x_t | x_<t) by the chain rule (which is why it can sample new "
                "sentences), or p(x, y) = p(x | y) p(y) when there are labels y. "
                "A discriminative model learns only p(y | x), the label given the "
                "input (logistic regression, a neural classifier, a CRF), and "
                "cannot produce an x. A generative model classifies too, through "
                "Bayes' rule p(y | x) = p(x | y) p(y) / p(x). Judging whether two "
                "sentences are similar is one task among others: a discriminative "
                "classifier of sentence pairs can do it, and so can the cosine of "
                "two sentence vectors, which is a score of a pair, not a "
                "probability model of either kind. Nor do large language models "
                "split this way: a language model is by definition a model of p(x), "
                "and a pretrained encoder such as BERT becomes discriminative when "
                "it is fine-tuned as a classifier p(y | x). Reference: Ng and "
                "Jordan, 'On "
                "Discriminative vs. Generative Classifiers: A comparison of "
                "logistic regression and naive Bayes' (NIPS 14, 2001); Bishop, "
                "Pattern Recognition and Machine Learning (2006), section 1.5.4."
            ),
            shown_by=_TESTS + "test_000_2_a_generative_model_gives_p_of_x",
        ),
        Erratum(
            id="000-3.1",
            document="000",
            section="3.1 RNN",
            quote=(
                "RNN的核心是递归结构，它可以将当前时间步的输出与前一时间步的输出"
                "相加，从而产生新的状态。"
            ),
            claim=(
                "The core of an RNN is its recurrent structure, which adds the "
                "output of the current time step to the output of the previous "
                "time step to produce the new state."
            ),
            correction=(
                "An RNN adds no outputs. Its new state is a nonlinear function of "
                "the current input and the previous state, h_t = tanh(W x_t + "
                "U h_{t-1} + b), and the output is read from that state, o_t = "
                "g(V h_t + c) (Elman 1990; document 002 writes both equations). "
                "A state made by adding step outputs, s_t = s_{t-1} + o_t with o_t "
                "computed from x_t, would be a running sum: unbounded, and blind "
                "to word order, since a sum does not change when its terms are "
                "permuted; the tanh of W x_t + U h_{t-1} + b keeps h_t in (-1, 1) "
                "and makes it depend on the order of the inputs. zoo's ElmanCell "
                "is that equation: build_simple_rnn(vocab_size, "
                "from_equations=True). Reference: Elman, 'Finding Structure in "
                "Time', Cognitive Science 14 (1990); Goodfellow, Bengio and "
                "Courville, Deep Learning (2016), section 10.2."
            ),
            shown_by=_TESTS + "test_000_3_1_the_rnn_state_is_tanh_of_input_and_state",
        ),
        Erratum(
            id="001-2",
            document="001",
            section="2. 核心概念与联系",
            quote=(
                "3. **解码器**：根据编码器输出的向量表示生成文本。"
                "Seq2Seq模型、Attention机制、Beam Search等都是常用的解码器。"
            ),
            claim=(
                "The decoder generates text from the encoder's vector "
                "representation; Seq2Seq models, the attention mechanism and beam "
                "search are commonly used decoders."
            ),
            correction=(
                "Beam search is a decoding algorithm, not a decoder. In the text's "
                "list of a model's parts (input representation, encoder, decoder, "
                "objective) the decoder is a network: given the encoder's output "
                "and the tokens so far, it computes a distribution over the next "
                "token (in a Transformer, a stack of decoder blocks). Beam search "
                "is one way of turning those next-token distributions into an "
                "output sequence, as greedy decoding and sampling are others: it "
                "keeps the k partial sequences with the highest summed "
                "log-probability, extends each by every token, and keeps the best "
                "k again. It has no weights, changes nothing in the network, and "
                "works on the next-token distributions of any autoregressive "
                "model, an RNN or a decoder-only GPT as well as an encoder-decoder; "
                "with k = 1 it is greedy decoding. (Some papers call the search "
                "procedure a 'decoder', as in Sutskever et al.'s 'left-to-right "
                "beam search decoder'; that is the other meaning of the word, not "
                "the network next to the encoder.) The other two are not decoders "
                "either: a Seq2Seq model is the whole encoder-decoder (Sutskever "
                "et al. 2014), and attention is a mechanism inside the decoder "
                "(Bahdanau et al. 2015). In zoo the decoder networks are the "
                "models (TransformerDecoderBlock, the factories), and the decoding "
                "algorithms are zoo.generation.generate and translate, with "
                "beam_width=k for beam search. Reference: Sutskever, Vinyals and "
                "Le, 'Sequence to Sequence Learning with Neural Networks' (2014), "
                "section 3.2; Jurafsky and Martin, Speech and Language Processing "
                "(3rd ed. draft), the machine-translation chapter's section on beam "
                "search."
            ),
            shown_by=_TESTS + "test_001_2_beam_search_is_a_search_over_one_network",
        ),
        Erratum(
            id="001-3",
            document="001",
            section="3. 核心算法原理具体操作步骤",
            quote=(
                "4. **层归一化**：对多头自注意力输出进行归一化处理，"
                "以减小梯度消失问题。\n"
                "5. **激活函数**：对层归一化后的输出应用ReLU或GELU等激活函数。"
            ),
            claim=(
                "Step 4, layer normalisation: the multi-head self-attention output "
                "is normalised, to reduce the vanishing-gradient problem. Step 5, "
                "activation function: ReLU or GELU is applied to the output of the "
                "layer normalisation."
            ),
            correction=(
                "Two mistakes. (1) What keeps the gradient from vanishing through "
                "a deep Transformer is the residual connection: each sub-layer "
                "adds its output to its input, x + f(x), so the gradient has an "
                "identity path back to the first layers (He et al. 2016). Layer "
                "normalisation (Ba et al. 2016) rescales each position's vector to "
                "mean 0 and variance 1, then applies a learned gain and bias: it "
                "keeps the scale of the activations stable, and does not by itself "
                "keep the gradient from vanishing. In a deep stack of normalised "
                "blocks without residual connections, the gradient that reaches "
                "the first blocks is typically a small fraction of the last "
                "block's; with the residual connections and without the "
                "LayerNorms, the gradient gets through but the activations grow "
                "with depth (the test measures both on a stack of zoo's blocks). "
                "In the "
                "post-norm layout the LayerNorm even sits on the residual path, "
                "and the gradient that reaches the early layers still shrinks with "
                "depth, which is why deep models put the LayerNorm first "
                "(pre-norm; Xiong et al. 2020). (2) No activation follows the "
                "LayerNorm. A Transformer block orders each sub-layer as sub-layer "
                "-> dropout -> add the residual -> LayerNorm (post-norm, the "
                "paper's: LayerNorm(x + Dropout(Sublayer(x)))), or LayerNorm -> "
                "sub-layer -> dropout -> add (pre-norm, GPT-2's: x + "
                "Dropout(Sublayer(LayerNorm(x)))). The ReLU or GELU lives inside "
                "the feed-forward sub-layer, between its two linear maps: FFN(x) = "
                "max(0, x W1 + b1) W2 + b2 (Vaswani et al. 2017, equation 2). A "
                "ReLU after the norm would zero every negative coordinate of the "
                "normalised vectors. zoo: zoo.layers.transformer's blocks "
                "(norm_first chooses the layout). Reference: Vaswani et al., "
                "'Attention Is All You Need' (2017), sections 3.1, 3.3 and 5.4; "
                "Ba, "
                "Kiros and Hinton, 'Layer Normalization' (2016); He et al., 'Deep "
                "Residual Learning for Image Recognition' (2016); Xiong et al., "
                "'On Layer Normalization in the Transformer Architecture' (2020)."
            ),
            shown_by=_TESTS + "test_001_3_residuals_carry_the_gradient_no_activation",
        ),
        Erratum(
            id="003-4",
            document="003",
            section="4. 数学模型和公式详细讲解举例说明",
            quote=(
                "P(w_{t+1} | w_{t}, w_{t-1}, ..., w_{1}) = \\frac{1}{Z(w_{t})} "
                "e^{s(w_{t+1}, h_{t})} \\\\\n"
                "s(w_{t+1}, h_{t}) = w_{t+1}^T h_{t}\n"
                "$$\n"
                "\n"
                "其中，$w_{t+1}$是下一个词，$h_{t}$是上一个词的隐藏状态，"
                "$Z(w_{t})$是归一化因子。"
            ),
            claim=(
                "P(w_{t+1} | w_t, ..., w_1) = exp(s(w_{t+1}, h_t)) / Z(w_t) with "
                "s(w_{t+1}, h_t) = w_{t+1}^T h_t, where w_{t+1} is the next word, "
                "h_t is the hidden state of the previous word, and Z(w_t) is the "
                "normalisation factor."
            ),
            correction=(
                "The normaliser is the softmax's sum over the whole vocabulary, "
                "Z(h_t) = sum_{w in V} exp(w^T h_t): it is a function of h_t, so "
                "of the whole context w_1..w_t, not of the word w_t alone (two "
                "contexts that end in the same word have different normalisers). "
                "And h_t is not one word's hidden state: it is the model's state "
                "at position t, computed from every token up to and including w_t "
                "and from none after it (in GPT-2, the last block's output at "
                "position t after the final LayerNorm; causal self-attention keeps "
                "the later tokens out). So P(w_{t+1} | w_1..w_t) = "
                "softmax(W_E h_t)[w_{t+1}], with the rows of W_E the words' "
                "vectors. zoo.build_gpt computes the logits h_t W_E^T with the "
                "token embedding as W_E (tie_embeddings=True), and its loss's "
                "log-softmax subtracts log Z(h_t). Reference: Bengio et al., 'A "
                "Neural Probabilistic Language Model' (JMLR 2003); Radford et al., "
                "'Language Models are Unsupervised Multitask Learners' (2019); "
                "Press and Wolf, 'Using the Output Embedding to Improve Language "
                "Models' (EACL 2017)."
            ),
            shown_by=_TESTS + "test_003_4_the_normaliser_depends_on_the_whole_context",
        ),
    ]
)


def get(erratum_id: str) -> Erratum:
    """The erratum with this id; a `ZooError` lists the ids if it is unknown."""
    if erratum_id not in ERRATA:
        raise ZooError(f"no erratum {erratum_id!r}; known: {', '.join(ERRATA)}")
    return ERRATA[erratum_id]


def for_document(document: str | int) -> list[Erratum]:
    """The errata of one source document ("000" ... "004", or 0 ... 4), in
    the order of the text; a `ZooError` names the documents if it is none."""
    if isinstance(document, int) and not isinstance(document, bool):
        document = f"{document:03d}"
    if document not in DOCUMENTS:
        raise ZooError(
            f"no source document {document!r}; the documents are {', '.join(DOCUMENTS)}"
        )
    return [entry for entry in ERRATA.values() if entry.document == document]


def show(id_or_entry: str | Erratum) -> None:
    """Print one erratum readably: where it is, the quote, the claim, the
    correction and what demonstrates it (for notebooks).

    Args:
        id_or_entry: an erratum id (e.g. "001-3") or an `Erratum`.
    """
    if isinstance(id_or_entry, Erratum):
        entry = id_or_entry
    elif isinstance(id_or_entry, str):
        entry = get(id_or_entry)
    else:
        raise ZooError(
            "show() takes an erratum id (e.g. '001-3') or an Erratum, "
            f"got {type(id_or_entry).__name__}"
        )
    print(entry)
