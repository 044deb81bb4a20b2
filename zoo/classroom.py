"""Checks for the classroom assignments in ``assignments/`` (graded by nbgrader).

Each ``check_*`` function takes a student's function, runs it on random
inputs next to zoo's own implementation of the same idea, and checks a list of
properties in order: the first one that fails raises `CheckError` with a
message in plain words, in English and then in Chinese, that names the
mistake (wrong shape, rows that do not sum to one, attends to the future,
missing 1/sqrt(d_k), padding counted, ...) without giving the answer away.
When every property holds, the check prints one line saying so.

The assignments' test cells call these functions; their hidden tests call the
same functions with other seeds and sizes. The messages are kept in
`MESSAGES`, one per known mistake, so that the tests of the assignments can
ask for the exact message a wrong answer must get.

    >>> import numpy as np
    >>> from zoo import classroom
    >>> classroom.check_causal_mask(lambda T: np.tril(np.ones((T, T), bool)))
    ✓ causal_mask: passed (agrees with zoo.layers.masks.causal_mask, 3 cases) / 通过
    >>> classroom.check_causal_mask(lambda T: np.triu(np.ones((T, T), bool), k=1))
    Traceback (most recent call last):
    ...
    zoo.classroom.CheckError: causal_mask is inverted: True must mean 'may attend' ...

TensorFlow is imported only by the checks that compare with a Keras layer,
so ``from zoo import classroom`` is fast and the n-gram checks never load it.
nbgrader gives zero points to a graded cell that writes anything to stderr,
and TensorFlow writes its start-up lines there: an assignment whose checks
use TensorFlow calls `load_tensorflow` in its (ungraded) set-up cell, and the
checks ignore Python warnings, the student's included.

Shape letters: B batch, T query length (time), S key length, D head size,
C model width, H heads (or hidden units for the RNN), E input size, V
vocabulary.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from zoo.text import BOS_ID, FIRST_REAL_ID, MASK_ID, PAD_ID

# One entry per mistake a check can name: code -> (English, Chinese).
MESSAGES: dict[str, tuple[str, str]] = {
    # any task
    "not_written": (
        "is not written yet: it still raises NotImplementedError. Replace "
        "`raise NotImplementedError()`, under `# YOUR CODE HERE`, with your code.",
        "还没有完成：它仍然抛出 NotImplementedError。请把 `# YOUR CODE HERE` "
        "下面的 `raise NotImplementedError()` 换成你的代码。",
    ),
    "raised": (
        "raised an error on the check's inputs (see the first traceback above).",
        "在检查用的输入上出错了（见上面的第一段 traceback）。",
    ),
    "wrong_type": (
        "returned the wrong kind of value.",
        "返回值的类型不对。",
    ),
    "wrong_shape": (
        "returned an array of the wrong shape.",
        "返回的数组形状不对。",
    ),
    "not_finite": (
        "returned NaN or infinite values.",
        "返回了 NaN 或无穷大。",
    ),
    "rows_not_one": (
        "gives probabilities (or weights) that do not sum to one.",
        "给出的概率（或权重）加起来不等于 1。",
    ),
    "wrong_axis": (
        "takes the softmax over the wrong axis: the values sum to one along "
        "another axis, not along the last one (the vocabulary, or the keys).",
        "softmax 用错了轴：它在另一个轴上加起来为 1，而不是在最后一个轴"
        "（词表或键）上。",
    ),
    "differs": (
        "gives different numbers from zoo's implementation.",
        "算出的数值与 zoo 的实现不一致。",
    ),
    # 01 n-grams
    "no_bos": (
        "never counts the first n-1 tokens: one n-gram ends at every token, so "
        "the start of the text needs n-1 BOS_ID in front of it.",
        "没有统计前 n-1 个词元：每个词元都应该是一个 n-gram 的结尾，"
        "所以文本开头需要补 n-1 个 BOS_ID。",
    ),
    "count_total": (
        "counts a different number of n-grams than there are tokens: exactly "
        "one n-gram ends at each token.",
        "统计出的 n-gram 总数与词元数不一致：每个词元恰好是一个 n-gram 的结尾。",
    ),
    "count_differs": (
        "counts an n-gram a different number of times from zoo's NGramLM.",
        "某个 n-gram 的计数与 zoo 的 NGramLM 不一致。",
    ),
    "divided_by_tokens": (
        "divides by the number of tokens in the text; maximum likelihood "
        "divides by how often the context is followed by a token, "
        "count(context •).",
        "除以了文本的词元总数；最大似然估计应该除以上下文后面跟着词元的次数 "
        "count(context •)。",
    ),
    "ignores_context": (
        "ignores the context: it gives every context the same distribution "
        "(the unigram frequencies).",
        "忽略了上下文：对所有上下文都给出同一个分布（一元词频）。",
    ),
    "no_discount": (
        "is maximum likelihood: the discount D is never subtracted, so an "
        "unseen bigram still gets probability zero.",
        "这其实是最大似然估计：没有减去折扣 D，没见过的二元组概率仍然是 0。",
    ),
    "no_backoff_mass": (
        "loses the mass the discount takes away: it must go to the lower "
        "order, weighted by lambda(v) = D N1+(v •) / c(v •).",
        "折扣拿走的概率质量丢失了：它应该按 lambda(v) = D N1+(v •) / c(v •) "
        "分给低阶分布。",
    ),
    "not_continuation": (
        "uses how often w occurs for the lower order; Kneser-Ney uses how many "
        "different tokens come before w (its continuation count N1+(• w)).",
        "低阶分布用了 w 出现的次数；Kneser-Ney 用的是 w 前面出现过多少种不同的"
        "词元（接续计数 N1+(• w)）。",
    ),
    # 02 RNN cell
    "no_tanh": (
        "leaves out the activation f = tanh: the state is the raw "
        "W x_t + U h_{t-1} + b.",
        "漏掉了激活函数 f = tanh：状态直接等于 W x_t + U h_{t-1} + b。",
    ),
    "ignores_state": (
        "ignores the previous state h_{t-1}: the U h_{t-1} term is missing.",
        "忽略了上一步的状态 h_{t-1}：缺少 U h_{t-1} 这一项。",
    ),
    "no_bias": (
        "leaves out the bias b.",
        "漏掉了偏置 b。",
    ),
    "time_major": (
        "puts time first: (T, B, H). Keras keeps the batch first, (B, T, H).",
        "把时间放在了第一维 (T, B, H)；Keras 约定批次在前，应为 (B, T, H)。",
    ),
    "ignores_h0": (
        "ignores h0: the first step must start from the initial state given.",
        "忽略了 h0：第一步应该从给定的初始状态开始。",
    ),
    "state_dropped": (
        "drops the state between steps: every step starts again from h0 "
        "instead of the previous step's h_{t-1}, so h_t never depends on "
        "the earlier inputs.",
        "在时间步之间丢掉了状态：每一步都重新从 h0 开始，而不是用上一步的 "
        "h_{t-1}，所以 h_t 与更早的输入无关。",
    ),
    "step_differs": (
        "gives the right states at first, then goes wrong at a later step.",
        "前几步的状态正确，但在后面的某一步出错了。",
    ),
    "last_state": (
        "returns a final state that is not the state after the last step.",
        "返回的最终状态不是最后一步之后的状态。",
    ),
    "no_softmax": (
        "returns the logits V h_t + c: the output g is a softmax over the vocabulary.",
        "返回的是 logits V h_t + c：输出函数 g 应该是对词表做 softmax。",
    ),
    # 03 perplexity
    "unstable": (
        "overflows on large logits (exp of a large number is inf): subtract "
        "each row's largest logit first, as a log-sum-exp does.",
        "在 logits 很大时溢出（大数的 exp 是无穷大）：先减去每一行最大的 "
        "logit，就像 log-sum-exp 那样。",
    ),
    "negative_loss": (
        "returns negative losses: the loss is minus the log-probability of "
        "the target, which is never negative.",
        "返回了负的损失：损失是目标词元对数概率的相反数，不会是负数。",
    ),
    "not_normalised": (
        "does not normalise: it uses the target's raw logit, not its "
        "log-probability (the log-softmax).",
        "没有归一化：用的是目标的原始 logit，而不是对数概率（log-softmax）。",
    ),
    "no_exp": (
        "returns the mean loss (the cross-entropy in nats); the perplexity is "
        "its exponential.",
        "返回的是平均损失（以 nat 为单位的交叉熵）；困惑度是它的指数。",
    ),
    "base_2": (
        "uses 2 ** mean loss; the losses are natural logs (nats), so the "
        "perplexity is e ** mean loss.",
        "用了 2 ** 平均损失；损失是自然对数（nat），困惑度应该是 e ** 平均损失。",
    ),
    "padding_counted": (
        "counts the padding: the positions whose target is pad_id are not "
        "tokens and must be left out of both the sum and the count.",
        "把填充算进去了：目标为 pad_id 的位置不是词元，求和和计数时都要去掉。",
    ),
    "per_sequence": (
        "averages the perplexities of the sequences; the perplexity is exp of "
        "the mean loss over all the real tokens together.",
        "对每个序列的困惑度取了平均；困惑度应该是所有真实词元的平均损失的指数。",
    ),
    "batch_mean": (
        "averages the per-batch perplexities; pool the losses and the token "
        "counts of all batches, then take exp once.",
        "对每个批次的困惑度取了平均；应该把所有批次的损失和词元数加在一起，"
        "最后只取一次 exp。",
    ),
    "batch_mean_loss": (
        "averages the per-batch mean losses, so a batch with few real tokens "
        "weighs as much as a full one: weigh every token the same.",
        "对每个批次的平均损失取了平均，词元很少的批次和满的批次权重一样："
        "应该让每个词元的权重相同。",
    ),
    # 04 attention
    "inverted_mask": (
        "is inverted: True must mean 'may attend' (Keras's convention), and "
        "yours is True where attention is blocked, so every token attends to "
        "the future and not to the past.",
        "掩码反了：True 应该表示“可以关注”（Keras 的约定），你的掩码在被屏蔽的"
        "位置为 True，于是每个词元都只关注未来、不关注过去。",
    ),
    "attends_future": (
        "attends to the future: query i may see a key j > i.",
        "看到了未来：第 i 个查询可以关注到 j > i 的键。",
    ),
    "no_self": (
        "does not let a token attend to itself (the diagonal must be True).",
        "不允许词元关注它自己（对角线应该是 True）。",
    ),
    "past_blocked": (
        "blocks some of the past: query i may see every key j <= i.",
        "屏蔽了部分过去：第 i 个查询应该能关注所有 j <= i 的键。",
    ),
    "no_scale": (
        "is missing the 1/sqrt(d_k) scaling of the scores Q K^T.",
        "缺少对分数 Q K^T 的 1/sqrt(d_k) 缩放。",
    ),
    "scale_d": (
        "divides the scores by d_k instead of sqrt(d_k).",
        "把分数除以了 d_k，而不是 sqrt(d_k)。",
    ),
    "mask_ignored": (
        "ignores the mask: keys where the mask is False still get weight.",
        "忽略了掩码：掩码为 False 的键仍然得到了权重。",
    ),
    "mask_inverted": (
        "reads the mask the wrong way round: True means 'may attend'.",
        "把掩码读反了：True 表示“可以关注”。",
    ),
    "masked_weight": (
        "gives weight to keys where the mask is False.",
        "掩码为 False 的键得到了权重。",
    ),
    "output_differs": (
        "computes the right weights but the wrong output: the output is the "
        "weights times V.",
        "权重正确但输出不对：输出应该是权重乘以 V。",
    ),
    # 05 multi-head attention
    "heads_last": (
        "leaves the heads after time, (B, T, H, D): move them before time, "
        "(B, H, T, D), so that each head attends over the time axis.",
        "把头放在了时间之后 (B, T, H, D)：应该移到时间之前 (B, H, T, D)，"
        "这样每个头才在时间轴上做注意力。",
    ),
    "reshape_only": (
        "reshapes straight to (B, H, T, D): that cuts the sequence into "
        "pieces instead of cutting each token's C channels into H heads.",
        "直接 reshape 成了 (B, H, T, D)：这样切开的是序列，而不是把每个词元的 "
        "C 个通道分成 H 个头。",
    ),
    "strided_heads": (
        "gives head h every H-th channel; zoo's (and Keras's) layout gives "
        "head h the D channels h*D .. h*D + D - 1.",
        "让第 h 个头取了每隔 H 个的通道；zoo（以及 Keras）的布局是第 h 个头取 "
        "h*D 到 h*D + D - 1 这 D 个通道。",
    ),
    "merge_not_inverse": (
        "is not the inverse of split_heads: merging the split heads must "
        "give back the input.",
        "不是 split_heads 的逆运算：把拆开的头合并后应该得到原来的输入。",
    ),
    "no_output_projection": (
        "leaves out the output projection W_o after the heads are merged.",
        "合并各个头之后漏掉了输出投影 W_o。",
    ),
    "one_head": (
        "ignores num_heads: it attends with one head over all C channels "
        "instead of H heads of D = C / H channels each.",
        "忽略了 num_heads：只用了一个覆盖全部 C 个通道的头，而不是 H 个各有 "
        "D = C / H 个通道的头。",
    ),
    # 06 beam search
    "no_prompt": (
        "returns a sequence that does not start with the prompt.",
        "返回的序列不是以提示（prompt）开头的。",
    ),
    "wrong_length": (
        "returns a sequence of the wrong length: the prompt plus "
        "max_new_tokens new tokens.",
        "返回的序列长度不对：应该是提示加上 max_new_tokens 个新词元。",
    ),
    "reserved_token": (
        "emits a reserved id (PAD, UNK, BOS, EOS or MASK) that has probability zero.",
        "生成了概率为 0 的保留 id（PAD、UNK、BOS、EOS 或 MASK）。",
    ),
    "wrong_score": (
        "returns a score that is not the sum of the log-probabilities of the "
        "new tokens.",
        "返回的分数不是新词元对数概率之和。",
    ),
    "not_greedy": (
        "does not pick the most likely token at every step.",
        "没有在每一步都选择概率最大的词元。",
    ),
    "beam_is_greedy": (
        "returns what greedy decoding finds: the beams are not kept apart "
        "(is beam_width used? are all the beams copies of one?).",
        "返回的是贪心解码的结果：各条束没有分开保留（用到 beam_width 了吗？"
        "所有的束是不是同一条的副本？）。",
    ),
    "beam_worse": (
        "misses a better sequence that beam search of this width finds.",
        "漏掉了同样宽度的束搜索能找到的更好的序列。",
    ),
    "beam_better": (
        "finds a better sequence than beam search of this width can: keep "
        "only the beam_width best sequences after each step.",
        "找到了比同样宽度的束搜索更好的序列：每一步之后只应保留 beam_width "
        "个最好的序列。",
    ),
    # 07 BERT masking
    "not_seeded": (
        "gives different masks for the same seed: draw every random number "
        "from np.random.default_rng(seed).",
        "同一个 seed 给出了不同的遮蔽：所有随机数都应来自 "
        "np.random.default_rng(seed)。",
    ),
    "padding_chosen": (
        "chooses or changes padding: PAD positions are not tokens and stay "
        "as they are, with target PAD.",
        "选中或改动了填充：PAD 位置不是词元，应保持原样，目标也是 PAD。",
    ),
    "target_values": (
        "returns targets that are neither the original token nor PAD: a "
        "chosen position's target is its original token, every other "
        "target is PAD.",
        "返回的目标既不是原来的词元也不是 PAD：被选中位置的目标是原来的词元，"
        "其余位置的目标是 PAD。",
    ),
    "every_token": (
        "applies the 80/10/10 split to every token instead of only the 15% chosen.",
        "把 80/10/10 的划分用在了每一个词元上，而不是只用在选中的 15% 上。",
    ),
    "unchosen_changed": (
        "changes tokens that were not chosen: only the chosen tokens may change.",
        "改动了没有被选中的词元：只有被选中的词元可以改变。",
    ),
    "all_targets": (
        "makes every token a target: only the 15% chosen are predicted.",
        "把每个词元都当成了目标：只有选中的 15% 需要预测。",
    ),
    "rate": (
        "chooses a different share of the real tokens than rate (15%).",
        "选中的真实词元比例与 rate（15%）不符。",
    ),
    "all_mask": (
        "turns every chosen token into [MASK]: 10% of them should become a "
        "random token and 10% stay as they are.",
        "把每个选中的词元都换成了 [MASK]：其中 10% 应换成随机词元，10% 保持不变。",
    ),
    "split": (
        "splits the chosen tokens differently from 80% [MASK], 10% random, "
        "10% unchanged.",
        "对选中词元的划分不是 80% [MASK]、10% 随机、10% 不变。",
    ),
    "random_reserved": (
        "draws random replacements that are reserved ids (PAD, [MASK], ...): "
        "draw them from the real ids FIRST_REAL_ID .. vocab_size - 1.",
        "随机替换抽到了保留 id（PAD、[MASK] 等）：应从真实 id FIRST_REAL_ID 到 "
        "vocab_size - 1 中抽取。",
    ),
}


class CheckError(AssertionError):
    """A check found a mistake; the message says which, in English and Chinese.

    Attributes:
        task: the name of the function checked.
        code: the key of the mistake in `MESSAGES`.
    """

    def __init__(self, task: str, code: str, detail: str = ""):
        self.task, self.code = task, code
        english, chinese = MESSAGES[code]
        detail = f" ({detail})" if detail else ""
        super().__init__(f"{task} {english}{detail}\n{task} {chinese}")


def message(code: str) -> str:
    """The English text of one mistake, as the checks print it."""
    return MESSAGES[code][0]


def load_tensorflow() -> str:
    """Import TensorFlow and run one operation, so that its start-up lines
    are written now.

    Call it in an assignment's set-up cell: TensorFlow writes a few lines to
    stderr when it loads and when it first runs an operation, and nbgrader
    gives zero points to a graded cell with any stderr output.

    Returns:
        The TensorFlow version, for the set-up cell to show.
    """
    from zoo._tensorflow import import_tensorflow

    tf = import_tensorflow()
    tf.constant(1.0) + 1.0  # the first operation initialises the devices
    return tf.__version__


def _quiet(check: Callable) -> Callable:
    """Run a check with Python warnings ignored (they go to stderr, and
    nbgrader gives zero points to a graded cell that writes to stderr)."""

    @functools.wraps(check)
    def run(*args, **kwargs):
        __tracebackhide__ = True
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return check(*args, **kwargs)

    return run


def _fail(task: str, code: str, detail: str = ""):
    __tracebackhide__ = True
    raise CheckError(task, code, detail)


def _call(task: str, fn: Callable, *args, **kwargs):
    """Run the student's function; say so in plain words when it fails."""
    __tracebackhide__ = True
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckError(task, "not_written") from None
    except Exception as error:
        raise CheckError(task, "raised", f"{type(error).__name__}: {error}") from error


def _array(task: str, value, shape: tuple, what: str = "the result") -> np.ndarray:
    """`value` as a float64 array of `shape`, or a failed check."""
    __tracebackhide__ = True
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(task, "wrong_type", f"{what} should be an array, got {type(value)}")
    if array.shape != tuple(shape):
        _fail(
            task, "wrong_shape", f"{what}: expected {tuple(shape)}, got {array.shape}"
        )
    if not np.isfinite(array).all():
        _fail(task, "not_finite", what)
    return array


def _close(a, b, tol: float = 1e-4) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


def _passed(task: str, against: str, cases: int = 1) -> None:
    times = f", {cases} cases" if cases > 1 else ""
    print(f"✓ {task}: passed (agrees with {against}{times}) / 通过")


def _pair(task: str, value, what: str):
    __tracebackhide__ = True
    if not isinstance(value, tuple | list) or len(value) != 2:
        _fail(task, "wrong_type", f"it should return two things: {what}")
    return value


def _softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


# --------------------------------------------------------------- 01 n-grams


def random_text(seed: int = 0, length: int = 60, vocab_size: int = 12) -> list[int]:
    """Token ids FIRST_REAL_ID..vocab_size-1 with skewed frequencies, as a list."""
    rng = np.random.default_rng(seed)
    real = np.arange(FIRST_REAL_ID, vocab_size)
    weights = 1.0 / np.arange(1, real.size + 1)  # Zipf-like: repeats happen
    return [int(t) for t in rng.choice(real, size=length, p=weights / weights.sum())]


def _padded_ngrams(ids, n: int) -> list[tuple[int, ...]]:
    """The n-gram ending at each token, the start padded with n - 1 BOS."""
    padded = [BOS_ID] * (n - 1) + list(ids)
    return [tuple(padded[i : i + n]) for i in range(len(ids))]


def _seen_contexts(ids, n: int) -> list[tuple[int, ...]]:
    """Contexts (n - 1 ids) followed by a token at least once, BOS ones first."""
    contexts = sorted({g[:-1] for g in _padded_ngrams(ids, n)})
    return sorted(contexts, key=lambda c: (BOS_ID not in c, c))


@_quiet
def check_count_ngrams(count_ngrams: Callable, *, seed: int = 0, n: int = 2) -> None:
    """Check ``count_ngrams(ids, n) -> {n-gram tuple: count}`` against NGramLM.

    One n-gram ends at every token of ``ids`` (the start padded with n - 1
    `BOS_ID`), as zoo's `NGramLM` counts them.
    """
    __tracebackhide__ = True
    from zoo.models.ngram import NGramLM

    task = "count_ngrams"
    ids = random_text(seed)
    lm = NGramLM(order=n, smoothing="mle").fit(np.array(ids), vocab_size=12)
    counts = _call(task, count_ngrams, list(ids), n)
    if not isinstance(counts, Mapping):
        _fail(task, "wrong_type", f"expected a dict, got {type(counts).__name__}")
    clean = {}
    for key, value in counts.items():
        if not isinstance(key, tuple) or len(key) != n:
            _fail(task, "wrong_type", f"keys must be tuples of {n} ids, got {key!r}")
        clean[tuple(int(t) for t in key)] = int(value)
    total = sum(clean.values())
    if total != len(ids):
        code = "no_bos" if total == len(ids) - n + 1 else "count_total"
        _fail(task, code, f"{len(ids)} tokens, {total} n-grams counted")
    for gram, value in sorted(clean.items()):
        expected = lm.count(gram)
        if value != expected:
            _fail(task, "count_differs", f"{gram}: yours {value}, zoo {expected}")
    _passed(task, f"NGramLM(order={n}).count")


def _check_distribution(task, probs, vocab_size):
    __tracebackhide__ = True
    probs = _array(task, probs, (vocab_size,), "the probabilities")
    if (probs < -1e-12).any():
        _fail(task, "wrong_type", "probabilities cannot be negative")
    return probs


@_quiet
def check_mle(mle_probs: Callable, *, seed: int = 0, n: int = 2) -> None:
    """Check ``mle_probs(ids, context, n, vocab_size) -> (V,)`` against NGramLM.

    The maximum-likelihood estimate count(context w) / count(context •), for
    contexts seen in training (`NGramLM(smoothing="mle")`).
    """
    __tracebackhide__ = True
    from zoo.models.ngram import NGramLM

    task = "mle_probs"
    V = 12
    ids = random_text(seed)
    lm = NGramLM(order=n, smoothing="mle").fit(np.array(ids), vocab_size=V)
    grams = _padded_ngrams(ids, n)
    unigram = np.bincount(ids, minlength=V) / len(ids)
    contexts = _seen_contexts(ids, n)
    for context in contexts:
        probs = _check_distribution(
            task, _call(task, mle_probs, list(ids), context, n, V), V
        )
        expected = lm.next_token_probs(list(context))
        follow = np.array([grams.count((*context, w)) for w in range(V)])
        where = f"context {context}"
        if not math.isclose(probs.sum(), 1.0, abs_tol=1e-6):
            if _close(probs, follow / len(ids)):
                _fail(task, "divided_by_tokens", where)
            _fail(task, "rows_not_one", f"{where}: they sum to {probs.sum():.4f}")
        if not _close(probs, expected):
            if _close(probs, unigram) and not _close(unigram, expected):
                _fail(task, "ignores_context", where)
            w = int(np.argmax(np.abs(probs - expected)))
            _fail(
                task,
                "differs",
                f"P({w} | {context}): yours {probs[w]:.4f}, zoo {expected[w]:.4f}",
            )
    _passed(task, f"NGramLM(order={n}, smoothing='mle')", len(contexts))


def _kneser_ney_variants(ids, v, V, D):
    """What common mistakes give for the bigram distribution after ``v``."""
    bigrams = _padded_ngrams(ids, 2)
    types = set(bigrams)
    c = np.array([bigrams.count((v, w)) for w in range(V)], np.float64)
    total = c.sum()
    n1 = float((c > 0).sum())
    continuation = np.array([sum(1 for a, b in types if b == w) for w in range(V)])
    continuation = continuation / len(types)
    frequency = np.bincount(ids, minlength=V) / len(ids)
    discounted = np.maximum(c - D, 0.0) / total
    lam = D * n1 / total
    return {
        "no_discount": c / total,
        "no_backoff_mass": discounted,
        "not_continuation": discounted + lam * frequency,
    }


@_quiet
def check_kneser_ney(
    kneser_ney_probs: Callable, *, seed: int = 0, discount: float = 0.75
) -> None:
    """Check ``kneser_ney_probs(ids, previous, vocab_size, discount) -> (V,)``.

    Interpolated Kneser-Ney for bigrams with one discount D, compared with
    `NGramLM(order=2, smoothing="kneser_ney_single", uniform_floor=False)`:

        P(w | v) = max(c(v w) - D, 0) / c(v •) + lambda(v) P_cont(w)
        lambda(v) = D N1+(v •) / c(v •),   P_cont(w) = N1+(• w) / N1+(• •)
    """
    __tracebackhide__ = True
    from zoo.models.ngram import NGramLM

    task = "kneser_ney_probs"
    V = 12
    ids = random_text(seed, length=80)
    lm = NGramLM(
        order=2, smoothing="kneser_ney_single", discount=discount, uniform_floor=False
    ).fit(np.array(ids), vocab_size=V)
    contexts = [c[0] for c in _seen_contexts(ids, 2)]
    for v in contexts:
        probs = _check_distribution(
            task, _call(task, kneser_ney_probs, list(ids), v, V, discount), V
        )
        expected = lm.next_token_probs([v])
        variants = _kneser_ney_variants(ids, v, V, discount)
        where = f"previous token {v}"
        if not math.isclose(probs.sum(), 1.0, abs_tol=1e-6):
            if _close(probs, variants["no_backoff_mass"]):
                _fail(task, "no_backoff_mass", where)
            _fail(task, "rows_not_one", f"{where}: they sum to {probs.sum():.4f}")
        if not _close(probs, expected):
            for code in ("no_discount", "not_continuation"):
                if _close(probs, variants[code]):
                    _fail(task, code, where)
            w = int(np.argmax(np.abs(probs - expected)))
            _fail(
                task,
                "differs",
                f"P({w} | {v}): yours {probs[w]:.4f}, zoo {expected[w]:.4f}",
            )
    _passed(task, "NGramLM(order=2, smoothing='kneser_ney_single')", len(contexts))


# --------------------------------------------------------------- 02 RNN cell


def _rnn_weights(seed, E=4, H=5):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.6, (E, H))
    U = rng.normal(0, 0.4, (H, H))
    b = rng.normal(0, 0.3, (H,))
    return W, U, b


def _elman_cell(W, U, b):
    """zoo's ElmanCell with these weights (float64, so it matches numpy)."""
    from zoo.layers.cells import ElmanCell

    cell = ElmanCell(U.shape[0], dtype="float64")
    cell.build((None, W.shape[0]))
    cell.W.assign(W)
    cell.U.assign(U)
    cell.b.assign(b)
    return cell


@_quiet
def check_rnn_step(rnn_step: Callable, *, seed: int = 0, batch: int = 3) -> None:
    """Check ``rnn_step(x_t, h_prev, W, U, b) -> h_t`` against zoo's ElmanCell.

    h_t = tanh(x_t W + h_{t-1} U + b), vectors as rows: x_t (B, E),
    h_prev (B, H), W (E, H), U (H, H), b (H,).
    """
    __tracebackhide__ = True
    task = "rnn_step"
    rng = np.random.default_rng(seed + 100)
    W, U, b = _rnn_weights(seed)
    E, H = W.shape
    x = rng.normal(0, 1, (batch, E))
    h_prev = rng.uniform(-0.9, 0.9, (batch, H))
    expected, _ = _elman_cell(W, U, b)(x, [h_prev])
    expected = np.asarray(expected)
    h = _array(task, _call(task, rnn_step, x, h_prev, W, U, b), (batch, H), "h_t")
    if not _close(h, expected):
        linear = x @ W + h_prev @ U + b
        if _close(h, linear) or np.abs(h).max() > 1.0:
            _fail(task, "no_tanh")
        if _close(h, np.tanh(x @ W + b)):
            _fail(task, "ignores_state")
        if _close(h, np.tanh(x @ W + h_prev @ U)):
            _fail(task, "no_bias")
        _fail(task, "differs", f"largest difference {np.abs(h - expected).max():.3g}")
    _passed(task, "zoo.layers.ElmanCell")


@_quiet
def check_rnn_forward(
    rnn_forward: Callable, *, seed: int = 0, batch: int = 3, steps: int = 6
) -> None:
    """Check ``rnn_forward(xs, h0, W, U, b) -> (hs, h_last)``.

    Against ``keras.layers.RNN(ElmanCell(H), return_sequences=True,
    return_state=True)`` started from h0: xs (B, T, E) -> hs (B, T, H) and the
    last state (B, H).
    """
    __tracebackhide__ = True
    import keras

    task = "rnn_forward"
    rng = np.random.default_rng(seed + 200)
    W, U, b = _rnn_weights(seed)
    E, H = W.shape
    xs = rng.normal(0, 1, (batch, steps, E))
    h0 = rng.uniform(-0.9, 0.9, (batch, H))
    rnn = keras.layers.RNN(
        _elman_cell(W, U, b), return_sequences=True, return_state=True, dtype="float64"
    )
    expected, expected_last = (np.asarray(t) for t in rnn(xs, initial_state=[h0]))
    hs, last = _pair(task, _call(task, rnn_forward, xs, h0, W, U, b), "(hs, h_last)")
    shape = np.shape(hs)
    if shape == (steps, batch, H) and steps != batch:
        _fail(task, "time_major", f"hs has shape {shape}")
    hs = _array(task, hs, (batch, steps, H), "hs")
    last = _array(task, last, (batch, H), "h_last")
    if not _close(hs[:, 0], expected[:, 0]):
        zeros = np.tanh(xs[:, 0] @ W + b)
        _fail(task, "ignores_h0" if _close(hs[:, 0], zeros) else "differs", "step 0")
    if not _close(hs, expected):
        from_h0 = np.tanh(xs @ W + (h0 @ U)[:, None, :] + b)  # every step from h0
        if _close(hs, from_h0):
            _fail(task, "state_dropped")
        t = next(t for t in range(steps) if not _close(hs[:, t], expected[:, t]))
        _fail(task, "step_differs", f"steps 0..{t - 1} agree, step {t} differs")
    if not _close(last, expected_last):
        _fail(task, "last_state")
    _passed(task, "keras.layers.RNN(zoo.layers.ElmanCell)")


@_quiet
def check_rnn_output(rnn_output: Callable, *, seed: int = 0, batch: int = 3) -> None:
    """Check ``rnn_output(h, V, c) -> o`` = softmax(h V + c) over the vocabulary.

    h (B, H), V (H, vocab), c (vocab,) -> (B, vocab), each row summing to one
    (`keras.ops.softmax`, the g of document 002).
    """
    __tracebackhide__ = True
    from keras import ops

    task = "rnn_output"
    rng = np.random.default_rng(seed + 300)
    H, vocab = 5, 7
    h = rng.uniform(-1, 1, (batch, H))
    V = rng.normal(0, 1.5, (H, vocab))
    c = rng.normal(0, 0.5, (vocab,))
    logits = h @ V + c
    expected = np.asarray(ops.softmax(logits, axis=-1))
    o = _array(task, _call(task, rnn_output, h, V, c), (batch, vocab), "o_t")
    if not _close(o, expected):
        if _close(o, logits):
            _fail(task, "no_softmax")
        if _close(o.sum(axis=0), np.ones(vocab)):
            _fail(task, "wrong_axis")
        if not _close(o.sum(axis=-1), np.ones(batch)):
            _fail(task, "rows_not_one", f"row sums {np.round(o.sum(-1), 4)}")
        _fail(task, "differs", f"largest difference {np.abs(o - expected).max():.3g}")
    _passed(task, "keras.ops.softmax")


# ------------------------------------------------------------ 03 perplexity


def language_model_batch(seed: int = 0, lengths=(7, 5, 2, 6), vocab_size: int = 9):
    """Random logits (B, T, V) and padded targets (B, T), for the checks.

    Row b has ``lengths[b]`` real targets (ids >= FIRST_REAL_ID), then PAD.
    """
    rng = np.random.default_rng(seed)
    B, T = len(lengths), max(lengths)
    logits = rng.normal(0, 2.0, (B, T, vocab_size))
    targets = rng.integers(FIRST_REAL_ID, vocab_size, (B, T))
    for row, length in enumerate(lengths):
        targets[row, length:] = PAD_ID
    return logits, targets


def token_losses_of(logits, targets) -> np.ndarray:
    """zoo's per-token cross-entropy (nats), padding *not* zeroed: (B, T)."""
    from zoo.training import _token_nll

    nll, _ = _token_nll(targets, logits, pad_id=-1)  # -1: no position is padding
    return np.asarray(nll, np.float64)


def _zoo_perplexity(batches) -> float:
    from zoo.training import Perplexity

    metric = Perplexity(pad_id=PAD_ID)
    for logits, targets in batches:
        metric.update_state(targets, logits)
    return float(metric.result())


@_quiet
def check_token_losses(token_losses: Callable, *, seed: int = 0) -> None:
    """Check ``token_losses(logits, targets) -> (B, T)`` against zoo's loss.

    The loss of each position is -log softmax(logits)[target] (zoo's
    cross-entropy on logits, before padding is masked).
    """
    __tracebackhide__ = True
    task = "token_losses"
    logits, targets = language_model_batch(seed)
    expected = token_losses_of(logits, targets)
    losses = _array(task, _call(task, token_losses, logits, targets), targets.shape)
    if not _close(losses, expected):
        picked = np.take_along_axis(logits, targets[..., None], -1)[..., 0]
        if _close(losses, -picked):
            _fail(task, "not_normalised")
        if (losses < -1e-9).any():
            _fail(task, "negative_loss")
        wrong = -np.take_along_axis(_log_softmax(logits, 1), targets[..., None], -1)
        if _close(losses, wrong[..., 0]):
            _fail(task, "wrong_axis")
        _fail(
            task, "differs", f"largest difference {np.abs(losses - expected).max():.3g}"
        )
    big = logits * 400.0
    try:
        large = np.asarray(token_losses(big, targets), np.float64)
    except Exception as error:  # an overflow that raises
        raise CheckError(task, "unstable", f"{type(error).__name__}") from error
    if not np.isfinite(large).all() or not _close(large, token_losses_of(big, targets)):
        _fail(task, "unstable", "logits of a few hundred")
    _passed(task, "zoo.training's cross-entropy on logits")


def _perplexity_variants(losses, targets, pad_id):
    real = targets != pad_id
    total, count = (losses * real).sum(), real.sum()
    per_row = np.exp((losses * real).sum(1) / np.maximum(real.sum(1), 1))
    return {
        "no_exp": [total / count],
        "base_2": [2.0 ** (total / count)],
        "padding_counted": [
            np.exp(losses.mean()),
            np.exp(total / real.size),
            np.exp(losses.sum() / count),
        ],
        "per_sequence": [per_row[real.any(1)].mean()],
    }


@_quiet
def check_perplexity(perplexity: Callable, *, seed: int = 0) -> None:
    """Check ``perplexity(losses, targets, pad_id=0) -> float``.

    exp(sum of the losses at real tokens / number of real tokens), compared
    with `zoo.training.Perplexity` on the logits the losses came from.
    """
    __tracebackhide__ = True
    task = "perplexity"
    logits, targets = language_model_batch(seed)
    losses = token_losses_of(logits, targets)
    expected = _zoo_perplexity([(logits, targets)])
    value = _array(task, _call(task, perplexity, losses, targets, PAD_ID), (), "it")
    if not _close(value, expected):
        for code, candidates in _perplexity_variants(losses, targets, PAD_ID).items():
            if any(_close(value, c) for c in candidates):
                _fail(task, code, f"yours {float(value):.4f}, zoo {expected:.4f}")
        _fail(task, "differs", f"yours {float(value):.4f}, zoo {expected:.4f}")
    _passed(task, "zoo.training.Perplexity")


@_quiet
def check_corpus_perplexity(corpus_perplexity: Callable, *, seed: int = 0) -> None:
    """Check ``corpus_perplexity(batches, pad_id=0) -> float`` over many batches.

    ``batches`` is a list of ``(losses, targets)``; the result is the
    token-weighted perplexity of all of them, as `zoo.training.Perplexity`
    accumulates it over a whole evaluation set.
    """
    __tracebackhide__ = True
    task = "corpus_perplexity"
    shapes = [(7, 7, 6, 7), (3, 1, 2, 2), (7, 4, 5, 6)]
    batches = [
        language_model_batch(seed + i, lengths) for i, lengths in enumerate(shapes)
    ]
    pairs = [(token_losses_of(lg, tg), tg) for lg, tg in batches]
    expected = _zoo_perplexity(batches)
    value = _array(task, _call(task, corpus_perplexity, pairs, PAD_ID), (), "it")
    if not _close(value, expected):
        means = [(ls * (tg != 0)).sum() / (tg != 0).sum() for ls, tg in pairs]
        real = np.concatenate([(tg != 0).ravel() for _, tg in pairs])
        every = np.concatenate([ls.ravel() for ls, _ in pairs])
        variants = {
            "batch_mean": [np.mean(np.exp(means))],
            "batch_mean_loss": [np.exp(np.mean(means))],
            "no_exp": [(every * real).sum() / real.sum()],
            "padding_counted": [np.exp(every.mean()), np.exp(every.sum() / real.sum())],
        }
        for code, candidates in variants.items():
            if any(_close(value, c) for c in candidates):
                _fail(task, code, f"yours {float(value):.4f}, zoo {expected:.4f}")
        _fail(task, "differs", f"yours {float(value):.4f}, zoo {expected:.4f}")
    _passed(task, "zoo.training.Perplexity over 3 batches")


# ------------------------------------------------------------- 04 attention


@_quiet
def check_causal_mask(causal_mask: Callable, *, sizes=(1, 4, 7)) -> None:
    """Check ``causal_mask(T) -> (T, T)``, True = may attend (Keras's convention).

    Against `zoo.layers.masks.causal_mask`: query i may attend keys 0..i.
    """
    __tracebackhide__ = True
    from zoo.layers.masks import causal_mask as zoo_causal_mask

    task = "causal_mask"
    for T in sorted(sizes, reverse=True):  # T = 1 cannot tell most mistakes apart
        mask = _array(task, _call(task, causal_mask, T), (T, T), "the mask")
        if not np.isin(mask, (0.0, 1.0)).all():
            _fail(task, "wrong_type", "the mask should hold True/False (or 1/0)")
        mask = mask.astype(bool)
        expected = np.asarray(zoo_causal_mask(T))
        if (mask == expected).all():
            continue
        where = f"T = {T}"
        if T > 1 and (mask == ~expected).all():
            _fail(task, "inverted_mask", where)
        if (mask & ~expected).any():
            i, j = np.argwhere(mask & ~expected)[0]
            _fail(task, "attends_future", f"{where}: query {i} sees key {j}")
        if not np.diag(mask).all():
            _fail(task, "no_self", where)
        _fail(task, "past_blocked", where)
    _passed(task, "zoo.layers.masks.causal_mask", len(sizes))


def _attention_inputs(seed, B=2, T=3, S=5, D=4, Dv=6):
    rng = np.random.default_rng(seed)
    q = rng.normal(0, 1.5, (B, T, D))
    k = rng.normal(0, 1.5, (B, S, D))
    v = rng.normal(0, 1.0, (B, S, Dv))
    mask = rng.random((B, T, S)) < 0.6
    mask[..., 0] = True  # every query may attend at least one key
    return q, k, v, mask


def _zoo_attention(q, k, v, mask=None):
    from zoo.layers.attention import scaled_dot_product_attention

    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    return np.asarray(out, np.float64), np.asarray(weights, np.float64)


@_quiet
def check_attention(attention: Callable, *, seed: int = 0, T: int = 3, S: int = 5):
    """Check ``attention(q, k, v, mask=None) -> (output, weights)``.

    softmax(Q K^T / sqrt(d_k)) V against
    `zoo.layers.attention.scaled_dot_product_attention`, without and with a
    (B, T, S) boolean mask (True = may attend). q (B, T, D), k (B, S, D),
    v (B, S, Dv) -> output (B, T, Dv), weights (B, T, S).
    """
    __tracebackhide__ = True
    task = "attention"
    q, k, v, mask = _attention_inputs(seed, T=T, S=S)
    (B, _, D), Dv = q.shape, v.shape[-1]
    scores = q @ k.transpose(0, 2, 1)  # (B, T, S)
    for masked in (False, True):
        args = {"mask": mask} if masked else {}
        expected_out, expected = _zoo_attention(q, k, v, mask if masked else None)
        out, weights = _pair(
            task, _call(task, attention, q, k, v, **args), "(output, weights)"
        )
        weights = _array(task, weights, (B, T, S), "the weights")
        out = _array(task, out, (B, T, Dv), "the output")
        where = "with a mask" if masked else "without a mask"
        if not _close(weights.sum(-1), np.ones((B, T))):
            if T != S and _close(weights.sum(-2), np.ones((B, S))):
                _fail(task, "wrong_axis", where)
            _fail(task, "rows_not_one", where)
        if not _close(weights, expected):
            keep = mask if masked else np.ones_like(mask)

            def masked_softmax(x, keep=keep):
                return _softmax(np.where(keep, x, -1e9))

            variants = {
                "no_scale": masked_softmax(scores),
                "scale_d": masked_softmax(scores / D),
            }
            if masked:
                variants["mask_ignored"] = _softmax(scores / math.sqrt(D))
                variants["mask_inverted"] = masked_softmax(
                    scores / math.sqrt(D), keep=~mask
                )
            for code, variant in variants.items():
                if _close(weights, variant):
                    _fail(task, code, where)
            if masked and (weights[~mask] > 1e-6).any():
                _fail(task, "masked_weight", where)
            _fail(task, "differs", f"{where}: the weights")
        if not _close(out, expected_out):
            _fail(task, "output_differs", where)
    _passed(task, "zoo.layers.attention.scaled_dot_product_attention", 2)


def _future_changes(task, fn, x, *args):
    """Whether fn's output at positions < p moves when tokens >= p change."""
    __tracebackhide__ = True
    T = x.shape[1]
    base = np.asarray(_call(task, fn, x, *args), np.float64)
    for p in range(1, T):
        later = x.copy()
        later[:, p:] = np.random.default_rng(p).normal(0, 2.0, later[:, p:].shape)
        moved = np.asarray(_call(task, fn, later, *args), np.float64)
        if not _close(moved[:, :p], base[:, :p]):
            return p
    return None


@_quiet
def check_causal_attention(causal_attention: Callable, *, seed: int = 0, T: int = 5):
    """Check ``causal_attention(x) -> (B, T, D)``: self-attention, causal mask.

    Against zoo's ``scaled_dot_product_attention(x, x, x, mask=causal_mask(T))``,
    and by changing later tokens: earlier outputs must not move.
    """
    __tracebackhide__ = True
    from zoo.layers.masks import causal_mask

    task = "causal_attention"
    x = np.random.default_rng(seed).normal(0, 1.5, (2, T, 4))
    expected, _ = _zoo_attention(x, x, x, np.asarray(causal_mask(T)))
    out = _array(task, _call(task, causal_attention, x), x.shape, "the output")
    p = _future_changes(task, causal_attention, x)
    if p is not None:
        _fail(task, "attends_future", f"outputs before position {p} change")
    if not _close(out, expected):
        D = x.shape[-1]
        scores = np.where(np.asarray(causal_mask(T)), x @ x.transpose(0, 2, 1), -1e9)
        for code, divisor in (("no_scale", 1.0), ("scale_d", D)):
            if _close(out, _softmax(scores / divisor) @ x):
                _fail(task, code)
        _fail(task, "differs", f"largest difference {np.abs(out - expected).max():.3g}")
    _passed(task, "zoo's attention with zoo.layers.masks.causal_mask")


# ---------------------------------------------------- 05 multi-head attention


def _zoo_heads(x, num_heads):
    """zoo's MultiHeadAttention's own split: its query projection with an
    identity kernel, then its (B, T, H, D) -> (B, H, T, D) transpose."""
    from zoo.layers.attention import MultiHeadAttention

    B, T, C = x.shape
    D = C // num_heads
    mha = MultiHeadAttention(num_heads, D, use_bias=False, dtype="float64")
    mha.build(x.shape, x.shape)
    mha.query_dense.kernel.assign(np.eye(C).reshape(C, num_heads, D))
    heads = np.asarray(mha.query_dense(x))  # (B, T, H, D)
    return heads.transpose(0, 2, 1, 3)  # (B, H, T, D)


@_quiet
def check_split_heads(split_heads: Callable, *, seed: int = 0, num_heads: int = 2):
    """Check ``split_heads(x, num_heads) -> (B, H, T, D)``, D = C / H.

    Head h holds channels h*D .. h*D + D - 1 of every token, the layout of
    zoo's (and Keras's) MultiHeadAttention.
    """
    __tracebackhide__ = True
    task = "split_heads"
    B, T, C = 2, 3, 8
    H, D = num_heads, C // num_heads
    x = np.random.default_rng(seed).normal(0, 1, (B, T, C))
    expected = _zoo_heads(x, H)
    heads = _call(task, split_heads, x, H)
    if np.shape(heads) == (B, T, H, D) and T != H:
        _fail(task, "heads_last", f"got shape {np.shape(heads)}")
    heads = _array(task, heads, (B, H, T, D), "the heads")
    if not _close(heads, expected):
        if _close(heads, x.reshape(B, H, T, D)):
            _fail(task, "reshape_only")
        if _close(heads, x.reshape(B, T, D, H).transpose(0, 3, 1, 2)):
            _fail(task, "strided_heads")
        _fail(task, "differs")
    _passed(task, "zoo.layers.MultiHeadAttention's head layout")


@_quiet
def check_merge_heads(merge_heads: Callable, *, seed: int = 0, num_heads: int = 2):
    """Check ``merge_heads(heads) -> (B, T, C)``, the inverse of split_heads."""
    __tracebackhide__ = True
    task = "merge_heads"
    B, T, C = 2, 3, 8
    x = np.random.default_rng(seed).normal(0, 1, (B, T, C))
    heads = _zoo_heads(x, num_heads)
    merged = _array(task, _call(task, merge_heads, heads), (B, T, C), "the output")
    if not _close(merged, x):
        _fail(task, "merge_not_inverse")
    _passed(task, "zoo.layers.MultiHeadAttention's head layout")


def _mha_weights(seed, C):
    rng = np.random.default_rng(seed + 500)
    return [rng.normal(0, 1 / math.sqrt(C), (C, C)) for _ in range(4)]


def _zoo_mha(x, Wq, Wk, Wv, Wo, num_heads, causal):
    """zoo's MultiHeadAttention (no biases) with these (C, C) weights."""
    from zoo.layers.attention import MultiHeadAttention

    C = x.shape[-1]
    H, D = num_heads, C // num_heads
    mha = MultiHeadAttention(H, D, use_bias=False, dtype="float64")
    mha.build(x.shape, x.shape)
    for layer, W in ((mha.query_dense, Wq), (mha.key_dense, Wk), (mha.value_dense, Wv)):
        layer.kernel.assign(W.reshape(C, H, D))
    mha.output_dense.kernel.assign(Wo.reshape(H, D, C))
    return np.asarray(mha(x, x, use_causal_mask=causal))


def _mha_variants(x, Wq, Wk, Wv, Wo, H):
    """What common mistakes give (no mask)."""
    B, T, C = x.shape
    D = C // H

    def heads(y, reshape_only=False):
        if reshape_only:
            return y.reshape(B, H, T, D)
        return y.reshape(B, T, H, D).transpose(0, 2, 1, 3)

    def attend(q, k, v, scale):
        w = _softmax(q @ np.swapaxes(k, -1, -2) / math.sqrt(scale))
        return w @ v

    def merge(y):
        return y.transpose(0, 2, 1, 3).reshape(B, T, C)

    q, k, v = x @ Wq, x @ Wk, x @ Wv
    good = merge(attend(heads(q), heads(k), heads(v), D))
    return {
        "no_output_projection": good,
        "one_head": attend(q, k, v, C) @ Wo,
        "reshape_only": merge(attend(heads(q, True), heads(k, True), heads(v, True), D))
        @ Wo,
    }


@_quiet
def check_multi_head_attention(
    multi_head_attention: Callable, *, seed: int = 0, num_heads: int = 2
) -> None:
    """Check ``multi_head_attention(x, Wq, Wk, Wv, Wo, num_heads, causal)``.

    Against `zoo.layers.attention.MultiHeadAttention` (no biases) with the
    same weights: W (C, C) is its (C, H, D) kernel with the last two axes
    joined, Wo (C, C) its (H, D, C) output kernel with the first two joined.
    """
    __tracebackhide__ = True
    task = "multi_head_attention"
    B, T, C = 2, 5, 8
    x = np.random.default_rng(seed).normal(0, 1, (B, T, C))
    weights = _mha_weights(seed, C)
    for causal in (False, True):
        expected = _zoo_mha(x, *weights, num_heads, causal)
        out = _call(task, multi_head_attention, x, *weights, num_heads, causal)
        out = _array(task, out, (B, T, C), "the output")
        where = f"causal={causal}"
        if causal:
            p = _future_changes(
                task, multi_head_attention, x, *weights, num_heads, True
            )
            if p is not None:
                _fail(task, "attends_future", f"outputs before position {p} change")
        if not _close(out, expected):
            if not causal:
                for code, variant in _mha_variants(x, *weights, num_heads).items():
                    if _close(out, variant):
                        _fail(task, code, where)
            _fail(task, "differs", where)
    _passed(task, "zoo.layers.attention.MultiHeadAttention", 2)


# ------------------------------------------------------------ 06 beam search


class ToyLanguageModel:
    """A random trigram model over a tiny vocabulary, for the beam search checks.

    ``next_log_probs(prefix)`` gives the (V,) log-probabilities of the token
    after ``prefix`` (a list of ids), from the last two ids (BOS before the
    first). Reserved ids (below FIRST_REAL_ID) have probability zero (-inf).

    Args:
        seed: which random table.
        vocab_size: V; ids FIRST_REAL_ID..V-1 are the real tokens.
    """

    def __init__(self, seed: int = 0, vocab_size: int = 10):
        rng = np.random.default_rng(seed)
        self.vocab_size = vocab_size
        logits = rng.normal(0.0, 1.5, (vocab_size, vocab_size, vocab_size))
        logits[..., :FIRST_REAL_ID] = -np.inf
        self.table = _log_softmax(np.where(np.isinf(logits), -1e30, logits))
        self.table[..., :FIRST_REAL_ID] = -np.inf

    def next_log_probs(self, prefix) -> np.ndarray:
        prefix = [BOS_ID, BOS_ID, *[int(t) for t in prefix]]
        return self.table[prefix[-2], prefix[-1]].copy()

    def score(self, sequence, prompt_length: int) -> float:
        """Sum of the log-probabilities of the tokens after the prompt."""
        sequence = [int(t) for t in sequence]
        return float(
            sum(
                self.next_log_probs(sequence[:t])[sequence[t]]
                for t in range(prompt_length, len(sequence))
            )
        )

    def zoo_beam_search(self, prompt, beam_width: int, max_new_tokens: int):
        """zoo's own beam search (`zoo.generation.decoding`) over this model."""
        import tensorflow as tf

        from zoo.generation.decoding import _beam_search

        table = tf.constant(np.maximum(self.table, -1e9), tf.float32)

        def decode_step(tokens, state, position, key):
            tokens = tf.cast(tokens, tf.int32)  # (K,)
            logits = tf.gather_nd(table, tf.stack([state, tokens], axis=-1))  # (K, V)
            return None, tokens, logits  # the new state: the token just read

        out = _beam_search(
            None,
            decode_step,
            tf.fill((1,), BOS_ID),
            np.asarray([prompt], np.int32),
            max_new_tokens,
            beam_width,
            None,
        )
        return [int(t) for t in out[0]]


def beam_search_case(seed: int = 0, beam_width: int = 3, max_new_tokens: int = 4):
    """A toy model and prompt where beam search beats greedy decoding."""
    for attempt in range(100):
        lm = ToyLanguageModel(seed * 100 + attempt)
        prompt = [FIRST_REAL_ID + attempt % (lm.vocab_size - FIRST_REAL_ID)]
        beam = lm.zoo_beam_search(prompt, beam_width, max_new_tokens)
        greedy = lm.zoo_beam_search(prompt, 1, max_new_tokens)
        if lm.score(beam, 1) > lm.score(greedy, 1) + 1e-3:
            return lm, prompt, beam, greedy
    raise RuntimeError("no toy model where beam search beats greedy")  # never


def _check_sequence(task, seq, prompt, max_new_tokens, lm, expected=()):
    """The ids of a decoded sequence, or a failed check; ``expected`` holds
    zoo's sequences, to recognise one handed back without its prompt."""
    __tracebackhide__ = True
    try:
        seq = [int(t) for t in seq]
    except (TypeError, ValueError):
        _fail(task, "wrong_type", "the sequence should be a list of ids")
    if any(seq == list(s[len(prompt) :]) for s in expected):
        _fail(task, "no_prompt", f"only the new ids: {seq}")
    if len(seq) != len(prompt) + max_new_tokens:
        _fail(task, "wrong_length", f"expected {len(prompt) + max_new_tokens} ids")
    if seq[: len(prompt)] != list(prompt):
        _fail(task, "no_prompt", f"prompt {prompt}, sequence {seq}")
    if any(not FIRST_REAL_ID <= t < lm.vocab_size for t in seq[len(prompt) :]):
        _fail(task, "reserved_token", f"sequence {seq}")
    return seq


@_quiet
def check_greedy(greedy_decode: Callable, *, seed: int = 0, max_new_tokens: int = 5):
    """Check ``greedy_decode(next_log_probs, prompt, max_new_tokens) -> ids``.

    Against zoo's beam search with one beam, which is greedy decoding.
    """
    __tracebackhide__ = True
    task = "greedy_decode"
    lm, prompt, _, greedy = beam_search_case(seed, max_new_tokens=max_new_tokens)
    seq = _call(task, greedy_decode, lm.next_log_probs, list(prompt), max_new_tokens)
    seq = _check_sequence(task, seq, prompt, max_new_tokens, lm, [greedy])
    if seq != greedy:
        t = next(t for t in range(len(seq)) if seq[t] != greedy[t])
        _fail(task, "not_greedy", f"step {t - len(prompt)}: yours {seq}, zoo {greedy}")
    _passed(task, "zoo's beam search with beam_width=1")


@_quiet
def check_beam_search(
    beam_search: Callable,
    *,
    seed: int = 0,
    beam_width: int = 3,
    max_new_tokens: int = 4,
) -> None:
    """Check ``beam_search(next_log_probs, prompt, beam_width, max_new_tokens)``.

    It returns ``(sequence, score)``: the best sequence found (the prompt and
    max_new_tokens new ids) and the sum of the log-probabilities of its new
    tokens. Compared with zoo's beam search (`zoo.generation.decoding`) on a
    toy model where beam search finds a better sequence than greedy decoding.
    """
    __tracebackhide__ = True
    task = "beam_search"
    lm, prompt, best, greedy = beam_search_case(seed, beam_width, max_new_tokens)
    seq, score = _pair(
        task,
        _call(
            task,
            beam_search,
            lm.next_log_probs,
            list(prompt),
            beam_width,
            max_new_tokens,
        ),
        "(sequence, score)",
    )
    seq = _check_sequence(task, seq, prompt, max_new_tokens, lm, [best, greedy])
    score = float(_array(task, score, (), "the score"))
    true_score = lm.score(seq, len(prompt))
    if not math.isclose(score, true_score, rel_tol=1e-5, abs_tol=1e-5):
        _fail(task, "wrong_score", f"yours {score:.4f}, the sum {true_score:.4f}")
    best_score = lm.score(best, len(prompt))
    if seq != best:
        detail = f"yours {seq} scores {true_score:.4f}; zoo {best} {best_score:.4f}"
        if seq == greedy:
            _fail(task, "beam_is_greedy", detail)
        _fail(task, "beam_worse" if true_score < best_score else "beam_better", detail)
    _passed(task, f"zoo's beam search, beam_width={beam_width}")


# ---------------------------------------------------------- 07 BERT masking


def masking_batch(seed: int = 0, batch: int = 64, length: int = 128, vocab_size=40):
    """Token ids (B, T) with real ids and trailing PAD, for the masking checks."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(FIRST_REAL_ID, vocab_size, (batch, length))
    lengths = rng.integers(length // 2, length + 1, batch)
    ids[np.arange(length)[None, :] >= lengths[:, None]] = PAD_ID
    return ids


def _masking_shares(ids, inputs, targets):
    """(chosen share of real tokens, [MASK], random, kept shares of the chosen)."""
    real = ids >= FIRST_REAL_ID
    chosen = real & (targets != PAD_ID)
    masked = chosen & (inputs == MASK_ID)
    kept = chosen & (inputs == ids)
    randomised = chosen & ~masked & ~kept
    n = max(int(chosen.sum()), 1)
    return (
        chosen.sum() / real.sum(),
        masked.sum() / n,
        randomised.sum() / n,
        kept.sum() / n,
    )


@_quiet
def check_mask_tokens(mask_tokens: Callable, *, seed: int = 0, vocab_size: int = 40):
    """Check ``mask_tokens(ids, vocab_size=V, seed=s) -> (inputs, targets)``.

    BERT's masking: 15% of the real tokens are chosen; of those 80% become
    MASK_ID, 10% a random real id and 10% stay; the target is the original
    token where chosen and PAD elsewhere. Masking is random, so the check
    compares shares: the student's must be within 5 standard deviations of
    the average shares of BERT's masking, and the message shows them next to
    those `zoo.data.pipeline.mask_tokens` gives on the same ids.
    """
    __tracebackhide__ = True
    from zoo.data.pipeline import mask_tokens as zoo_mask_tokens

    task = "mask_tokens"
    ids = masking_batch(seed, vocab_size=vocab_size)
    real = ids >= FIRST_REAL_ID

    def run(s):
        result = _pair(
            task,
            _call(task, mask_tokens, ids.copy(), vocab_size=vocab_size, seed=s),
            "(inputs, targets)",
        )
        inputs = _array(task, result[0], ids.shape, "inputs").astype(np.int64)
        targets = _array(task, result[1], ids.shape, "targets").astype(np.int64)
        return inputs, targets

    inputs, targets = run(seed)
    again, again_targets = run(seed)
    if (inputs != again).any() or (targets != again_targets).any():
        _fail(task, "not_seeded")
    if (inputs[~real] != ids[~real]).any() or (targets[~real] != PAD_ID).any():
        _fail(task, "padding_chosen")
    if not ((targets == PAD_ID) | (targets == ids)).all():
        _fail(task, "target_values")
    # The shares BERT's masking gives on average; a random real id is the
    # original token 1 / (number of real ids) of the time, so "kept" gains it.
    same = 1.0 / (vocab_size - FIRST_REAL_ID)
    expected = (0.15, 0.8, 0.1 * (1 - same), 0.1 + 0.1 * same)
    zoo_shares = _masking_shares(
        ids, *zoo_mask_tokens(ids, vocab_size=vocab_size, seed=seed)
    )
    rate, masked, randomised, kept = _masking_shares(ids, inputs, targets)
    shares = (
        f"chosen {rate:.1%}, then [MASK] {masked:.1%}, random {randomised:.1%}, "
        f"kept {kept:.1%}; zoo on the same ids: chosen {zoo_shares[0]:.1%}, "
        f"then {zoo_shares[1]:.1%} / {zoo_shares[2]:.1%} / {zoo_shares[3]:.1%}"
    )
    n_real = int(real.sum())
    n_chosen = max(int((real & (targets != PAD_ID)).sum()), 1)

    def off(share, p, n):
        """Further from p than chance allows: 5 standard deviations of a share
        of n draws (a correct answer fails about once in a million)."""
        return abs(share - p) > 5 * math.sqrt(p * (1 - p) / n) + 0.005

    # The split applied to every token: most of the tokens that are not
    # targets became [MASK] too, or every token is a target and most are [MASK].
    unchosen = real & (targets == PAD_ID)
    unchosen_masked = (inputs[unchosen] == MASK_ID).mean() if unchosen.any() else 0
    if unchosen_masked > 0.5 or (rate > 0.99 and masked > 0.5):
        share = (inputs[real] == MASK_ID).mean()
        _fail(task, "every_token", f"{share:.0%} of all the real tokens are [MASK]")
    if (inputs[unchosen] != ids[unchosen]).any():
        _fail(task, "unchosen_changed")
    if rate > 0.99:
        _fail(task, "all_targets", shares)
    if off(rate, expected[0], n_real):
        _fail(task, "rate", shares)
    if masked > 0.97:
        _fail(task, "all_mask", shares)
    if any(
        off(share, p, n_chosen)
        for share, p in zip((masked, randomised, kept), expected[1:], strict=True)
    ):
        _fail(task, "split", shares)
    replaced = real & (targets != PAD_ID) & (inputs != MASK_ID) & (inputs != ids)
    if ((inputs[replaced] < FIRST_REAL_ID) | (inputs[replaced] >= vocab_size)).any():
        _fail(task, "random_reserved")
    other, _ = run(seed + 1)
    if (other == inputs).all():
        _fail(task, "not_seeded", "a different seed gave the same masks")
    print(f"  {shares}")
    _passed(task, "zoo.data.pipeline.mask_tokens's shares")
