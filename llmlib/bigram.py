"""The bigram language model: the baseline of notebook 02.

It predicts the next token from the current token alone. Its only parameter is a
[vocab_size, vocab_size] table whose row i holds the logits of the token after
token i, so "training" it means learning how often each pair of tokens occurs.
Every later model must beat its validation loss to show that context helps.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from llmlib.data import check_token_ids


class BigramLanguageModel(nn.Module):
    """Next-token logits from a lookup table: logits[b, t] = table[idx[b, t]].

    forward(idx [B, T], targets [B, T] or None) -> (logits [B, T, vocab_size], loss or None).
    X1 goes in as ``idx`` and X2 as ``targets``: X2[b, t] is the token after X1[b, t].
    """

    def __init__(self, vocab_size: int):
        super().__init__()
        if not isinstance(vocab_size, int) or vocab_size < 2:
            raise ValueError(f"vocab_size must be an integer >= 2, got {vocab_size!r}; pass tokenizer.vocab_size")
        self.vocab_size = vocab_size
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)
        # Small weights make every first prediction nearly uniform, so the loss at
        # initialisation is close to ln(vocab_size): the cost of a blind guess.
        nn.init.normal_(self.token_embedding_table.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        check_token_ids(idx, self.vocab_size, "idx")
        logits = self.token_embedding_table(idx)  # [B, T, vocab_size]
        if targets is None:
            return logits, None
        check_token_ids(targets, self.vocab_size, "targets")
        if targets.shape != idx.shape:
            raise ValueError(f"targets {tuple(targets.shape)} must have the shape of idx {tuple(idx.shape)}: one next token per input token")
        B, T, V = logits.shape
        # cross_entropy wants [N, V] logits against [N] targets: flatten batch and time.
        loss = F.cross_entropy(logits.view(B * T, V), targets.reshape(B * T))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Extend idx [B, T] by max_new_tokens sampled tokens; returns [B, T + max_new_tokens].

        Pass a seeded ``torch.Generator`` to make the sample repeatable.
        """
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        check_token_ids(idx, self.vocab_size, "idx")
        if idx.shape[1] == 0:
            raise ValueError("idx is empty; start from at least one token, e.g. torch.zeros((1, 1), dtype=torch.long)")
        for _ in range(max_new_tokens):
            # A bigram looks at the last token only, so feed just that one.
            logits, _ = self(idx[:, -1:])  # [B, 1, V]
            probs = F.softmax(logits[:, -1, :], dim=-1)  # [B, V]
            idx_next = torch.multinomial(probs, num_samples=1, generator=generator)  # [B, 1]
            idx = torch.cat([idx, idx_next], dim=1)
        return idx
