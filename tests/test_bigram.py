import math
import re

import pytest
import torch
import torch.nn.functional as F

from llmlib.bigram import BigramLanguageModel


def test_shapes_and_initial_loss_is_a_blind_guess():
    torch.manual_seed(0)
    V = 65
    model = BigramLanguageModel(V)
    idx = torch.randint(0, V, (4, 8))
    targets = torch.randint(0, V, (4, 8))
    logits, loss = model(idx)
    assert logits.shape == (4, 8, V) and loss is None
    logits, loss = model(idx, targets)
    assert abs(loss.item() - math.log(V)) < 0.05


def test_logits_are_rows_of_the_table_and_loss_is_cross_entropy():
    torch.manual_seed(1)
    model = BigramLanguageModel(10)
    idx = torch.tensor([[3, 1, 4, 1, 5]])
    targets = torch.tensor([[1, 4, 1, 5, 9]])
    logits, loss = model(idx, targets)
    table = model.token_embedding_table.weight
    assert torch.equal(logits[0], table[idx[0]])
    by_hand = -torch.stack([F.log_softmax(table[i], -1)[j] for i, j in zip(idx[0], targets[0])]).mean()
    assert torch.allclose(loss, by_hand, atol=1e-6)


def test_training_learns_a_deterministic_sequence():
    torch.manual_seed(0)
    V = 5
    seq = torch.arange(V).repeat(20)  # 0 1 2 3 4 0 1 ... : each token fixes the next
    x, y = seq[None, :-1], seq[None, 1:]
    model = BigramLanguageModel(V)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    for _ in range(200):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    out = model.generate(torch.tensor([[0]]), 9, generator=torch.Generator().manual_seed(0))
    assert out[0].tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]


def test_generate_shape_and_seeded_repeatability():
    torch.manual_seed(0)
    model = BigramLanguageModel(30)
    start = torch.zeros((2, 3), dtype=torch.long)
    a = model.generate(start, 12, generator=torch.Generator().manual_seed(7))
    b = model.generate(start, 12, generator=torch.Generator().manual_seed(7))
    assert a.shape == (2, 15) and torch.equal(a, b)
    assert torch.equal(a[:, :3], start)
    assert model.generate(start, 0).shape == (2, 3)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda m: BigramLanguageModel(1), ValueError, "vocab_size"),
        (lambda m: m(torch.zeros(2, 3)), TypeError, ".long()"),
        (lambda m: m([[1, 2]]), TypeError, "torch.tensor"),
        (lambda m: m(torch.zeros(3, dtype=torch.long)), ValueError, "[None]"),
        (lambda m: m(torch.tensor([[0, 10]])), ValueError, "vocab_size=10"),
        (lambda m: m(torch.tensor([[-1, 0]])), ValueError, "0..vocab_size-1"),
        (lambda m: m(torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 2, dtype=torch.long)), ValueError, "shape of idx"),
        (lambda m: m.generate(torch.zeros(1, 1, dtype=torch.long), -1), ValueError, "max_new_tokens"),
        (lambda m: m.generate(torch.zeros(1, 0, dtype=torch.long), 3), ValueError, "at least one token"),
    ],
)
def test_bad_input_says_what_to_change(call, error, words):
    model = BigramLanguageModel(10)
    with pytest.raises(error, match=re.escape(words)):
        call(model)
