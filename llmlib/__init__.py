"""llmlib: the pieces of a GPT-style language model, built notebook by notebook.

Each module holds one idea and imports only the modules below it:

    tokenizer, data   text <-> ids, the corpus and its batches
    attention         Head and MultiHeadAttention
    bigram            the baseline model of notebook 02
    model             GPTConfig and GPT
    train, generate   the training loop and the sampler
    viz               figures and widgets used from notebook 01 on

Import what you need from its module, e.g. ``from llmlib.model import GPT``.
"""

__version__ = "0.1.0"
