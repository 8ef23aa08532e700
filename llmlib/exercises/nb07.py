"""Checkers for notebook 07 (sampling: temperature, top-k, top-p, the KV cache)."""

import torch

from llmlib.generate import generate, sampling_probs, top_p_filter
from llmlib.model import GPT, GPTConfig


def _random_logits(seed: int, shape=(4, 30)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 3


def _kept(logits: torch.Tensor) -> list[list[int]]:
    return [torch.nonzero(torch.isfinite(row)).flatten().tolist() for row in logits.reshape(-1, logits.shape[-1])]


def check_exercise_7_1(fn):
    """fn(logits [..., V], temperature) -> probabilities; temperature 0 gives a one-hot on the argmax."""
    for seed, t in [(0, 1.0), (1, 0.5), (2, 2.0), (3, 0.1)]:
        logits = _random_logits(seed)
        probs = fn(logits, t)
        assert isinstance(probs, torch.Tensor) and probs.shape == logits.shape, (
            f"return probabilities of the logits' shape {tuple(logits.shape)}"
        )
        assert torch.allclose(probs.sum(-1), torch.ones(logits.shape[0]), atol=1e-5), "each row must sum to 1: apply a softmax"
        if not torch.allclose(probs, sampling_probs(logits, t), atol=1e-6):
            if torch.allclose(probs, torch.softmax(logits * t, -1), atol=1e-6):
                raise AssertionError("divide the logits by the temperature; multiplying inverts its effect")
            raise AssertionError(f"wrong probabilities at temperature {t}: softmax(logits / temperature)")
    logits = _random_logits(4)
    greedy = fn(logits, 0)
    assert torch.equal(greedy, sampling_probs(logits, 0)), (
        "temperature 0 is greedy: probability 1 on the largest logit of each row, 0 elsewhere"
    )
    print("check_exercise_7_1: correct, temperature scales the logits before the softmax")


def _min_p_reference(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    probs = torch.softmax(logits, dim=-1)
    floor = min_p * probs.max(dim=-1, keepdim=True).values
    return logits.masked_fill(probs < floor, float("-inf"))


def check_exercise_7_2(fn):
    """fn(logits [..., V], min_p) -> logits keeping the tokens with probability >= min_p * (largest probability)."""
    for seed, min_p, shape in [(0, 0.1, (4, 30)), (1, 0.5, (4, 30)), (2, 0.01, (2, 30)), (3, 0.0, (1, 30)),
                               (4, 1.0, (2, 30)), (5, 0.2, (2, 3, 10))]:
        logits = _random_logits(seed, shape)
        out = fn(logits.clone(), min_p)
        assert isinstance(out, torch.Tensor) and out.shape == logits.shape, f"return logits of shape {tuple(shape)}"
        want = _min_p_reference(logits, min_p)
        if _kept(out) != _kept(want):
            n_got, n_want = [len(r) for r in _kept(out)], [len(r) for r in _kept(want)]
            hint = "; nothing was cut" if torch.isfinite(out).all() else ""
            raise AssertionError(
                f"min_p={min_p}: keep the tokens whose probability is >= min_p times the top probability "
                f"(compare probabilities, not logits): you keep {n_got} per row, expected {n_want}{hint}"
            )
        keep = torch.isfinite(want)
        assert torch.equal(out[keep], logits[keep]), "leave the kept logits unchanged"
        assert torch.all(out[~keep] == float("-inf")), "set the cut logits to -inf (so softmax gives them probability 0)"
    print("check_exercise_7_2: correct, min-p keeps the tokens within a factor min_p of the favourite")


def check_exercise_7_3(fn):
    """fn(logits [..., V], p) -> logits keeping, per row, the fewest most likely tokens with probability >= p."""
    for seed, p in [(0, 0.5), (1, 0.9), (2, 0.99), (3, 1e-6), (4, 1.0), (5, 0.3)]:
        logits = _random_logits(seed)
        out = fn(logits.clone(), p)
        assert isinstance(out, torch.Tensor) and out.shape == logits.shape, f"return logits of shape {tuple(logits.shape)}"
        want = top_p_filter(logits, p)
        if _kept(out) != _kept(want):
            probs = torch.softmax(logits, -1)
            mass = (probs * torch.isfinite(out)).sum(-1)
            if not all(torch.isfinite(out).any(-1)):
                raise AssertionError("a row lost every token; always keep at least the most likely one")
            if torch.any(mass < p - 1e-6):
                raise AssertionError(f"p={p}: the kept tokens hold only {mass.min():.3f} of the probability; keep adding until >= p")
            raise AssertionError(
                f"p={p}: you keep more tokens than needed ({[len(r) for r in _kept(out)]} vs "
                f"{[len(r) for r in _kept(want)]} per row); stop at the first token that brings the mass to >= p"
            )
        keep = torch.isfinite(want)
        assert torch.equal(out[keep], logits[keep]), "leave the kept logits unchanged"
    print("check_exercise_7_3: correct, top-p keeps the smallest set of tokens with mass >= p")


class _CountingGPT(GPT):
    """A GPT that remembers how many token positions it was fed."""

    fed = 0

    def forward(self, idx, *args, **kwargs):
        self.fed += idx.shape[1]
        return super().forward(idx, *args, **kwargs)


def check_exercise_7_4(fn):
    """fn(model, idx [B, T], max_new_tokens) -> greedy continuation [B, T + max_new_tokens], using a KV cache."""
    torch.manual_seed(0)
    model = _CountingGPT(GPTConfig(vocab_size=30, block_size=64, n_layer=2, n_head=2, n_embd=32)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(10)  # peaked distributions, so greedy choices are clear-cut
    prompt = torch.randint(0, 30, (2, 7), generator=torch.Generator().manual_seed(1))
    want = generate(model, prompt, 20, temperature=0)
    model.fed = 0
    with torch.no_grad():
        got = fn(model, prompt, 20)
    assert isinstance(got, torch.Tensor) and got.shape == want.shape, (
        f"return the prompt and the new tokens, shape {tuple(want.shape)}"
    )
    assert torch.equal(got[:, :7], prompt), "the output must start with the prompt"
    assert torch.equal(got, want), "the tokens differ from greedy decoding (argmax of the last position's logits)"
    assert model.fed <= 7 + 20, (
        f"the model was fed {model.fed} positions; with a KV cache it needs the prompt once (7) and then one "
        "token per step: pass kv_caches=[KVCache() for each layer] and only the newest token"
    )
    print(f"check_exercise_7_4: correct, greedy with a KV cache ({model.fed} positions fed for 20 new tokens)")
