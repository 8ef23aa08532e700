"""Solutions to notebook 01's exercises (kept apart from the learner's notebook)."""


def exercise_1_1(tokenizer, text):
    return len(text.encode("utf-8")) / len(tokenizer.encode(text))


def exercise_1_2(ids, merges):
    vocab = {i: bytes([i]) for i in range(256)}
    for (left, right), new_id in sorted(merges.items(), key=lambda kv: kv[1]):
        vocab[new_id] = vocab[left] + vocab[right]
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


def exercise_1_3(ranks):
    merges = {}
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) < 2:
            continue
        parts = [bytes([b]) for b in token]
        while True:  # BPE with only the tokens ranked below this one
            scored = [(ranks.get(parts[i] + parts[i + 1], rank), i) for i in range(len(parts) - 1)]
            best, i = min(scored)
            if best >= rank:
                break
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        merges[(ranks[parts[0]], ranks[parts[1]])] = rank
    return merges
