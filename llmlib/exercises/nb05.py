"""Checkers for notebook 05 (the Transformer block and the GPT stack)."""

import torch
import torch.nn.functional as F

from llmlib.model import GPT, Block, GPTConfig


def check_exercise_5_1(fn):
    """fn(x, weight, bias, eps=1e-5) -> LayerNorm of x over its last dimension; bias may be None."""
    g = torch.Generator().manual_seed(0)
    for shape in [(2, 3, 8), (5, 16), (1, 1, 4)]:
        C = shape[-1]
        x = torch.randn(shape, generator=g) * 3 + 2
        weight = torch.randn(C, generator=g)
        bias = torch.randn(C, generator=g)
        for b in (bias, None):
            out = fn(x, weight, b)
            assert isinstance(out, torch.Tensor), f"return a tensor, got {type(out).__name__}"
            assert out.shape == x.shape, f"the output must keep x's shape {tuple(x.shape)}, got {tuple(out.shape)}"
            ref = F.layer_norm(x, (C,), weight, b)
            if not torch.allclose(out, ref, atol=1e-5):
                plain = F.layer_norm(x, (C,))
                if torch.allclose(out, plain, atol=1e-5):
                    raise AssertionError("the output is normalised but not scaled by weight (and shifted by bias)")
                unbiased = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + 1e-5)
                if torch.allclose(out, unbiased * weight + (0 if b is None else b), atol=1e-5):
                    raise AssertionError("use the biased variance (x.var(-1, unbiased=False)), as LayerNorm does")
                raise AssertionError(
                    f"wrong values for x of shape {tuple(shape)} (bias={'None' if b is None else 'given'}): "
                    "normalise over the last dimension, (x - mean) / sqrt(var + eps), then * weight + bias"
                )
    x = torch.randn(2, 4, 8, generator=g)
    assert torch.allclose(fn(x, torch.ones(8), None, eps=0.5), F.layer_norm(x, (8,), eps=0.5), atol=1e-5), (
        "eps is not used as given: it goes inside the square root, sqrt(var + eps)"
    )
    print("check_exercise_5_1: correct, your LayerNorm matches torch.nn.functional.layer_norm")


def check_exercise_5_2(fn):
    """fn(x, block) -> the pre-norm block's output, using block.ln_1, attn, ln_2 and mlp."""
    torch.manual_seed(0)
    block = Block(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=16)).eval()
    with torch.no_grad():
        for p in block.parameters():
            p.copy_(torch.randn_like(p) * 0.3)  # random LayerNorm gains too, so a skipped LayerNorm shows
    x = torch.randn(3, 8, 16)
    with torch.no_grad():
        out = fn(x, block)
        ref = block(x)
    assert isinstance(out, torch.Tensor) and out.shape == x.shape, "return a tensor of x's shape [B, T, C]"
    if torch.allclose(out, ref, atol=1e-5):
        print("check_exercise_5_2: correct, your forward pass equals llmlib's Block")
        return
    with torch.no_grad():
        post = block.ln_1(x + block.attn(x))  # post-norm: LayerNorm after each residual (the 2017 Transformer)
        wrong = {
            "the residuals are missing: add each sub-layer's output to its input (x = x + ...)":
                block.mlp(block.ln_2(block.attn(block.ln_1(x)))),
            "this is the post-norm order (LayerNorm after the residual); GPT-2 normalises before each sub-layer":
                block.ln_2(post + block.mlp(post)),
            "the MLP must read the stream after the attention residual, x + attn(ln_1(x)), not the block's input":
                x + block.attn(block.ln_1(x)) + block.mlp(block.ln_2(x)),
        }
    for hint, candidate in wrong.items():
        if torch.allclose(out, candidate, atol=1e-5):
            raise AssertionError(hint)
    raise AssertionError("wrong output: x = x + attn(ln_1(x)), then x = x + mlp(ln_2(x))")


def check_exercise_5_3(fn):
    """fn(vocab_size, block_size, n_layer, n_embd, bias=True) -> number of parameters (lm_head tied to wte)."""
    cases = [(65, 32, 4, 64, True), (65, 32, 4, 64, False), (1000, 128, 1, 16, True), (50257, 1024, 12, 768, True)]
    for V, P, L, C, bias in cases:
        with torch.device("meta"):  # shapes only, no memory
            expected = GPT(GPTConfig(V, P, L, 1, C, bias=bias)).num_params()
        got = fn(V, P, L, C, bias=bias)
        if got != expected:
            hint = ""
            if got == expected + V * C:
                hint = ": lm_head shares its weight with wte (weight tying), so count it once"
            elif bias and got == expected - L * 9 * C - C:
                hint = ": remember the biases of the four Linear layers and the LayerNorms"
            raise AssertionError(
                f"vocab_size={V}, block_size={P}, n_layer={L}, n_embd={C}, bias={bias}: expected {expected:,}, got {got:,}{hint}"
            )
    print("check_exercise_5_3: correct, including GPT-2 small's 124,439,808")


def check_exercise_5_4(fn):
    """fn(state_dict of an llmlib GPT) -> the same weights in Hugging Face GPT-2's layout."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16)).eval()
    ours = model.state_dict()
    theirs = fn({k: v.clone() for k, v in ours.items()})
    assert isinstance(theirs, dict), f"return a dict of tensors, got {type(theirs).__name__}"
    missing = sorted(set(ours) - set(theirs))
    assert not missing, f"keys missing from the result: {missing[:3]}; GPT-2 uses the same names"
    for k in ("transformer.h.0.attn.c_attn.weight", "transformer.h.1.mlp.c_fc.weight"):
        want = tuple(ours[k].shape[::-1])
        assert tuple(theirs[k].shape) == want, (
            f"{k} has shape {tuple(theirs[k].shape)}; GPT-2's Conv1D stores [in, out], the transpose of nn.Linear: {want}"
        )
    for k in ("transformer.h.0.attn.c_attn.bias", "transformer.h.0.ln_1.weight", "transformer.wte.weight"):
        assert torch.equal(theirs[k], ours[k]), f"{k} must be copied unchanged"
    back = GPT.from_gpt2_state_dict(theirs, n_head=2)
    idx = torch.randint(0, 20, (2, 8))
    with torch.no_grad():
        assert torch.allclose(back(idx)[0], model(idx)[0], atol=1e-6), (
            "GPT.from_gpt2_state_dict(your result) computes different logits: transpose exactly the four "
            "Conv1D weights (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj)"
        )
    print("check_exercise_5_4: correct, GPT.from_gpt2_state_dict reads your export back to the same model")
