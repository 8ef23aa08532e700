"""Checkers for notebook 02 (next-token prediction and the bigram baseline)."""

import math

import torch
import torch.nn.functional as F


def _tensor(out, what):
    assert isinstance(out, torch.Tensor), f"{what}: return a torch.Tensor, got {type(out).__name__}"
    return out


def check_exercise_2_1(fn):
    """fn(data [N], offsets [B], block_size) -> (X1, X2), each [B, block_size]; X2 is X1 shifted by one."""
    g = torch.Generator().manual_seed(0)
    for N, B, T in [(50, 4, 8), (20, 1, 19), (30, 3, 1)]:
        data = torch.randint(0, 100, (N,), generator=g)
        offsets = torch.randint(0, N - T, (B,), generator=g)
        out = fn(data, offsets, T)
        assert isinstance(out, tuple) and len(out) == 2, "return a pair (X1, X2)"
        X1, X2 = _tensor(out[0], "X1"), _tensor(out[1], "X2")
        assert X1.shape == X2.shape == (B, T), f"X1 and X2 must be [B, T] = {(B, T)}, got {tuple(X1.shape)} and {tuple(X2.shape)}"
        ref1 = torch.stack([data[i : i + T] for i in offsets])
        ref2 = torch.stack([data[i + 1 : i + T + 1] for i in offsets])
        assert torch.equal(X1, ref1), "X1[b] must be data[offsets[b] : offsets[b] + block_size]"
        if torch.equal(X2, X1):
            raise AssertionError("X2 equals X1: shift it by one, so X2[b, t] is the token AFTER X1[b, t]")
        if T > 1 and torch.equal(X2[:, 1:], X1[:, :-1]):
            raise AssertionError("X2 is shifted the wrong way: X2[b, t] must be the token after X1[b, t], not before")
        assert torch.equal(X2, ref2), "X2[b] must be data[offsets[b] + 1 : offsets[b] + block_size + 1]"
    print("check_exercise_2_1: correct, every X2[b, t] is the token after X1[b, t]")


def check_exercise_2_2(fn):
    """fn(loss, n_tokens, n_chars) -> bits per character of a loss in nats per token."""
    cases = [(math.log(65), 1000, 1000), (2.5, 300, 1000), (4.0, 1000, 3300)]
    for loss, n_tokens, n_chars in cases:
        out = float(fn(loss, n_tokens, n_chars))
        ref = loss * n_tokens / n_chars / math.log(2)
        if math.isclose(out, ref, rel_tol=1e-6):
            continue
        if math.isclose(out, loss * n_tokens / n_chars, rel_tol=1e-6):
            raise AssertionError("that is nats per character: divide by ln(2) to turn nats into bits")
        if math.isclose(out, loss / math.log(2), rel_tol=1e-6):
            raise AssertionError("that is bits per token: multiply by the number of tokens and divide by the number of characters")
        if math.isclose(out, loss * n_chars / n_tokens / math.log(2), rel_tol=1e-6):
            raise AssertionError("tokens and characters are swapped: the total is loss * n_tokens nats, spread over n_chars characters")
        raise AssertionError(f"for loss={loss:.3f}, {n_tokens} tokens, {n_chars} chars expected {ref:.4f}, got {out:.4f}")
    print("check_exercise_2_2: correct, losses measured per character can now be compared across tokenizers")


def _bigram_probs(ids, V, smoothing):
    counts = torch.zeros(V, V)
    counts.index_put_((ids[:-1], ids[1:]), torch.ones(len(ids) - 1), accumulate=True)
    counts += smoothing
    return counts / counts.sum(1, keepdim=True)


def check_exercise_2_3(fn):
    """fn(ids [N], vocab_size, smoothing=1.0) -> P [V, V], P[i, j] = estimated probability that j follows i."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 6, (200,), generator=g)
    ids[50:60] = 2  # make the table clearly asymmetric
    for smoothing in (1.0, 0.5):
        P = _tensor(fn(ids, 6, smoothing=smoothing), "P")
        assert P.shape == (6, 6), f"P must be [vocab_size, vocab_size] = (6, 6), got {tuple(P.shape)}"
        ref = _bigram_probs(ids, 6, smoothing)
        if torch.allclose(P, ref.T, atol=1e-6) and not torch.allclose(ref, ref.T):
            raise AssertionError("P is transposed: row i holds the counts of the tokens that FOLLOW token i")
        assert torch.allclose(P.sum(1), torch.ones(6), atol=1e-5), "every row of P must sum to 1: normalise each row by its total"
        if torch.allclose(P, _bigram_probs(ids, 6, 0.0), atol=1e-6):
            raise AssertionError("add `smoothing` to every count before normalising, so unseen pairs keep a little probability")
        assert torch.allclose(P, ref, atol=1e-5), f"wrong probabilities with smoothing={smoothing}: count pairs (ids[k], ids[k+1]), add smoothing, normalise rows"
    P = fn(torch.tensor([0, 1, 0, 1]), 3, smoothing=1.0)
    assert torch.allclose(P[2], torch.full((3,), 1 / 3)), "a token never seen as context (id 2 here) must get a uniform row"
    print("check_exercise_2_3: correct, counting pairs gives the bigram table that training approaches")


def check_exercise_2_4(fn):
    """fn(logits [N, V], targets [N]) -> mean cross-entropy, numerically stable."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(10, 7, generator=g)
    targets = torch.randint(0, 7, (10,), generator=g)
    out = _tensor(fn(logits, targets), "loss")
    ref = F.cross_entropy(logits, targets)
    assert out.dim() == 0, f"return one number (a 0-dim tensor), got shape {tuple(out.shape)}"
    if torch.allclose(out, -ref, atol=1e-5):
        raise AssertionError("the sign is flipped: the loss is MINUS the mean log probability of the targets")
    if torch.allclose(out, ref * len(targets), atol=1e-4):
        raise AssertionError("that is the sum over the N examples: take the mean")
    assert torch.allclose(out, ref, atol=1e-5), f"expected {ref.item():.4f}, got {out.item():.4f}: mean of -log softmax(logits)[target]"
    big = logits * 1000  # exp(1000) overflows float32
    out = fn(big, targets)
    assert torch.isfinite(out), (
        "the loss overflows for large logits: subtract each row's max before exp (log-sum-exp trick), "
        "which leaves softmax unchanged"
    )
    assert torch.allclose(out, F.cross_entropy(big, targets), rtol=1e-4), "wrong value for large logits"
    print("check_exercise_2_4: correct, your cross-entropy equals F.cross_entropy, even for huge logits")
