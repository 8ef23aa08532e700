"""Checkers for notebook 08 (the attention lab)."""

import math

import torch


def _causal_weights(T: int, g: torch.Generator, sharp: float = 2.0) -> torch.Tensor:
    """Random causal attention [T, T]: rows sum to 1, exact zeros above the diagonal."""
    s = torch.randn(T, T, generator=g) * sharp
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    return torch.softmax(s, dim=-1)


def _as_1d(out, T: int, what: str) -> torch.Tensor:
    out = torch.as_tensor(out, dtype=torch.float32)
    assert out.shape == (T,), f"{what} must return one number per row, shape ({T},), got {tuple(out.shape)}"
    return out


def check_exercise_8_1(fn):
    """fn(weights [T, T]) -> mean attention distance: sum_j w[t, j] * (t - j), averaged over rows t >= 1."""
    g = torch.Generator().manual_seed(0)
    for T in (2, 5, 12):
        w = _causal_weights(T, g)
        t = torch.arange(T)
        dist = (w * (t[:, None] - t[None, :])).sum(-1)  # [T]: how far back each query looks, on average
        ref = dist[1:].mean().item()
        got = float(fn(w.clone()))
        if abs(got - ref) > 1e-5:
            if abs(got - dist.mean().item()) < 1e-5:
                raise AssertionError("average over the rows t >= 1 only: row 0 can only look at itself, so its distance is always 0")
            if abs(got + ref) < 1e-5:
                raise AssertionError("the sign is flipped: a key j before the query t is t - j positions back, a positive distance")
            if abs(got - (w * (t[:, None] - t[None, :]).abs()).mean().item()) < 1e-5:
                raise AssertionError("weight each distance by the row's attention and sum over the keys first, then average over rows")
            raise AssertionError(f"wrong distance for T={T}: expected {ref:.4f}, got {got:.4f}")
    shift = torch.zeros(6, 6)
    shift[0, 0] = 1.0
    shift[torch.arange(1, 6), torch.arange(0, 5)] = 1.0
    assert abs(float(fn(shift)) - 1.0) < 1e-6, "a previous-token head looks exactly 1 position back"
    assert abs(float(fn(torch.eye(6)))) < 1e-6, "a head that attends to itself looks 0 positions back"
    print("check_exercise_8_1: correct, 0 for a head that looks at itself, 1 for a previous-token head")


def check_exercise_8_2(fn):
    """fn(weights [T, T], offset) -> mean of weights[t, t - offset] over the rows t >= offset."""
    g = torch.Generator().manual_seed(1)
    for T, offset in ((6, 1), (10, 0), (10, 3), (7, 6)):
        w = _causal_weights(T, g)
        t = torch.arange(offset, T)
        ref = w[t, t - offset].mean().item()
        got = float(fn(w.clone(), offset))
        if abs(got - ref) > 1e-5:
            if abs(got - w[t, t - offset].sum().item() / T) < 1e-5:
                raise AssertionError(
                    f"you divided by T={T}; only the {T - offset} rows t >= offset have a key at t - offset, average over those"
                )
            if abs(got - torch.diagonal(w, offset).mean().item()) < 1e-5 and offset:
                raise AssertionError("torch.diagonal(w, offset) with offset > 0 is above the diagonal (the future, all 0); "
                                     "use offset=-offset for keys before the query")
            raise AssertionError(f"wrong score for T={T}, offset={offset}: expected {ref:.4f}, got {got:.4f}")
    shift = torch.zeros(5, 5)
    shift[0, 0] = 1.0
    shift[torch.arange(1, 5), torch.arange(0, 4)] = 1.0
    assert abs(float(fn(shift, 1)) - 1.0) < 1e-6, "a perfect previous-token head (all weight on t - 1) must score 1.0"
    print("check_exercise_8_2: correct, a perfect previous-token head scores 1.0 at offset 1")


def check_exercise_8_3(fn):
    """fn(q [head_size], k [T, head_size], t) -> the weights of query t over all T keys, 0 after t."""
    g = torch.Generator().manual_seed(2)
    for T, hs, t in ((6, 8, 3), (9, 16, 0), (9, 16, 8), (5, 4, 2)):
        q, k = torch.randn(hs, generator=g) * 2, torch.randn(T, hs, generator=g) * 2
        out = _as_1d(fn(q.clone(), k.clone(), t), T, "attention_row")
        scores = k @ q
        ref = torch.softmax((scores / math.sqrt(hs)).masked_fill(torch.arange(T) > t, float("-inf")), -1)
        if torch.allclose(out, ref, atol=1e-5):
            continue
        wrong = {
            "the scores are not scaled: divide q.k by sqrt(head_size) before the softmax":
                torch.softmax(scores.masked_fill(torch.arange(T) > t, float("-inf")), -1),
            "scale by 1/sqrt(head_size), not 1/head_size":
                torch.softmax((scores / hs).masked_fill(torch.arange(T) > t, float("-inf")), -1),
            f"the future keys (after t={t}) still get weight: set their scores to -inf before the softmax":
                torch.softmax(scores / math.sqrt(hs), -1),
            "mask after the softmax leaves rows that do not sum to 1: mask the scores first, then softmax":
                torch.softmax(scores / math.sqrt(hs), -1).masked_fill(torch.arange(T) > t, 0.0),
        }
        for hint, cand in wrong.items():
            if torch.allclose(out, cand, atol=1e-5):
                raise AssertionError(hint)
        raise AssertionError(f"wrong weights for T={T}, head_size={hs}, t={t}: expected {ref.numpy().round(3)}, got {out.numpy().round(3)}")
    print("check_exercise_8_3: correct, scale, mask, softmax: the row the model computes")


def check_exercise_8_4(fn):
    """fn(weights [2n, 2n], seq_len=n) -> mean weight from position t >= n to t - n (the earlier copy of its token)."""
    g = torch.Generator().manual_seed(3)
    for n in (3, 8):
        w = _causal_weights(2 * n, g)
        t = torch.arange(n, 2 * n)
        ref = w[t, t - n].mean().item()
        got = float(fn(w.clone(), n))
        if abs(got - ref) > 1e-5:
            if abs(got - w[t, t - n + 1].mean().item()) < 1e-5:
                raise AssertionError("that is the induction score (the token after the earlier copy, t - n + 1); "
                                     "a duplicate-token head looks at the earlier copy itself, t - n")
            raise AssertionError(f"wrong score for seq_len={n}: expected {ref:.4f}, got {got:.4f}")
    perfect = torch.zeros(8, 8)
    perfect[torch.arange(4), torch.arange(4)] = 1.0
    perfect[torch.arange(4, 8), torch.arange(0, 4)] = 1.0
    assert abs(float(fn(perfect, 4)) - 1.0) < 1e-6, "a head that always finds the earlier copy must score 1.0"
    print("check_exercise_8_4: correct, now run it on the model's heads")
