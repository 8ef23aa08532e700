"""The full GPT: embeddings, a stack of Transformer blocks, and the language-model head.

X1 ids [B, T] -> token + position embeddings [B, T, C] -> n_layer blocks -> LayerNorm
-> lm_head -> logits [B, T, vocab_size], where logits[i, j] predicts X2[i, j], the token
after X1[i, j]. Module names and shapes follow GPT-2, so its weights load directly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from llmlib.attention import KVCache, MultiHeadAttention
from llmlib.data import check_token_ids


@dataclass
class GPTConfig:
    """Shape of a GPT. GPT-2 small is vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768."""

    vocab_size: int
    block_size: int
    n_layer: int
    n_head: int
    n_embd: int
    dropout: float = 0.0
    bias: bool = True  # GPT-2 has biases in Linear and LayerNorm; without them is a little faster

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                f"choose n_embd as a multiple of n_head (e.g. {self.n_head * max(1, self.n_embd // self.n_head)})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)


class MLP(nn.Module):
    """Position-wise feed-forward: C -> 4C -> C, with GPT-2's tanh-approximate GELU."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))


class Block(nn.Module):
    """x + attn(ln_1(x)), then x + mlp(ln_2(x)): pre-norm residual blocks keep gradients flowing in deep stacks."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = MultiHeadAttention(config.n_embd, config.n_head, config.block_size, config.dropout, config.bias)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, return_weights: bool = False, kv_cache: KVCache | None = None):
        a = self.attn(self.ln_1(x), return_weights=return_weights, kv_cache=kv_cache)
        a, wei = a if return_weights else (a, None)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return (x, wei) if return_weights else x


class GPT(nn.Module):
    """A decoder-only Transformer with GPT-2's layout.

    ``transformer.wte`` [vocab_size, C] embeds tokens, ``transformer.wpe`` [block_size, C]
    embeds positions, ``transformer.h`` holds n_layer ``Block``s, ``transformer.ln_f`` is
    the final LayerNorm and ``lm_head`` (tied to wte) turns [B, T, C] into logits.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Weight tying (as GPT-2): the same matrix embeds a token and scores it as the next token.
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        # GPT-2 scales the residual projections by 1/sqrt(2 * n_layer) so the residual stream's variance stays put.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameter count; the tied lm_head is counted once. non_embedding drops the position table."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        return_attention: bool = False,
        kv_caches: list[KVCache] | None = None,
    ):
        """idx [B, T] -> (logits [B, T, vocab_size], loss or None).

        logits[i, j] scores the token after idx[i, j]; with ``targets`` (X2, [B, T]) the loss is
        their mean cross-entropy, and target -1 marks a position to ignore.
        With ``return_attention=True`` also returns a list, one entry per layer, of attention
        weights [B, n_head, T, T] (slower: the fused attention kernel never forms them).
        With ``kv_caches`` (one KVCache per layer, see generate.py), idx holds only the new
        tokens; their positions continue after the cached ones and the weights are
        [B, n_head, T, T_cached + T].
        """
        check_token_ids(idx, self.config.vocab_size, "idx")
        B, T = idx.shape
        if T == 0:
            raise ValueError("idx has no tokens (T=0); pass at least one token id per row")
        if kv_caches is not None and len(kv_caches) != self.config.n_layer:
            raise ValueError(
                f"need one KVCache per layer ({self.config.n_layer}), got {len(kv_caches)}; "
                f"build them with [KVCache() for _ in range({self.config.n_layer})]"
            )
        past = 0 if kv_caches is None else len(kv_caches[0])
        if past + T > self.config.block_size:
            raise ValueError(
                f"{past} cached + {T} new positions exceed block_size={self.config.block_size}; crop the input to "
                f"its last {self.config.block_size} tokens (idx[:, -{self.config.block_size}:]) and start a fresh cache"
            )
        pos = torch.arange(past, past + T, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # [B, T, C]
        attentions = []
        for i, block in enumerate(self.transformer.h):
            cache = None if kv_caches is None else kv_caches[i]
            if return_attention:
                x, wei = block(x, return_weights=True, kv_cache=cache)
                attentions.append(wei)
            else:
                x = block(x, kv_cache=cache)
        logits = self.lm_head(self.transformer.ln_f(x))  # [B, T, vocab_size]
        loss = None
        if targets is not None:
            if not isinstance(targets, torch.Tensor) or targets.shape != idx.shape or targets.dtype != torch.long:
                got = (tuple(targets.shape), targets.dtype) if isinstance(targets, torch.Tensor) else type(targets).__name__
                raise ValueError(
                    f"targets must be a torch.long tensor shaped like idx {tuple(idx.shape)}, got {got}; "
                    "pass X2, the ids of X1 shifted by one"
                )
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return (logits, loss, attentions) if return_attention else (logits, loss)

    @classmethod
    def from_gpt2_state_dict(cls, state_dict: dict, n_head: int) -> "GPT":
        """Build a GPT from a Hugging Face ``GPT2LMHeadModel`` state dict.

        GPT-2 stores its Linear layers as Conv1D, whose weight is [in, out]: the
        transpose of nn.Linear's [out, in]. Shapes give every size but n_head.
        """
        sd = {k.removeprefix("module."): v for k, v in state_dict.items()}
        required = ("transformer.wte.weight", "transformer.wpe.weight")
        missing = [k for k in required if k not in sd]
        if missing:
            raise KeyError(f"not a GPT-2 state dict: missing {missing}; pass GPT2LMHeadModel(...).state_dict()")
        vocab_size, n_embd = sd["transformer.wte.weight"].shape
        block_size = sd["transformer.wpe.weight"].shape[0]
        layers = [int(k.split(".")[2]) for k in sd if k.startswith("transformer.h.")]
        if not layers:
            raise KeyError("not a GPT-2 state dict: no transformer.h.<i> blocks; pass GPT2LMHeadModel(...).state_dict()")
        n_layer = 1 + max(layers)
        bias = "transformer.ln_f.bias" in sd
        model = cls(GPTConfig(vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0, bias=bias))
        transposed = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
        own = model.state_dict()
        with torch.no_grad():
            for k, v in own.items():
                if k not in sd:
                    if k == "lm_head.weight":  # tied to wte
                        continue
                    raise KeyError(f"GPT-2 state dict has no {k!r}")
                src = sd[k].t() if k.endswith(transposed) else sd[k]
                if src.shape != v.shape:
                    raise ValueError(f"{k}: GPT-2 has shape {tuple(src.shape)}, this model expects {tuple(v.shape)}")
                v.copy_(src)
        return model
