import math

import pytest
import torch

from llmlib.generate import generate, sample_next, sampling_probs, top_k_filter, top_p_filter
from llmlib.model import GPT, GPTConfig

INF = float("inf")


def _model(block_size=16, n_layer=2, vocab_size=23) -> GPT:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=2, n_embd=16))
    # A bigger init than GPT-2's makes the distributions peaked, so greedy and top-k are not a coin toss.
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(8.0)
    return model


def _kept(logits):
    return set(torch.nonzero(torch.isfinite(logits)).flatten().tolist())


# --- top-k and top-p on hand-made logits -------------------------------------------------


def test_top_k_keeps_exactly_the_k_largest():
    logits = torch.tensor([1.0, 5.0, 3.0, -2.0, 4.0])
    assert _kept(top_k_filter(logits, 1)) == {1}
    assert _kept(top_k_filter(logits, 3)) == {1, 2, 4}
    assert _kept(top_k_filter(logits, 5)) == {0, 1, 2, 3, 4}
    assert _kept(top_k_filter(logits, 99)) == {0, 1, 2, 3, 4}
    out = top_k_filter(logits, 2)
    assert torch.equal(out[[1, 4]], logits[[1, 4]])  # kept logits are untouched
    assert torch.all(out[[0, 2, 3]] == -INF)


def test_top_k_keeps_ties_at_the_cut_and_works_per_row():
    logits = torch.tensor([[2.0, 3.0, 3.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    out = top_k_filter(logits, 1)
    assert _kept(out[0]) == {1, 2}
    assert _kept(out[1]) == {0, 1, 2, 3}
    assert _kept(top_k_filter(torch.tensor([4.0, 3.0, 3.0, 1.0]), 2)) == {0, 1, 2}


def _logits_from(probs):
    return torch.tensor(probs).log()


def test_top_p_keeps_the_smallest_set_with_enough_mass():
    logits = _logits_from([0.05, 0.5, 0.1, 0.25, 0.1])  # sorted: 0.5, 0.25, 0.1, 0.1, 0.05
    assert _kept(top_p_filter(logits, 0.4)) == {1}
    assert _kept(top_p_filter(logits, 0.6)) == {1, 3}
    assert _kept(top_p_filter(logits, 0.74)) == {1, 3}
    assert _kept(top_p_filter(logits, 0.76)) == {1, 2, 3, 4}  # 0.1 and 0.1 tie: both kept
    assert _kept(top_p_filter(logits, 0.97)) == {0, 1, 2, 3, 4}
    out = top_p_filter(logits, 0.6)
    assert torch.equal(out[[1, 3]], logits[[1, 3]])


def test_top_p_extremes():
    logits = torch.tensor([[0.3, 2.0, -1.0, 1.9], [-30.0, -30.0, 5.0, -30.0]])
    assert torch.equal(top_p_filter(logits, 1.0), logits)  # p=1 keeps everything, even tiny tokens
    tiny = top_p_filter(logits, 1e-9)
    assert _kept(tiny[0]) == {1} and _kept(tiny[1]) == {2}  # a tiny p keeps only the argmax
    assert _kept(top_p_filter(torch.tensor([1.0, 1.0, 0.0]), 1e-9)) == {0, 1}  # a tied argmax stays tied


def test_top_p_after_top_k_and_mass_property():
    torch.manual_seed(0)
    logits = torch.randn(50, 40) * 2
    for p in (0.1, 0.5, 0.9):
        out = top_p_filter(logits, p)
        probs = torch.softmax(logits, -1)
        kept = torch.isfinite(out)
        mass = (probs * kept).sum(-1)
        assert torch.all(mass >= p - 1e-6)
        # Minimal: dropping the least likely kept token falls below p.
        smallest = torch.where(kept, probs, INF).min(-1).values
        assert torch.all(mass - smallest < p)
    both = top_p_filter(top_k_filter(logits, 5), 0.9)
    assert torch.all(torch.isfinite(both).sum(-1) <= 5)


def test_sampling_probs_temperature():
    logits = torch.tensor([[1.0, 2.0, 4.0]])
    assert torch.allclose(sampling_probs(logits, 1.0), torch.softmax(logits, -1))
    assert torch.allclose(sampling_probs(logits, 0.5), torch.softmax(logits * 2, -1))
    assert torch.equal(sampling_probs(logits, 0), torch.tensor([[0.0, 0.0, 1.0]]))
    entropies = [-(q * q.log()).sum().item() for q in (sampling_probs(logits, t) for t in (0.5, 1.0, 2.0))]
    assert entropies[0] < entropies[1] < entropies[2]
    assert torch.allclose(sampling_probs(logits, 1.0, top_k=2), torch.softmax(torch.tensor([[-INF, 2.0, 4.0]]), -1))


def test_sample_next_only_draws_kept_tokens():
    logits = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]]).repeat(2000, 1)
    g = torch.Generator().manual_seed(0)
    ids = sample_next(logits, top_k=2, generator=g)
    assert ids.shape == (2000, 1) and set(ids.flatten().tolist()) == {3, 4}
    assert torch.equal(sample_next(logits[:3], temperature=0), torch.full((3, 1), 4))


# --- generate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt_len, new, settings",
    [
        (3, 10, dict()),
        (1, 40, dict(temperature=0.8, top_k=5)),  # runs past block_size=16: the cache is rebuilt
        (16, 5, dict(top_p=0.9)),  # a full window from the start
        (25, 8, dict(temperature=1.3, top_k=7, top_p=0.95)),  # prompt longer than block_size
    ],
)
def test_cache_and_no_cache_give_the_same_tokens(prompt_len, new, settings):
    model = _model()
    prompt = torch.randint(0, 23, (3, prompt_len), generator=torch.Generator().manual_seed(5))
    with_cache = generate(model, prompt, new, kv_cache=True, generator=torch.Generator().manual_seed(7), **settings)
    without = generate(model, prompt, new, kv_cache=False, generator=torch.Generator().manual_seed(7), **settings)
    assert with_cache.shape == (3, prompt_len + new)
    assert torch.equal(with_cache[:, :prompt_len], prompt)
    assert torch.equal(with_cache, without)


def test_same_seed_same_tokens_other_seed_other_tokens():
    model = _model()
    prompt = torch.zeros(2, 1, dtype=torch.long)
    a = generate(model, prompt, 30, generator=torch.Generator().manual_seed(1))
    b = generate(model, prompt, 30, generator=torch.Generator().manual_seed(1))
    c = generate(model, prompt, 30, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_greedy_is_deterministic_and_follows_the_argmax():
    model = _model()
    prompt = torch.tensor([[1, 2, 3]])
    a = generate(model, prompt, 25, temperature=0)
    b = generate(model, prompt, 25, temperature=0, kv_cache=False, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b)
    # Step by step by hand: each new token is the argmax of the logits over the last block_size tokens.
    idx = prompt
    with torch.no_grad():
        for _ in range(25):
            logits = model(idx[:, -16:])[0][:, -1]
            idx = torch.cat([idx, logits.argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(a, idx)


def test_generate_matches_a_plain_sampling_loop():
    model = _model()
    prompt = torch.tensor([[4, 5], [6, 7]])
    g = torch.Generator().manual_seed(3)
    idx = prompt
    with torch.no_grad():
        for _ in range(20):
            logits = model(idx[:, -16:])[0][:, -1] / 0.9
            probs = torch.softmax(top_k_filter(logits, 6), dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, 1, generator=g)], dim=1)
    out = generate(model, prompt, 20, temperature=0.9, top_k=6, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out, idx)


def test_long_prompts_are_cropped_to_block_size():
    model = _model()
    tail = torch.randint(0, 23, (1, 16), generator=torch.Generator().manual_seed(0))
    long_a = torch.cat([torch.zeros(1, 9, dtype=torch.long), tail], dim=1)
    long_b = torch.cat([torch.full((1, 9), 22), tail], dim=1)
    a = generate(model, long_a, 6, temperature=0)
    b = generate(model, long_b, 6, temperature=0)
    assert torch.equal(a[:, :25], long_a)  # the whole prompt is returned
    assert torch.equal(a[:, 25:], b[:, 25:])  # only the last block_size tokens mattered


def test_zero_new_tokens_and_training_mode_restored():
    model = _model()
    model.train()
    prompt = torch.tensor([[1, 2]])
    assert torch.equal(generate(model, prompt, 0), prompt)
    generate(model, prompt, 3)
    assert model.training
    model.eval()
    generate(model, prompt, 3)
    assert not model.training


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(temperature=-0.1), ValueError, "temperature must be >= 0"),
        (dict(temperature=float("nan")), TypeError, "finite number"),
        (dict(top_k=0), ValueError, "top_k must be >= 1.*None"),
        (dict(top_k=2.5), TypeError, "top_k must be an int"),
        (dict(top_p=0.0), ValueError, r"top_p must be in \(0, 1\]"),
        (dict(top_p=1.5), ValueError, r"top_p must be in \(0, 1\]"),
        (dict(max_new_tokens=-1), ValueError, "max_new_tokens must be an int >= 0"),
        (dict(max_new_tokens=2.0), ValueError, "max_new_tokens"),
        (dict(idx=torch.zeros(1, 0, dtype=torch.long)), ValueError, "prompt is empty"),
        (dict(idx=torch.zeros(3, dtype=torch.long)), TypeError, r"\[B, T\]"),
        (dict(idx=torch.zeros(1, 3)), TypeError, "torch.long"),
        (dict(idx=[[1, 2]]), TypeError, "torch.long"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    args = dict(idx=torch.tensor([[1, 2]]), max_new_tokens=3)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        generate(_model(), **args)


def test_filters_validate_their_arguments():
    logits = torch.zeros(4)
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(logits, 0)
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(logits, -0.5)
    with pytest.raises(ValueError, match="temperature"):
        sampling_probs(logits, -1.0)
    assert math.isclose(sampling_probs(logits, 2.0).sum().item(), 1.0, rel_tol=1e-6)
